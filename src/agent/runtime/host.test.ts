// The host runtime for real: pod shims as detached processes, CRI logs with rotation, exit
// codes, re-adoption by a second runtime on the same state (as after an agent restart), exec.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logger } from '../../util/index.ts';
import { HostRuntime } from './host.ts';
import { processAlive } from './process.ts';
import type { ContainerInfo, Sandbox } from './types.ts';

const log = logger('test').child({}, { level: 'silent' });

async function waitExit(rt: HostRuntime, id: string, ms = 5000): Promise<ContainerInfo> {
  const deadline = Date.now() + ms;
  for (;;) {
    const c = rt.container(id);
    if (c?.state === 'exited') return c;
    if (Date.now() > deadline) throw new Error(`container ${id} still runs`);
    await new Promise((r) => setTimeout(r, 30));
  }
}

function setup(t: { after(fn: () => void | Promise<void>): void }): { dir: string; rt: HostRuntime } {
  const dir = mkdtempSync(join(tmpdir(), 'svcnet-host-runtime-'));
  const rt = new HostRuntime({ dataDir: join(dir, 'runtime'), nodeIPs: ['127.0.0.1'], log, pollMs: 50 });
  t.after(async () => {
    for (const c of rt.containers()) if (c.state === 'running') rt.signalContainer(c.id, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    await rt.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, rt };
}

const podCIDR = `127.${150 + Math.floor(Math.random() * 90)}.${Math.floor(Math.random() * 250)}.0/24`;

async function sandbox(rt: HostRuntime, uid: string): Promise<Sandbox> {
  return rt.runSandbox({ uid, namespace: 'ns', name: uid, hostname: uid, hostNetwork: false, podCIDRs: [podCIDR] });
}

test('sandboxes get distinct addresses from the pod CIDR, kept across a restart', async (t) => {
  const { dir, rt } = setup(t);
  await rt.start();
  const a = await sandbox(rt, 'a');
  const b = await sandbox(rt, 'b');
  assert.equal(a.ips[0], podCIDR.replace(/0\/24$/, '2'));
  assert.equal(b.ips[0], podCIDR.replace(/0\/24$/, '3'));
  assert.equal((await sandbox(rt, 'a')).ips[0], a.ips[0]);
  const again = new HostRuntime({ dataDir: join(dir, 'runtime'), nodeIPs: ['127.0.0.1'], log });
  await again.start();
  assert.deepEqual(again.sandboxes().map((s) => s.ips[0]).sort(), [a.ips[0], b.ips[0]].sort());
  await again.stop();
  await rt.removeSandbox('a');
  assert.equal((await sandbox(rt, 'c')).ips[0], a.ips[0], 'a released address is reused');
});

test('a container\'s output goes to a rotated CRI log and its exit code is recorded', async (t) => {
  const { dir, rt } = setup(t);
  await rt.start();
  const sb = await sandbox(rt, 'p');
  const logPath = join(dir, '0.log');
  const info = await rt.startContainer(sb, {
    podUid: 'p',
    name: 'c',
    attempt: 0,
    argv: ['sh', '-c', 'sleep 1; i=0; while [ $i -lt 40 ]; do echo "line $i of the log"; i=$((i+1)); done; echo oops >&2; exit 7'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    logPath,
    maxLogBytes: 1000,
  });
  // The program sleeps a second first, so that even a slow start (a loaded machine) finds it running.
  assert.equal(info.state, 'running');
  const done = await waitExit(rt, info.id);
  assert.equal(done.exitCode, 7);
  assert.ok(existsSync(`${logPath}.1`), 'rotated once past 1000 bytes');
  const cur = readFileSync(logPath, 'utf8');
  assert.ok(Buffer.byteLength(cur) < 1000);
  assert.match(cur, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z stderr F oops$/m);
  assert.match(readFileSync(`${logPath}.1`, 'utf8') + cur, /stdout F line 39 of the log/);
});

test('a missing program is a StartError, as runc reports it', async (t) => {
  const { dir, rt } = setup(t);
  await rt.start();
  const sb = await sandbox(rt, 'p');
  const info = await rt.startContainer(sb, { podUid: 'p', name: 'c', attempt: 0, argv: ['no-such-program-here'], env: { PATH: '/usr/bin:/bin' }, logPath: join(dir, 'x.log'), maxLogBytes: 1e6 });
  assert.equal(info.state, 'exited');
  assert.equal(info.exitCode, 128);
  assert.equal(info.reason, 'StartError');
  assert.equal(info.message, 'exec: "no-such-program-here": executable file not found in $PATH');
});

test('a second runtime on the same state re-adopts running containers and learns exits it missed', async (t) => {
  const { dir, rt } = setup(t);
  await rt.start();
  const sb = await sandbox(rt, 'p');
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', GREETING: 'hello' };
  const keep = await rt.startContainer(sb, { podUid: 'p', name: 'keep', attempt: 0, argv: ['sleep', '30'], env, logPath: join(dir, 'k.log'), maxLogBytes: 1e6 });
  const end = await rt.startContainer(sb, { podUid: 'p', name: 'end', attempt: 0, argv: ['sleep', '30'], env, logPath: join(dir, 'e.log'), maxLogBytes: 1e6 });
  await rt.stop(); // the agent goes away; the processes stay
  const st = JSON.parse(readFileSync(join(dir, 'runtime', 'containers', end.id, 'state.json'), 'utf8')) as { pgid: number };
  process.kill(-st.pgid, 'SIGTERM');
  const shim = JSON.parse(readFileSync(join(dir, 'runtime', 'containers', end.id, 'state.json'), 'utf8')) as { shimPid: number; shimStartTicks: string };
  for (let i = 0; i < 100 && processAlive(shim.shimPid, shim.shimStartTicks); i++) await new Promise((r) => setTimeout(r, 50));
  const rt2 = new HostRuntime({ dataDir: join(dir, 'runtime'), nodeIPs: ['127.0.0.1'], log, pollMs: 50 });
  t.after(async () => {
    for (const c of rt2.containers()) if (c.state === 'running') rt2.signalContainer(c.id, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    await rt2.stop();
  });
  await rt2.start();
  assert.equal(rt2.container(keep.id)?.state, 'running');
  assert.equal(rt2.container(keep.id)?.pid, keep.pid);
  const ended = rt2.container(end.id);
  assert.equal(ended?.state, 'exited');
  assert.equal(ended?.exitCode, 143);
  // exec in the re-adopted container, with its environment
  const p = rt2.exec(keep.id, { argv: ['sh', '-c', 'echo $GREETING; exit 4'], tty: false, stdin: false });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  assert.deepEqual(await p.done, { exitCode: 4 });
  assert.equal(out, 'hello\n');
  // an exit noticed by polling (the agent is not the parent any more)
  const exits: ContainerInfo[] = [];
  rt2.onContainerExit((i) => exits.push(i));
  rt2.signalContainer(keep.id, 'SIGKILL');
  const k = await waitExit(rt2, keep.id);
  assert.equal(k.exitCode, 137);
  assert.equal(exits.length, 1);
});

test('with a shim prefix the zygote\'s child execs the prefix (as ip netns exec NS would run)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'svcnet-host-runtime-'));
  const rt = new HostRuntime({ dataDir: join(dir, 'runtime'), nodeIPs: ['127.0.0.1'], log, pollMs: 50, shimPrefix: () => ['env', 'SVCNET_PREFIXED=1'], zygote: true });
  t.after(async () => {
    await rt.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await rt.start();
  const sb = await sandbox(rt, 'p');
  const info = await rt.startContainer(sb, { podUid: 'p', name: 'c', attempt: 0, argv: ['sh', '-c', 'echo hi; exit 5'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, logPath: join(dir, 'x.log'), maxLogBytes: 1e6 });
  const done = await waitExit(rt, info.id);
  assert.equal(done.exitCode, 5);
  assert.match(readFileSync(join(dir, 'x.log'), 'utf8'), /stdout F hi/);
});
