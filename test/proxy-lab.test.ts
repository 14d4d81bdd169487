// The service proxy in a lab (root): the seed's Deployment and Services on three nodes in
// network namespaces, real nftables on every node, requests from pods and from the workstation.
// Every request stays inside the lab's closed LAN; the lab is always torn down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withLab, type Lab } from './lib/lab.ts';
import {
  announcingNode,
  proxyLabSkipReason,
  apply,
  applyExamples,
  arpRepliers,
  countBy,
  curl,
  eventually,
  imageTable,
  inPod,
  isFailure,
  macOf,
  pinnedPod,
  requestsFromPod,
  serviceInfo,
  waitEndpoints,
  waitPodsReady,
  waitServed,
  type PodRow,
} from './lib/proxy-lab.ts';

const skip = await proxyLabSkipReason();
const workstationIP = '192.168.1.10';

function service(name: string, spec: object, ns = 'mlflow'): object {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec };
}

test('in a lab, Services work on the wire: ClusterIP from a pod, NodePort on every node, no endpoints, affinity, traffic policies and hairpin', { skip }, async (t) => {
  await withLab(
    'pxsvc',
    async (lab: Lab) => {
      const nodes = lab.info.members.filter((m) => m.role !== 'workstation').map((m) => m.name);
      let replicas: PodRow[] = [];
      let bare = '';
      let repNode = '';
      let clusterIP = '';

      await t.test('setup: the seed\'s Deployment runs two replicas on two nodes; a client pod on the third node and one beside a replica', async () => {
        await applyExamples(lab, '00-namespaces.yaml', '05-mlflow-deployment.yaml');
        replicas = await waitPodsReady(lab, 'mlflow', 'app=mlflow', 2);
        assert.notEqual(replicas[0].node, replicas[1].node);
        bare = nodes.find((n) => !replicas.some((r) => r.node === n))!;
        repNode = replicas[0].node;
        await apply(lab, pinnedPod('mlflow', 'client-bare', bare, { app: 'client' }));
        await apply(lab, pinnedPod('mlflow', 'client-rep', repNode, { app: 'client' }));
        await waitPodsReady(lab, 'mlflow', 'app=client', 2);
        clusterIP = (await serviceInfo(lab, 'mlflow', 'mlflow-service')).clusterIP;
        await waitEndpoints(lab, 'mlflow', 'mlflow-service', replicas.map((r) => r.ip));
      });

      await t.test('ClusterIP: from a pod, 1,000 requests to the Service\'s IP:port reach both replicas, split within 10% of even', async () => {
        const url = `http://${clusterIP}:5000/hostname`;
        await waitServed(lab, 'mlflow', 'client-bare', url, replicas.map((r) => r.name));
        const bodies = await requestsFromPod(lab, 'mlflow', 'client-bare', url, 1000);
        const failed = bodies.filter(isFailure);
        assert.deepEqual(failed, [], `every request answered by a replica: ${failed.length} failed`);
        const counts = countBy(bodies);
        assert.deepEqual([...counts.keys()].sort(), replicas.map((r) => r.name).sort(), `answers: ${JSON.stringify([...counts])}`);
        for (const r of replicas) {
          const n = counts.get(r.name) ?? 0;
          assert.ok(n >= 450 && n <= 550, `${r.name} answered ${n} of 1000 (expected 500 ± 50)`);
        }
      });

      await t.test('NodePort 30001 answers on every node\'s address from the workstation, also on the node with no pod of the Service', async () => {
        await applyExamples(lab, '02-mlflow-nodeport.yaml');
        const names = replicas.map((r) => r.name).sort();
        for (const n of nodes) {
          const seen = new Set<string>();
          for (let i = 0; i < 20; i++) {
            const r = await eventually(`${n}:30001 answering`, async () => {
              const x = await curl(lab, 'workstation', `http://${lab.ip(n)}:30001/hostname`);
              return x.code === 0 ? x : undefined;
            }, 15_000);
            seen.add(r.body);
          }
          assert.deepEqual([...seen].sort(), names, `through ${n} (${n === bare ? 'no pod of the Service' : 'has a replica'}) both replicas answer`);
        }
      });

      await t.test('a Service with no endpoints refuses the client at once, from a pod and on a NodePort', async () => {
        await apply(lab, service('nothing', { type: 'NodePort', selector: { app: 'nothing-here' }, ports: [{ port: 80, targetPort: 5000 }] }));
        const info = await serviceInfo(lab, 'mlflow', 'nothing');
        await eventually('the refusal rule programmed', async () => {
          const r = await inPod(lab, 'mlflow', 'client-bare', `curl -s -m 5 http://${info.clusterIP}:80/ ; echo "code=$?"`);
          return /code=7\b/.test(r.stdout) ? true : undefined;
        }, 15_000);
        // curl's exit code 7 is "connection refused"; a timeout would be 28 after 5 s.
        const t0 = Date.now();
        const r = await inPod(lab, 'mlflow', 'client-bare', `for i in 1 2 3 4 5; do curl -s -m 5 http://${info.clusterIP}:80/; echo "code=$?"; done`);
        assert.deepEqual(r.stdout.trim().split('\n'), Array(5).fill('code=7'));
        assert.ok(Date.now() - t0 < 5000, `five refusals took ${Date.now() - t0} ms: no waiting for a timeout`);
        for (const n of nodes) {
          const x = await curl(lab, 'workstation', `http://${lab.ip(n)}:${info.nodePort}/`, 5);
          assert.equal(x.code, 7, `NodePort ${info.nodePort} on ${n}: refused (curl ${x.code} after ${x.ms} ms)`);
          assert.ok(x.ms < 4000, `refused at once on ${n} (${x.ms} ms)`);
        }
      });

      await t.test('sessionAffinity ClientIP: each client pod keeps reaching the same replica', async () => {
        await apply(lab, service('mlflow-sticky', { selector: { app: 'mlflow' }, sessionAffinity: 'ClientIP', ports: [{ port: 5000, targetPort: 5000 }] }));
        const info = await serviceInfo(lab, 'mlflow', 'mlflow-sticky');
        await waitEndpoints(lab, 'mlflow', 'mlflow-sticky', replicas.map((r) => r.ip));
        const names = replicas.map((r) => r.name);
        for (const client of ['client-bare', 'client-rep']) {
          const bodies = await eventually(`${client} reaching mlflow-sticky`, async () => {
            const b = await requestsFromPod(lab, 'mlflow', client, `http://${info.clusterIP}:5000/hostname`, 30);
            return b.every((x) => names.includes(x)) ? b : undefined;
          }, 20_000);
          assert.equal(new Set(bodies).size, 1, `${client}: ${JSON.stringify([...countBy(bodies)])}`);
        }
      });

      await t.test('internalTrafficPolicy Local: a pod beside a replica always reaches that replica; a pod on a node without one is not served', async () => {
        await apply(lab, service('mlflow-local', { selector: { app: 'mlflow' }, internalTrafficPolicy: 'Local', ports: [{ port: 5000, targetPort: 5000 }] }));
        const info = await serviceInfo(lab, 'mlflow', 'mlflow-local');
        await waitEndpoints(lab, 'mlflow', 'mlflow-local', replicas.map((r) => r.ip));
        const local = replicas.find((r) => r.node === repNode)!;
        const bodies = await eventually('client-rep reaching mlflow-local', async () => {
          const b = await requestsFromPod(lab, 'mlflow', 'client-rep', `http://${info.clusterIP}:5000/hostname`, 30);
          return b.some(isFailure) ? undefined : b;
        }, 20_000);
        assert.deepEqual([...countBy(bodies)], [[local.name, 30]]);
        const r = await inPod(lab, 'mlflow', 'client-bare', `curl -s -m 2 http://${info.clusterIP}:5000/hostname; echo " code=$?"`);
        assert.match(r.stdout.trim(), /^code=(28|7)$/, `no local endpoint on ${bare}: ${r.stdout}`);
      });

      await t.test('hairpin: a pod reaches itself through its own Service', async () => {
        await apply(lab, pinnedPod('mlflow', 'solo', bare, { app: 'solo' }));
        const [solo] = await waitPodsReady(lab, 'mlflow', 'app=solo', 1);
        await apply(lab, service('solo', { selector: { app: 'solo' }, ports: [{ port: 5000, targetPort: 5000 }] }));
        const info = await serviceInfo(lab, 'mlflow', 'solo');
        await waitEndpoints(lab, 'mlflow', 'solo', [solo.ip]);
        const bodies = await eventually('solo reaching itself', async () => {
          const b = await requestsFromPod(lab, 'mlflow', 'solo', `http://${info.clusterIP}:5000/hostname`, 5);
          return b.every((x) => x === 'solo') ? b : undefined;
        }, 20_000);
        assert.deepEqual(bodies, Array(5).fill('solo'));
        // And a replica of the seed's Service reaches itself among the others.
        const self = replicas[0];
        const seen = await requestsFromPod(lab, 'mlflow', self.name, `http://${clusterIP}:5000/hostname`, 30);
        assert.ok(seen.includes(self.name), `${self.name} reached itself through mlflow-service: ${JSON.stringify([...countBy(seen)])}`);
        assert.ok(seen.every((x) => replicas.some((r) => r.name === x)), JSON.stringify([...countBy(seen)]));
      });

      await t.test('externalTrafficPolicy Local: the pod sees the workstation\'s address; a node without a local endpoint does not forward and its health check says 503; only the endpoint\'s node announces the address', async () => {
        await applyExamples(lab, '07-metallb-ipaddresspool.yaml');
        const home = repNode;
        const other = nodes.find((n) => n !== home)!;
        await apply(lab, pinnedPod('mlflow', 'etp-pod', home, { app: 'etp' }));
        const [pod] = await waitPodsReady(lab, 'mlflow', 'app=etp', 1);
        await apply(lab, service('etp', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', selector: { app: 'etp' }, ports: [{ port: 80, targetPort: 5000 }] }));
        const info = await eventually('a LoadBalancer address for etp', async () => {
          const i = await serviceInfo(lab, 'mlflow', 'etp');
          return i.lbIP && i.healthCheckNodePort ? i : undefined;
        }, 30_000);
        await waitEndpoints(lab, 'mlflow', 'etp', [pod.ip]);

        // Through the LoadBalancer address: the client's own address reaches the pod.
        const viaLB = await eventually(`${info.lbIP}:80 answering`, async () => {
          const x = await curl(lab, 'workstation', `http://${info.lbIP}/clientip`, 2);
          return x.code === 0 ? x : undefined;
        }, 20_000);
        assert.match(viaLB.body, new RegExp(`^${workstationIP.replace(/\./g, '\\.')}:\\d+$`));
        assert.equal(await announcingNode(lab, 'mlflow', 'etp'), home);
        assert.deepEqual(await arpRepliers(lab, info.lbIP), [await macOf(lab, home)], `only ${home} answers ARP for ${info.lbIP}`);

        // Through the NodePort of the pod's node: the same.
        const viaNP = await curl(lab, 'workstation', `http://${lab.ip(home)}:${info.nodePort}/clientip`);
        assert.equal(viaNP.code, 0);
        assert.match(viaNP.body, new RegExp(`^${workstationIP.replace(/\./g, '\\.')}:\\d+$`));
        // Another node has no local endpoint: it does not forward.
        const dropped = await curl(lab, 'workstation', `http://${lab.ip(other)}:${info.nodePort}/clientip`, 2);
        assert.notEqual(dropped.code, 0, `${other} must not forward (curl ${dropped.code}, ${JSON.stringify(dropped.body)})`);
        assert.equal(dropped.body, '');

        // The health check node port, as a cloud load balancer would ask it.
        const health = async (n: string) => {
          const r = await lab.exec('workstation', ['curl', '-s', '-m', '3', '-w', '\n%{http_code}', `http://${lab.ip(n)}:${info.healthCheckNodePort}/`]);
          const [body, code] = [r.stdout.slice(0, r.stdout.lastIndexOf('\n')), r.stdout.slice(r.stdout.lastIndexOf('\n') + 1)];
          return { code, body: JSON.parse(body || '{}') as { localEndpoints?: number; service?: { name?: string } } };
        };
        // Each node's health server starts with its first sync of the Service: wait for an answer.
        const answered = (n: string) => eventually(`${n}:${info.healthCheckNodePort} answering`, async () => {
          const h = await health(n);
          return h.code === '000' ? undefined : h;
        }, 20_000);
        const good = await answered(home);
        assert.equal(good.code, '200');
        assert.equal(good.body.localEndpoints, 1);
        assert.equal(good.body.service?.name, 'etp');
        const bad = await answered(other);
        assert.equal(bad.code, '503');
        assert.equal(bad.body.localEndpoints, 0);
      });
    },
    { imageTable },
  );
});
