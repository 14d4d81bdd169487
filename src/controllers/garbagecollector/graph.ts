// The garbage collector's dependency graph (pkg/controller/garbagecollector/graph_builder.go),
// pure: objects by uid, their owner references, and who depends on whom. Every change returns
// what the collector must look at next: items to attempt to delete, owners to orphan for.
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import type { KubeObject, ResourceInfo } from '../../api/index.ts';

export const OrphanFinalizer = 'orphan';
export const ForegroundFinalizer = 'foregroundDeletion';

export interface GraphNode {
  uid: string;
  resource: ResourceInfo;
  namespace: string | undefined;
  name: string;
  owners: OwnerReference[];
  /** deletionTimestamp set. */
  beingDeleted: boolean;
  /** deletionTimestamp and the foregroundDeletion finalizer: waits for its blocking dependents. */
  deletingDependents: boolean;
  finalizers: string[];
}

export interface GraphChange {
  /** uids for the attemptToDelete queue. */
  attemptToDelete: string[];
  /** uids for the attemptToOrphan queue. */
  attemptToOrphan: string[];
}

function hasFinalizer(obj: KubeObject, f: string): boolean {
  return (obj.metadata?.finalizers ?? []).includes(f);
}

export function nodeOf(resource: ResourceInfo, obj: KubeObject): GraphNode {
  const m = obj.metadata ?? {};
  const beingDeleted = !!m.deletionTimestamp;
  return {
    uid: m.uid ?? '',
    resource,
    namespace: m.namespace,
    name: m.name ?? '',
    owners: [...(m.ownerReferences ?? [])],
    beingDeleted,
    deletingDependents: beingDeleted && hasFinalizer(obj, ForegroundFinalizer),
    finalizers: [...(m.finalizers ?? [])],
  };
}

export class Graph {
  readonly #nodes = new Map<string, GraphNode>();
  /** owner uid → dependent uids (owners need not be in the graph: a dangling reference). */
  readonly #dependents = new Map<string, Set<string>>();

  get(uid: string): GraphNode | undefined {
    return this.#nodes.get(uid);
  }

  get size(): number {
    return this.#nodes.size;
  }

  dependents(uid: string): GraphNode[] {
    const out: GraphNode[] = [];
    for (const d of this.#dependents.get(uid) ?? []) {
      const n = this.#nodes.get(d);
      if (n) out.push(n);
    }
    return out;
  }

  /** Dependents whose reference to `uid` has blockOwnerDeletion: true. */
  blockingDependents(uid: string): GraphNode[] {
    return this.dependents(uid).filter((d) => d.owners.some((r) => r.uid === uid && r.blockOwnerDeletion === true));
  }

  #link(owner: string, dep: string): void {
    let s = this.#dependents.get(owner);
    if (!s) this.#dependents.set(owner, (s = new Set()));
    s.add(dep);
  }

  #unlink(owner: string, dep: string): void {
    const s = this.#dependents.get(owner);
    if (!s) return;
    s.delete(dep);
    if (!s.size) this.#dependents.delete(owner);
  }

  /** An add or update event (processGraphChanges + processTransitions). */
  upsert(resource: ResourceInfo, obj: KubeObject): GraphChange {
    const next = nodeOf(resource, obj);
    const change: GraphChange = { attemptToDelete: [], attemptToOrphan: [] };
    if (!next.uid) return change;
    const prev = this.#nodes.get(next.uid);
    this.#nodes.set(next.uid, next);
    const prevOwners = new Map((prev?.owners ?? []).map((r) => [r.uid, r]));
    const nextOwners = new Map(next.owners.map((r) => [r.uid, r]));
    for (const [uid] of prevOwners) if (!nextOwners.has(uid)) this.#unlink(uid, next.uid);
    for (const [uid] of nextOwners) this.#link(uid, next.uid);
    // An owner not (yet) in the graph may be gone: the item checks its owners with a live read.
    if (next.owners.some((r) => !this.#nodes.has(r.uid))) change.attemptToDelete.push(next.uid);
    // A reference removed, or unblocked, may release an owner waiting for its dependents.
    for (const [uid, r] of prevOwners) {
      const now = nextOwners.get(uid);
      const released = !now || (r.blockOwnerDeletion === true && now.blockOwnerDeletion !== true);
      if (released && this.#nodes.get(uid)?.deletingDependents) change.attemptToDelete.push(uid);
    }
    // Transitions into deletion with the orphan or foreground finalizer.
    if (next.beingDeleted && next.finalizers.includes(OrphanFinalizer) && !(prev?.beingDeleted && prev.finalizers.includes(OrphanFinalizer))) {
      change.attemptToOrphan.push(next.uid);
    }
    if (next.deletingDependents && !prev?.deletingDependents) {
      change.attemptToDelete.push(next.uid);
      for (const d of this.dependents(next.uid)) change.attemptToDelete.push(d.uid);
    }
    return change;
  }

  /** A delete event: its dependents may now be garbage; owners waiting on it may finish. */
  remove(obj: KubeObject): GraphChange {
    const uid = obj.metadata?.uid ?? '';
    const change: GraphChange = { attemptToDelete: [], attemptToOrphan: [] };
    const node = this.#nodes.get(uid);
    if (!node) return change;
    this.#nodes.delete(uid);
    for (const r of node.owners) {
      this.#unlink(r.uid, uid);
      if (this.#nodes.get(r.uid)?.deletingDependents) change.attemptToDelete.push(r.uid);
    }
    for (const d of this.dependents(uid)) change.attemptToDelete.push(d.uid);
    return change;
  }
}

/** What a live look at an owner reference found (classifyReferences). */
export type OwnerState = 'solid' | 'dangling' | 'waiting' | 'unresolvable';

export type Decision =
  | { kind: 'none'; why: string }
  | { kind: 'removeFinalizer'; finalizer: string }
  | { kind: 'attempt'; uids: string[] }
  | { kind: 'removeReferences'; uids: string[] }
  | { kind: 'delete'; policy: 'Background' | 'Foreground' | 'Orphan'; unblockFirst: boolean };

/**
 * attemptToDeleteItem's decision for a node, given what its owners are (from live reads).
 * A node being deleted waits for its final deletion; one deleting its dependents waits for
 * the blocking ones (and asks for them to be deleted); one with a solid owner only sheds
 * references to owners that are gone or waiting for it; otherwise it is garbage: deleted in
 * the foreground when an owner waits and it has dependents of its own, else as its finalizers say.
 */
export function decide(g: Graph, node: GraphNode, owners: ReadonlyMap<string, OwnerState>): Decision {
  if (node.beingDeleted && !node.deletingDependents) return { kind: 'none', why: 'being deleted' };
  if (node.deletingDependents) {
    const blocking = g.blockingDependents(node.uid);
    if (!blocking.length) return { kind: 'removeFinalizer', finalizer: ForegroundFinalizer };
    const uids = blocking.filter((d) => !d.deletingDependents).map((d) => d.uid);
    return uids.length ? { kind: 'attempt', uids } : { kind: 'none', why: 'dependents are deleting their own dependents' };
  }
  if (!node.owners.length) return { kind: 'none', why: 'no owners' };
  const solid: string[] = [];
  const dangling: string[] = [];
  const waiting: string[] = [];
  for (const r of node.owners) {
    const s = owners.get(r.uid) ?? 'unresolvable';
    if (s === 'solid' || s === 'unresolvable') solid.push(r.uid);
    else if (s === 'dangling') dangling.push(r.uid);
    else waiting.push(r.uid);
  }
  if (solid.length) {
    if (!dangling.length && !waiting.length) return { kind: 'none', why: 'has solid owners' };
    return { kind: 'removeReferences', uids: [...dangling, ...waiting] };
  }
  const deps = g.dependents(node.uid);
  if (waiting.length && deps.length) {
    return { kind: 'delete', policy: 'Foreground', unblockFirst: deps.some((d) => d.deletingDependents) };
  }
  const policy = node.finalizers.includes(OrphanFinalizer) ? 'Orphan' : node.finalizers.includes(ForegroundFinalizer) ? 'Foreground' : 'Background';
  return { kind: 'delete', policy, unblockFirst: false };
}
