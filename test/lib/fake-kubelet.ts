// A TEST FAKE of the node agent for controller tests: it registers Nodes with a Ready condition
// and a heartbeat Lease in kube-node-lease, marks pods bound to its nodes Running and Ready (a
// podIP of its own on loopback, as host mode gives), and completes graceful deletions the way a
// kubelet confirms them (a delete with gracePeriodSeconds 0). It talks through any Client, so
// it works in-process and against `bin/svcnet server` over HTTPS. Nothing runs: no processes.
import type { Node, NodeCondition, Pod, PodCondition, Taint } from 'kubernetes-types/core/v1.js';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import { Leases, Nodes, Pods, isNotFound, namespacedName } from '../../src/api/index.ts';
import { SharedInformer, type Client } from '../../src/client/index.ts';

export interface FakeNodeOptions {
  labels?: Record<string, string>;
  taints?: Taint[];
  unschedulable?: boolean;
  /** false: register NotReady (Ready=False, KubeletNotReady). */
  ready?: boolean;
}

export interface FakeKubeletOptions {
  /** How often leases are renewed; default 2 s. */
  heartbeatMs?: number;
  /** leaseDurationSeconds written on the Lease; default 40. */
  leaseDurationSeconds?: number;
  /** Delay before a pod bound to a node turns Running and Ready; default 0. */
  startDelayMs?: number;
  /** Delay before a terminating pod is confirmed deleted; default 0. */
  terminateDelayMs?: number;
  /** Pods whose names match start Running but never Ready (a failing readiness probe). */
  neverReady?: RegExp;
  /** Also run pods no scheduler bound (for controller tests that run no scheduler). */
  runUnscheduled?: boolean;
}

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function microNow(): string {
  return new Date().toISOString().replace(/Z$/, '000Z');
}

let podIPSeq = 0;

export class FakeKubelet {
  readonly client: Client;
  readonly #opts: Required<Omit<FakeKubeletOptions, 'neverReady'>> & Pick<FakeKubeletOptions, 'neverReady'>;
  readonly #nodes = new Set<string>();
  /** Nodes whose kubelet is "down": no heartbeats, no pod work. */
  readonly #silenced = new Set<string>();
  readonly #pods: SharedInformer<Pod>;
  readonly #busy = new Set<string>();
  readonly #notReady = new Set<string>();
  readonly #ips = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  readonly #pending = new Set<Promise<void>>();
  /** Errors met while acting (a test may assert there were none). */
  readonly errors: unknown[] = [];

  constructor(client: Client, opts: FakeKubeletOptions = {}) {
    this.client = client;
    this.#opts = {
      heartbeatMs: opts.heartbeatMs ?? 2000,
      leaseDurationSeconds: opts.leaseDurationSeconds ?? 40,
      startDelayMs: opts.startDelayMs ?? 0,
      terminateDelayMs: opts.terminateDelayMs ?? 0,
      neverReady: opts.neverReady,
      runUnscheduled: opts.runUnscheduled ?? false,
    };
    this.#pods = new SharedInformer<Pod>(client, Pods, { pageSize: 0 });
    this.#pods.addEventHandler({ onAdd: (p) => this.#consider(p), onUpdate: (_o, p) => this.#consider(p) });
  }

  async start(): Promise<void> {
    this.#pods.start();
    await this.#pods.waitForSync();
    this.#timer = setInterval(() => this.#track(this.#heartbeatAll()), this.#opts.heartbeatMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#pods.stopped();
    await Promise.allSettled([...this.#pending]);
  }

  /** Registers a Node (Ready unless told otherwise) and its Lease. */
  async addNode(name: string, o: FakeNodeOptions = {}): Promise<Node> {
    this.#nodes.add(name);
    const node: Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', ...o.labels } },
      spec: { ...(o.taints ? { taints: o.taints } : {}), ...(o.unschedulable ? { unschedulable: true } : {}) },
      status: {
        conditions: [this.#readyCondition(o.ready !== false)],
        addresses: [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: name }],
        capacity: { cpu: '2', memory: '4Gi', pods: '110' },
        allocatable: { cpu: '2', memory: '4Gi', pods: '110' },
      },
    };
    const created = await this.client.create<Node>(Nodes, undefined, node);
    await this.#renewLease(name, created);
    for (const p of this.#pods.list()) this.#consider(p);
    return created;
  }

  /** Stops heartbeats and pod work for a node (its kubelet died or its link was cut). */
  silence(name: string): void {
    this.#silenced.add(name);
  }

  /** Resumes a silenced node: a heartbeat now, Ready again, and its pods looked at. */
  async revive(name: string): Promise<void> {
    this.#silenced.delete(name);
    await this.#heartbeat(name, true);
    for (const p of this.#pods.list()) this.#consider(p);
  }

  /** Makes a running pod turn not ready (readiness failing) or ready again. */
  async setReady(namespace: string, name: string, ready: boolean): Promise<void> {
    const key = `${namespace}/${name}`;
    if (ready) this.#notReady.delete(key);
    else this.#notReady.add(key);
    const pod = await this.client.get<Pod>(Pods, namespace, name);
    await this.#writeRunning(pod, ready);
  }

  /** Resolves when no pod work is in flight. */
  async idle(): Promise<void> {
    while (this.#pending.size) await Promise.allSettled([...this.#pending]);
  }

  #readyCondition(ready: boolean): NodeCondition {
    const t = now();
    return ready
      ? { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: t, lastTransitionTime: t }
      : { type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: 'container runtime network not ready', lastHeartbeatTime: t, lastTransitionTime: t };
  }

  #track(p: Promise<void>): void {
    const tracked = p.catch((e: unknown) => {
      if (!this.#stopped) this.errors.push(e);
    });
    this.#pending.add(tracked);
    void tracked.finally(() => this.#pending.delete(tracked));
  }

  async #heartbeatAll(): Promise<void> {
    await Promise.all([...this.#nodes].filter((n) => !this.#silenced.has(n)).map((n) => this.#heartbeat(n, false)));
  }

  /** Renews the Lease; with `status`, also posts a Ready node status (as a kubelet does on change). */
  async #heartbeat(name: string, status: boolean): Promise<void> {
    if (this.#stopped) return;
    if (status) {
      const node = await this.client.get<Node>(Nodes, undefined, name);
      const conds = (node.status?.conditions ?? []).filter((c) => c.type !== 'Ready');
      const prev = node.status?.conditions?.find((c) => c.type === 'Ready');
      const ready = this.#readyCondition(true);
      if (prev?.status === 'True') ready.lastTransitionTime = prev.lastTransitionTime;
      await this.client.patch(Nodes, undefined, name, 'merge', { status: { conditions: [...conds, ready] } }, {}, 'status');
    }
    await this.#renewLease(name);
  }

  async #renewLease(name: string, node?: Node): Promise<void> {
    try {
      await this.client.patch<Lease>(Leases, 'kube-node-lease', name, 'merge', { spec: { renewTime: microNow() } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
      const n = node ?? (await this.client.get<Node>(Nodes, undefined, name));
      const lease: Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace: 'kube-node-lease', ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name, uid: n.metadata?.uid ?? '' }] },
        spec: { holderIdentity: name, leaseDurationSeconds: this.#opts.leaseDurationSeconds, renewTime: microNow() },
      };
      await this.client.create(Leases, 'kube-node-lease', lease);
    }
  }

  #consider(pod: Pod): void {
    if (this.#stopped) return;
    const node = pod.spec?.nodeName;
    if (node ? !this.#nodes.has(node) || this.#silenced.has(node) : !this.#opts.runUnscheduled) return;
    const key = namespacedName(pod);
    if (this.#busy.has(key)) return;
    if (pod.metadata?.deletionTimestamp) {
      this.#busy.add(key);
      this.#track(this.#terminate(pod).finally(() => this.#busy.delete(key)));
      return;
    }
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return;
    // Started once; later readiness changes come from setReady().
    if (phase === 'Running' && pod.status?.podIP) return;
    const wantReady = !this.#notReady.has(key) && !this.#opts.neverReady?.test(pod.metadata?.name ?? '');
    this.#busy.add(key);
    this.#track(
      (async () => {
        if (this.#opts.startDelayMs) await new Promise((r) => setTimeout(r, this.#opts.startDelayMs));
        await this.#writeRunning(pod, wantReady);
      })().finally(() => this.#busy.delete(key)),
    );
  }

  async #writeRunning(pod: Pod, ready: boolean): Promise<void> {
    const key = namespacedName(pod);
    let ip = this.#ips.get(key);
    if (!ip) {
      podIPSeq++;
      ip = `127.244.${Math.floor(podIPSeq / 250) % 250}.${(podIPSeq % 250) + 1}`;
      this.#ips.set(key, ip);
    }
    const t = now();
    const old = pod.status?.conditions ?? [];
    const cond = (type: string, status: 'True' | 'False'): PodCondition => {
      const prev = old.find((c) => c.type === type);
      return { type, status, lastTransitionTime: prev?.status === status ? prev.lastTransitionTime : t };
    };
    const containers = pod.spec?.containers ?? [];
    const status: Pod['status'] = {
      phase: 'Running',
      hostIP: '127.0.0.1',
      hostIPs: [{ ip: '127.0.0.1' }],
      podIP: ip,
      podIPs: [{ ip }],
      startTime: pod.status?.startTime ?? t,
      conditions: [cond('PodReadyToStartContainers', 'True'), cond('Initialized', 'True'), cond('Ready', ready ? 'True' : 'False'), cond('ContainersReady', ready ? 'True' : 'False'), cond('PodScheduled', 'True')],
      containerStatuses: containers.map((c) => ({ name: c.name, image: c.image ?? '', imageID: '', ready, restartCount: 0, started: true, state: { running: { startedAt: t } } })),
    };
    try {
      await this.client.patch(Pods, pod.metadata?.namespace, pod.metadata?.name ?? '', 'merge', { status }, {}, 'status');
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  async #terminate(pod: Pod): Promise<void> {
    if (this.#opts.terminateDelayMs) await new Promise((r) => setTimeout(r, this.#opts.terminateDelayMs));
    try {
      await this.client.delete(Pods, pod.metadata?.namespace, pod.metadata?.name ?? '', { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata?.uid } });
    } catch (e) {
      if (!isNotFound(e) && !(e instanceof Error && /Precondition failed/.test(e.message))) throw e;
    }
  }
}
