// The garbage collector's shell: one informer per served resource (events aside, as kube
// ignores them) feeds the graph; two queues carry it out. attemptToDelete deletes objects whose
// owners are all gone (Background), deletes in the foreground what a foreground-deleting owner
// waits for, sheds references to vanished owners, and lifts foregroundDeletion once no
// blocking dependent is left; attemptToOrphan strips an orphaning owner's references from its
// dependents and then lifts `orphan`. Owners missing from the caches are read live, so a
// cache that lags never gets anything deleted; every delete carries the uid as a precondition.
import type { Operation } from 'fast-json-patch';
import { Events, allResources, findResourceByKind, isConflict, isNotFound, type KubeObject, type ResourceInfo } from '../../api/index.ts';
import { WorkQueue, runWorkers, type Client, type Informer } from '../../client/index.ts';
import type { Logger } from '../../util/index.ts';
import type { Controller, ControllerContext } from '../manager.ts';
import { releasePatch, retryConflicts } from '../controllerutil/index.ts';
import { ForegroundFinalizer, Graph, OrphanFinalizer, decide, type GraphChange, type GraphNode, type OwnerState } from './graph.ts';

export interface GarbageCollectorOptions {
  workers?: number;
  /** Resources not watched (kube ignores events). */
  ignored?: readonly ResourceInfo[];
}

/** The resources the collector watches: every served resource that can be listed, watched and deleted. */
export function collectedResources(ignored: readonly ResourceInfo[] = [Events]): ResourceInfo[] {
  return allResources.filter((r) => !ignored.includes(r) && ['list', 'watch', 'delete'].every((v) => r.verbs.includes(v as never)));
}

function isUnprocessable(e: unknown): boolean {
  return (e as { status?: { code?: number } } | undefined)?.status?.code === 422;
}

export class GarbageCollector implements Controller {
  readonly name = 'garbagecollector';
  readonly graph = new Graph();
  readonly #opts: GarbageCollectorOptions;
  readonly #deleteQ = new WorkQueue<string>({ name: 'garbage_collector_attempt_to_delete' });
  readonly #orphanQ = new WorkQueue<string>({ name: 'garbage_collector_attempt_to_orphan' });
  readonly #informers = new Map<ResourceInfo, Informer<KubeObject>>();
  #client!: Client;
  #log!: Logger;
  #workers: Promise<void>[] = [];

  constructor(opts: GarbageCollectorOptions = {}) {
    this.#opts = opts;
  }

  setup(ctx: ControllerContext): void {
    this.#client = ctx.client;
    this.#log = ctx.log;
    for (const r of collectedResources(this.#opts.ignored)) {
      const inf = ctx.informers.informerFor<KubeObject>(r);
      this.#informers.set(r, inf);
      inf.addEventHandler({
        onAdd: (o) => this.#apply(this.graph.upsert(r, o)),
        onUpdate: (_old, o) => this.#apply(this.graph.upsert(r, o)),
        onDelete: (o) => this.#apply(this.graph.remove(o)),
      });
    }
  }

  run(ctx: ControllerContext): void {
    const n = this.#opts.workers ?? 5;
    this.#workers = [
      runWorkers(this.#deleteQ, n, retryConflicts(this.#deleteQ, (uid) => this.attemptToDelete(uid)), { log: ctx.log }),
      runWorkers(this.#orphanQ, 1, retryConflicts(this.#orphanQ, (uid) => this.attemptToOrphan(uid)), { log: ctx.log }),
    ];
  }

  async stop(): Promise<void> {
    await Promise.all([this.#deleteQ.shutDown(), this.#orphanQ.shutDown()]);
    await Promise.all(this.#workers);
  }

  #apply(c: GraphChange): void {
    for (const uid of c.attemptToDelete) this.#deleteQ.add(uid);
    for (const uid of c.attemptToOrphan) this.#orphanQ.add(uid);
  }

  /** The cached object behind a graph node, if it is still that object. */
  #cached(node: GraphNode): KubeObject | undefined {
    const o = this.#informers.get(node.resource)?.get(node.namespace ? `${node.namespace}/${node.name}` : node.name);
    return o?.metadata?.uid === node.uid ? o : undefined;
  }

  /** isDangling / classifyReferences for one owner reference of `node`, reading live when the cache does not know the owner. */
  async #ownerState(node: GraphNode, uid: string): Promise<OwnerState> {
    const ref = node.owners.find((r) => r.uid === uid);
    if (!ref) return 'dangling';
    const r = findResourceByKind(ref.apiVersion, ref.kind);
    // An owner of a kind not served here cannot be judged: leave the dependent alone.
    if (!r) return 'unresolvable';
    if (r.namespaced && !node.namespace) return 'unresolvable';
    const ns = r.namespaced ? node.namespace : undefined;
    const state = (o: KubeObject): OwnerState => {
      if (o.metadata?.uid !== ref.uid) return 'dangling';
      return o.metadata?.deletionTimestamp && (o.metadata.finalizers ?? []).includes(ForegroundFinalizer) ? 'waiting' : 'solid';
    };
    const cached = this.#informers.get(r)?.get(ns ? `${ns}/${ref.name}` : ref.name);
    if (cached?.metadata?.uid === ref.uid) return state(cached);
    try {
      return state(await this.#client.get(r, ns, ref.name));
    } catch (e) {
      if (isNotFound(e)) return 'dangling';
      throw e;
    }
  }

  /** attemptToDeleteItem. */
  async attemptToDelete(uid: string): Promise<void> {
    const node = this.graph.get(uid);
    if (!node) return;
    const obj = this.#cached(node);
    if (!obj) return;
    const owners = new Map<string, OwnerState>();
    if (!node.beingDeleted) for (const r of node.owners) owners.set(r.uid, await this.#ownerState(node, r.uid));
    const d = decide(this.graph, node, owners);
    switch (d.kind) {
      case 'none':
        return;
      case 'attempt':
        for (const u of d.uids) this.#deleteQ.add(u);
        return;
      case 'removeFinalizer':
        await this.#removeFinalizer(node, d.finalizer);
        return;
      case 'removeReferences': {
        const keep = (obj.metadata?.ownerReferences ?? []).filter((r) => !d.uids.includes(r.uid));
        const ops: Operation[] = [
          { op: 'test', path: '/metadata/uid', value: node.uid },
          { op: 'test', path: '/metadata/ownerReferences', value: obj.metadata?.ownerReferences ?? [] },
          keep.length ? { op: 'replace', path: '/metadata/ownerReferences', value: keep } : { op: 'remove', path: '/metadata/ownerReferences' },
        ];
        this.#log.debug({ object: this.#describe(node), removed: d.uids }, 'removing references to owners that are gone or waiting');
        await this.#patch(node, ops);
        return;
      }
      case 'delete': {
        if (d.unblockFirst) {
          const refs = (obj.metadata?.ownerReferences ?? []).map((r) => ({ ...r, blockOwnerDeletion: false }));
          await this.#patch(node, [
            { op: 'test', path: '/metadata/uid', value: node.uid },
            { op: 'replace', path: '/metadata/ownerReferences', value: refs },
          ]);
        }
        this.#log.debug({ object: this.#describe(node), policy: d.policy }, 'deleting object');
        try {
          await this.#client.delete(node.resource, node.namespace, node.name, { propagationPolicy: d.policy, preconditions: { uid: node.uid } });
        } catch (e) {
          // Gone already, or a new object took the name: nothing of ours to delete.
          if (!isNotFound(e) && !isConflict(e)) throw e;
        }
        return;
      }
    }
  }

  /** attemptToOrphanWorker: drop the owner from every dependent's references, then its orphan finalizer. */
  async attemptToOrphan(uid: string): Promise<void> {
    const owner = this.graph.get(uid);
    if (!owner) return;
    for (const dep of this.graph.dependents(uid)) {
      const obj = this.#cached(dep);
      if (!obj) continue;
      await this.#patch(dep, releasePatch(obj, uid));
    }
    await this.#removeFinalizer(owner, OrphanFinalizer);
  }

  async #removeFinalizer(node: GraphNode, finalizer: string): Promise<void> {
    let obj: KubeObject;
    try {
      obj = await this.#client.get(node.resource, node.namespace, node.name);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    if (obj.metadata?.uid !== node.uid) return;
    const fins = obj.metadata.finalizers ?? [];
    if (!fins.includes(finalizer)) return;
    const rest = fins.filter((f) => f !== finalizer);
    this.#log.debug({ object: this.#describe(node), finalizer }, 'removing finalizer');
    await this.#patch(node, [
      { op: 'test', path: '/metadata/uid', value: node.uid },
      { op: 'test', path: '/metadata/finalizers', value: fins },
      rest.length ? { op: 'replace', path: '/metadata/finalizers', value: rest } : { op: 'remove', path: '/metadata/finalizers' },
    ]);
  }

  /** A conditional JSON patch; a failed test (the object moved on) is retried from a fresh look. */
  async #patch(node: GraphNode, ops: Operation[]): Promise<void> {
    try {
      await this.#client.patch(node.resource, node.namespace, node.name, 'json', ops);
    } catch (e) {
      if (isNotFound(e)) return;
      if (isUnprocessable(e)) throw new Error(`${this.#describe(node)} changed while the garbage collector acted on it; retrying`);
      throw e;
    }
  }

  #describe(n: GraphNode): string {
    return `${n.resource.resource}${n.resource.group ? `.${n.resource.group}` : ''} ${n.namespace ? `${n.namespace}/` : ''}${n.name} (${n.uid})`;
  }
}

