// The scheduler in-process with the ReplicaSet and Deployment controllers and a fake kubelet
// owning three Ready nodes: replicas spread across nodes, nodeSelector and taints honoured,
// FailedScheduling with kube's message and PodScheduled=False when nothing fits, a Scheduled
// Event when bound, and a pending pod placed once a node that fits appears. The same tests run
// against svcnet's API server and against the client package's FakeClient.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { Event, Pod } from 'kubernetes-types/core/v1.js';
import { Deployments, Events, Namespaces, Pods } from '../src/api/index.ts';
import { DeploymentController } from '../src/controllers/deployment/index.ts';
import { ReplicaSetController } from '../src/controllers/replicaset/index.ts';
import { Scheduler } from '../src/controllers/scheduler/index.ts';
import { startCluster, waitFor, type Cluster } from './lib/workloads.ts';

let c: Cluster;
let nsSeq = 0;

async function namespace(): Promise<string> {
  const name = `sched-${++nsSeq}`;
  await c.user.create(Namespaces, undefined, { metadata: { name } });
  return name;
}

/** A Deployment complete with the defaults the API server would add (the FakeClient adds none). */
function deployment(name: string, replicas: number, nodeSelector?: Record<string, string>): Deployment {
  return {
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      template: { metadata: { labels: { app: name } }, spec: { ...(nodeSelector ? { nodeSelector } : {}), containers: [{ name: 'c', image: 'x' }] } },
    },
  };
}

async function pods(ns: string): Promise<Pod[]> {
  return (await c.user.list<Pod>(Pods, ns)).items;
}

for (const backend of ['apiserver', 'fake'] as const) {
  describe(`the scheduler on ${backend === 'fake' ? 'a FakeClient' : "svcnet's API server"}`, () => {
    before(async () => {
      c = await startCluster([new ReplicaSetController(), new DeploymentController(), new Scheduler()], {}, { backend });
      for (const n of ['worker1', 'worker2', 'worker3']) await c.kubelet.addNode(n, { labels: { 'svcnet.io/pool': 'workers' } });
      await c.kubelet.addNode('tainted', { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] });
      await c.kubelet.addNode('cordoned', { unschedulable: true, labels: { 'svcnet.io/pool': 'workers' } });
    });

    after(async () => {
      await c?.stop();
    });

  test('the replicas of a Deployment spread evenly over the schedulable nodes and run', async () => {
    const ns = await namespace();
    await c.user.create(Deployments, ns, deployment('spread', 6));
    const ps = await waitFor('6 running pods', async () => {
      const l = await pods(ns);
      return l.length === 6 && l.every((p) => p.status?.phase === 'Running') && l;
    });
    const perNode = new Map<string, number>();
    for (const p of ps) perNode.set(p.spec?.nodeName ?? '', (perNode.get(p.spec?.nodeName ?? '') ?? 0) + 1);
    assert.deepEqual(Object.fromEntries(perNode), { worker1: 2, worker2: 2, worker3: 2 });
    const scheduled = await waitFor('Scheduled events', async () => {
      const l = (await c.user.list<Event>(Events, ns)).items.filter((e) => e.reason === 'Scheduled');
      return l.length === 6 && l;
    });
    const p0 = ps[0];
    const ev = scheduled.find((e) => e.involvedObject.name === p0.metadata?.name);
    assert.equal(ev?.message, `Successfully assigned ${ns}/${p0.metadata?.name ?? ''} to ${p0.spec?.nodeName ?? ''}`);
    assert.equal(ev?.source?.component, 'default-scheduler');
    assert.equal(p0.status?.conditions?.find((k) => k.type === 'PodScheduled')?.status, 'True');
  });

  test('a pod that fits nowhere is reported with kube words and placed when a node that fits appears', async () => {
    const ns = await namespace();
    await c.user.create(Deployments, ns, deployment('picky', 1, { disk: 'ssd' }));
    const p = await waitFor('PodScheduled=False', async () => {
      const [x] = await pods(ns);
      const cond = x?.status?.conditions?.find((k) => k.type === 'PodScheduled');
      return cond?.status === 'False' && x;
    });
    const cond = p.status?.conditions?.find((k) => k.type === 'PodScheduled');
    const msg =
      "0/5 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 1 node(s) were unschedulable, 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling.";
    assert.deepEqual([cond?.reason, cond?.message], ['Unschedulable', msg]);
    const ev = await waitFor('FailedScheduling', async () => (await c.user.list<Event>(Events, ns)).items.find((e) => e.reason === 'FailedScheduling'));
    assert.deepEqual([ev.type, ev.message], ['Warning', msg]);
    await c.kubelet.addNode('ssd-node', { labels: { disk: 'ssd' } });
    const placed = await waitFor('placed on ssd-node', async () => {
      const [x] = await pods(ns);
      return x?.spec?.nodeName === 'ssd-node' && x;
    });
    assert.equal(placed.metadata?.name, p.metadata?.name);
  });

  test('a pod naming its node is left to that node, and a nodeSelector is honoured', async () => {
    const ns = await namespace();
    await c.user.create<Pod>(Pods, ns, { metadata: { name: 'pinned' }, spec: { nodeName: 'worker2', containers: [{ name: 'c', image: 'x' }] } });
    await c.user.create(Deployments, ns, deployment('pool', 4, { 'svcnet.io/pool': 'workers' }));
    await waitFor('4 pool pods bound', async () => (await pods(ns)).filter((x) => x.metadata?.name !== 'pinned' && x.spec?.nodeName).length === 4);
    const nodes = new Set((await pods(ns)).map((x) => x.spec?.nodeName));
    assert.ok(!nodes.has('tainted') && !nodes.has('cordoned') && !nodes.has('ssd-node'), [...nodes].join(','));
    assert.equal((await c.user.get<Pod>(Pods, ns, 'pinned')).spec?.nodeName, 'worker2');
  });
  });
}
