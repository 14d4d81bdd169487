// Starts a throwaway etcd for tests: loopback only (127.0.0.1, free ports), a temp data dir,
// killed and removed by stop(). Requests up to 8 MiB (--max-request-bytes), so 3 MiB objects fit.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ETCD_BINARY = process.env.SVCNET_ETCD ?? '/usr/bin/etcd';
/** What our docs ask of a production etcd too: objects up to 3 MiB plus transaction overhead. */
export const ETCD_MAX_REQUEST_BYTES = 8 * 1024 * 1024;

export function etcdAvailable(): boolean {
  try {
    accessSync(ETCD_BINARY, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface TestEtcd {
  endpoint: string;
  /** Kills etcd (SIGKILL), keeping its data dir and ports. */
  kill(): Promise<void>;
  /** Starts it again after kill(), on the same ports and data. */
  restart(): Promise<void>;
  /** Kills etcd and removes its data dir. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function healthy(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { health?: string };
    return body.health === 'true';
  } catch {
    return false;
  }
}

async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

export async function startEtcd(): Promise<TestEtcd> {
  for (let attempt = 0; ; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), 'svcnet-etcd-'));
    const clientPort = await freePort();
    const peerPort = await freePort();
    const endpoint = `http://127.0.0.1:${clientPort}`;
    const peer = `http://127.0.0.1:${peerPort}`;
    const args = [
      '--name=svcnet-test',
      `--data-dir=${join(dir, 'data')}`,
      `--listen-client-urls=${endpoint}`,
      `--advertise-client-urls=${endpoint}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=svcnet-test=${peer}`,
      `--max-request-bytes=${ETCD_MAX_REQUEST_BYTES}`,
      // Watch progress notifications every second (default 10 min), for the progress test.
      '--experimental-watch-progress-notify-interval=1s',
      '--logger=zap',
      '--log-level=error',
    ];
    let child: ChildProcess | undefined;
    let stderr = '';
    const launch = async (): Promise<boolean> => {
      stderr = '';
      const c = spawn(ETCD_BINARY, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      child = c;
      c.stderr.on('data', (b: Buffer) => {
        stderr = (stderr + b.toString()).slice(-4000);
      });
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && c.exitCode === null) {
        if (await healthy(endpoint)) return true;
        await new Promise((r) => setTimeout(r, 100));
      }
      return false;
    };
    const kill = async (): Promise<void> => {
      if (child) await stopProcess(child, 'SIGKILL');
    };
    const stop = async (): Promise<void> => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    };
    const restart = async (): Promise<void> => {
      if (!(await launch())) throw new Error(`etcd did not come back at ${endpoint}: ${stderr}`);
    };
    if (await launch()) return { endpoint, kill, restart, stop };
    await stop();
    // A port taken between our probe and etcd's bind: try again with new ones.
    if (attempt < 2 && /address already in use/.test(stderr)) continue;
    throw new Error(`etcd did not become healthy at ${endpoint}: ${stderr}`);
  }
}
