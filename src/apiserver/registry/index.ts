// The registry: generic storage per resource over the Store, its watch cache, and the seams
// (strategies, hooks) through which resource specifics come in.
export { Registry, type RegistryOptions } from './registry.ts';
export {
  ResourceStorage,
  type ListItem,
  type ListRequest,
  type ListResponse,
  type ManagedFieldsUpdater,
  type NamespaceCheck,
  type Patcher,
  type WatchRequest,
  type WatchSink,
  type WriteRequest,
} from './storage.ts';
export type { HookResult, ResourceStrategy, StorageHooks, StrategyFactory, WriteContext } from './strategy.ts';
export type { CachedObject, DeliveredEvent } from './cacher.ts';
export { objectKey, resourcePrefix, nowTime } from './codec.ts';
