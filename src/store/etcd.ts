// EtcdStore: the Store on a real etcd (v3 API, through the `etcd3` package). etcd's model is
// the Store's model, so this is mostly a translation:
//   - txn: one etcd Txn. Compares: create -> createRevision == 0; update/delete -> modRevision
//     == expected, or createRevision > 0 (the key exists) when none is expected. On failure the
//     else branch reads every key, and the first operation whose condition fails against those
//     values names the StoreError (with `current`), all in the same etcd transaction.
//   - watch: an etcd watch from afterRevision+1 with prevKv. The events of one etcd revision
//     arrive in one watch response and are delivered together.
//   - compaction: etcd's own. etcd tells its compacted revision only to a watch that starts
//     below it, so compactRevision() asks exactly that (a probe watch on an unused key).
// Nothing is cached: several API servers may share one etcd and each sees the others' writes.
//
// Watches report progress (WatchCallbacks.onProgress) when etcd sends a progress notification,
// which it does every --experimental-watch-progress-notify-interval (default 10 min; the tests
// use 1 s). A watch cache that wants to know it is current sooner needs that lowered.
//
// etcd refuses requests above --max-request-bytes (default 1.5 MiB). Objects up to 3 MiB need
// it raised, e.g. `etcd --max-request-bytes=8388608` (8 MiB, what the tests use); a multi-object
// transaction needs room for all its values. Replies are not limited on our side.
import { Etcd3, type IKeyValue, type IOptions, type IRangeRequest, type IResponseOp, type ICompare, type IRequestOp, type IWatchResponse, type Watcher } from 'etcd3';
import {
  StoreError,
  type KeyValue,
  type ListOptions,
  type ListResult,
  type Store,
  type StoreEvent,
  type TxnOp,
  type TxnResult,
  type Watch,
  type WatchCallbacks,
} from './types.ts';
import { prefixRangeBytes } from './keys.ts';
import { checkOps, compacted, firstFailure } from './mvcc.ts';
import { logger } from '../util/index.ts';

const log = logger('store/etcd');

export interface EtcdStoreOptions {
  /** Client URLs, e.g. ["http://127.0.0.1:2379"]. */
  endpoints: string[];
  /**
   * Prepended to every key, so that several clusters can share one etcd (e.g. "/svcnet"). A raw
   * prefix like the Store's own: no cluster's prefix may start with another's ("/a" and "/ab").
   */
  prefix?: string;
  /** TLS material for https endpoints (PEM). */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  /** Deadline of each request, and of connecting (default 10 s). */
  timeoutMs?: number;
}

const COMPACTED = 'required revision has been compacted';
const FUTURE = 'required revision is a future revision';

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class EtcdStore implements Store {
  readonly backend = 'etcd';
  readonly #client: Etcd3;
  readonly #prefix: string;
  readonly #prefixBytes: number;
  readonly #timeoutMs: number;
  /** A key never written: compaction probes read and watch it. */
  readonly #probeKey: Buffer;
  readonly #watches = new Set<{ end(err: Error): Promise<void> }>();
  #closed = false;

  /** Connects and checks that etcd answers; fails with Unavailable when it does not. */
  static async open(opts: EtcdStoreOptions): Promise<EtcdStore> {
    const s = new EtcdStore(opts);
    try {
      await s.currentRevision();
    } catch (e) {
      await s.close();
      throw new StoreError('Unavailable', `etcd at ${opts.endpoints.join(',')} does not answer: ${message(e)}`);
    }
    return s;
  }

  constructor(opts: EtcdStoreOptions) {
    if (opts.endpoints.length === 0) throw new TypeError('etcd store: no endpoints');
    this.#prefix = opts.prefix ?? '';
    this.#prefixBytes = Buffer.byteLength(this.#prefix);
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.#probeKey = Buffer.from(`${this.#prefix}\u0000svcnet-compaction-probe`);
    const timeout = this.#timeoutMs;
    const options: IOptions = {
      hosts: opts.endpoints,
      dialTimeout: timeout,
      // gRPC's default 4 MiB reply limit would break lists and watch batches of large objects.
      grpcOptions: { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 },
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
      // Reconnect broken watches within 2 s (the client's default backs off up to 30 s, long
      // for an API server whose clients wait on those watches).
      faultHandling: { watchBackoff: cappedBackoff(50) },
    };
    if ((opts.tls?.cert || opts.tls?.key) && !opts.tls.ca) throw new TypeError('etcd store: a TLS client certificate needs the CA (tls.ca) too');
    if (opts.tls?.ca) options.credentials = { rootCertificate: opts.tls.ca, ...(opts.tls.key ? { privateKey: opts.tls.key } : {}), ...(opts.tls.cert ? { certChain: opts.tls.cert } : {}) };
    this.#client = new Etcd3(options);
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.#check();
    const res = await this.#range({ key: this.#key(key) });
    return res.kvs[0] && this.#kv(res.kvs[0]);
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    this.#check();
    const { key: start, rangeEnd } = prefixRangeBytes(this.#key(prefix));
    let key = start;
    if (opts.startKey !== undefined) {
      const from = this.#key(opts.startKey);
      if (Buffer.compare(from, key) > 0) key = from;
      if (!isOpenEnd(rangeEnd) && Buffer.compare(key, rangeEnd) >= 0) {
        const revision = opts.revision ?? 0;
        // Still check the revision, as a list that finds keys would.
        const r = await this.#range({ key: this.#probeKey, count_only: true, ...(revision > 0 ? { revision } : {}) }, revision);
        return { items: [], revision: revision > 0 ? revision : Number(r.header.revision), more: false };
      }
    }
    const revision = opts.revision ?? 0;
    const limit = opts.limit ?? 0;
    const res = await this.#range({ key, range_end: rangeEnd, ...(limit > 0 ? { limit } : {}), ...(revision > 0 ? { revision } : {}) }, revision);
    const items = res.kvs.map((kv) => this.#kv(kv));
    const listed = revision > 0 ? revision : Number(res.header.revision);
    // etcd's count is every key in [key, rangeEnd), the returned ones included.
    if (res.more) return { items, revision: listed, more: true, remaining: Number(res.count) - items.length };
    return { items, revision: listed, more: false };
  }

  async count(prefix: string): Promise<number> {
    this.#check();
    const { key, rangeEnd } = prefixRangeBytes(this.#key(prefix));
    return Number((await this.#range({ key, range_end: rangeEnd, count_only: true })).count);
  }

  async txn(ops: readonly TxnOp[]): Promise<TxnResult> {
    this.#check();
    checkOps(ops);
    const compare: ICompare[] = [];
    const success: IRequestOp[] = [];
    const failure: IRequestOp[] = [];
    for (const op of ops) {
      const key = this.#key(op.key);
      if (op.op === 'create') {
        compare.push({ key, target: 'Create', result: 'Equal', create_revision: 0 });
      } else if (op.expectedModRevision !== undefined) {
        compare.push({ key, target: 'Mod', result: 'Equal', mod_revision: op.expectedModRevision });
      } else {
        compare.push({ key, target: 'Create', result: 'Greater', create_revision: 0 });
      }
      success.push(op.op === 'delete' ? { request_delete_range: { key, prev_kv: true } } : { request_put: { key, value: Buffer.from(op.value), prev_kv: op.op === 'update' } });
      failure.push({ request_range: { key } });
    }
    let res;
    try {
      res = await this.#client.kv.txn({ compare, success, failure });
    } catch (e) {
      throw this.#error(e);
    }
    if (!res.succeeded) {
      const current = new Map<string, KeyValue>();
      for (const r of res.responses) for (const kv of r.response_range.kvs) current.set(this.#unkey(kv.key), this.#kv(kv));
      throw firstFailure(ops, (k) => current.get(k)) ?? new StoreError('Conflict', 'etcd transaction failed with every condition holding');
    }
    const revision = Number(res.header.revision);
    const results = ops.map((op, i): KeyValue => txnResult(op, res.responses[i], revision, (kv) => this.#kv(kv)));
    return { revision, results };
  }

  async create(key: string, value: string): Promise<KeyValue> {
    return (await this.txn([{ op: 'create', key, value }])).results[0];
  }

  async update(key: string, value: string, expectedModRevision?: number): Promise<KeyValue> {
    return (await this.txn([{ op: 'update', key, value, ...(expectedModRevision === undefined ? {} : { expectedModRevision }) }])).results[0];
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    return (await this.txn([{ op: 'delete', key, ...(expectedModRevision === undefined ? {} : { expectedModRevision }) }])).results[0];
  }

  async watch(prefix: string, afterRevision: number, callbacks: WatchCallbacks): Promise<Watch> {
    this.#check();
    // etcd's own watch accepts a start at the compacted revision itself (afterRevision one
    // below it); the contract refuses any afterRevision below it. A read at afterRevision
    // fails exactly then. A future afterRevision is fine: the watch waits for it.
    try {
      await this.#range({ key: this.#probeKey, count_only: true, revision: Math.max(afterRevision, 1) }, afterRevision);
    } catch (e) {
      if (!(e instanceof StoreError && e.code === 'FutureRevision')) throw e;
    }
    const { key, rangeEnd } = prefixRangeBytes(this.#key(prefix));
    let last = afterRevision;
    let ended = false;
    /** Set once the watch is known to be over, before its error is worked out. */
    let halted = false;
    let started = false;
    let startFailed: (err: Error) => void = () => {};
    const watcher: Watcher = this.#client
      .watch()
      .inRange({ start: key, end: rangeEnd })
      .withPreviousKV()
      .startRevision(String(afterRevision + 1))
      .watcher();
    let cancelled: Promise<void> = Promise.resolve();
    const entry = {
      end: (err: Error | undefined): Promise<void> => {
        if (ended) return cancelled;
        ended = true;
        halted = true;
        this.#watches.delete(entry);
        watcher.removeAllListeners();
        // Keep an 'error' listener: the emitter would throw a late one otherwise.
        watcher.on('error', () => {});
        cancelled = watcher.cancel().catch(() => {});
        if (err) {
          if (started) callbacks.onError?.(err);
          else startFailed(err);
        }
        return cancelled;
      },
    };
    /** Ends the watch with Compacted when `last` fell below etcd's compaction, else with `otherwise`. */
    const fail = (otherwise: Error): void => {
      halted = true;
      void this.compactRevision().then(
        (c) => void entry.end(last < c ? compacted(last, c) : otherwise),
        (e: unknown) => void entry.end(this.#error(e)),
      );
    };
    watcher.on('data', (res: IWatchResponse) => {
      if (halted) return;
      if (res.events.length === 0) {
        // A progress notification: etcd sends these to watchers that have had every event up
        // to the header's revision (every --experimental-watch-progress-notify-interval).
        const r = Number(res.header.revision);
        if (r > last) {
          last = r;
          try {
            callbacks.onProgress?.(r);
          } catch (e) {
            log.error({ err: e, prefix }, 'watch onProgress callback threw');
          }
        }
        return;
      }
      const events: StoreEvent[] = [];
      for (const ev of res.events) {
        const rev = Number(ev.kv.mod_revision);
        // After a reconnect etcd may resend from our resume point; never deliver twice.
        if (rev <= last) continue;
        const prev = ev.prev_kv ? this.#kv(ev.prev_kv) : undefined;
        if (ev.type === 'Delete') {
          if (!prev) {
            // etcd had compacted the previous value away: we cannot say what was deleted.
            fail(new StoreError('Unavailable', `etcd sent the delete of ${this.#unkey(ev.kv.key)} at ${rev} without its previous value`));
            return;
          }
          events.push({ type: 'DELETE', prev, modRevision: rev });
        } else {
          const kv = this.#kv(ev.kv);
          events.push(prev ? { type: 'PUT', kv, prev } : { type: 'PUT', kv });
        }
      }
      if (events.length === 0) return;
      last = Number(res.events.at(-1)!.kv.mod_revision);
      try {
        callbacks.onEvents(events);
      } catch (e) {
        log.error({ err: e, prefix }, 'watch onEvents callback threw');
      }
    });
    // The etcd3 client resumes a broken watch from the revision in the last response header,
    // which can be past events it has not delivered yet (during a replay); resume from ours.
    watcher.on('disconnected', () => {
      watcher.request.start_revision = String(last + 1);
    });
    // etcd cancelled the watch: history it needed was compacted, or something broke.
    watcher.on('error', (err: Error) => fail(new StoreError('Unavailable', `etcd ended the watch: ${err.message}`)));
    this.#watches.add(entry);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new StoreError('Unavailable', `etcd did not start a watch within ${this.#timeoutMs} ms`)), this.#timeoutMs);
        startFailed = (err) => {
          clearTimeout(timer);
          reject(err);
        };
        watcher.once('connected', () => {
          clearTimeout(timer);
          // From here a failure goes to onError: the caller is about to hold this watch.
          started = true;
          resolve();
        });
      });
    } catch (e) {
      void entry.end(undefined);
      throw e;
    }
    return {
      stop: () => {
        void entry.end(undefined);
      },
    };
  }

  async currentRevision(): Promise<number> {
    this.#check();
    return Number((await this.#range({ key: this.#probeKey, count_only: true })).header.revision);
  }

  async compact(revision: number): Promise<void> {
    this.#check();
    try {
      await this.#client.kv.compact({ revision });
    } catch (e) {
      // Already compacted at or past it: nothing to do, as on the other backends.
      if (message(e).includes(COMPACTED)) return;
      throw this.#error(e);
    }
  }

  async compactRevision(): Promise<number> {
    this.#check();
    try {
      await this.#client.kv.range({ key: this.#probeKey, count_only: true, revision: 1 });
      return 0;
    } catch (e) {
      if (!message(e).includes(COMPACTED)) throw this.#error(e);
    }
    // etcd answers a watch that starts below its compacted revision with that revision.
    const stream = await this.#client.watchClient.watch();
    try {
      return await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new StoreError('Unavailable', 'etcd did not report its compacted revision')), this.#timeoutMs);
        stream.on('data', (res: IWatchResponse) => {
          if (res.compact_revision && res.compact_revision !== '0') {
            clearTimeout(timer);
            resolve(Number(res.compact_revision));
          }
        });
        stream.on('error', (err: Error) => {
          clearTimeout(timer);
          reject(this.#error(err));
        });
        stream.write({ create_request: { key: this.#probeKey, start_revision: 1 } });
      });
    } finally {
      stream.on('error', () => {});
      stream.cancel();
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const cancels = [...this.#watches].map((w) => w.end(new StoreError('Closed', 'store closed')));
    // Let etcd confirm the cancellations first: closing under a live watch stream leaves the
    // client a reconnect timer that holds the process open for a while.
    await Promise.race([Promise.all(cancels), new Promise((r) => setTimeout(r, 1000).unref())]);
    this.#client.close();
  }

  #check(): void {
    if (this.#closed) throw new StoreError('Closed', 'store closed');
  }

  #key(key: string): Buffer {
    return Buffer.from(this.#prefix + key);
  }

  #unkey(key: Buffer): string {
    return key.subarray(this.#prefixBytes).toString();
  }

  #kv(kv: IKeyValue): KeyValue {
    return { key: this.#unkey(kv.key), value: kv.value.toString(), createRevision: Number(kv.create_revision), modRevision: Number(kv.mod_revision) };
  }

  async #range(req: IRangeRequest, revision = 0): Promise<Awaited<ReturnType<Etcd3['kv']['range']>>> {
    try {
      return await this.#client.kv.range(req);
    } catch (e) {
      if (message(e).includes(COMPACTED)) throw compacted(revision, await this.compactRevision());
      throw this.#error(e);
    }
  }

  /** A StoreError for what etcd or the connection said, where one fits. */
  #error(e: unknown): Error {
    if (e instanceof StoreError) return e;
    const msg = message(e);
    if (msg.includes(FUTURE)) return new StoreError('FutureRevision', `etcd: ${msg}`);
    if (msg.includes('request is too large')) {
      return new Error(`etcd refused the request as too large: raise its --max-request-bytes (objects up to 3 MiB need about 8 MiB) (${msg})`);
    }
    if (e instanceof Error && /Unavailable|DeadlineExceeded|BrokenCircuit|ECONNREFUSED|No connection established|Cancelled|WatchStreamEnded/i.test(`${e.name} ${e.constructor.name} ${msg}`)) {
      return new StoreError('Unavailable', `etcd unavailable: ${msg}`);
    }
    return e instanceof Error ? e : new Error(msg);
  }
}

type WatchBackoff = NonNullable<NonNullable<IOptions['faultHandling']>['watchBackoff']>;

/** Doubling delays from `ms`, capped at 2 s. */
function cappedBackoff(ms: number): WatchBackoff {
  return { duration: ms, next: () => cappedBackoff(Math.min(ms * 2, 2000)) };
}

function isOpenEnd(end: Buffer): boolean {
  return end.length === 1 && end[0] === 0;
}

function txnResult(op: TxnOp, res: IResponseOp, revision: number, toKv: (kv: IKeyValue) => KeyValue): KeyValue {
  if (op.op === 'create') return { key: op.key, value: op.value, createRevision: revision, modRevision: revision };
  if (op.op === 'update') {
    const prev = res.response_put.prev_kv;
    return { key: op.key, value: op.value, createRevision: Number(prev.create_revision), modRevision: revision };
  }
  const prev = toKv(res.response_delete_range.prev_kvs[0]);
  return { ...prev, modRevision: revision };
}
