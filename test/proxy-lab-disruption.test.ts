// Zero disruption in a lab (root): a steady stream of requests from the workstation, each on a
// new connection, to a node's NodePort and to a LoadBalancer address, loses none while the agent
// of that node (which also holds the address) restarts, while the seed's Deployment is scaled,
// and during a rolling update of it. Every packet stays inside the lab's closed LAN; the lab is
// always torn down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { l2Leader } from '../src/controllers/loadbalancer/index.ts';
import { withLab, type Lab } from './lib/lab.ts';
import { apply, applyExamples, arpRepliers, eventually, macOf, pods, proxyLabSkipReason, RequestStream, serviceInfo, sleep, waitEndpoints, waitPodsReady, type StreamSummary } from './lib/proxy-lab.ts';

const skip = await proxyLabSkipReason();

// Graceful termination as Kubernetes' own e2e tests do it (agnhost netexec --delay-shutdown): a
// terminating pod keeps serving while every node's proxy stops sending it new connections.
const imageTable = 'mlflow/mlflow: agnhost netexec --http-port=5000 --delay-shutdown=5\n';

async function endpointIPs(lab: Lab): Promise<string[]> {
  const out = await lab.kubectlOk(['get', 'endpoints', 'mlflow-service', '-n', 'mlflow', '-o', 'jsonpath={range .subsets[*]}{range .addresses[*]}{.ip}{" "}{end}{end}']);
  return out.split(' ').filter(Boolean).sort();
}

async function settled(lab: Lab, replicas: number): Promise<void> {
  await lab.kubectlOk(['rollout', 'status', 'deployment/mlflow', '-n', 'mlflow', '--timeout=120s'], { timeoutMs: 130_000 });
  await eventually(
    `${replicas} replicas, all of them (and only them) in the endpoints`,
    async () => {
      const running = (await pods(lab, 'mlflow', 'app=mlflow')).filter((p) => p.ready);
      const eps = await endpointIPs(lab);
      return running.length === replicas && eps.join(' ') === running.map((p) => p.ip).sort().join(' ') ? true : undefined;
    },
    120_000,
    500,
  );
}

test('in a lab, a steady stream of requests loses none while an agent restarts, the Deployment scales and rolls', { skip }, async (t) => {
  await withLab(
    'pxzero',
    async (lab: Lab) => {
      const nodes = lab.info.members.filter((m) => m.role !== 'workstation').map((m) => m.name);
      await applyExamples(lab, '00-namespaces.yaml', '05-mlflow-deployment.yaml', '02-mlflow-nodeport.yaml', '07-metallb-ipaddresspool.yaml');
      // A LoadBalancer address whose announcing node is worker1 (MetalLB's choice), so that one
      // agent restart touches the NodePort's node and the address's node at once.
      const lbIP = ['192.168.1.201', '192.168.1.202', '192.168.1.203', '192.168.1.204'].find((ip) => l2Leader(ip, nodes.map((name) => ({ name, ready: true }))) === 'worker1')!;
      await apply(lab, {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'mlflow-lb', namespace: 'mlflow', annotations: { 'metallb.io/loadBalancerIPs': lbIP } },
        spec: { type: 'LoadBalancer', selector: { app: 'mlflow' }, ports: [{ port: 80, targetPort: 5000 }] },
      });
      const first = await waitPodsReady(lab, 'mlflow', 'app=mlflow', 2);
      await waitEndpoints(lab, 'mlflow', 'mlflow-service', first.map((p) => p.ip));
      assert.equal(await eventually('the LoadBalancer address', async () => (await serviceInfo(lab, 'mlflow', 'mlflow-lb')).lbIP || undefined, 30_000), lbIP);
      const worker1Mac = await macOf(lab, 'worker1');
      await eventually(`worker1 answering ARP for ${lbIP}`, async () => ((await arpRepliers(lab, lbIP, 2)).join() === worker1Mac ? true : undefined), 30_000);

      const urls = [`http://${lab.ip('worker1')}:30001/hostname`, `http://${lbIP}/hostname`];
      // Both answer before the stream starts counting.
      for (const u of urls) await eventually(`${u} answering`, async () => ((await lab.exec('workstation', ['curl', '-s', '-m', '2', u])).code === 0 ? true : undefined), 30_000);

      const stream = new RequestStream(lab, urls);
      let summary: StreamSummary | undefined;
      try {
        await sleep(3000);
        await t.test('restart the agent of worker1 (the NodePort\'s node, holding the address)', async () => {
          await lab.startAgent('worker1');
          await lab.kubectlOk(['wait', '--for=condition=Ready', 'node/worker1', '--timeout=60s']);
          await sleep(5000);
        });
        await t.test('scale the Deployment to 4, to 1, back to 2', async () => {
          for (const n of [4, 1, 2]) {
            await lab.kubectlOk(['scale', 'deployment/mlflow', '-n', 'mlflow', `--replicas=${n}`]);
            await settled(lab, n);
            await sleep(3000);
          }
        });
        await t.test('a rolling update of the Deployment', async () => {
          await lab.kubectlOk(['rollout', 'restart', 'deployment/mlflow', '-n', 'mlflow']);
          await settled(lab, 2);
          // Old pods keep serving for their shutdown delay; wait them out under the stream.
          await sleep(7000);
        });
      } finally {
        summary = await stream.stop();
      }
      const after = await pods(lab, 'mlflow', 'app=mlflow');
      t.diagnostic(`answered ${JSON.stringify(summary.ok)}, lost ${JSON.stringify(summary.failed)}`);
      for (const u of urls) {
        assert.ok((summary.ok[u] ?? 0) >= 300, `${u}: only ${summary.ok[u]} answered`);
        assert.equal(summary.failed[u], 0, `${u}: ${summary.failed[u]} requests lost; first: ${JSON.stringify(summary.errors.filter((e) => e.url === u).slice(0, 10))}`);
        // The stream saw the rollout: the new pods answered it.
        for (const p of after) assert.ok((summary.bodies[u]?.[p.name] ?? 0) > 0, `${p.name} (after the rollout) answered ${u}`);
      }
      assert.deepEqual(await arpRepliers(lab, lbIP, 2), [worker1Mac], 'worker1 still holds the address');
    },
    { imageTable },
  );
});
