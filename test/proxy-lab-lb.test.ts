// LoadBalancer addresses on the lab's LAN (root): the seed's grafana Service (examples 03) gets
// the first address of the seed's pool (07), one node answers ARP for it (MetalLB's layer 2
// choice), and when that node is cut off another takes the address over within 10 s. Every
// packet stays inside the lab's closed LAN; the lab is always torn down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { l2Leader } from '../src/controllers/loadbalancer/index.ts';
import { join } from 'node:path';
import { withLab, type Lab } from './lib/lab.ts';
import { examplesDir } from './lib/svcnet.ts';
import { announcingNode, proxyLabSkipReason, apply, applyExamples, arpRepliers, curl, eventually, imageTable, macOf, RequestStream, serviceInfo, sleep, waitEndpoints, waitPodsReady, type PodRow } from './lib/proxy-lab.ts';

const skip = await proxyLabSkipReason();

/** The seed's grafana as a Deployment of two replicas on port 3000, kept off one node. */
function grafana(avoid: string): object {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'grafana', namespace: 'monitoring' },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'grafana' } },
      template: {
        metadata: { labels: { app: 'grafana' } },
        spec: {
          affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'NotIn', values: [avoid] }] }] } } },
          containers: [{ name: 'grafana', image: 'grafana/grafana', ports: [{ containerPort: 3000 }] }],
        },
      },
    },
  };
}

async function answersFrom(lab: Lab, url: string, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await curl(lab, 'workstation', url, 2);
    out.push(r.code === 0 ? r.body : `curl exit ${r.code}`);
  }
  return out;
}

test('in a lab, the LoadBalancer address answers on port 80 from the workstation, and moves to another node within 10 s when its node is cut off', { skip }, async (t) => {
  await withLab(
    'pxlb',
    async (lab: Lab) => {
      const nodes = lab.info.members.filter((m) => m.role !== 'workstation').map((m) => m.name);
      let lbIP = '';
      let leader = '';
      let next = '';
      let replicas: PodRow[] = [];

      await t.test('setup: the seed\'s pool and grafana Service get the pool\'s first address; grafana runs two replicas', async () => {
        await applyExamples(lab, '00-namespaces.yaml', '07-metallb-ipaddresspool.yaml', '03-grafana-loadbalancer.yaml');
        lbIP = await eventually('an external IP for grafana-service', async () => (await serviceInfo(lab, 'monitoring', 'grafana-service')).lbIP || undefined, 30_000);
        assert.equal(lbIP, '192.168.1.200');
        // MetalLB's choice, as every node computes it; the replicas stay off that node, so that
        // cutting it off cuts the address, not the pods (MetalLB #733: traffic would wait for them).
        leader = l2Leader(lbIP, nodes.map((name) => ({ name, ready: true })))!;
        next = l2Leader(lbIP, nodes.filter((n) => n !== leader).map((name) => ({ name, ready: true })))!;
        await apply(lab, grafana(leader));
        replicas = await waitPodsReady(lab, 'monitoring', 'app=grafana', 2);
        await waitEndpoints(lab, 'monitoring', 'grafana-service', replicas.map((r) => r.ip));
      });

      await t.test('the pool address answers on port 80 from the workstation, reaching both pods on 3000; one node, the chosen one, answers ARP for it', async () => {
        await eventually(`${lbIP}:80 answering`, async () => ((await curl(lab, 'workstation', `http://${lbIP}:80/hostname`, 2)).code === 0 ? true : undefined), 20_000);
        // Both replicas, once the announcing node's proxy has both endpoints.
        const seen = new Set<string>();
        await eventually('both replicas answering through the address', async () => {
          for (const b of await answersFrom(lab, `http://${lbIP}:80/hostname`, 10)) seen.add(b);
          return seen.size === 2 ? true : undefined;
        }, 20_000);
        assert.deepEqual([...seen].sort(), replicas.map((r) => r.name).sort());
        assert.deepEqual(await arpRepliers(lab, lbIP), [await macOf(lab, leader)], `only ${leader} answers ARP for ${lbIP}`);
        assert.equal(await announcingNode(lab, 'monitoring', 'grafana-service'), leader);
        const events = await lab.kubectlOk(['get', 'events', '-n', 'monitoring', '--field-selector', 'involvedObject.name=grafana-service']);
        assert.match(events, new RegExp(`nodeAssigned\\s+service/grafana-service\\s+announcing from node "${leader}" with protocol "layer2"`));
        // The address is answered, not held: it is on no node's interface.
        for (const n of nodes) assert.doesNotMatch((await lab.exec(n, ['ip', '-o', 'addr'])).stdout, /192\.168\.1\.200/);
      });

      await t.test('cut off the node holding the address: another node takes it over and the address answers again within 10 s', async () => {
        // `svcnet lab link` takes a moment to start; the cable is pulled as it returns.
        await lab.link(leader, 'down');
        const cut = Date.now();
        let back = 0;
        for (;;) {
          const r = await curl(lab, 'workstation', `http://${lbIP}/hostname`, 1);
          if (r.code === 0) {
            back = Date.now() - cut;
            break;
          }
          if (Date.now() - cut > 30_000) break;
        }
        assert.ok(back > 0, 'the address never answered again');
        assert.ok(back <= 10_000, `the address answered again after ${back} ms (at most 10 s)`);
        t.diagnostic(`failover: answered again ${back} ms after the cut`);
        assert.deepEqual(await arpRepliers(lab, lbIP), [await macOf(lab, next)], `${next} answers ARP for ${lbIP} now`);
        const bodies = await answersFrom(lab, `http://${lbIP}/hostname`, 10);
        assert.deepEqual([...new Set(bodies)].sort(), replicas.map((r) => r.name).sort(), 'both replicas reached through the new node');
      });

      await t.test('plug the node back: the address returns to it, one node answers ARP, and the address keeps answering', async () => {
        const stream = new RequestStream(lab, [`http://${lbIP}/hostname`]);
        try {
          await lab.link(leader, 'up');
          await eventually(`${leader} answering ARP for ${lbIP} again, alone`, async () => {
            const macs = await arpRepliers(lab, lbIP, 2);
            return macs.length === 1 && macs[0] === (await macOf(lab, leader)) ? true : undefined;
          }, 30_000);
          await sleep(2000);
        } finally {
          const s = await stream.stop();
          const url = `http://${lbIP}/hostname`;
          t.diagnostic(`during the return: ${s.ok[url]} answered, ${s.failed[url]} failed ${JSON.stringify(s.errors.slice(0, 5))}`);
          assert.ok((s.ok[url] ?? 0) > 0);
        }
        const bodies = await answersFrom(lab, `http://${lbIP}/hostname`, 10);
        assert.ok(bodies.every((b) => replicas.some((r) => r.name === b)), JSON.stringify(bodies));
      });

      await t.test('the legacy ConfigMap (examples 06) in place of the CRDs: its layer2 pool is announced too', async () => {
        await lab.kubectlOk(['delete', '-f', join(examplesDir, '07-metallb-ipaddresspool.yaml')]);
        await applyExamples(lab, '06-metallb-legacy-configmap.yaml');
        const ip = await eventually('an external IP from the legacy pool', async () => (await serviceInfo(lab, 'monitoring', 'grafana-service')).lbIP || undefined, 30_000);
        const owner = l2Leader(ip, nodes.map((name) => ({ name, ready: true })))!;
        await eventually(`${ip} answering ARP from ${owner}`, async () => {
          const macs = await arpRepliers(lab, ip, 2);
          return macs.length === 1 && macs[0] === (await macOf(lab, owner)) ? true : undefined;
        }, 30_000);
        const r = await curl(lab, 'workstation', `http://${ip}/hostname`, 2);
        assert.equal(r.code, 0);
        assert.ok(replicas.some((p) => p.name === r.body));
      });
    },
    { imageTable },
  );
});

test('in a lab with --l2-announce-mode address, the chosen node holds the LoadBalancer address on its interface, and on a cut another node adds it and answers within 10 s', { skip }, async (t) => {
  await withLab(
    'pxlba',
    async (lab: Lab) => {
      const nodes = lab.info.members.filter((m) => m.role !== 'workstation').map((m) => m.name);
      const holders = async (): Promise<string[]> => {
        const out: string[] = [];
        for (const n of nodes) if (/inet 192\.168\.1\.200\/32 .*:lb/.test((await lab.exec(n, ['ip', '-o', 'addr'])).stdout)) out.push(n);
        return out;
      };
      await applyExamples(lab, '00-namespaces.yaml', '07-metallb-ipaddresspool.yaml', '03-grafana-loadbalancer.yaml');
      const lbIP = await eventually('an external IP for grafana-service', async () => (await serviceInfo(lab, 'monitoring', 'grafana-service')).lbIP || undefined, 30_000);
      assert.equal(lbIP, '192.168.1.200');
      const leader = l2Leader(lbIP, nodes.map((name) => ({ name, ready: true })))!;
      const next = l2Leader(lbIP, nodes.filter((n) => n !== leader).map((name) => ({ name, ready: true })))!;
      await apply(lab, grafana(leader));
      const replicas = await waitPodsReady(lab, 'monitoring', 'app=grafana', 2);
      await waitEndpoints(lab, 'monitoring', 'grafana-service', replicas.map((r) => r.ip));

      await eventually(`${lbIP}:80 answering`, async () => ((await curl(lab, 'workstation', `http://${lbIP}:80/hostname`, 2)).code === 0 ? true : undefined), 20_000);
      assert.deepEqual(await holders(), [leader], `only ${leader} holds ${lbIP}`);
      assert.deepEqual(await arpRepliers(lab, lbIP), [await macOf(lab, leader)], `only ${leader} answers ARP for ${lbIP}`);
      const bodies = await answersFrom(lab, `http://${lbIP}:80/hostname`, 10);
      assert.ok(bodies.every((b) => replicas.some((r) => r.name === b)), JSON.stringify(bodies));

      await lab.link(leader, 'down');
      const cut = Date.now();
      let back = 0;
      while (Date.now() - cut <= 30_000) {
        if ((await curl(lab, 'workstation', `http://${lbIP}/hostname`, 1)).code === 0) {
          back = Date.now() - cut;
          break;
        }
      }
      assert.ok(back > 0 && back <= 10_000, `the address answered again after ${back || 'more than 30000'} ms (at most 10 s)`);
      t.diagnostic(`failover: answered again ${back} ms after the cut`);
      assert.ok((await holders()).includes(next), `${next} holds ${lbIP} now`);
      assert.deepEqual(await arpRepliers(lab, lbIP), [await macOf(lab, next)], `${next} answers ARP for ${lbIP} now`);

      // Back on the LAN, the first node takes the address back and the other gives it up.
      await lab.link(leader, 'up');
      await eventually(`${leader} alone holding ${lbIP} again`, async () => {
        const h = await holders();
        return h.length === 1 && h[0] === leader ? true : undefined;
      }, 30_000);
      await eventually(`${lbIP} answering through ${leader}`, async () => ((await curl(lab, 'workstation', `http://${lbIP}/hostname`, 2)).code === 0 ? true : undefined), 20_000);
    },
    { imageTable, nodeArgs: ['--l2-announce-mode=address'] },
  );
});
