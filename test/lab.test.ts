// svcnet lab end to end (root): the closed topology, the host's kubectl through the loopback
// relay, and that nothing of a lab is left after `down` or after a failed `up`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { labDir } from '../src/lab/index.ts';
import { labSkipReason, netnsWithPrefix, withLab, labDownCli, type Lab } from './lib/lab.ts';
import { examplesDir, run, svcnetBin } from './lib/svcnet.ts';
import { eventually } from '../src/util/index.ts';

const skip = await labSkipReason();

/** Pids of processes marked as the lab's (svcnet lab sets SVCNET_LAB=<name> on what it starts). */
function labPids(name: string): number[] {
  const mark = `SVCNET_LAB=${name}\0`;
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (('\0' + readFileSync(`/proc/${d}/environ`, 'latin1')).includes('\0' + mark)) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

async function assertNothingLeft(name: string): Promise<void> {
  assert.deepEqual(await netnsWithPrefix(`svcnet-${name}-`), [], 'ip netns list shows none of the lab');
  assert.deepEqual(labPids(name), [], 'no process of the lab runs');
  assert.deepEqual(existsSync('/etc/netns') ? readdirSync('/etc/netns').filter((d) => d.startsWith(`svcnet-${name}-`)) : [], [], 'no /etc/netns entry');
  assert.equal(existsSync(labDir(name)), false, 'the lab folder is gone');
}

async function hostNetworkView(): Promise<string> {
  const addrs = await run('ip', ['-o', 'addr']);
  const routes = await run('ip', ['route', 'show', 'table', 'all']);
  return addrs.stdout + routes.stdout;
}

test('svcnet lab up builds the seed\'s machines on a closed LAN, kubectl on the host reaches the API server, and down removes everything', { skip }, async () => {
  const name = 'labtopo';
  const before = await hostNetworkView();
  await withLab(
    name,
    async (lab) => {
      assert.deepEqual(
        lab.info.members.map((m) => `${m.name} ${m.ip}`),
        ['master-node 192.168.1.100', 'worker1 192.168.1.101', 'worker2 192.168.1.102', 'workstation 192.168.1.10'],
      );
      assert.match(lab.info.server ?? '', /^https:\/\/127\.0\.0\.1:\d+$/);
      assert.match(readFileSync(lab.kubeconfig, 'utf8'), new RegExp(`server: https://127\\.0\\.0\\.1:${lab.info.relayPort}`));
      assert.deepEqual((await netnsWithPrefix(`svcnet-${name}-`)).sort(), [
        'svcnet-labtopo-lan',
        'svcnet-labtopo-master-node',
        'svcnet-labtopo-worker1',
        'svcnet-labtopo-worker2',
        'svcnet-labtopo-workstation',
      ]);

      // The host's kubectl, through 127.0.0.1 -> unix socket -> master-node -> 192.168.1.100:6443.
      const ep = await lab.kubectlOk(['get', 'endpoints', 'kubernetes', '-n', 'default', '-o', 'jsonpath={.subsets[0].addresses[0].ip}:{.subsets[0].ports[0].port}']);
      assert.equal(ep, '192.168.1.100:6443');
      assert.match(await lab.kubectlOk(['get', 'namespaces']), /kube-system\s+Active/);

      // Nothing of the lab shows in the host's namespace.
      const hostView = await hostNetworkView();
      assert.doesNotMatch(hostView, /192\.168\.1\.|10\.244\./);
      assert.equal(hostView, before);

      // svcnet lab exec runs in the member's namespace and passes the exit code on; status tells.
      const ws = await run(svcnetBin, ['lab', 'exec', '--name', name, 'workstation', '--', 'ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
      assert.match(ws.stdout, /inet 192\.168\.1\.10\/24/);
      assert.equal((await run(svcnetBin, ['lab', 'exec', '--name', name, 'worker2', '--', 'sh', '-c', 'exit 5'])).code, 5);
      assert.match((await run(svcnetBin, ['lab', 'status', '--name', name])).stdout, new RegExp(`lab ${name}: ready[\\s\\S]*worker2\\s+192\\.168\\.1\\.102\\s+netns present`));

      // No default route anywhere in the lab; forwarding only on nodes.
      for (const m of [...lab.info.members.map((x) => x.name), 'lan']) {
        const r = await lab.exec(m, ['ip', 'route', 'show', 'default']);
        assert.equal(r.stdout.trim(), '', `${m} has no default route`);
      }
      assert.equal((await lab.exec('worker1', ['sysctl', '-n', 'net.ipv4.ip_forward'])).stdout.trim(), '1');
      assert.equal((await lab.exec('workstation', ['sysctl', '-n', 'net.ipv4.ip_forward'])).stdout.trim(), '0');

      // The workstation reaches every node's address (a server on each node answers its name).
      const servers = lab.info.members
        .filter((m) => m.role !== 'workstation')
        .map((m) =>
          spawn('ip', ['netns', 'exec', m.ns, process.execPath, '-e', `require('http').createServer((q,s)=>s.end('${m.name}')).listen(8080,'${m.ip}')`], { stdio: 'ignore' }),
        );
      try {
        for (const m of lab.info.members.filter((x) => x.role !== 'workstation')) {
          let r = { code: -1, stdout: '', stderr: '' };
          for (let i = 0; i < 50 && r.stdout !== m.name; i++) {
            r = await lab.exec('workstation', ['curl', '-s', '-m', '2', `http://${m.ip}:8080/`]);
            if (r.stdout !== m.name) await new Promise((res) => setTimeout(res, 100));
          }
          assert.equal(r.stdout, m.name, `workstation -> ${m.ip}:8080`);
        }
        // Names of the lab resolve inside it (/etc/netns/<ns>/hosts).
        assert.equal((await lab.exec('workstation', ['curl', '-s', '-m', '2', 'http://worker2:8080/'])).stdout, 'worker2');
        // And nothing leaves it: no route out of the LAN.
        const out = await lab.exec('workstation', ['curl', '-s', '-m', '2', 'http://10.0.0.1/']);
        assert.notEqual(out.code, 0);
      } finally {
        for (const s of servers) s.kill('SIGKILL');
      }

      // Cutting a member's cable stops its traffic; plugging it back restores it.
      await lab.link('worker1', 'down');
      assert.equal((await lab.exec('workstation', ['curl', '-s', '-m', '2', '-k', 'https://192.168.1.100:6443/healthz'])).stdout, 'ok', 'the others still talk');
      assert.notEqual((await lab.exec('worker1', ['curl', '-s', '-m', '1', '-k', 'https://192.168.1.100:6443/healthz'])).code, 0);
      await lab.link('worker1', 'up');
      let back = -1;
      for (let i = 0; i < 30 && back !== 0; i++) back = (await lab.exec('worker1', ['curl', '-s', '-m', '1', '-k', 'https://192.168.1.100:6443/healthz'])).code;
      assert.equal(back, 0);
    },
    { agents: false },
  );
  await assertNothingLeft(name);
  assert.equal(await hostNetworkView(), before);
});

test('a failed svcnet lab up leaves nothing behind', { skip }, async () => {
  const name = 'labfail';
  await labDownCli(name);
  // The API server cannot be ready within 1 s: up fails, and cleans up after itself.
  const r = await run(svcnetBin, ['lab', 'up', '--name', name, '--timeout', '1'], { timeoutMs: 60_000 });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /not ready within 1 s/);
  await assertNothingLeft(name);
});

test('two labs exist side by side, and up refuses a name already taken', { skip }, async () => {
  await withLab(
    'labsidea',
    async (a) => {
      await withLab(
        'labsideb',
        async (b) => {
          assert.notEqual(a.info.relayPort, b.info.relayPort);
          // Same addresses inside, separate worlds: each host kubeconfig reaches its own lab.
          await a.kubectlOk(['create', 'namespace', 'only-in-a']);
          assert.match(await a.kubectlOk(['get', 'ns', 'only-in-a']), /only-in-a/);
          assert.notEqual((await b.kubectl(['get', 'ns', 'only-in-a'])).code, 0);
          const again = await run(svcnetBin, ['lab', 'up', '--name', 'labsideb', '--no-agents'], { timeoutMs: 60_000 });
          assert.notEqual(again.code, 0);
          assert.match(again.stderr, /already exists/);
          // The refused up did not disturb the running lab.
          assert.match(await b.kubectlOk(['get', 'ns', 'default']), /default/);
        },
        { agents: false },
      );
      await assertNothingLeft('labsideb');
      assert.match(await a.kubectlOk(['get', 'ns', 'only-in-a']), /only-in-a/);
    },
    { agents: false },
  );
  await assertNothingLeft('labsidea');
});

interface PodRow {
  name: string;
  ip: string;
  node: string;
  ready: boolean;
  restarts: number;
}

async function podRows(lab: Lab, ns: string): Promise<PodRow[]> {
  const out = JSON.parse(await lab.kubectlOk(['get', 'pods', '-n', ns, '-o', 'json'])) as { items: Pod[] };
  return out.items.map((p) => ({
    name: p.metadata?.name ?? '',
    ip: p.status?.podIP ?? '',
    node: p.spec?.nodeName ?? '',
    ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    restarts: p.status?.containerStatuses?.[0]?.restartCount ?? -1,
  }));
}

function pinnedPod(name: string, node: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'mlflow', labels: { app: 'mlflow-pinned' } },
    spec: { nodeName: node, containers: [{ name: 'mlflow', image: 'mlflow/mlflow', ports: [{ containerPort: 5000 }] }] },
  });
}

test('in a lab, nodes are Ready, pods on different nodes reach each other by pod IP from namespaces of their own, and an agent killed with -9 re-adopts its pods', { skip }, async () => {
  const name = 'labpods';
  await withLab(
    name,
    async (lab) => {
      // kubectl get nodes: the seed's three machines, Ready, each with a podCIDR of its own.
      const nodes = JSON.parse(await lab.kubectlOk(['get', 'nodes', '-o', 'json'])) as { items: Node[] };
      const byName = new Map(nodes.items.map((n) => [n.metadata?.name ?? '', n]));
      assert.deepEqual([...byName.keys()].sort(), ['master-node', 'worker1', 'worker2']);
      for (const n of nodes.items) assert.ok(n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'), `${n.metadata?.name} Ready`);
      for (const w of ['master-node', 'worker1', 'worker2']) {
        assert.equal(byName.get(w)?.status?.addresses?.find((a) => a.type === 'InternalIP')?.address, lab.ip(w), `${w}'s InternalIP`);
      }
      const cidrs = new Map([...byName].map(([n, node]) => [n, node.spec?.podCIDR ?? '']));
      assert.equal(new Set(cidrs.values()).size, 3);
      for (const c of cidrs.values()) assert.match(c, /^10\.244\.\d+\.0\/24$/);
      assert.match(await lab.kubectlOk(['get', 'nodes']), /worker2\s+Ready/);

      await lab.kubectlOk(['apply', '-f', join(examplesDir, '00-namespaces.yaml')]);
      for (const [pod, node] of [['p-master', 'master-node'], ['p-w1', 'worker1'], ['p-w1b', 'worker1'], ['p-w2', 'worker2']] as const) {
        await lab.kubectlOk(['apply', '-f', '-'], { input: pinnedPod(pod, node) });
      }
      await lab.kubectlOk(['wait', '--for=condition=Ready', 'pod', '--all', '-n', 'mlflow', '--timeout=60s']);
      const rows = new Map((await podRows(lab, 'mlflow')).map((r) => [r.name, r]));
      for (const r of rows.values()) {
        const [base] = (cidrs.get(r.node) ?? '').split('/');
        assert.equal(r.ip.split('.').slice(0, 3).join('.'), base?.split('.').slice(0, 3).join('.'), `${r.name}'s IP ${r.ip} is from ${r.node}'s podCIDR`);
      }
      const ip = (p: string) => rows.get(p)?.ip ?? '';
      // Two pods on worker1 both listen on :5000, each in its own namespace.
      assert.notEqual(ip('p-w1'), ip('p-w1b'));

      // Pod to pod, across nodes and on one node, by pod IP, from inside the pods.
      for (const [from, to] of [['p-w1', 'p-w2'], ['p-w2', 'p-master'], ['p-master', 'p-w1b'], ['p-w1', 'p-w1b']] as const) {
        const r = await lab.kubectl(['exec', '-n', 'mlflow', from, '--', 'curl', '-s', '-m', '3', `http://${ip(to)}:5000/hostname`]);
        assert.deepEqual([r.code, r.stdout], [0, to], `${from} -> ${to} (${ip(to)}): ${r.stderr}`);
      }
      // exec runs in the pod's namespace: its address, its resolver, its hosts file.
      const view = await lab.kubectlOk(['exec', '-n', 'mlflow', 'p-w2', '--', 'sh', '-c', 'ip -4 -o addr show dev eth0; cat /etc/resolv.conf; cat /etc/hosts']);
      assert.match(view, new RegExp(`inet ${ip('p-w2').replace(/\./g, '\\.')}/24`));
      assert.match(view, /nameserver 10\.96\.0\.10/);
      assert.match(view, /search mlflow\.svc\.cluster\.local svc\.cluster\.local cluster\.local/);
      assert.match(view, /options ndots:5/);
      assert.match(view, new RegExp(`${ip('p-w2').replace(/\./g, '\\.')}\\s+p-w2`));
      // The API server's own node (its in-process agent) gives its pods the cluster DNS too.
      assert.match(await lab.kubectlOk(['exec', '-n', 'mlflow', 'p-master', '--', 'cat', '/etc/resolv.conf']), /nameserver 10\.96\.0\.10/);
      const code = await lab.kubectl(['exec', '-n', 'mlflow', 'p-w2', '--', 'sh', '-c', 'exit 3']);
      assert.equal(code.code, 3);

      // Every pod is a namespace of the lab, named after its node.
      assert.equal((await netnsWithPrefix(`svcnet-${name}-worker1-p`)).length, 2);

      // kill -9 of worker1's agent: its pods keep serving; the new agent re-adopts them.
      await lab.killAgent('worker1', 'SIGKILL');
      const during = await lab.kubectl(['exec', '-n', 'mlflow', 'p-w2', '--', 'curl', '-s', '-m', '3', `http://${ip('p-w1')}:5000/hostname`]);
      assert.equal(during.stdout, 'p-w1');
      await lab.startAgent('worker1');
      await lab.kubectlOk(['wait', '--for=condition=Ready', 'node/worker1', '--timeout=60s']);
      // Re-adopted: same node, same address, no restart counted, Ready.
      const after = await eventually(
        'worker1\'s pods Ready under the new agent',
        async () => {
          const now = new Map((await podRows(lab, 'mlflow')).map((r) => [r.name, r]));
          return now.get('p-w1')?.ready && now.get('p-w1b')?.ready ? now : undefined;
        },
        30_000,
      ).catch(async (e: Error) => {
        throw new Error(`${e.message}; pods: ${JSON.stringify(await podRows(lab, 'mlflow'))}`);
      });
      for (const p of ['p-w1', 'p-w1b']) {
        assert.deepEqual(after.get(p), { ...rows.get(p), restarts: 0 }, `${p} re-adopted, not restarted`);
      }
      assert.equal((await lab.kubectl(['exec', '-n', 'mlflow', 'p-w1', '--', 'curl', '-s', '-m', '3', `http://${ip('p-w2')}:5000/hostname`])).stdout, 'p-w2');

      // Deleting a pod removes its namespace.
      await lab.kubectlOk(['delete', 'pod', '-n', 'mlflow', 'p-w1b', '--grace-period=1', '--wait=true', '--timeout=60s']);
      let left: string[] = [];
      for (let i = 0; i < 50; i++) {
        left = await netnsWithPrefix(`svcnet-${name}-worker1-p`);
        if (left.length === 1) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(left.length, 1, 'only p-w1\'s namespace is left on worker1');
    },
    { imageTable: 'mlflow/mlflow: agnhost netexec --http-port=5000\n' },
  );
  await assertNothingLeft(name);
});

async function endpointAddresses(lab: Lab): Promise<string[]> {
  const out = await lab.kubectlOk(['get', 'endpoints', 'mlflow-service', '-n', 'mlflow', '-o', 'jsonpath={range .subsets[*]}{range .addresses[*]}{.ip}{" "}{end}{end}']);
  return out.split(' ').filter(Boolean).sort();
}

/**
 * kube-controller-manager's --node-monitor-grace-period and --node-monitor-period, as svcnet's
 * node lifecycle controller defaults them (docs/dns.md: "40 s grace, as kube-controller-manager").
 */
const nodeMonitorGraceSeconds = 40;
const nodeMonitorPeriodSeconds = 5;
/**
 * When a silent node turns NotReady, counted from its last heartbeat (its Lease's renewal or
 * its last status post): never before the grace period; at the latest 2 monitor periods after
 * it, as the controller sees a Lease renewal only at its next tick (≤ 1 period late) and then
 * marks the node at the first tick past the grace (≤ 1 more); + 3 s for kubectl's polling on a
 * loaded machine.
 */
const notReadyAfterHeartbeat = { min: nodeMonitorGraceSeconds, max: nodeMonitorGraceSeconds + 2 * nodeMonitorPeriodSeconds + 3 };

test('in a lab, the seed\'s Deployment runs two pods on different nodes behind its Service, and survives losing a node', { skip }, async (t) => {
  const name = 'labseed';
  await withLab(
    name,
    async (lab) => {
      let pods: PodRow[] = [];
      await t.test('the seed\'s Deployment gives two pods Running and Ready on different nodes, in the Service\'s endpoints', async () => {
        await lab.kubectlOk(['apply', '-f', join(examplesDir, '00-namespaces.yaml')]);
        await lab.kubectlOk(['apply', '-f', join(examplesDir, '05-mlflow-deployment.yaml')]);
        await lab.kubectlOk(['rollout', 'status', 'deployment/mlflow', '-n', 'mlflow', '--timeout=90s']);
        pods = (await podRows(lab, 'mlflow')).filter((p) => p.name.startsWith('mlflow-'));
        assert.equal(pods.length, 2);
        for (const p of pods) assert.ok(p.ready && p.ip, `${p.name} Ready with an IP`);
        assert.notEqual(pods[0].node, pods[1].node, 'the replicas are spread over two nodes');
        // kubectl get pods -o wide: each pod's row shows Running, its IP and its node.
        const wide = await lab.kubectlOk(['get', 'pods', '-n', 'mlflow', '-o', 'wide']);
        assert.match(wide, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE/);
        for (const p of pods) assert.match(wide, new RegExp(`^${p.name}\\s+1/1\\s+Running\\s+0\\s+\\S+\\s+${p.ip.replace(/\./g, '\\.')}\\s+${p.node}\\s`, 'm'));
        // kubectl get endpoints mlflow-service -n mlflow: both IP:5000.
        const ep = await lab.kubectlOk(['get', 'endpoints', 'mlflow-service', '-n', 'mlflow']);
        for (const p of pods) assert.match(ep, new RegExp(`${p.ip.replace(/\./g, '\\.')}:5000`));
        // Each replica answers on its pod IP from the other one, across nodes.
        const [a, b] = pods as [PodRow, PodRow];
        assert.equal(await lab.kubectlOk(['exec', '-n', 'mlflow', a.name, '--', 'curl', '-s', '-m', '3', `http://${b.ip}:5000/hostname`]), b.name);
        assert.equal(await lab.kubectlOk(['exec', '-n', 'mlflow', b.name, '--', 'curl', '-s', '-m', '3', `http://${a.ip}:5000/hostname`]), a.name);
      });

      await t.test('a node whose agent dies and whose link is cut turns NotReady, its pod leaves the endpoints and is replaced elsewhere; the node rejoins cleanly', async (st) => {
        // As in Kubernetes, pods tolerate an unreachable node for 300 s by default
        // (DefaultTolerationSeconds); the user who wants faster failover says so in the template.
        const tolerations = ['node.kubernetes.io/unreachable', 'node.kubernetes.io/not-ready'].map((key) => ({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 }));
        await lab.kubectlOk(['patch', 'deployment', 'mlflow', '-n', 'mlflow', '--type=strategic', '-p', JSON.stringify({ spec: { template: { spec: { tolerations } } } })]);
        await lab.kubectlOk(['rollout', 'status', 'deployment/mlflow', '-n', 'mlflow', '--timeout=90s']);
        pods = await eventually(
          'the rolled-out replicas alone',
          async () => {
            const now = (await podRows(lab, 'mlflow')).filter((p) => p.name.startsWith('mlflow-'));
            return now.length === 2 && now.every((p) => p.ready) ? now : undefined;
          },
          30_000,
        );
        assert.notEqual(pods[0]?.node, pods[1]?.node);
        // The victim: a worker running one of the replicas.
        const victim = pods.find((p) => p.node !== 'master-node') ?? pods[0];
        const survivor = pods.find((p) => p !== victim)!;
        const node = victim.node;
        await lab.killAgent(node, 'SIGKILL');
        await lab.link(node, 'down');
        const notReadyAt = await eventually(
          `node ${node} NotReady`,
          async () => ((await lab.kubectlOk(['get', 'node', node, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])) !== 'True' ? Date.now() : undefined),
          (notReadyAfterHeartbeat.max + 15) * 1000,
        );
        // The agent's last heartbeat (read now: none can still be on its way).
        const lastHeartbeat = Math.max(
          Date.parse(await lab.kubectlOk(['get', 'lease', node, '-n', 'kube-node-lease', '-o', 'jsonpath={.spec.renewTime}'])),
          Date.parse(await lab.kubectlOk(['get', 'node', node, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].lastHeartbeatTime}'])),
        );
        const notReadyAfter = (notReadyAt - lastHeartbeat) / 1000;
        st.diagnostic(`${node} NotReady ${notReadyAfter} s after its last heartbeat`);
        assert.ok(notReadyAfter >= notReadyAfterHeartbeat.min, `NotReady ${notReadyAfter} s after its last heartbeat: before the grace period (${nodeMonitorGraceSeconds} s)`);
        assert.ok(notReadyAfter <= notReadyAfterHeartbeat.max, `NotReady ${notReadyAfter} s after its last heartbeat`);
        assert.match(await lab.kubectlOk(['get', 'nodes']), new RegExp(`${node}\\s+NotReady`));
        // Its pod's address leaves the Service's endpoints; a replacement runs on another node.
        const replaced = await eventually(
          'a replacement Ready on another node, and the endpoints without the lost pod',
          async () => {
            const now = (await podRows(lab, 'mlflow')).filter((p) => p.name.startsWith('mlflow-') && p.ready && p.node !== node);
            const eps = await endpointAddresses(lab);
            return now.length === 2 && !eps.includes(victim.ip) && eps.length === 2 ? { now, eps } : undefined;
          },
          60_000,
        );
        assert.deepEqual(replaced.eps, replaced.now.map((p) => p.ip).sort());
        assert.ok(replaced.now.some((p) => p.name === survivor.name), 'the other replica kept running');
        const fresh = replaced.now.find((p) => p.name !== survivor.name)!;
        assert.equal(await lab.kubectlOk(['exec', '-n', 'mlflow', survivor.name, '--', 'curl', '-s', '-m', '3', `http://${fresh.ip}:5000/hostname`]), fresh.name);

        // The node comes back: Ready again, the lost pod's process and namespace are gone.
        await lab.link(node, 'up');
        await lab.startAgent(node);
        await lab.kubectlOk(['wait', '--for=condition=Ready', `node/${node}`, '--timeout=60s']);
        await eventually(
          `the lost pod ${victim.name} gone from the API and its namespace from ${node}`,
          async () => {
            const names = (await podRows(lab, 'mlflow')).map((p) => p.name);
            const onNode = (await podRows(lab, 'mlflow')).filter((p) => p.node === node).length;
            const nss = await netnsWithPrefix(`svcnet-${name}-${node}-p`);
            return !names.includes(victim.name) && nss.length === onNode ? true : undefined;
          },
          60_000,
        );
        assert.deepEqual(await endpointAddresses(lab), replaced.eps, 'the endpoints are the two running replicas');
        assert.doesNotMatch(await lab.kubectlOk(['get', 'node', node, '-o', 'jsonpath={.spec.taints}']), /unreachable|not-ready/);
      });
    },
    { imageTable: 'mlflow/mlflow: agnhost netexec --http-port=5000\n' },
  );
  await assertNothingLeft(name);
});
