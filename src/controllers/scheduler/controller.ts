// The scheduler's shell: pods and nodes from informers, a queue of unscheduled pods, one
// decision at a time (so each sees the ones before it, "assumed" until the informer shows the
// binding), pods/binding to bind, a Scheduled Event; on failure a FailedScheduling Event and
// PodScheduled=False (Unschedulable) with kube's message, and another try when nodes or pods change.
import type { Binding, Node, Pod, PodCondition } from 'kubernetes-types/core/v1.js';
import { Nodes, Pods, isConflict, isNotFound, namespacedName } from '../../api/index.ts';
import { WorkQueue, runWorkers, type Client, type EventRecorder, type Informer } from '../../client/index.ts';
import type { Logger } from '../../util/index.ts';
import type { Controller, ControllerContext } from '../manager.ts';
import { byNodeName, ensureIndex, rfc3339, splitKey } from '../controllerutil/index.ts';
import { needsScheduling, schedule } from './core.ts';

export interface SchedulerOptions {
  /** How often pods that did not fit are tried again regardless of events; default 30 s. */
  unschedulableRetryMs?: number;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function finished(p: Pod): boolean {
  return p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
}

export class Scheduler implements Controller {
  readonly name = 'scheduler';
  readonly #opts: SchedulerOptions;
  readonly #queue = new WorkQueue<string>({ name: 'scheduler' });
  /** Pods bound by us that the informer does not show bound yet: key → node. */
  readonly #assumed = new Map<string, string>();
  /** Pods that fit nowhere at their last try. */
  readonly #unschedulable = new Set<string>();
  /** Failed binding attempts per pod, for kube's pod backoff (1 s doubling to 10 s). */
  readonly #bindFailures = new Map<string, number>();
  /** Bindings in flight (the binding cycle). */
  readonly #binding = new Set<Promise<void>>();
  #client!: Client;
  #recorder!: EventRecorder;
  #log!: Logger;
  #pods!: Informer<Pod>;
  #nodes!: Informer<Node>;
  #workers: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;

  constructor(opts: SchedulerOptions = {}) {
    this.#opts = opts;
  }

  setup(ctx: ControllerContext): void {
    this.#client = ctx.client;
    this.#recorder = ctx.recorder('default-scheduler');
    this.#log = ctx.log;
    this.#pods = ctx.informers.informerFor<Pod>(Pods);
    this.#nodes = ctx.informers.informerFor<Node>(Nodes);
    ensureIndex(this.#pods, byNodeName);
    this.#pods.addEventHandler({
      onAdd: (p) => this.#podChanged(p),
      onUpdate: (_o, p) => this.#podChanged(p),
      onDelete: (p) => {
        const k = namespacedName(p);
        this.#assumed.delete(k);
        this.#unschedulable.delete(k);
        this.#bindFailures.delete(k);
        // Room freed on a node: pods that did not fit may now.
        if (p.spec?.nodeName) this.#retryUnschedulable();
      },
    });
    this.#nodes.addEventHandler({
      onAdd: () => this.#retryUnschedulable(),
      onUpdate: (o, n) => {
        if (JSON.stringify([o.spec, o.metadata?.labels, o.status?.conditions?.map((c) => [c.type, c.status]), o.status?.allocatable]) !== JSON.stringify([n.spec, n.metadata?.labels, n.status?.conditions?.map((c) => [c.type, c.status]), n.status?.allocatable])) this.#retryUnschedulable();
      },
    });
  }

  run(ctx: ControllerContext): void {
    // One worker: each decision must see every binding before it.
    this.#workers = runWorkers(this.#queue, 1, (key) => this.sync(key), { log: ctx.log });
    this.#retry = setInterval(() => this.#retryUnschedulable(), this.#opts.unschedulableRetryMs ?? 30_000);
    this.#retry.unref();
  }

  async stop(): Promise<void> {
    if (this.#retry) clearInterval(this.#retry);
    await this.#queue.shutDown();
    await this.#workers;
    await Promise.all(this.#binding);
  }

  #podChanged(p: Pod): void {
    const k = namespacedName(p);
    if (p.spec?.nodeName) this.#assumed.delete(k);
    if (needsScheduling(p)) {
      if (!this.#unschedulable.has(k)) this.#queue.add(k);
    } else {
      this.#unschedulable.delete(k);
    }
  }

  #retryUnschedulable(): void {
    for (const k of this.#unschedulable) this.#queue.add(k);
    this.#unschedulable.clear();
  }

  /** Pods per node: bound (from the informer) and assumed, finished ones aside. */
  #podsByNode(): Map<string, Pod[]> {
    const out = new Map<string, Pod[]>();
    for (const node of this.#nodes.list()) {
      const name = node.metadata?.name ?? '';
      out.set(name, this.#pods.byIndex(byNodeName, name).filter((p) => !finished(p)));
    }
    for (const [k, node] of this.#assumed) {
      const p = this.#pods.get(k);
      if (p && !p.spec?.nodeName) out.get(node)?.push({ ...p, spec: { ...p.spec!, nodeName: node } });
    }
    return out;
  }

  async sync(key: string): Promise<void> {
    const pod = this.#pods.get(key);
    if (!pod || !needsScheduling(pod) || this.#assumed.has(key)) return;
    const nodes = [...this.#nodes.list()].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
    const result = schedule(pod, nodes, this.#podsByNode());
    const [ns, name] = splitKey(key);
    if ('node' in result) {
      // kube-scheduler's binding cycle runs apart from its scheduling cycle: the pod counts as
      // assumed on its node, and the next pod is placed while this binding is in flight.
      this.#assumed.set(key, result.node);
      const b = this.#bind(pod, key, ns, name, result.node).catch((e: unknown) => this.#log.warn({ pod: key, err: message(e) }, 'binding failed'));
      this.#binding.add(b);
      void b.finally(() => this.#binding.delete(b));
      return;
    }
    this.#unschedulable.add(key);
    this.#log.debug({ pod: key, reason: result.error }, 'unable to schedule pod');
    void this.#recorder.event(pod, 'Warning', 'FailedScheduling', result.error);
    await this.#markUnschedulable(pod, result.error);
  }

  async #bind(pod: Pod, key: string, ns: string | undefined, name: string, node: string): Promise<void> {
    const binding: Binding = { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace: ns }, target: { apiVersion: 'v1', kind: 'Node', name: node } };
    try {
      await this.#client.createSubresource(Pods, ns, name, 'binding', binding);
    } catch (e) {
      if (this.#assumed.get(key) === node) this.#assumed.delete(key);
      if (isNotFound(e)) return;
      // Bound meanwhile (e.g. by another scheduler): nothing left to do.
      if (isConflict(e) && /already assigned/.test(message(e))) return;
      void this.#recorder.event(pod, 'Warning', 'FailedScheduling', `Binding rejected: ${message(e)}`);
      // handleBindingCycleError: the pod waits out its backoff before another try.
      const n = (this.#bindFailures.get(key) ?? 0) + 1;
      this.#bindFailures.set(key, n);
      if (n === 1) this.#log.warn({ pod: key, node, err: message(e) }, 'binding rejected');
      this.#queue.addAfter(key, Math.min(1000 * 2 ** (n - 1), 10_000));
      return;
    }
    this.#bindFailures.delete(key);
    void this.#recorder.event(pod, 'Normal', 'Scheduled', `Successfully assigned ${key} to ${node}`);
  }

  /** PodScheduled=False, reason Unschedulable, through the status subresource (when it changed). */
  async #markUnschedulable(pod: Pod, msg: string): Promise<void> {
    const cur = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    if (cur?.status === 'False' && cur.reason === 'Unschedulable' && cur.message === msg) return;
    const cond: PodCondition = { type: 'PodScheduled', status: 'False', lastTransitionTime: cur?.status === 'False' ? cur.lastTransitionTime : rfc3339(), reason: 'Unschedulable', message: msg };
    const conditions = [...(pod.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled'), cond];
    try {
      await this.#client.patch(Pods, pod.metadata?.namespace, pod.metadata?.name ?? '', 'merge', { status: { conditions } }, {}, 'status');
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}
