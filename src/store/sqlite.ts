// SqliteStore: the embedded store, one SQLite file (better-sqlite3) in a data dir.
//
// Layout, etcd's model on two tables:
//   log  one row per change of a key: its revision, key, createRevision, value (NULL: deleted)
//        and prev_id, the row of the key's previous version. Row ids grow with revisions.
//        Events, watch replay and lists at older revisions read it; the value of a key is
//        stored only here.
//   kv   the current state: key -> createRevision, modRevision and the log row of its value.
//        A current list is a range scan of kv joined to log by row id (no history scan).
// The revision counter is max(log.rev) (kept in meta across compactions), cached in memory:
// this process is the only writer, which the exclusive lock guarantees.
//
// Compaction at C deletes every log row at or below C except, per key, the latest one at or
// below C when it is not a delete (the key's state at C, as etcd keeps it). That keeps every
// row that a change after C points to as its previous version, so watches from C on and lists
// at C or later still find their `prev` values.
//
// Durability: WAL with synchronous=NORMAL. A commit appends its pages to the WAL with write()
// before txn() returns, so the data is in the kernel's page cache and survives the process
// being killed (kill -9, crash, OOM); only an OS crash or power loss can lose the last commits
// (the database stays consistent). synchronous=FULL (option `synchronous: 'full'`) adds an
// fsync per commit for power-loss durability, at a large cost in write rate. (OFF would also
// survive a killed process, but could corrupt the database on power loss; NORMAL cannot.)
//
// Group commit: txn() queues its operations, and every transaction queued in one turn of the
// event loop (e.g. the creates of many concurrent requests) is applied in order, each at its
// own revision and with its own conditions, inside one SQLite transaction, then committed
// once. No caller hears of its write (its promise settles) before that commit has returned, so
// the durability above holds for every acknowledged write; one commit's WAL pages and syscalls
// serve the whole batch instead of each write paying for its own.
//
// Checkpoints (copying the WAL back into the database file, with an fsync of each) block the
// thread for ~10 ms per thousand pages. SQLite would run one inside every ~1000th page's commit,
// in the middle of a burst of writes; instead they run when writes pause (100 ms without one),
// and SQLite's own only past 16384 pages (64 MiB of WAL) under writes that never pause.
//
// Exclusivity: locking_mode=EXCLUSIVE makes the connection take and keep SQLite's exclusive
// file lock at open (an fcntl lock, which the kernel releases when the process dies, so there
// is no stale lock file to clean up). A second process then fails at once with a clear error.
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
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
import { compareKeys, prefixEnd } from './keys.ts';
import { WatchHub } from './hub.ts';
import { compacted, listSnapshot, planTxn, type ChangedKey, type TxnPlan } from './mvcc.ts';

export interface SqliteStoreOptions {
  /**
   * 'normal' (default): an acknowledged write survives the process being killed.
   * 'full': it also survives an OS crash or power loss (an fsync per commit; much slower).
   */
  synchronous?: 'normal' | 'full';
}

/** The database file's name inside a data dir. */
export const SQLITE_FILE_NAME = 'svcnet.db';

const SCHEMA_VERSION = 1;

/** Files open in this process: SQLite's lock is per process, so say it clearly here too. */
const openFiles = new Set<string>();

/** A kv row joined to its value, read in raw (array) mode: lists build no row objects. */
type KvRow = [key: string, value: string, createRevision: number, modRevision: number, logId: number];

interface LogRow {
  rev: number;
  key: string;
  c: number;
  v: string | null;
  pid: number | null;
  pv: string | null;
  pc: number | null;
  pm: number | null;
}

interface ChangeRow {
  key: string;
  del: number;
  pid: number | null;
  pc: number | null;
  pm: number | null;
}

type Stmt<P extends unknown[], R> = Database.Statement<P, R>;

/** A txn() waiting for the next group commit. */
interface QueuedTxn {
  ops: readonly TxnOp[];
  resolve(r: TxnResult): void;
  reject(e: unknown): void;
}

/** What one queued transaction came to inside a batch: its plan, or the error of its conditions. */
type TxnOutcome = { plan: TxnPlan; err?: undefined } | { plan?: undefined; err: unknown };

/**
 * Where `sqlite:<path>` keeps its file: a path naming a file (an existing file, or a name
 * ending in .db, .sqlite or .sqlite3) is used as is; anything else is a data dir holding
 * svcnet.db, created when missing.
 */
export function sqliteFilePath(path: string): string {
  const p = resolve(path);
  const isFile = /\.(db|sqlite3?)$/.test(p) ? !(existsSync(p) && statSync(p).isDirectory()) : existsSync(p) && statSync(p).isFile();
  if (isFile) {
    mkdirSync(dirname(p), { recursive: true });
    return p;
  }
  mkdirSync(p, { recursive: true });
  return join(p, SQLITE_FILE_NAME);
}

export class SqliteStore implements Store {
  readonly backend = 'sqlite';
  /** The database file. */
  readonly file: string;
  readonly #db: Database.Database;
  readonly #realPath: string;
  readonly #hub = new WatchHub();
  #revision: number;
  #compactRevision: number;
  #closed = false;

  readonly #getKv: Stmt<[string], KvRow>;
  readonly #listRange: Stmt<[string, string, number], KvRow>;
  readonly #listFrom: Stmt<[string, number], KvRow>;
  readonly #countRange: Stmt<[string, string], { n: number }>;
  readonly #countFrom: Stmt<[string], { n: number }>;
  readonly #countAfterRange: Stmt<[string, string], { n: number }>;
  readonly #countAfterFrom: Stmt<[string], { n: number }>;
  readonly #changesRange: Stmt<[number, string, string], LogRow>;
  readonly #changesFrom: Stmt<[number, string], LogRow>;
  readonly #changeKeysRange: Stmt<[number, string, string], ChangeRow>;
  readonly #changeKeysFrom: Stmt<[number, string], ChangeRow>;
  readonly #logValue: Stmt<[number], { v: string }>;
  readonly #idBounds: Stmt<[], [number | null, number | null]>;
  readonly #firstRowFrom: Stmt<[number], [number, number]>;
  readonly #insertLog: Stmt<[number, string, number, string | null, number | null], unknown>;
  readonly #upsertKv: Stmt<[string, number, number, number], unknown>;
  readonly #deleteKv: Stmt<[string], unknown>;
  readonly #setMeta: Stmt<[string, number], unknown>;
  readonly #txnBatch: (batch: ReadonlyArray<readonly TxnOp[]>) => TxnOutcome[];
  readonly #compact: (revision: number) => void;
  #queue: QueuedTxn[] = [];
  #flushScheduled = false;
  #checkpointTimer: NodeJS.Timeout | undefined;
  #writtenSinceCheckpoint = false;

  /** Opens (creating when missing) the store at `path`: a data dir or a database file. */
  static async open(path: string, opts: SqliteStoreOptions = {}): Promise<SqliteStore> {
    return new SqliteStore(sqliteFilePath(path), opts);
  }

  private constructor(file: string, opts: SqliteStoreOptions) {
    const real = realpathSync(dirname(file)) + '/' + file.slice(dirname(file).length + 1);
    if (openFiles.has(real)) throw inUse(file, 'it is already open in this process');
    // timeout 0: a held lock fails at once instead of after better-sqlite3's default 5 s.
    const db = new Database(file, { timeout: 0 });
    try {
      db.pragma('locking_mode = EXCLUSIVE');
      db.pragma('journal_mode = WAL');
      // Take the exclusive lock now, not at the first write.
      db.exec('BEGIN IMMEDIATE; COMMIT');
    } catch (e) {
      db.close();
      if (e instanceof Error && 'code' in e && (e.code === 'SQLITE_BUSY' || e.code === 'SQLITE_LOCKED')) {
        throw inUse(file, 'another process holds its lock (is another svcnet server running on this data dir?)');
      }
      throw e;
    }
    try {
      db.pragma(`synchronous = ${opts.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      // 16 MiB of page cache: writes touch kv's B-tree and the log's last pages, and reads are
      // mostly served by the API server's watch caches; more only adds to resident memory.
      db.pragma('cache_size = -16384');
      db.pragma('temp_store = MEMORY');
      db.pragma('journal_size_limit = 67108864');
      db.pragma('wal_autocheckpoint = 16384');
      db.exec(`
        CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS log (
          id INTEGER PRIMARY KEY,
          rev INTEGER NOT NULL,
          key TEXT NOT NULL,
          create_rev INTEGER NOT NULL,
          value TEXT,
          prev_id INTEGER
        );
        DROP INDEX IF EXISTS log_rev;
        CREATE TABLE IF NOT EXISTS kv (
          key TEXT PRIMARY KEY,
          create_rev INTEGER NOT NULL,
          mod_rev INTEGER NOT NULL,
          log_id INTEGER NOT NULL
        ) WITHOUT ROWID;
      `);
      const meta = new Map((db.prepare('SELECT name, value FROM meta').all() as { name: string; value: number }[]).map((r) => [r.name, r.value]));
      const schema = meta.get('schema');
      if (schema === undefined) db.prepare('INSERT INTO meta (name, value) VALUES (?, ?)').run('schema', SCHEMA_VERSION);
      else if (schema !== SCHEMA_VERSION) throw new Error(`store ${file}: schema version ${schema} is not supported (this svcnet knows ${SCHEMA_VERSION})`);
      const maxRev = (db.prepare('SELECT rev AS r FROM log ORDER BY id DESC LIMIT 1').get() as { r: number } | undefined)?.r ?? 0;
      this.#revision = Math.max(maxRev, meta.get('revision') ?? 0);
      this.#compactRevision = meta.get('compact_rev') ?? 0;
    } catch (e) {
      db.close();
      throw e;
    }
    this.#db = db;
    this.file = file;

    const kvCols = 'SELECT k.key, l.value, k.create_rev, k.mod_rev, k.log_id FROM kv k JOIN log l ON l.id = k.log_id';
    this.#getKv = db.prepare<[string], KvRow>(`${kvCols} WHERE k.key = ?`).raw();
    this.#listRange = db.prepare<[string, string, number], KvRow>(`${kvCols} WHERE k.key >= ? AND k.key < ? ORDER BY k.key LIMIT ?`).raw();
    this.#listFrom = db.prepare<[string, number], KvRow>(`${kvCols} WHERE k.key >= ? ORDER BY k.key LIMIT ?`).raw();
    this.#countRange = db.prepare('SELECT count(*) AS n FROM kv WHERE key >= ? AND key < ?');
    this.#countFrom = db.prepare('SELECT count(*) AS n FROM kv WHERE key >= ?');
    this.#countAfterRange = db.prepare('SELECT count(*) AS n FROM kv WHERE key > ? AND key < ?');
    this.#countAfterFrom = db.prepare('SELECT count(*) AS n FROM kv WHERE key > ?');
    const logCols =
      'SELECT l.rev AS rev, l.key AS key, l.create_rev AS c, l.value AS v, p.id AS pid, p.value AS pv, p.create_rev AS pc, p.rev AS pm FROM log l LEFT JOIN log p ON p.id = l.prev_id';
    this.#changesRange = db.prepare(`${logCols} WHERE l.id >= ? AND l.key >= ? AND l.key < ? ORDER BY l.id`);
    this.#changesFrom = db.prepare(`${logCols} WHERE l.id >= ? AND l.key >= ? ORDER BY l.id`);
    const changeCols =
      'SELECT l.key AS key, l.value IS NULL AS del, p.id AS pid, p.create_rev AS pc, p.rev AS pm FROM log l LEFT JOIN log p ON p.id = l.prev_id';
    this.#changeKeysRange = db.prepare(`${changeCols} WHERE l.id >= ? AND l.key >= ? AND l.key < ? ORDER BY l.id`);
    this.#changeKeysFrom = db.prepare(`${changeCols} WHERE l.id >= ? AND l.key >= ? ORDER BY l.id`);
    this.#idBounds = db.prepare<[], [number | null, number | null]>('SELECT (SELECT min(id) FROM log), (SELECT max(id) FROM log)').raw();
    this.#firstRowFrom = db.prepare<[number], [number, number]>('SELECT id, rev FROM log WHERE id >= ? ORDER BY id LIMIT 1').raw();
    this.#logValue = db.prepare('SELECT value AS v FROM log WHERE id = ?');
    this.#insertLog = db.prepare('INSERT INTO log (rev, key, create_rev, value, prev_id) VALUES (?, ?, ?, ?, ?)');
    this.#upsertKv = db.prepare(
      'INSERT INTO kv (key, create_rev, mod_rev, log_id) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET create_rev = excluded.create_rev, mod_rev = excluded.mod_rev, log_id = excluded.log_id',
    );
    this.#deleteKv = db.prepare('DELETE FROM kv WHERE key = ?');
    this.#setMeta = db.prepare('INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value');

    // One SQLite transaction for a batch of store transactions, each at the next revision. A
    // transaction whose conditions fail has written nothing (planTxn reads and checks before
    // any write) and is reported alone; an error while writing rolls the whole batch back.
    this.#txnBatch = db.transaction((batch: ReadonlyArray<readonly TxnOp[]>): TxnOutcome[] => {
      let revision = this.#revision;
      const out: TxnOutcome[] = [];
      for (const ops of batch) {
        const logIds = new Map<string, number>();
        let plan: TxnPlan;
        try {
          plan = planTxn(ops, revision + 1, (key) => {
            const row = this.#getKv.get(key);
            if (!row) return undefined;
            logIds.set(key, row[4]);
            return toKv(row);
          });
        } catch (err) {
          out.push({ err });
          continue;
        }
        revision = plan.revision;
        for (const w of plan.writes) {
          const prevId = logIds.get(w.key) ?? null;
          if (w.kv) {
            const id = Number(this.#insertLog.run(revision, w.key, w.kv.createRevision, w.kv.value, prevId).lastInsertRowid);
            this.#upsertKv.run(w.key, w.kv.createRevision, revision, id);
          } else {
            this.#insertLog.run(revision, w.key, w.prev!.createRevision, null, prevId);
            this.#deleteKv.run(w.key);
          }
        }
        out.push({ plan });
      }
      return out;
    });

    const dropSuperseded = db.prepare('DELETE FROM log WHERE id < ? AND id NOT IN (SELECT max(id) FROM log WHERE id < ? GROUP BY key)');
    const dropDeletes = db.prepare('DELETE FROM log WHERE id < ? AND value IS NULL');
    this.#compact = db.transaction((revision: number) => {
      const cut = this.#idAfter(revision);
      dropSuperseded.run(cut, cut);
      dropDeletes.run(cut);
      this.#setMeta.run('compact_rev', revision);
      this.#setMeta.run('revision', this.#revision);
    });
    openFiles.add(real);
    this.#realPath = real;
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.#check();
    const row = this.#getKv.get(key);
    return row && toKv(row);
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    this.#check();
    const limit = opts.limit ?? 0;
    const lower = opts.startKey !== undefined && compareKeys(opts.startKey, prefix) > 0 ? opts.startKey : prefix;
    const end = prefixEnd(prefix);
    const revision = opts.revision ?? 0;
    if (revision > 0 && revision !== this.#revision) {
      if (revision > this.#revision) throw new StoreError('FutureRevision', `revision ${revision} is newer than the current revision ${this.#revision}`);
      if (revision < this.#compactRevision) throw compacted(revision, this.#compactRevision);
      // The changes since `revision`, without values: only the versions that end up on this
      // page need theirs, read by row id afterwards.
      const from = this.#idAfter(revision);
      const changes = end === undefined ? this.#changeKeysFrom.all(from, lower) : this.#changeKeysRange.all(from, lower, end);
      const changed = new Map<string, ChangedKey>();
      const valueIds = new Map<KeyValue, number>();
      for (const c of changes) {
        const seen = changed.get(c.key);
        if (seen) {
          seen.existsNow = c.del === 0;
          continue;
        }
        let atRevision: KeyValue | undefined;
        if (c.pid !== null) {
          atRevision = { key: c.key, value: '', createRevision: c.pc!, modRevision: c.pm! };
          valueIds.set(atRevision, c.pid);
        }
        changed.set(c.key, { atRevision, existsNow: c.del === 0 });
      }
      const listFrom = this.#listFrom;
      const listRange = this.#listRange;
      const page = listSnapshot(
        {
          // Read lazily: a page needs only the first limit+1 keys from its start.
          current: (function* () {
            for (const row of end === undefined ? listFrom.iterate(lower, -1) : listRange.iterate(lower, end, -1)) yield toKv(row);
          })(),
          changed,
          countCurrentAfter: (key) => this.#countAfter(key, end),
        },
        limit,
        revision,
      );
      for (const kv of page.items) {
        const id = valueIds.get(kv);
        if (id !== undefined) kv.value = this.#logValue.get(id)!.v;
      }
      return page;
    }
    const want = limit > 0 ? limit + 1 : -1;
    const rows = end === undefined ? this.#listFrom.all(lower, want) : this.#listRange.all(lower, end, want);
    const items = rows.map(toKv);
    if (limit <= 0 || items.length <= limit) return { items, revision: this.#revision, more: false };
    items.length = limit;
    return { items, revision: this.#revision, more: true, remaining: this.#countAfter(items[limit - 1].key, end) };
  }

  async count(prefix: string): Promise<number> {
    this.#check();
    const end = prefixEnd(prefix);
    return (end === undefined ? this.#countFrom.get(prefix) : this.#countRange.get(prefix, end))!.n;
  }

  async txn(ops: readonly TxnOp[]): Promise<TxnResult> {
    this.#check();
    return new Promise<TxnResult>((resolve, reject) => {
      this.#queue.push({ ops, resolve, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        // After the I/O callbacks of this loop turn: every request that reached its write in
        // this turn joins the batch.
        setImmediate(() => this.#flush());
      }
    });
  }

  /** Commits every queued transaction in one SQLite transaction, then settles them in order. */
  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length === 0) return;
    if (this.#closed) {
      for (const q of batch) q.reject(new StoreError('Closed', 'store closed'));
      return;
    }
    let outcomes: TxnOutcome[];
    try {
      outcomes = this.#txnBatch(batch.map((q) => q.ops));
    } catch (e) {
      // SQLite itself failed and nothing of the batch was kept: each transaction again on its
      // own, so that only the one that cannot be written fails.
      outcomes =
        batch.length === 1
          ? [{ err: e }]
          : batch.map((q): TxnOutcome => {
              try {
                const [one] = this.#txnBatch([q.ops]);
                if (one?.plan) this.#committed(one.plan);
                return one ?? { err: new Error('store: no outcome') };
              } catch (err) {
                return { err };
              }
            });
      this.#settle(batch, outcomes);
      if (outcomes.some((o) => o.plan)) this.#checkpointLater();
      return;
    }
    for (const o of outcomes) if (o.plan) this.#committed(o.plan);
    this.#settle(batch, outcomes);
    this.#checkpointLater();
  }

  /** (Re)starts the idle timer after a commit: a checkpoint once writes pause. */
  #checkpointLater(): void {
    this.#writtenSinceCheckpoint = true;
    if (this.#checkpointTimer) {
      this.#checkpointTimer.refresh();
      return;
    }
    this.#checkpointTimer = setTimeout(() => {
      this.#checkpointTimer = undefined;
      if (this.#closed || !this.#writtenSinceCheckpoint) return;
      this.#writtenSinceCheckpoint = false;
      try {
        this.#db.pragma('wal_checkpoint(PASSIVE)');
      } catch {
        // SQLite checkpoints again itself (at the latest on close); nothing is lost.
      }
    }, 100);
    // A pending checkpoint keeps no process alive.
    this.#checkpointTimer.unref();
  }

  #committed(plan: TxnPlan): void {
    this.#revision = plan.revision;
    this.#hub.publish(plan.revision, plan.events);
  }

  #settle(batch: readonly QueuedTxn[], outcomes: readonly TxnOutcome[]): void {
    batch.forEach((q, i) => {
      const o = outcomes[i];
      if (o?.plan) q.resolve({ revision: o.plan.revision, results: o.plan.results });
      else q.reject(o ? o.err : new Error('store: no outcome'));
    });
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
    if (afterRevision < this.#compactRevision) throw compacted(afterRevision, this.#compactRevision);
    // Replay and registration happen in one synchronous step: no write can come between.
    let replay: StoreEvent[] = [];
    if (afterRevision < this.#revision) {
      const end = prefixEnd(prefix);
      const from = this.#idAfter(afterRevision);
      replay = (end === undefined ? this.#changesFrom.all(from, prefix) : this.#changesRange.all(from, prefix, end)).map(toEvent);
    }
    return this.#hub.add(prefix, afterRevision, callbacks, replay, this.#revision);
  }

  async currentRevision(): Promise<number> {
    this.#check();
    return this.#revision;
  }

  async compact(revision: number): Promise<void> {
    this.#check();
    if (revision > this.#revision) throw new StoreError('FutureRevision', `cannot compact to revision ${revision}: the current revision is ${this.#revision}`);
    if (revision <= this.#compactRevision) return;
    this.#compact(revision);
    this.#compactRevision = revision;
  }

  async compactRevision(): Promise<number> {
    this.#check();
    return this.#compactRevision;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    // Writes already asked for are committed, not dropped.
    this.#flush();
    this.#closed = true;
    clearTimeout(this.#checkpointTimer);
    this.#hub.closeAll(new StoreError('Closed', 'store closed'));
    this.#db.close();
    openFiles.delete(this.#realPath);
  }

  #check(): void {
    if (this.#closed) throw new StoreError('Closed', 'store closed');
  }

  /**
   * The smallest log row id from which on every row is past `revision`. Row ids grow with
   * revisions, so a binary search over ids finds it without an index on rev (one less B-tree
   * to write per transaction).
   */
  #idAfter(revision: number): number {
    const [min, max] = this.#idBounds.get()!;
    if (min === null || max === null) return 1;
    let lo = min;
    let hi = max + 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      // A row exists at or after mid (mid <= max).
      const [, rev] = this.#firstRowFrom.get(mid)!;
      if (rev > revision) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  #countAfter(key: string, end: string | undefined): number {
    return (end === undefined ? this.#countAfterFrom.get(key) : this.#countAfterRange.get(key, end))!.n;
  }
}

function inUse(file: string, why: string): Error {
  return new Error(`store ${file} is in use: ${why}`);
}

function toKv(row: KvRow): KeyValue {
  return { key: row[0], value: row[1], createRevision: row[2], modRevision: row[3] };
}

function toEvent(row: LogRow): StoreEvent {
  const prev: KeyValue | undefined = row.pid === null ? undefined : { key: row.key, value: row.pv!, createRevision: row.pc!, modRevision: row.pm! };
  if (row.v === null) {
    // A delete always points at the version it removed.
    return { type: 'DELETE', prev: prev!, modRevision: row.rev };
  }
  const kv: KeyValue = { key: row.key, value: row.v, createRevision: row.c, modRevision: row.rev };
  return prev ? { type: 'PUT', kv, prev } : { type: 'PUT', kv };
}
