// Change trackers, as kube-proxy's ServiceChangeTracker and EndpointsChangeTracker: informer
// handlers only record {previous, current} per key; an update that ends where it started is
// dropped, so a no-op costs nothing; the sync loop checks all changes out in one go.
import { isDeepStrictEqual } from 'node:util';
import type { NamespacedName, ServiceInfo, SliceInfo } from '../types.ts';

export interface Change<T> {
  /** The state when the last sync saw it; undefined: it did not exist. */
  previous: T | undefined;
  /** The state now; undefined: deleted. */
  current: T | undefined;
}

export class ChangeTracker<T> {
  #changes = new Map<string, Change<T>>();
  #onChange: (() => void) | undefined;

  /** onChange runs after every recorded change (the proxier uses it to queue a sync). */
  constructor(onChange?: () => void) {
    this.#onChange = onChange;
  }

  /**
   * Records that key went from previous to current. Returns whether a change is pending for the
   * key afterwards (false when this update undid the pending one, or changed nothing).
   */
  update(key: string, previous: T | undefined, current: T | undefined): boolean {
    const pending = this.#changes.get(key);
    const change: Change<T> = pending ? { previous: pending.previous, current } : { previous, current };
    if (isDeepStrictEqual(change.previous, change.current)) {
      this.#changes.delete(key);
      if (pending) this.#onChange?.();
      return false;
    }
    this.#changes.set(key, change);
    this.#onChange?.();
    return true;
  }

  /** How many keys have a pending change. */
  get pending(): number {
    return this.#changes.size;
  }

  /** Takes every pending change and starts afresh. */
  checkout(): Map<string, Change<T>> {
    const c = this.#changes;
    this.#changes = new Map();
    return c;
  }
}

export type ServiceChangeTracker = ChangeTracker<ServiceInfo>;
export type EndpointSliceChangeTracker = ChangeTracker<SliceInfo>;

/**
 * The current Services and EndpointSlices, updated from checked-out changes (kube-proxy's
 * ServicePortMap.Update and EndpointsMap.Update). apply() returns the Services whose inputs changed.
 */
export class ProxyInputs {
  readonly services = new Map<NamespacedName, ServiceInfo>();
  /** EndpointSlices by Service, then by slice name. */
  readonly slices = new Map<NamespacedName, Map<string, SliceInfo>>();

  applyServices(changes: ReadonlyMap<string, Change<ServiceInfo>>, changed: Set<NamespacedName>): void {
    for (const [key, c] of changes) {
      if (c.current) this.services.set(key, c.current);
      else this.services.delete(key);
      changed.add(key);
    }
  }

  applySlices(changes: ReadonlyMap<string, Change<SliceInfo>>, changed: Set<NamespacedName>): void {
    for (const [key, c] of changes) {
      if (c.previous?.service) {
        const m = this.slices.get(c.previous.service);
        m?.delete(key);
        if (m?.size === 0) this.slices.delete(c.previous.service);
        changed.add(c.previous.service);
      }
      if (c.current?.service) {
        let m = this.slices.get(c.current.service);
        if (!m) this.slices.set(c.current.service, (m = new Map<string, SliceInfo>()));
        m.set(key, c.current);
        changed.add(c.current.service);
      }
    }
  }
}
