// UDP worker processes: Node.js serves datagrams on one thread, so the serving process hands
// its bound UDP sockets to a few children (worker.ts) that read the same sockets, each with a
// replica of the model. The serving process stays the one source of truth: it applies every
// change first and sends the same changes, in order, to every worker; a worker that starts (or
// restarts after a crash) gets a snapshot first. The serving process keeps reading the sockets
// too, so answers never stop while a worker restarts. Workers exit when their parent goes.
import { fork, type ChildProcess } from 'node:child_process';
import type dgram from 'node:dgram';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { log } from './log.ts';
import { modelDigest, snapshotOps, type DnsModel, type ModelOp } from './model.ts';
import type { EngineSettings } from './setup.ts';

type MetricsJSON = MetricObjectWithValues<MetricValue<string>>[];

/** Messages to a worker. A `socket` message carries the socket as its handle. */
export type ToWorker =
  | { t: 'init'; settings: EngineSettings }
  | { t: 'ops'; ops: ModelOp[]; serial: number }
  | { t: 'socket'; index: number; of: number; v6: boolean; server: string }
  | { t: 'ping'; id: number }
  | { t: 'metrics'; id: number }
  | { t: 'digest'; id: number }
  | { t: 'crash' }
  | { t: 'hang' }
  | { t: 'stop' };

export type FromWorker =
  | { t: 'ready'; pid: number }
  | { t: 'pong'; id: number }
  | { t: 'metrics'; id: number; metrics: MetricsJSON }
  | { t: 'digest'; id: number; digest: string };

export interface UdpSocketInfo {
  sock: dgram.Socket;
  index: number;
  v6: boolean;
  server: string;
}

export interface UdpWorkersOptions {
  count: number;
  sockets: UdpSocketInfo[];
  settings: EngineSettings;
  /** The serving process's model: snapshots for (re)starting workers. */
  model: DnsModel;
  /** First restart delay after a crash, doubling to `maxRestartDelayMs`. Default 100 ms / 5 s. */
  restartDelayMs?: number;
  maxRestartDelayMs?: number;
  /** Heartbeat: a ready worker silent for `heartbeatMs` × 3 is killed and restarted. Default 5 s. */
  heartbeatMs?: number;
}

export interface WorkerInfo {
  slot: number;
  pid: number;
  ready: boolean;
  restarts: number;
}

const workerPath = fileURLToPath(new URL('./worker.ts', import.meta.url));
// The worker is TypeScript too: it runs under the same loader (tsx) wherever svcnet is started from.
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const SNAPSHOT_CHUNK = 5000;

interface Slot {
  index: number;
  proc?: ChildProcess;
  ready: boolean;
  startedAt: number;
  restarts: number;
  delay: number;
  timer?: NodeJS.Timeout;
  lastSeen: number;
  /** Resolves when the current process is ready (or gone). */
  readyWaiters: (() => void)[];
}

export class UdpWorkers {
  readonly #o: UdpWorkersOptions;
  readonly #slots: Slot[] = [];
  #pending: ModelOp[] = [];
  #flushQueued = false;
  #stopping = false;
  #nextId = 1;
  readonly #replies = new Map<number, (m: FromWorker) => void>();
  readonly #heartbeat: NodeJS.Timeout;

  constructor(o: UdpWorkersOptions) {
    this.#o = o;
    for (let i = 0; i < o.count; i++) {
      const slot: Slot = { index: i, ready: false, startedAt: 0, restarts: 0, delay: o.restartDelayMs ?? 100, lastSeen: Date.now(), readyWaiters: [] };
      this.#slots.push(slot);
      this.#spawn(slot);
    }
    const every = o.heartbeatMs ?? 5000;
    this.#heartbeat = setInterval(() => this.#beat(every), every);
    this.#heartbeat.unref();
  }

  /** Queues a change the serving process has applied; every worker gets it, in order, within the tick. */
  push(op: ModelOp): void {
    if (this.#stopping) return;
    this.#pending.push(op);
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      setImmediate(() => this.#flush());
    }
  }

  #flush(): void {
    this.#flushQueued = false;
    if (this.#pending.length === 0) return;
    const ops = this.#pending;
    this.#pending = [];
    const msg: ToWorker = { t: 'ops', ops, serial: this.#o.model.serial };
    for (const s of this.#slots) this.#send(s, msg);
  }

  #send(s: Slot, m: ToWorker, handle?: dgram.Socket): void {
    const p = s.proc;
    if (!p?.connected) return;
    try {
      if (handle) p.send(m, handle);
      else p.send(m);
    } catch (e) {
      // The channel closed under us: the exit handler restarts the worker with a fresh snapshot.
      log.debug({ err: (e as Error).message, slot: s.index }, 'dns worker: send failed');
    }
  }

  #spawn(s: Slot): void {
    if (this.#stopping) return;
    // Changes queued but not sent are in the model already: flush them to the others first, so
    // the snapshot below and what follows it line up for every worker.
    this.#flush();
    const proc = fork(workerPath, [], {
      execArgv: ['--import', tsxLoader],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, SVCNET_DNS_WORKER: String(s.index) },
    });
    s.proc = proc;
    s.ready = false;
    s.startedAt = Date.now();
    s.lastSeen = Date.now();
    proc.on('message', (m: FromWorker) => this.#onMessage(s, proc, m));
    proc.on('error', (err) => log.warn({ err: err.message, slot: s.index }, 'dns worker: process error'));
    proc.on('exit', (code, signal) => this.#onExit(s, proc, code, signal));
    this.#send(s, { t: 'init', settings: this.#o.settings });
    const ops = snapshotOps(this.#o.model);
    for (let i = 0; i < ops.length || i === 0; i += SNAPSHOT_CHUNK) this.#send(s, { t: 'ops', ops: ops.slice(i, i + SNAPSHOT_CHUNK), serial: this.#o.model.serial });
    const n = this.#o.sockets.length;
    for (const u of this.#o.sockets) this.#send(s, { t: 'socket', index: u.index, of: n, v6: u.v6, server: u.server }, u.sock);
  }

  #onMessage(s: Slot, proc: ChildProcess, m: FromWorker): void {
    if (s.proc !== proc) return;
    s.lastSeen = Date.now();
    if (m.t === 'ready') {
      s.ready = true;
      log.info({ slot: s.index, pid: m.pid, restarts: s.restarts }, 'dns worker: serving');
      for (const w of s.readyWaiters.splice(0)) w();
      return;
    }
    if (m.t === 'pong') return;
    const reply = this.#replies.get(m.id);
    if (reply) {
      this.#replies.delete(m.id);
      reply(m);
    }
  }

  #onExit(s: Slot, proc: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (s.proc !== proc) return;
    s.proc = undefined;
    s.ready = false;
    for (const w of s.readyWaiters.splice(0)) w();
    if (this.#stopping) return;
    // A worker that served a while gets restarted at once; one that keeps dying, ever slower.
    if (Date.now() - s.startedAt > 30_000) s.delay = this.#o.restartDelayMs ?? 100;
    log.warn({ slot: s.index, pid: proc.pid, code, signal, restartInMs: s.delay }, 'dns worker: exited; restarting it');
    s.restarts++;
    s.timer = setTimeout(() => {
      s.timer = undefined;
      this.#spawn(s);
    }, s.delay);
    s.delay = Math.min(s.delay * 2, this.#o.maxRestartDelayMs ?? 5000);
  }

  #beat(every: number): void {
    const now = Date.now();
    for (const s of this.#slots) {
      if (!s.proc) continue;
      // Starting (loading the TypeScript sources) may take seconds on a busy machine.
      if (!s.ready) {
        if (now - s.startedAt > 60_000) {
          log.warn({ slot: s.index, pid: s.proc.pid }, 'dns worker: not ready after 60 s; killing it');
          s.proc.kill('SIGKILL');
        }
        continue;
      }
      if (now - s.lastSeen > every * 3) {
        log.warn({ slot: s.index, pid: s.proc.pid }, 'dns worker: not answering; killing it');
        s.proc.kill('SIGKILL');
        continue;
      }
      this.#send(s, { t: 'ping', id: 0 });
    }
  }

  /** The workers now: process ids, readiness, restarts so far. */
  list(): WorkerInfo[] {
    return this.#slots.map((s) => ({ slot: s.index, pid: s.proc?.pid ?? 0, ready: s.ready, restarts: s.restarts }));
  }

  /** Resolves when every worker is ready (or `timeoutMs` passed). */
  async ready(timeoutMs = 20_000): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      if (this.#slots.every((s) => s.ready)) return true;
      if (Date.now() > until || this.#stopping) return false;
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        const pending = this.#slots.find((s) => !s.ready && s.proc);
        pending?.readyWaiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  #ask<T extends FromWorker['t']>(s: Slot, m: { t: 'metrics' | 'digest' }, timeoutMs: number): Promise<Extract<FromWorker, { t: T }> | undefined> {
    if (!s.proc?.connected || !s.ready) return Promise.resolve(undefined);
    const id = this.#nextId++;
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#replies.delete(id);
        resolve(undefined);
      }, timeoutMs);
      this.#replies.set(id, (r) => {
        clearTimeout(t);
        resolve(r as Extract<FromWorker, { t: T }>);
      });
      this.#send(s, { t: m.t, id });
    });
  }

  /** Every ready worker's metrics (prom-client JSON), to aggregate with the serving process's. */
  async metrics(timeoutMs = 1000): Promise<MetricsJSON[]> {
    const all = await Promise.all(this.#slots.map((s) => this.#ask<'metrics'>(s, { t: 'metrics' }, timeoutMs)));
    return all.filter((m) => m !== undefined).map((m) => m.metrics);
  }

  /**
   * Checks that every ready worker's replica equals the serving process's model (pending
   * changes are sent first). Returns the digests: the serving process's first.
   */
  async digests(timeoutMs = 2000): Promise<string[]> {
    this.#flush();
    const own = modelDigest(this.#o.model);
    const all = await Promise.all(this.#slots.map((s) => this.#ask<'digest'>(s, { t: 'digest' }, timeoutMs)));
    return [own, ...all.map((d) => d?.digest ?? 'unavailable')];
  }

  /** Tests: makes a worker exit as a crash would, or hang as an endless loop would. */
  crash(slot: number, how: 'crash' | 'hang' = 'crash'): void {
    const s = this.#slots[slot];
    if (s) this.#send(s, { t: how });
  }

  /** Stops every worker: asked first, killed after `graceMs`. */
  async stop(graceMs = 2000): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    clearInterval(this.#heartbeat);
    await Promise.all(
      this.#slots.map(async (s) => {
        if (s.timer) clearTimeout(s.timer);
        const p = s.proc;
        if (!p || p.exitCode !== null || p.signalCode !== null) return;
        const exited = new Promise<void>((r) => p.once('exit', () => r()));
        this.#send(s, { t: 'stop' });
        const kill = setTimeout(() => p.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(kill);
      }),
    );
  }
}
