export type { KeyValue, StoreEvent, TxnOp, TxnResult, ListOptions, ListResult, Watch, WatchCallbacks, Store, StoreErrorCode } from './types.ts';
export { StoreError, isStoreError } from './types.ts';
