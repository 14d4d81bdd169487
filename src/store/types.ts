// The Store: what the API server keeps objects in. Its model is etcd's: a flat, ordered key
// space, one global revision counter that every write advances, each key carrying the revision
// that created it and the one that last changed it, watches from a revision, and compaction of
// old history. The API server maps resourceVersion to these revisions; nothing but the API
// server uses a Store (DESIGN.md rule 1).

/** A key and its current value. Values are opaque strings (the API server stores JSON). */
export interface KeyValue {
  key: string;
  value: string;
  /** The revision of the write that created the key (its latest incarnation). */
  createRevision: number;
  /** The revision of the write that last changed it. */
  modRevision: number;
}

/** One change, as a watch delivers it. A PUT with createRevision === modRevision is a creation. */
export type StoreEvent =
  | { type: 'PUT'; kv: KeyValue; prev?: KeyValue }
  | {
      type: 'DELETE';
      /** The value the key held just before the delete. */
      prev: KeyValue;
      /** The revision of the delete itself. */
      modRevision: number;
    };

/** One operation of an atomic transaction. */
export type TxnOp =
  /** Fails with KeyExists when the key is present. */
  | { op: 'create'; key: string; value: string }
  /** Fails with NotFound when absent, Conflict when modRevision differs (unless expectedModRevision is omitted). */
  | { op: 'update'; key: string; value: string; expectedModRevision?: number }
  /** Fails with NotFound when absent, Conflict when modRevision differs (unless expectedModRevision is omitted). */
  | { op: 'delete'; key: string; expectedModRevision?: number };

export interface TxnResult {
  /** The revision every operation of the transaction was written at. */
  revision: number;
  /**
   * Per operation: the new KeyValue for create/update; for delete, the deleted value with its
   * modRevision set to the delete's revision (what delete() returns).
   */
  results: KeyValue[];
}

export interface ListOptions {
  /** At most this many items; `more` tells whether others follow. 0 or absent: no limit. */
  limit?: number;
  /** Start at this key (inclusive); used to continue a paged list. */
  startKey?: string;
  /**
   * List the state as of this revision (a consistent snapshot for paging). Fails with
   * Compacted when the revision is older than the compacted revision. Absent: current state.
   */
  revision?: number;
}

export interface ListResult {
  items: KeyValue[];
  /** The revision the list reflects (the current revision when none was asked). */
  revision: number;
  /** True when more keys under the prefix follow the last item. */
  more: boolean;
  /** How many keys under the prefix follow the last item, when `more`. */
  remaining?: number;
}

export interface Watch {
  stop(): void;
}

export interface WatchCallbacks {
  /** Events in revision order; the events of one transaction arrive together. */
  onEvents(events: StoreEvent[]): void;
  /** The watch ended on its own (store closed, backend lost); no more events follow. */
  onError?(err: Error): void;
  /**
   * Optional progress notice: every change under the prefix up to `revision` has been
   * delivered (writes elsewhere advanced the revision). Lets a watch cache know it is as fresh
   * as the store without a new event of its own (etcd's progress notify).
   */
  onProgress?(revision: number): void;
}

export type StoreErrorCode = 'KeyExists' | 'NotFound' | 'Conflict' | 'Compacted' | 'FutureRevision' | 'Unavailable' | 'Closed';

/** A store failure with a stable code; the API server turns it into a Kubernetes Status. */
export class StoreError extends Error {
  readonly code: StoreErrorCode;
  readonly key: string | undefined;
  /** For Conflict: the key's current value. For Compacted: undefined. */
  readonly current: KeyValue | undefined;
  /** For Compacted: the compacted revision. */
  readonly compactRevision: number | undefined;

  constructor(code: StoreErrorCode, message: string, extra: { key?: string; current?: KeyValue; compactRevision?: number } = {}) {
    super(message);
    this.name = 'StoreError';
    this.code = code;
    this.key = extra.key;
    this.current = extra.current;
    this.compactRevision = extra.compactRevision;
  }
}

export function isStoreError(e: unknown, code?: StoreErrorCode): e is StoreError {
  return e instanceof StoreError && (code === undefined || e.code === code);
}

export interface Store {
  /** A short name for logs and test titles: "sqlite", "etcd", "memory". */
  readonly backend: string;

  get(key: string): Promise<KeyValue | undefined>;

  /**
   * Keys that start with `prefix`, in key order (UTF-8 byte order, as etcd). Prefixes are raw
   * string prefixes: "/a/b" matches "/a/bc/x" too; pass "/a/b/" to mean the directory.
   */
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;

  /** How many keys start with `prefix` now. */
  count(prefix: string): Promise<number>;

  /**
   * Applies every operation or none, at one new revision. Fails with the StoreError of the
   * first operation whose condition does not hold (its `key` names it). An empty list of
   * operations, or one that names a key twice (etcd refuses that), is an error (a TypeError,
   * not a StoreError).
   */
  txn(ops: readonly TxnOp[]): Promise<TxnResult>;

  create(key: string, value: string): Promise<KeyValue>;
  update(key: string, value: string, expectedModRevision?: number): Promise<KeyValue>;
  /** Returns the deleted value; its modRevision is that of the delete. */
  delete(key: string, expectedModRevision?: number): Promise<KeyValue>;

  /**
   * Every change under `prefix` with a revision greater than `afterRevision`, then changes as
   * they happen, each exactly once and in order. Throws Compacted (synchronously or from the
   * returned promise) when afterRevision < compactRevision(): history the watch needs is gone.
   * afterRevision may be past the current revision: then only changes after it are delivered.
   * The prefix is a raw string prefix, as for list().
   */
  watch(prefix: string, afterRevision: number, callbacks: WatchCallbacks): Promise<Watch>;

  /** The revision of the latest write (0 for an empty, new store). */
  currentRevision(): Promise<number>;

  /**
   * Discards the history before `revision`: lists at an older revision and watches with an
   * older afterRevision fail with Compacted; the state at `revision` itself can still be
   * listed and watched from. A revision at or below compactRevision() changes nothing; one
   * above currentRevision() fails with FutureRevision.
   */
  compact(revision: number): Promise<void>;

  /** The latest compacted revision (0 when never compacted). */
  compactRevision(): Promise<number>;

  close(): Promise<void>;
}
