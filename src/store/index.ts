export type { KeyValue, StoreEvent, TxnOp, TxnResult, ListOptions, ListResult, Watch, WatchCallbacks, Store, StoreErrorCode } from './types.ts';
export { StoreError, isStoreError } from './types.ts';
export { MemoryStore } from './memory.ts';
export { SqliteStore, SQLITE_FILE_NAME, type SqliteStoreOptions } from './sqlite.ts';
// The etcd backend loads gRPC (~0.5 s): it is imported only when an etcd store is opened.
export type { EtcdStore, EtcdStoreOptions } from './etcd.ts';
export { openEtcdStore } from './open.ts';
export { openStore, type OpenStoreOptions } from './open.ts';
export { startCompactor, DEFAULT_COMPACTION_INTERVAL_MS, type Compactor } from './compactor.ts';
