// The namespace controller's shell: for a Terminating namespace it deletes every object of
// every namespaced resource in it, checks what is left (pods may still be terminating; content
// may wait on finalizers), reports that in the namespace's status conditions, and once nothing
// is left removes the `kubernetes` finalizer through namespaces/finalize, at which the API
// server removes the namespace. Deletions of content in a terminating namespace wake it early.
import type { Namespace, Pod } from 'kubernetes-types/core/v1.js';
import { Namespaces, Pods, isConflict, isNotFound, type KubeObject, type ResourceInfo } from '../../api/index.ts';
import { WorkQueue, runWorkers, type Client, type Informer } from '../../client/index.ts';
import type { Logger } from '../../util/index.ts';
import type { Controller, ControllerContext } from '../manager.ts';
import { deletionConditions, estimatePods, finalizedSpecFinalizers, finalizerEstimateSeconds, groupResource, isFinalized, namespacedResources, type ContentTotals } from './core.ts';

export interface NamespaceControllerOptions {
  workers?: number;
  now?: () => number;
  /** Write the deletion conditions to the namespace's status (default true, as kube does). */
  reportConditions?: boolean;
}

class ResourcesRemaining extends Error {
  constructor(readonly estimateSeconds: number) {
    super(`some content remains in the namespace, estimate ${estimateSeconds} seconds before it is removed`);
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class NamespaceController implements Controller {
  readonly name = 'namespace';
  readonly #opts: NamespaceControllerOptions;
  readonly #queue = new WorkQueue<string>({ name: 'namespace' });
  #client!: Client;
  #log!: Logger;
  #namespaces!: Informer<Namespace>;
  #workers: Promise<void> | undefined;

  constructor(opts: NamespaceControllerOptions = {}) {
    this.#opts = opts;
  }

  #now(): number {
    return (this.#opts.now ?? Date.now)();
  }

  setup(ctx: ControllerContext): void {
    this.#client = ctx.client;
    this.#log = ctx.log;
    this.#namespaces = ctx.informers.informerFor<Namespace>(Namespaces);
    const consider = (ns: Namespace) => {
      if (ns.metadata?.deletionTimestamp) this.#queue.add(ns.metadata.name ?? '');
    };
    this.#namespaces.addEventHandler({ onAdd: consider, onUpdate: (_o, n) => consider(n) });
    // Content going away in a terminating namespace: look again soon rather than at the estimate.
    for (const r of namespacedResources()) {
      const inf = ctx.informers.informerFor<KubeObject>(r);
      inf.addEventHandler({
        onDelete: (o) => {
          const ns = o.metadata?.namespace;
          if (ns && this.#namespaces.get(ns)?.metadata?.deletionTimestamp) this.#queue.addAfter(ns, 50);
        },
      });
    }
  }

  run(ctx: ControllerContext): void {
    this.#workers = runWorkers(this.#queue, this.#opts.workers ?? 10, (name) => this.#syncOne(name), { log: ctx.log });
  }

  async stop(): Promise<void> {
    await this.#queue.shutDown();
    await this.#workers;
  }

  async #syncOne(name: string): Promise<void> {
    try {
      await this.sync(name);
    } catch (e) {
      if (e instanceof ResourcesRemaining) {
        // kube requeues after half the estimate; deletions in the namespace wake it sooner.
        this.#queue.addAfter(name, Math.max(1000, (e.estimateSeconds * 1000) / 2));
        return;
      }
      throw e;
    }
  }

  /** NamespacedResourcesDeleter.Delete. */
  async sync(name: string): Promise<void> {
    let ns: Namespace;
    try {
      ns = await this.#client.get<Namespace>(Namespaces, undefined, name);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    if (!ns.metadata?.deletionTimestamp) return;
    if (isFinalized(ns)) return;
    const estimate = await this.#deleteAllContent(ns);
    if (estimate > 0) throw new ResourcesRemaining(estimate);
    await this.#finalize(ns);
  }

  /** deleteAllContent: returns the seconds to wait before looking again (0: all gone). */
  async #deleteAllContent(ns: Namespace): Promise<number> {
    const name = ns.metadata?.name ?? '';
    const totals: ContentTotals = { remaining: new Map(), finalizers: new Map(), errors: [] };
    let estimate = 0;
    for (const r of namespacedResources()) {
      try {
        const left = await this.#deleteResource(r, name, ns.metadata?.deletionTimestamp);
        if (left.count > 0) {
          totals.remaining.set(groupResource(r), left.count);
          for (const [f, n] of left.finalizers) totals.finalizers.set(f, (totals.finalizers.get(f) ?? 0) + n);
        }
        estimate = Math.max(estimate, left.estimate);
        if (left.error) totals.errors.push(left.error);
      } catch (e) {
        totals.errors.push(message(e));
      }
    }
    if (this.#opts.reportConditions ?? true) {
      const conditions = deletionConditions(ns, totals, this.#now());
      if (conditions) {
        try {
          await this.#client.update<Namespace>(Namespaces, { ...ns, status: { ...ns.status, conditions } }, {}, 'status');
        } catch (e) {
          this.#log.warn({ namespace: name, err: message(e) }, "couldn't update status condition for namespace");
        }
      }
    }
    if (totals.errors.length) throw new Error(`namespace ${name}: ${totals.errors.join('; ')}`);
    return estimate;
  }

  /** deleteAllContentForGroupVersionResource: delete each item, then count what is left. */
  async #deleteResource(r: ResourceInfo, ns: string, deletedAt: string | undefined): Promise<{ count: number; finalizers: Map<string, number>; estimate: number; error?: string }> {
    let estimate = 0;
    if (r === Pods) estimate = estimatePods((await this.#client.list<Pod>(Pods, ns)).items, deletedAt, this.#now());
    const items = (await this.#client.list<KubeObject>(r, ns)).items;
    for (const o of items) {
      if (o.metadata?.deletionTimestamp) continue;
      try {
        await this.#client.delete(r, ns, o.metadata?.name ?? '', { propagationPolicy: 'Background' });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    const left = (await this.#client.list<KubeObject>(r, ns)).items;
    const finalizers = new Map<string, number>();
    for (const o of left) for (const f of o.metadata?.finalizers ?? []) finalizers.set(f, (finalizers.get(f) ?? 0) + 1);
    if (!left.length) return { count: 0, finalizers, estimate };
    if (estimate > 0) return { count: left.length, finalizers, estimate };
    if (finalizers.size) return { count: left.length, finalizers, estimate: finalizerEstimateSeconds };
    // Nothing should be left: say so, and look again soon.
    return { count: left.length, finalizers, estimate: 1, error: `unexpected items still remain in namespace: ${ns} for gvr: ${r.group ? `${r.group}/` : '/'}${r.version}, Resource=${r.resource}` };
  }

  /** finalizeNamespace: PUT namespaces/{name}/finalize without `kubernetes`. */
  async #finalize(ns: Namespace): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const body: Namespace = { ...ns, spec: { ...ns.spec, finalizers: finalizedSpecFinalizers(ns) } };
      try {
        // The Client names only status and scale; namespaces/finalize is a PUT of a Namespace all the same.
        await this.#client.update<Namespace>(Namespaces, body, {}, 'finalize');
        this.#log.info({ namespace: ns.metadata?.name }, 'namespace finalized');
        return;
      } catch (e) {
        if (isNotFound(e)) return;
        if (!isConflict(e) || attempt >= 3) throw e;
        ns = await this.#client.get<Namespace>(Namespaces, undefined, ns.metadata?.name ?? '');
      }
    }
  }
}
