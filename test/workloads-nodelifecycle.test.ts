// Node lifecycle and pod garbage collection in-process, with short timings: a node whose kubelet
// goes silent turns Unknown within its grace period, its pods stop being Ready and are evicted
// when their tolerations run out, the unreachable taints come and go with it, replacements of
// a Deployment's pods land on other nodes, and pods bound to vanished nodes are collected.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { Event, Node, Pod, Toleration } from 'kubernetes-types/core/v1.js';
import { Deployments, Events, Namespaces, Nodes, Pods, isNotFound } from '../src/api/index.ts';
import { DeploymentController } from '../src/controllers/deployment/index.ts';
import { NodeLifecycleController } from '../src/controllers/nodelifecycle/index.ts';
import { PodGCController } from '../src/controllers/podgc/index.ts';
import { ReplicaSetController } from '../src/controllers/replicaset/index.ts';
import { Scheduler } from '../src/controllers/scheduler/index.ts';
import { startCluster, waitFor, type Cluster } from './lib/workloads.ts';

const graceMs = 2000;
let nsSeq = 0;

function controllers() {
  return [
    new ReplicaSetController(),
    new DeploymentController(),
    new Scheduler(),
    new NodeLifecycleController({ nodeMonitorPeriodMs: 200, nodeMonitorGracePeriodMs: graceMs }),
    new PodGCController({ checkPeriodMs: 200, quarantineMs: 300 }),
  ];
}

const tolerate = (secs: number): Toleration[] => [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: secs },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: secs },
];

async function namespace(c: Cluster): Promise<string> {
  const name = `life-${++nsSeq}`;
  await c.user.create(Namespaces, undefined, { metadata: { name } });
  return name;
}

function readyOf(n: Node | Pod | undefined): string | undefined {
  return n?.status?.conditions?.find((k) => k.type === 'Ready')?.status;
}

describe("node lifecycle on svcnet's API server", () => {
  let c: Cluster;

  before(async () => {
    c = await startCluster(controllers(), { heartbeatMs: 300 });
    await c.kubelet.addNode('node-a');
    await c.kubelet.addNode('node-b');
  });

  after(async () => {
    await c?.stop();
  });

  test('a silent node turns Unknown, its pods unready, then evicted; back, it loses its taints', async () => {
    const ns = await namespace(c);
    await c.user.create<Pod>(Pods, ns, { metadata: { name: 'p' }, spec: { nodeName: 'node-a', tolerations: tolerate(2), containers: [{ name: 'c', image: 'x' }] } });
    await c.user.create<Pod>(Pods, ns, { metadata: { name: 'stays' }, spec: { nodeName: 'node-a', tolerations: [{ operator: 'Exists' }], containers: [{ name: 'c', image: 'x' }] } });
    await waitFor('pods ready', async () => readyOf(await c.user.get<Pod>(Pods, ns, 'p')) === 'True' && readyOf(await c.user.get<Pod>(Pods, ns, 'stays')) === 'True');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(readyOf(await c.user.get<Node>(Nodes, undefined, 'node-a')), 'True', 'heartbeats keep it Ready');
    const silencedAt = Date.now();
    c.kubelet.silence('node-a');
    const node = await waitFor('node-a Unknown', async () => {
      const n = await c.user.get<Node>(Nodes, undefined, 'node-a');
      return readyOf(n) === 'Unknown' && n;
    }, graceMs + 3000);
    const elapsed = Date.now() - silencedAt;
    assert.ok(elapsed >= graceMs - 400 && elapsed <= graceMs + 1500, `Unknown after ${elapsed} ms`);
    const ready = node.status?.conditions?.find((k) => k.type === 'Ready');
    assert.deepEqual([ready?.reason, ready?.message], ['NodeStatusUnknown', 'Kubelet stopped posting node status.']);
    await waitFor('pods not ready', async () => readyOf(await c.user.get<Pod>(Pods, ns, 'p')) === 'False' && readyOf(await c.user.get<Pod>(Pods, ns, 'stays')) === 'False');
    const tainted = await waitFor('unreachable taints', async () => {
      const n = await c.user.get<Node>(Nodes, undefined, 'node-a');
      return (n.spec?.taints ?? []).length === 2 && n;
    });
    assert.deepEqual(tainted.spec?.taints?.map((t) => [t.key, t.effect]), [['node.kubernetes.io/unreachable', 'NoSchedule'], ['node.kubernetes.io/unreachable', 'NoExecute']]);
    // Tolerated for 2 s, then evicted: terminating (its kubelet is silent, so it stays so).
    const evicted = await waitFor('p evicted', async () => {
      const p = await c.user.get<Pod>(Pods, ns, 'p');
      return p.metadata?.deletionTimestamp ? p : undefined;
    }, 5000);
    const dt = evicted.status?.conditions?.find((k) => k.type === 'DisruptionTarget');
    assert.deepEqual([dt?.status, dt?.reason, dt?.message], ['True', 'DeletionByTaintManager', 'Taint manager: deleting due to NoExecute taint']);
    assert.equal((await c.user.get<Pod>(Pods, ns, 'stays')).metadata?.deletionTimestamp, undefined, 'tolerating forever, it stays');
    const events = (await c.user.list<Event>(Events, ns)).items.map((e) => [e.involvedObject.name, e.reason, e.message]);
    assert.ok(events.some(([n, r, m]) => n === 'p' && r === 'NodeNotReady' && m === 'Node is not ready'), JSON.stringify(events));
    assert.ok(events.some(([n, r, m]) => n === 'p' && r === 'TaintManagerEviction' && m === `Marking for deletion Pod ${ns}/p`), JSON.stringify(events));
    const nodeEvents = (await c.user.list<Event>(Events, 'default')).items.filter((e) => e.involvedObject.kind === 'Node' && e.involvedObject.name === 'node-a');
    assert.ok(nodeEvents.some((e) => e.reason === 'NodeNotReady' && e.message === 'Node node-a status is now: NodeNotReady'));
    // The kubelet comes back: Ready, untainted, and it finishes the terminating pod.
    await c.kubelet.revive('node-a');
    await waitFor('node-a Ready and untainted', async () => {
      const n = await c.user.get<Node>(Nodes, undefined, 'node-a');
      return readyOf(n) === 'True' && !(n.spec?.taints ?? []).length;
    });
    await waitFor('p gone', async () => {
      try {
        await c.user.get(Pods, ns, 'p');
        return false;
      } catch (e) {
        return isNotFound(e);
      }
    });
  });

  test('pods bound to a node that no longer exists are collected', async () => {
    const ns = await namespace(c);
    await c.user.create<Pod>(Pods, ns, { metadata: { name: 'ghost' }, spec: { nodeName: 'no-such-node', containers: [{ name: 'c', image: 'x' }] } });
    await waitFor('ghost pod collected', async () => (await c.user.list<Pod>(Pods, ns)).items.length === 0, 5000);
  });
});

for (const backend of ['apiserver', 'fake'] as const) {
  describe(`replacing the pods of a lost node (${backend === 'fake' ? 'on a FakeClient' : "on svcnet's API server"})`, () => {
    let c: Cluster;

    before(async () => {
      c = await startCluster(controllers(), { heartbeatMs: 300 }, { backend });
      await c.kubelet.addNode('node-a');
      await c.kubelet.addNode('node-b');
    });

    after(async () => {
      await c?.stop();
    });

    test("a lost node's Deployment pods are replaced on the other node", async () => {
      const ns = await namespace(c);
      const d: Deployment = {
        metadata: { name: 'web' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'web' } },
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
          revisionHistoryLimit: 10,
          progressDeadlineSeconds: 600,
          template: { metadata: { labels: { app: 'web' } }, spec: { tolerations: tolerate(1), containers: [{ name: 'c', image: 'x' }] } },
        },
      };
      await c.user.create(Deployments, ns, d);
      const pods = await waitFor('one pod on each node, running', async () => {
        const l = (await c.user.list<Pod>(Pods, ns)).items;
        return l.length === 2 && new Set(l.map((p) => p.spec?.nodeName)).size === 2 && l.every((p) => readyOf(p) === 'True') && l;
      });
      const lost = pods.find((p) => p.spec?.nodeName === 'node-b')!;
      c.kubelet.silence('node-b');
      await waitFor('a replacement running on node-a', async () => {
        const l = (await c.user.list<Pod>(Pods, ns)).items.filter((p) => !p.metadata?.deletionTimestamp);
        return l.length === 2 && l.every((p) => p.spec?.nodeName === 'node-a' && readyOf(p) === 'True') && !l.some((p) => p.metadata?.name === lost.metadata?.name);
      }, graceMs + 6000);
      await c.kubelet.revive('node-b');
      await waitFor('node-b untainted', async () => !((await c.user.get<Node>(Nodes, undefined, 'node-b')).spec?.taints ?? []).length);
    });
  });
}
