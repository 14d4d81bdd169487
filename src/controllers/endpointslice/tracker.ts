// What a controller wrote to its EndpointSlices until its informer shows it: k8s.io/endpointslice's
// EndpointSliceTracker (expected generations by slice uid, deletions expected), extended to keep
// the written objects. Where Kubernetes answers a stale cache with an error and a retry after a
// second, a sync here reads the slices as this controller last wrote them, so a quick second
// change of the same Service is neither delayed nor computed from a stale view.
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';

interface Expectation {
  generation: number;
  /** The slice as written; undefined when its deletion is expected. */
  slice: EndpointSlice | undefined;
}

function uidOf(s: EndpointSlice): string {
  return s.metadata?.uid ?? '';
}

function generationOf(s: EndpointSlice): number {
  return s.metadata?.generation ?? 0;
}

export class SliceTracker {
  /** owner key ("ns/name" of the Service or Endpoints) → slice uid → expectation */
  readonly #byOwner = new Map<string, Map<string, Expectation>>();

  #owner(key: string): Map<string, Expectation> {
    let m = this.#byOwner.get(key);
    if (!m) this.#byOwner.set(key, (m = new Map<string, Expectation>()));
    return m;
  }

  /** Records a slice as the API server answered a create or update. */
  wrote(owner: string, slice: EndpointSlice): void {
    this.#owner(owner).set(uidOf(slice), { generation: generationOf(slice), slice });
  }

  /** Records that this controller deleted the slice. */
  expectDeletion(owner: string, slice: EndpointSlice): void {
    this.#owner(owner).set(uidOf(slice), { generation: -1, slice: undefined });
  }

  /**
   * For an informer add or update: true when the slice is one this controller wrote (or an
   * older state of it), false when someone else changed it (or it is unknown) and the owner
   * should be synced (ShouldSync, inverted).
   */
  expected(owner: string, slice: EndpointSlice): boolean {
    const m = this.#byOwner.get(owner);
    const e = m?.get(uidOf(slice));
    if (!m || !e) return false;
    if (!e.slice) return true; // being deleted by us
    const g = generationOf(slice);
    if (g < e.generation) return true;
    m.delete(uidOf(slice)); // the informer caught up (or went past)
    if (m.size === 0) this.#byOwner.delete(owner);
    return g === e.generation;
  }

  /** For an informer delete: true when this controller deleted the slice (HandleDeletion). */
  deleted(owner: string, slice: EndpointSlice): boolean {
    const m = this.#byOwner.get(owner);
    const e = m?.get(uidOf(slice));
    if (!m || !e) return false;
    m.delete(uidOf(slice));
    if (m.size === 0) this.#byOwner.delete(owner);
    return !e.slice;
  }

  /**
   * The owner's slices as this controller knows them: the informer's, with its own writes the
   * informer does not show yet put in their place (and its own deletions left out).
   */
  current(owner: string, fromInformer: readonly EndpointSlice[]): EndpointSlice[] {
    const m = this.#byOwner.get(owner);
    if (!m || m.size === 0) return [...fromInformer];
    const out: EndpointSlice[] = [];
    const seen = new Set<string>();
    for (const s of fromInformer) {
      const uid = uidOf(s);
      seen.add(uid);
      const e = m.get(uid);
      if (!e) out.push(s);
      else if (!e.slice) continue;
      else out.push(generationOf(s) < e.generation ? e.slice : s);
    }
    for (const [uid, e] of m) if (!seen.has(uid) && e.slice) out.push(e.slice);
    return out;
  }

  /** Forgets the owner (its Service or Endpoints is gone). */
  forget(owner: string): void {
    this.#byOwner.delete(owner);
  }
}
