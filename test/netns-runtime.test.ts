// The netns pod runtime for real (root): a node namespace made by the test (closed: no link to
// the host's), pods as namespaces on its bridge, the built-in agnhost in them, exec inside a
// pod, an agent restart that re-adopts, and removal that leaves nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { NetnsRuntime } from '../src/agent/runtime/netns/index.ts';
import type { ContainerInfo, ContainerSpec, ExecProcess, PodRuntime, Sandbox, SandboxConfig } from '../src/agent/runtime/index.ts';
import { labSkipReason, netnsWithPrefix } from './lib/lab.ts';
import { run } from './lib/svcnet.ts';

const skip = await labSkipReason();
const log = pino({ level: 'silent' });

async function collect(p: ExecProcess): Promise<{ out: string; err: string; code: number | null; error?: string }> {
  let out = '';
  let err = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const r = await p.done;
  return { out, err, code: r.exitCode, error: r.error };
}

function cfg(uid: string, name: string): SandboxConfig {
  return {
    uid,
    namespace: 'mlflow',
    name,
    hostname: name,
    hostNetwork: false,
    podCIDRs: ['10.244.5.0/24'],
    resolvConf: 'nameserver 10.96.0.10\nsearch mlflow.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n',
    hosts: `127.0.0.1\tlocalhost\n# Kubernetes-managed hosts file.\n`,
  };
}

function netexec(sb: Sandbox, dir: string): ContainerSpec {
  return {
    podUid: sb.uid,
    name: 'mlflow',
    attempt: 0,
    argv: ['agnhost', 'netexec', '--http-port=5000'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOSTNAME: sb.name },
    builtin: 'agnhost',
    logPath: join(dir, `${sb.name}.log`),
    maxLogBytes: 1 << 20,
  };
}

async function waitFor(what: string, fn: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('netns runtime: pods in namespaces of their own on the node bridge, both on :5000, exec inside, re-adopted after a restart, removed without a trace', { skip }, async () => {
  const tag = randomBytes(3).toString('hex');
  const nodeNs = `svcnet-rt${tag}-node`;
  const dir = mkdtempSync(join(tmpdir(), 'svcnet-netns-rt-'));
  const opts = { dataDir: join(dir, 'agent'), nodeIPs: ['192.168.1.101'], log, nodeNetns: nodeNs, pollMs: 100 };
  const runtimes: PodRuntime[] = [];
  // The runtime's watch of re-adopted processes is an unref'd timer: keep the test's loop alive.
  const keep = setInterval(() => undefined, 1000);
  try {
    assert.equal((await run('ip', ['netns', 'add', nodeNs])).code, 0);
    await run('ip', ['-n', nodeNs, 'link', 'set', 'lo', 'up']);
    const rt = new NetnsRuntime(opts);
    runtimes.push(rt);
    await rt.start();
    const [a, b] = await Promise.all([rt.runSandbox(cfg('uid-a', 'mlflow-a')), rt.runSandbox(cfg('uid-b', 'mlflow-b'))]);
    assert.deepEqual([a.ips, b.ips].sort(), [['10.244.5.2'], ['10.244.5.3']]);
    assert.ok(a.id.startsWith(`${nodeNs}-p`));
    assert.deepEqual((await netnsWithPrefix(`${nodeNs}-p`)).sort(), [a.id, b.id].sort());
    const ca = await rt.startContainer(a, netexec(a, dir));
    const cb = await rt.startContainer(b, netexec(b, dir));
    assert.equal(ca.state, 'running');

    // Both listen on :5000, each in its own namespace; the node reaches both through cbr0.
    for (const sb of [a, b]) {
      await waitFor(`${sb.name} answering`, async () => (await run('ip', ['netns', 'exec', nodeNs, 'curl', '-s', '-m', '1', `http://${sb.ips[0]}:5000/hostname`])).stdout === sb.name);
    }
    // Pod to pod across the bridge, run inside pod a's namespace by exec; and the pod's own view.
    const x = await collect(rt.exec(ca.id, { argv: ['curl', '-s', '-m', '2', `http://${b.ips[0]}:5000/hostname`], tty: false, stdin: false }));
    assert.deepEqual([x.code, x.out], [0, 'mlflow-b']);
    const self = await collect(rt.exec(ca.id, { argv: ['curl', '-s', '-m', '2', 'http://127.0.0.1:5000/hostname'], tty: false, stdin: false }));
    assert.equal(self.out, 'mlflow-a', 'the pod reaches itself on localhost');
    const view = await collect(rt.exec(ca.id, { argv: ['sh', '-c', 'ip -4 -o addr show dev eth0; ip route show default; cat /etc/resolv.conf; echo $HOSTNAME; exit 7'], tty: false, stdin: false }));
    assert.equal(view.code, 7);
    assert.match(view.out, /inet 10\.244\.5\.2\/24/);
    assert.match(view.out, /default via 10\.244\.5\.1 dev eth0/);
    assert.match(view.out, /nameserver 10\.96\.0\.10\nsearch mlflow\.svc\.cluster\.local svc\.cluster\.local cluster\.local\noptions ndots:5/);
    assert.match(view.out, /mlflow-a\n$/);
    const missing = await collect(rt.exec(ca.id, { argv: ['no-such-program'], tty: false, stdin: false }));
    assert.equal(missing.code, null);
    assert.match(missing.error ?? '', /executable file not found/);
    // A container's own processes see what `ip netns exec` would show them: the pod's
    // resolv.conf and hosts over /etc, and a /sys describing the pod's namespace.
    const look = await rt.startContainer(a, {
      ...netexec(a, dir),
      name: 'look',
      argv: ['sh', '-c', 'cat /etc/resolv.conf /etc/hosts; ls /sys/class/net; ip -4 -o addr show dev eth0'],
      builtin: undefined,
      logPath: join(dir, 'look.log'),
    });
    await waitFor('the look container to end', async () => rt.container(look.id)?.state === 'exited');
    assert.equal(rt.container(look.id)?.exitCode, 0);
    const seen = readFileSync(join(dir, 'look.log'), 'utf8').replace(/^\S+ stdout F /gm, '');
    assert.match(seen, /nameserver 10\.96\.0\.10\nsearch mlflow\.svc\.cluster\.local/);
    assert.match(seen, /# Kubernetes-managed hosts file\./);
    assert.match(seen, /^eth0\nlo\n/m, 'the pod namespace\'s own /sys/class/net');
    assert.match(seen, /inet 10\.244\.5\.2\/24/);
    await rt.removeContainer(look.id);
    // With a terminal.
    const tty = await collect(rt.exec(ca.id, { argv: ['sh', '-c', 'tty >/dev/null && echo on-a-tty; exit 3'], tty: true, stdin: true }));
    assert.equal(tty.code, 3);
    assert.match(tty.out, /on-a-tty/);

    // The agent goes away (without stopping pods) and a new one takes over the same state.
    await rt.stop();
    const rt2 = new NetnsRuntime(opts);
    runtimes.push(rt2);
    await rt2.start();
    assert.deepEqual(
      rt2.containers().map((c) => [c.id, c.state]).sort(),
      [[ca.id, 'running'], [cb.id, 'running']].sort(),
    );
    assert.deepEqual((await rt2.runSandbox(cfg('uid-a', 'mlflow-a'))).ips, ['10.244.5.2']);
    const again = await collect(rt2.exec(cb.id, { argv: ['curl', '-s', '-m', '2', `http://${a.ips[0]}:5000/hostname`], tty: false, stdin: false }));
    assert.equal(again.out, 'mlflow-a');

    // Deleting pod a: its container ends, then its sandbox goes with namespace, veth and /etc/netns.
    const exited = new Promise<ContainerInfo>((r) => rt2.onContainerExit((i) => i.id === ca.id && r(i)));
    rt2.signalContainer(ca.id, 'SIGTERM');
    const info = await exited;
    assert.equal(info.state, 'exited');
    await rt2.removeContainer(ca.id);
    await rt2.removeSandbox('uid-a');
    assert.equal(existsSync(`/run/netns/${a.id}`), false);
    assert.equal(existsSync(`/etc/netns/${a.id}`), false);
    const links = await run('ip', ['-n', nodeNs, '-o', 'link', 'show', 'master', 'cbr0']);
    assert.equal(links.stdout.trim().split('\n').filter(Boolean).length, 1, 'only pod b\'s veth is left on the bridge');
    // b still serves.
    assert.equal((await run('ip', ['netns', 'exec', nodeNs, 'curl', '-s', '-m', '1', `http://${b.ips[0]}:5000/hostname`])).stdout, 'mlflow-b');
  } finally {
    clearInterval(keep);
    for (const r of runtimes) await r.stop();
    for (const ns of await netnsWithPrefix(`svcnet-rt${tag}-`)) {
      const pids = (await run('ip', ['netns', 'pids', ns])).stdout.split(/\s+/).filter(Boolean);
      for (const p of pids) {
        try {
          process.kill(Number(p), 'SIGKILL');
        } catch {
          // gone
        }
      }
      await run('ip', ['netns', 'del', ns]);
    }
    if (existsSync('/etc/netns')) for (const d of readdirSync('/etc/netns')) if (d.startsWith(`svcnet-rt${tag}-`)) rmSync(join('/etc/netns', d), { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(await netnsWithPrefix(`svcnet-rt${tag}-`), []);
});
