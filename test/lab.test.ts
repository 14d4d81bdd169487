// svcnet lab end to end (root): the closed topology, the host's kubectl through the loopback
// relay, and that nothing of a lab is left after `down` or after a failed `up`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { labDir } from '../src/lab/index.ts';
import { labSkipReason, netnsWithPrefix, withLab, labDownCli } from './lib/lab.ts';
import { run, svcnetBin } from './lib/svcnet.ts';

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
