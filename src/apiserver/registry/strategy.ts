// The per-resource behaviour the generic storage calls, as kube's rest.RESTCreateStrategy and
// RESTUpdateStrategy: defaulting, preparing for create/update (what a write may change),
// validation, and whether unconditional updates and create-on-update are allowed.
import type { AnyObject, FieldError, ResourceInfo } from '../../api/index.ts';
import type { TxnOp } from '../../store/index.ts';

export interface ResourceStrategy {
  /** Fills defaults, as decoding does in kube-apiserver. */
  defaults(obj: AnyObject): void;
  prepareForCreate(obj: AnyObject): void;
  /** Carries over what this write may not change (status on the main resource, spec on /status). */
  prepareForUpdate(obj: AnyObject, old: AnyObject, subresource: string | undefined): void;
  validateCreate(obj: AnyObject): FieldError[];
  validateUpdate(obj: AnyObject, old: AnyObject, subresource: string | undefined): FieldError[];
  /** PUT without metadata.resourceVersion is allowed (most resources). */
  allowUnconditionalUpdate: boolean;
  /** PUT of a missing object creates it (Endpoints, Events, Leases). */
  allowCreateOnUpdate: boolean;
}

/** Who writes and how: passed to hooks and recorded in managedFields. */
export interface WriteContext {
  dryRun: boolean;
  fieldManager: string;
  user: string;
  now: Date;
}

/** What a hook adds to a write: store operations committed in the same transaction. */
export interface HookResult {
  ops: TxnOp[];
  /** The transaction failed with `err`; return true to run the whole write (and hooks) again. */
  aborted?(err: unknown): boolean;
  /** The transaction committed (or a dry run finished, with dryRun true). */
  committed?(dryRun: boolean): void;
}

/**
 * Resource-specific steps inside the write path (kube's registry REST wrappers and admission):
 * e.g. Services allocate ClusterIPs and NodePorts, atomically with the Service itself.
 */
export interface StorageHooks {
  beforeCreate?(ctx: WriteContext, obj: AnyObject): Promise<HookResult | undefined>;
  beforeUpdate?(ctx: WriteContext, obj: AnyObject, old: AnyObject, subresource: string | undefined): Promise<HookResult | undefined>;
  beforeDelete?(ctx: WriteContext, old: AnyObject): Promise<HookResult | undefined>;
}

export type StrategyFactory = (r: ResourceInfo) => ResourceStrategy;
