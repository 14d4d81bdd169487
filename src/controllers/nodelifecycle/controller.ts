// The node lifecycle controller's shell, with kube's taint-eviction controller folded in. Every
// monitor period it looks at each node's heartbeats; a node silent past its grace period gets
// its conditions set Unknown (a NodeNotReady Event), its pods' Ready condition set False so
// they leave the endpoints, and the unreachable taints; pods on a NoExecute-tainted node are
// deleted once their tolerations run out (a DisruptionTarget condition and a
// TaintManagerEviction Event first), so their ReplicaSets replace them elsewhere. A node that
// heartbeats again loses the taints and its pods' pending evictions.
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { Leases, Nodes, Pods, isNotFound, namespacedName } from '../../api/index.ts';
import { WorkQueue, runWorkers, type Client, type EventRecorder, type Informer } from '../../client/index.ts';
import type { Logger } from '../../util/index.ts';
import type { Controller, ControllerContext } from '../manager.ts';
import { byNodeName, ensureIndex, retryConflicts, rfc3339 } from '../controllerutil/index.ts';
import { evictionFor, desiredTaints, notReadyConditions, observeHealth, readyCondition, silentNodeConditions, taintsEqual, type NodeHealth } from './core.ts';

export interface NodeLifecycleOptions {
  /** How often node health is checked (--node-monitor-period); default 5 s. */
  nodeMonitorPeriodMs?: number;
  /** Silence after which a node is Unknown (--node-monitor-grace-period); default 40 s. */
  nodeMonitorGracePeriodMs?: number;
  /** Grace for a node that never posted Ready (--node-startup-grace-period); default 60 s. */
  nodeStartupGracePeriodMs?: number;
  now?: () => number;
}

const leaseNamespace = 'kube-node-lease';

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class NodeLifecycleController implements Controller {
  readonly name = 'nodelifecycle';
  readonly #opts: NodeLifecycleOptions;
  readonly #nodeQ = new WorkQueue<string>({ name: 'node_lifecycle_controller' });
  readonly #podQ = new WorkQueue<string>({ name: 'taint_eviction_controller' });
  readonly #health = new Map<string, NodeHealth>();
  /** Scheduled evictions: pod key → timer. */
  readonly #evictions = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  #client!: Client;
  #recorder!: EventRecorder;
  #evictionRecorder!: EventRecorder;
  #log!: Logger;
  #nodes!: Informer<Node>;
  #leases!: Informer<Lease>;
  #pods!: Informer<Pod>;
  #workers: Promise<void>[] = [];
  #monitor: NodeJS.Timeout | undefined;

  constructor(opts: NodeLifecycleOptions = {}) {
    this.#opts = opts;
  }

  #now(): number {
    return (this.#opts.now ?? Date.now)();
  }

  setup(ctx: ControllerContext): void {
    this.#client = ctx.client;
    this.#recorder = ctx.recorder('node-controller');
    this.#evictionRecorder = ctx.recorder('taint-eviction-controller');
    this.#log = ctx.log;
    this.#nodes = ctx.informers.informerFor<Node>(Nodes);
    this.#leases = ctx.informers.informerFor<Lease>(Leases);
    this.#pods = ctx.informers.informerFor<Pod>(Pods);
    ensureIndex(this.#pods, byNodeName);
    this.#nodes.addEventHandler({
      onAdd: (n) => this.#nodeQ.add(n.metadata?.name ?? ''),
      onUpdate: (o, n) => {
        this.#nodeQ.add(n.metadata?.name ?? '');
        if (!taintsEqual(o.spec?.taints, n.spec?.taints) || readyCondition(o)?.status !== readyCondition(n)?.status) {
          for (const p of this.#pods.byIndex(byNodeName, n.metadata?.name ?? '')) this.#podQ.add(namespacedName(p));
        }
      },
      onDelete: (n) => {
        this.#health.delete(n.metadata?.name ?? '');
        for (const p of this.#pods.byIndex(byNodeName, n.metadata?.name ?? '')) this.#cancelEviction(namespacedName(p), false);
      },
    });
    this.#pods.addEventHandler({
      onAdd: (p) => {
        if (p.spec?.nodeName) this.#podQ.add(namespacedName(p));
      },
      onUpdate: (o, p) => {
        if (p.spec?.nodeName && (o.spec?.nodeName !== p.spec.nodeName || JSON.stringify(o.spec?.tolerations) !== JSON.stringify(p.spec.tolerations) || o.status?.conditions !== p.status?.conditions)) this.#podQ.add(namespacedName(p));
      },
      onDelete: (p) => this.#cancelEviction(namespacedName(p), false),
    });
  }

  run(ctx: ControllerContext): void {
    this.#workers = [
      runWorkers(this.#nodeQ, 1, retryConflicts(this.#nodeQ, (name) => this.syncNode(name)), { log: ctx.log }),
      runWorkers(this.#podQ, 4, retryConflicts(this.#podQ, (key) => this.syncPod(key)), { log: ctx.log }),
    ];
    this.#monitor = setInterval(() => {
      for (const n of this.#nodes.list()) this.#nodeQ.add(n.metadata?.name ?? '');
    }, this.#opts.nodeMonitorPeriodMs ?? 5000);
    this.#monitor.unref();
  }

  async stop(): Promise<void> {
    if (this.#monitor) clearInterval(this.#monitor);
    for (const e of this.#evictions.values()) clearTimeout(e.timer);
    this.#evictions.clear();
    await Promise.all([this.#nodeQ.shutDown(), this.#podQ.shutDown()]);
    await Promise.all(this.#workers);
  }

  /** monitorNodeHealth for one node: heartbeats, Unknown conditions, pods not ready, taints. */
  async syncNode(name: string): Promise<void> {
    let node = this.#nodes.get(name);
    if (!node) return;
    const now = this.#now();
    const health = observeHealth(this.#health.get(name), node, this.#leases.get(`${leaseNamespace}/${name}`), now);
    this.#health.set(name, health);
    const observed = readyCondition(node)?.status;
    const conditions = silentNodeConditions(node, health, now, this.#opts.nodeMonitorGracePeriodMs ?? 40_000, this.#opts.nodeStartupGracePeriodMs ?? 60_000);
    if (conditions) {
      this.#log.info({ node: name }, 'node stopped posting status: marking it Unknown');
      node = await this.#client.update<Node>(Nodes, { ...structuredClone(node), status: { ...node.status, conditions } }, {}, 'status');
      if (observed === 'True') {
        void this.#recorder.event(node, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
      }
    }
    if (readyCondition(node)?.status !== 'True') await this.#markPodsNotReady(name);
    const taints = desiredTaints(node, now);
    if (!taintsEqual(taints, node.spec?.taints)) {
      try {
        await this.#client.patch(Nodes, undefined, name, 'json', [
          { op: 'test', path: '/metadata/uid', value: node.metadata?.uid ?? '' },
          node.spec?.taints ? { op: 'test', path: '/spec/taints', value: node.spec.taints } : { op: 'test', path: '/metadata/name', value: name },
          !node.spec ? { op: 'add', path: '/spec', value: { taints } } : taints.length ? { op: 'add', path: '/spec/taints', value: taints } : { op: 'remove', path: '/spec/taints' },
        ]);
      } catch (e) {
        // A failed `test` (422, as kube-apiserver answers it) means the cached node was stale: the
        // agent changed its taints meanwhile. A conflict, not an error: try again from a fresh copy.
        if ((e as { status?: { code?: number } } | undefined)?.status?.code !== 422) throw e;
        this.#log.debug({ node: name }, 'node taints changed under us; retrying');
        this.#nodeQ.addRateLimited(name);
      }
    }
  }

  /** MarkPodsNotReady: Ready=False on every pod of the node, with a NodeNotReady Event each. */
  async #markPodsNotReady(node: string): Promise<void> {
    for (const p of this.#pods.byIndex(byNodeName, node)) {
      const conditions = notReadyConditions(p, this.#now());
      if (!conditions) continue;
      try {
        await this.#client.patch(Pods, p.metadata?.namespace, p.metadata?.name ?? '', 'merge', { status: { conditions } }, {}, 'status');
        void this.#recorder.event(p, 'Warning', 'NodeNotReady', 'Node is not ready');
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }

  /** The taint-eviction decision for one pod (and Ready=False when its node is not ready). */
  async syncPod(key: string): Promise<void> {
    const pod = this.#pods.get(key);
    if (!pod?.spec?.nodeName || pod.metadata?.deletionTimestamp) {
      this.#cancelEviction(key, false);
      return;
    }
    const node = this.#nodes.get(pod.spec.nodeName);
    if (!node) {
      this.#cancelEviction(key, false);
      return;
    }
    if (readyCondition(node)?.status !== 'True' && readyCondition(node) && notReadyConditions(pod, this.#now())) await this.#markPodsNotReady(pod.spec.nodeName);
    const e = evictionFor(pod, node.spec?.taints ?? [], this.#now());
    if (e.kind === 'keep') {
      this.#cancelEviction(key, true);
      return;
    }
    if (e.kind === 'now') {
      this.#cancelEviction(key, false);
      await this.#evict(pod);
      return;
    }
    const cur = this.#evictions.get(key);
    if (cur && cur.at <= e.at) return;
    if (cur) clearTimeout(cur.timer);
    const timer = setTimeout(() => {
      this.#evictions.delete(key);
      this.#podQ.add(key);
    }, e.at - this.#now());
    timer.unref();
    this.#evictions.set(key, { at: e.at, timer });
  }

  #cancelEviction(key: string, withEvent: boolean): void {
    const cur = this.#evictions.get(key);
    if (!cur) return;
    clearTimeout(cur.timer);
    this.#evictions.delete(key);
    const pod = this.#pods.get(key);
    if (withEvent && pod) void this.#evictionRecorder.event(pod, 'Normal', 'TaintManagerEviction', `Cancelling deletion of Pod ${key}`);
  }

  /** deletePodHandler: DisruptionTarget first, then an ordinary (graceful) delete. */
  async #evict(pod: Pod): Promise<void> {
    const key = namespacedName(pod);
    void this.#evictionRecorder.event(pod, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${key}`);
    const conditions = [
      ...(pod.status?.conditions ?? []).filter((c) => c.type !== 'DisruptionTarget'),
      { type: 'DisruptionTarget', status: 'True', lastTransitionTime: rfc3339(new Date(this.#now())), reason: 'DeletionByTaintManager', message: 'Taint manager: deleting due to NoExecute taint' },
    ];
    try {
      await this.#client.patch(Pods, pod.metadata?.namespace, pod.metadata?.name ?? '', 'merge', { status: { conditions } }, {}, 'status');
      await this.#client.delete(Pods, pod.metadata?.namespace, pod.metadata?.name ?? '', { preconditions: { uid: pod.metadata?.uid } });
    } catch (e) {
      if (isNotFound(e)) return;
      this.#log.warn({ pod: key, err: message(e) }, 'could not evict pod');
      throw e;
    }
  }
}
