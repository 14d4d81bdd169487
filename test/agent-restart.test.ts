// A standalone `svcnet agent` (against `svcnet server --no-agent`) killed with -9: its pods'
// processes survive, keep their connections, and the restarted agent re-adopts them without
// counting a restart; a container that ended while no agent ran is found with its exit code.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { Pods } from '../src/api/index.ts';
import { HttpClient } from '../src/client/index.ts';
import { startSvcnet, kubectl, svcnetBin, type Svcnet } from './lib/svcnet.ts';
import { killPodProcesses, uniqueClusterCIDR, waitFor } from './lib/agent.ts';

const node = 'worker-restart';
let s: Svcnet;
let api: HttpClient;
let agentDir: string;
let agent: ChildProcess | undefined;
let agentErr = '';

/** Starts `svcnet agent`, with the kubeconfig or (withFlags) with --server, --token and --certificate-authority. */
async function startAgentProcess(withFlags = false): Promise<void> {
  let conn = ['--kubeconfig', s.kubeconfig];
  if (withFlags) {
    const kc = readFileSync(s.kubeconfig, 'utf8');
    const ca = join(agentDir, 'ca.crt');
    writeFileSync(ca, Buffer.from(/certificate-authority-data: (\S+)/.exec(kc)![1], 'base64'));
    conn = ['--server', s.url, '--token', /token: (\S+)/.exec(kc)![1], '--certificate-authority', ca];
  }
  const p = spawn(svcnetBin, ['agent', ...conn, '--node-name', node, '--data-dir', agentDir, '--port', '0', '--crashloop-backoff-initial', '1s', '--node-status-update-frequency', '1s'], {
    env: { ...process.env, SVCNET_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  agent = p;
  p.stderr.on('data', (d: Buffer) => (agentErr += d.toString()));
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`agent not ready in 20 s:\n${agentErr}`)), 20_000);
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('svcnet agent ready')) {
        clearTimeout(t);
        resolve();
      }
    });
    p.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`agent exited (${code}):\n${agentErr}`));
    });
  });
}

async function kill9Agent(): Promise<void> {
  const p = agent!;
  if (p.exitCode !== null || p.signalCode !== null) return;
  p.kill('SIGKILL');
  await once(p, 'exit');
}

async function pod(name: string): Promise<Pod> {
  return api.get<Pod>(Pods, 'default', name);
}

async function waitReady(name: string): Promise<Pod> {
  return waitFor(`${name} Ready`, async () => {
    const p = await pod(name);
    return p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? p : undefined;
  });
}

/** One keep-alive HTTP connection: each call sends a request and reads one response on it. */
function keepAlive(host: string, port: number): { get(path: string): Promise<string>; close(): void } {
  const sock = net.connect({ host, port });
  sock.on('error', () => undefined);
  let buf = '';
  let waiter: (() => void) | undefined;
  sock.on('data', (d: Buffer) => {
    buf += d.toString();
    waiter?.();
  });
  return {
    get: async (path) => {
      buf = '';
      sock.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n`);
      await waitFor('a response on the kept connection', () => {
        const m = /Content-Length: (\d+)\r\n[\s\S]*?\r\n\r\n/.exec(buf);
        return m && buf.length >= buf.indexOf('\r\n\r\n') + 4 + Number(m[1]) ? true : undefined;
      }, 5000, 20);
      if (sock.destroyed) throw new Error('connection closed');
      return buf.slice(buf.indexOf('\r\n\r\n') + 4);
    },
    close: () => sock.destroy(),
  };
}

before(async () => {
  agentDir = mkdtempSync(join(tmpdir(), 'svcnet-agent-restart-'));
  s = await startSvcnet({ args: ['--no-agent', '--cluster-cidr', uniqueClusterCIDR()], env: { SVCNET_LOG_LEVEL: 'warn' } });
  api = HttpClient.fromKubeconfig(s.kubeconfig);
  await startAgentProcess();
  await waitFor('the node Ready with a pod CIDR', async () => {
    const r = await kubectl(s, ['get', 'node', node, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status} {.spec.podCIDR}']);
    return /^True 127\./.test(r.stdout);
  });
});

after(async () => {
  api?.close();
  if (agent) await kill9Agent();
  if (s) {
    await s.stop();
    s.cleanup();
  }
  killPodProcesses(agentDir);
  rmSync(agentDir, { recursive: true, force: true });
});

test('kill -9 of the agent leaves its pods running; the restarted agent re-adopts them with no restart counted', async () => {
  const create = await kubectl(s, ['run', 'web', '--image=registry.k8s.io/e2e-test-images/agnhost:2.53', `--overrides={"spec":{"nodeName":"${node}"}}`, '--', 'netexec', '--http-port=8080', '--udp-port=-1']);
  assert.equal(create.code, 0, create.stderr);
  const sleeper = await kubectl(s, ['run', 'sleeper', '--image=busybox', `--overrides={"spec":{"nodeName":"${node}"}}`, '--command', '--', 'sh', '-c', 'echo $$ > /dev/null; exec sleep 1000']);
  assert.equal(sleeper.code, 0, sleeper.stderr);
  const web = await waitReady('web').catch(async (e: unknown) => {
    throw new Error(`${String(e)}\n${agentErr}\n${JSON.stringify((await pod('web')).status)}`);
  });
  const sl = await waitReady('sleeper');
  const ip = web.status!.podIP!;
  const conn = keepAlive(ip, 8080);
  try {
    assert.equal(await conn.get('/hostname'), 'web');
    await kill9Agent();
    // The agent is gone; the pod still answers on the same connection.
    assert.equal(await conn.get('/hostname'), 'web');
    // The sleeper's container ends while no agent runs (its shim records the exit status).
    const sleeperIP = sl.status!.podIP!;
    const pids = (await new Promise<string>((resolve) => {
      const ps = spawn('pgrep', ['-f', '^sleep 1000$']);
      let o = '';
      ps.stdout.on('data', (d: Buffer) => (o += d.toString()));
      ps.on('close', () => resolve(o));
    })).trim().split('\n').filter(Boolean).map(Number);
    const mine = pids.filter((p) => {
      try {
        return spawn('true') && process.kill(p, 0);
      } catch {
        return false;
      }
    });
    assert.ok(mine.length >= 1, 'the sleeper runs');
    for (const p of mine) process.kill(p, 'SIGTERM');
    await startAgentProcess(true);
    assert.equal(await conn.get('/hostname'), 'web', 'the connection survived the agent restart');
    const after = await waitReady('web');
    const before = web.status!.containerStatuses![0];
    const now = after.status!.containerStatuses![0];
    assert.equal(now.restartCount, 0);
    assert.equal(now.containerID, before.containerID);
    assert.equal(after.status!.podIP, ip);
    // The one that ended meanwhile: terminated by SIGTERM (143), restarted, same address.
    const sl2 = await waitFor('the sleeper restarted', async () => {
      const p = await pod('sleeper');
      return p.status?.containerStatuses?.[0]?.restartCount === 1 ? p : undefined;
    });
    assert.equal(sl2.status!.containerStatuses![0].lastState?.terminated?.exitCode, 143);
    assert.equal(sl2.status!.podIP, sleeperIP);
    // Logs and exec go through the new agent endpoint.
    const logs = await kubectl(s, ['logs', 'web']);
    assert.match(logs.stdout, /GET \/hostname/);
    const ex = await kubectl(s, ['exec', 'web', '--', 'sh', '-c', 'echo $HOSTNAME']);
    assert.equal(ex.stdout, 'web\n');
  } finally {
    conn.close();
  }
});

test('deleting a pod while its agent is down: the agent finishes the deletion when it is back', async () => {
  const r = await kubectl(s, ['run', 'late', '--image=registry.k8s.io/e2e-test-images/agnhost:2.53', `--overrides={"spec":{"nodeName":"${node}","terminationGracePeriodSeconds":1}}`, '--', 'pause']);
  assert.equal(r.code, 0, r.stderr);
  await waitReady('late');
  await kill9Agent();
  const del = await kubectl(s, ['delete', 'pod', 'late', '--wait=false']);
  assert.equal(del.code, 0, del.stderr);
  assert.ok((await pod('late')).metadata?.deletionTimestamp, 'the pod waits for its agent');
  await startAgentProcess();
  await waitFor('the pod gone', async () => {
    try {
      await pod('late');
      return undefined;
    } catch {
      return true;
    }
  });
});

test('a deleted Node is registered again by its agent', async () => {
  const del = await kubectl(s, ['delete', 'node', node]);
  assert.equal(del.code, 0, del.stderr);
  await waitFor('the node back and Ready', async () => {
    const r = await kubectl(s, ['get', 'node', node, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
    return r.stdout === 'True';
  }, 20_000, 300);
});
