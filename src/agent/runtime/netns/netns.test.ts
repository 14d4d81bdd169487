import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { NetnsRuntime, type CommandRunner } from './netns.ts';
import { bridgeBatch, cidrInfo, podCommands, podNamespaceName, vethName } from './plan.ts';
import type { SandboxConfig } from '../types.ts';

const log = pino({ level: 'silent' });

function fakeRunner() {
  const calls: { argv: string[]; input?: string }[] = [];
  const run: CommandRunner = async (argv, input) => {
    calls.push({ argv: [...argv], input });
    // No bridge yet: `ip addr show dev cbr0` fails, as on a fresh node.
    if (argv.includes('show') && argv.includes('cbr0')) return { code: 1, stdout: '', stderr: 'Device "cbr0" does not exist.' };
    return { code: 0, stdout: '', stderr: '' };
  };
  return { calls, run };
}

function pod(uid: string, name = uid): SandboxConfig {
  return {
    uid,
    namespace: 'mlflow',
    name,
    hostname: name,
    hostNetwork: false,
    podCIDRs: ['10.244.1.0/24'],
    resolvConf: 'nameserver 10.96.0.10\nsearch mlflow.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n',
    hosts: `127.0.0.1\tlocalhost\n10.244.1.2\t${name}\n`,
  };
}

test('pod namespace and veth names are unique per pod, prefixed svcnet-, and veths fit IFNAMSIZ', () => {
  assert.match(podNamespaceName('uid-1', 'svcnet-lab-worker1'), /^svcnet-lab-worker1-p[0-9a-f]{12}$/);
  assert.match(podNamespaceName('uid-1', undefined), /^svcnet-pod-[0-9a-f]{12}$/);
  // A node namespace someone else named does not lend its name.
  assert.match(podNamespaceName('uid-1', 'blue'), /^svcnet-pod-/);
  assert.notEqual(podNamespaceName('uid-1', undefined), podNamespaceName('uid-2', undefined));
  assert.equal(vethName('uid-1').length, 15);
  assert.notEqual(vethName('uid-1'), vethName('uid-2'));
});

test('the bridge takes the first address of the pod CIDR and drops stale ones', () => {
  const c = cidrInfo('10.244.3.0/24');
  assert.deepEqual(c, { cidr: '10.244.3.0/24', family: 4, prefixLength: 24, gateway: '10.244.3.1' });
  assert.deepEqual(bridgeBatch([c], []), ['addr add 10.244.3.1/24 dev cbr0', 'link set cbr0 up']);
  assert.deepEqual(bridgeBatch([c], ['10.244.3.1/24']), ['link set cbr0 up']);
  assert.deepEqual(bridgeBatch([c], ['10.244.9.1/24']), ['addr del 10.244.9.1/24 dev cbr0', 'addr add 10.244.3.1/24 dev cbr0', 'link set cbr0 up']);
});

test('a pod is wired with a veth on the bridge, its address and a default route via the gateway', () => {
  const cmds = podCommands({ ns: 'svcnet-x-p1', veth: 'veth0123456789a', ips: ['10.244.1.5', 'fd00:10:244:1::5'], cidrs: [cidrInfo('10.244.1.0/24'), cidrInfo('fd00:10:244:1::/64')] });
  assert.deepEqual(cmds.node, [
    'netns add svcnet-x-p1',
    'link add veth0123456789a type veth peer name eth0 netns svcnet-x-p1',
    'link set veth0123456789a master cbr0',
    'link set veth0123456789a type bridge_slave hairpin on',
    'link set veth0123456789a up',
  ]);
  assert.deepEqual(cmds.pod, [
    'link set lo up',
    'addr add 10.244.1.5/24 dev eth0',
    'addr add fd00:10:244:1::5/64 dev eth0 nodad',
    'link set eth0 up',
    'route add default via 10.244.1.1 dev eth0',
    'route add ::/0 via fd00:10:244:1::1 dev eth0',
  ]);
});

test('sandboxes get distinct addresses, their resolv.conf and hosts, and keep them across a restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'svcnet-netns-unit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const etc = join(dir, 'etc-netns');
  const f = fakeRunner();
  const opts = { dataDir: join(dir, 'agent'), nodeIPs: ['192.168.1.101'], log, nodeNetns: 'svcnet-unit-worker1', run: f.run, etcNetnsDir: etc };
  const rt = new NetnsRuntime(opts);
  await rt.start();
  const [a, b] = await Promise.all([rt.runSandbox(pod('uid-a')), rt.runSandbox(pod('uid-b'))]);
  assert.deepEqual([a.ips, b.ips], [['10.244.1.2'], ['10.244.1.3']]);
  assert.equal(a.id, podNamespaceName('uid-a', 'svcnet-unit-worker1'));
  assert.equal(readFileSync(join(etc, a.id, 'resolv.conf'), 'utf8'), pod('uid-a').resolvConf);
  assert.match(readFileSync(join(etc, a.id, 'hosts'), 'utf8'), /uid-a/);
  // Every node-side command ran in the node's namespace; the bridge was made once.
  const nodeSide = f.calls.filter((c) => c.argv[0] === 'ip' && c.argv[1] === '-n' && c.argv[2] === 'svcnet-unit-worker1');
  assert.equal(f.calls.filter((c) => c.argv.join(' ').includes('link add cbr0 type bridge')).length, 1);
  assert.ok(nodeSide.some((c) => c.input?.includes(`link add ${vethName('uid-a')} type veth peer name eth0 netns ${a.id}`)));
  assert.ok(f.calls.some((c) => c.argv.join(' ') === `ip -n ${a.id} -batch -` && c.input?.includes('addr add 10.244.1.2/24 dev eth0')));
  assert.ok(f.calls.some((c) => c.argv.join(' ') === 'ip netns exec svcnet-unit-worker1 sysctl -qw net.ipv4.ip_forward=1'));
  // No command ever ran outside the node's or a pod's namespace.
  for (const c of f.calls) {
    const s = c.argv.join(' ');
    assert.ok(/^ip (-n svcnet-|netns (add|del|pids|exec) svcnet-|netns identify)/.test(s), s);
  }

  // A new runtime on the same state (an agent restart) hands out the same addresses.
  const rt2 = new NetnsRuntime({ ...opts, run: fakeRunner().run });
  await rt2.start();
  assert.deepEqual(rt2.sandboxes().map((s) => s.ips[0]).sort(), ['10.244.1.2', '10.244.1.3']);
  assert.deepEqual((await rt2.runSandbox(pod('uid-b'))).ips, ['10.244.1.3']);
  assert.deepEqual((await rt2.runSandbox(pod('uid-c'))).ips, ['10.244.1.4']);

  // Removal frees the address and the pod's /etc/netns entry.
  await rt2.removeSandbox('uid-a');
  assert.equal(existsSync(join(etc, a.id)), false);
  assert.deepEqual((await rt2.runSandbox(pod('uid-d'))).ips, ['10.244.1.2']);
  await rt.stop();
  await rt2.stop();
});

test('a node without a pod CIDR gets no sandbox, with a reason', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'svcnet-netns-unit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const rt = new NetnsRuntime({ dataDir: dir, nodeIPs: [], log, nodeNetns: 'svcnet-unit-n', run: fakeRunner().run, etcNetnsDir: join(dir, 'etc') });
  await rt.start();
  await assert.rejects(rt.runSandbox({ ...pod('u'), podCIDRs: [] }), /no pod CIDR/);
  await rt.stop();
});

test('pods wired at the same time share one node-side batch; when it fails, each pod is redone alone and only the bad one fails', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'svcnet-netns-unit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const f = fakeRunner();
  const badVeth = vethName('uid-bad');
  const run: CommandRunner = async (argv, input) => {
    // The bad pod's veth cannot be made (as with a name clash): ip stops at its line.
    if (argv.includes('-batch') && input?.includes(`link add ${badVeth} `)) {
      await f.run(argv, input);
      return { code: 1, stdout: '', stderr: 'RTNETLINK answers: File exists\nCommand failed -:3' };
    }
    return f.run(argv, input);
  };
  const rt = new NetnsRuntime({ dataDir: join(dir, 'agent'), nodeIPs: [], log, run, etcNetnsDir: join(dir, 'etc') });
  await rt.start();
  const good = ['uid-1', 'uid-2', 'uid-3'];
  await Promise.all(good.map((u) => rt.runSandbox(pod(u))));
  const veths = (c: { input?: string }) => good.filter((u) => c.input?.includes(`link add ${vethName(u)} `)).length;
  // The first pod is wired alone; the two that queued meanwhile go together.
  assert.deepEqual(f.calls.filter((c) => veths(c) > 0).map(veths), [1, 2]);

  f.calls.length = 0;
  const results = await Promise.allSettled([rt.runSandbox(pod('uid-4')), rt.runSandbox(pod('uid-bad')), rt.runSandbox(pod('uid-5'))]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.match(String((results[1] as PromiseRejectedResult).reason), /File exists/);
  // uid-4 alone, then uid-bad and uid-5 together (failed), then each again after its cleanup.
  const script = f.calls.filter((c) => c.argv.join(' ').startsWith('ip ') && c.argv.includes('-batch') && !c.argv.includes('-n')).map((c) => c.input ?? '');
  assert.ok(script.some((s) => s.includes(`link del ${vethName('uid-5')}`)), 'the good pod of the failed batch was cleaned up first');
  assert.equal(rt.sandboxes().some((s) => s.uid === 'uid-5'), true);
  await rt.stop();
});
