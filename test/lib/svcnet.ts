// Test harness: starts the real `bin/svcnet server` as a child process on a free loopback
// port with its own data dir, and runs the real kubectl against it.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { once } from 'node:events';
import { killPodProcesses, waitFor } from './agent.ts';

export const repoRoot = new URL('../..', import.meta.url).pathname;
export const svcnetBin = join(repoRoot, 'bin/svcnet');

/**
 * The loopback ranges of one test server. Host-mode servers running at the same time would
 * otherwise share 127.96.0.0/16, 127.244.0.0/16, 127.0.0.1's node ports and 127.240.0.0/24, and
 * their proxies and pods would collide (or answer each other's tests).
 */
export interface TestNet {
  slot: number;
  serviceCIDR: string;
  /** The `kubernetes` Service's ClusterIP (first address of serviceCIDR). */
  kubernetesIP: string;
  clusterCIDR: string;
  /** The node's address: node ports, proxy health and metrics, DNS listen here. */
  nodeIP: string;
  loadBalancerPool: string;
  /** The first address the LoadBalancer controller hands out from the pool. */
  firstLoadBalancerIP: string;
  dnsListen: string;
}

const slotRoot = join(tmpdir(), 'svcnet-test-slots');
const slotCount = 40;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Takes a free slot (an atomic mkdir); a slot whose owner process died is taken over. */
function claimSlot(): { slot: number; release(): void } {
  mkdirSync(slotRoot, { recursive: true });
  const start = Math.floor(Math.random() * slotCount);
  for (let k = 0; k < slotCount * 2; k++) {
    const slot = (start + k) % slotCount;
    const dir = join(slotRoot, String(slot));
    try {
      mkdirSync(dir);
    } catch {
      let owner = NaN;
      try {
        owner = Number(readFileSync(join(dir, 'pid'), 'utf8'));
      } catch {
        // Being claimed right now, or left half-made: skip it this round.
      }
      if (k < slotCount || Number.isNaN(owner) || pidAlive(owner)) continue;
      rmSync(dir, { recursive: true, force: true });
      try {
        mkdirSync(dir);
      } catch {
        continue;
      }
    }
    writeFileSync(join(dir, 'pid'), String(process.pid));
    return { slot, release: () => rmSync(dir, { recursive: true, force: true }) };
  }
  throw new Error(`no free test slot under ${slotRoot}`);
}

function testNet(slot: number): TestNet {
  // 127.(100+slot)/16 Services, 127.(150+slot)/16 pods, 127.(10+slot).0.x node and LoadBalancers:
  // clear of the defaults (127.96/16, 127.244/16, 127.240.0/24) and of each other.
  const nodeIP = `127.${10 + slot}.0.1`;
  return {
    slot,
    serviceCIDR: `127.${100 + slot}.0.0/16`,
    kubernetesIP: `127.${100 + slot}.0.1`,
    clusterCIDR: `127.${150 + slot}.0.0/16`,
    nodeIP,
    loadBalancerPool: `127.${10 + slot}.1.0/24`,
    firstLoadBalancerIP: `127.${10 + slot}.1.1`,
    dnsListen: `${nodeIP}:1053`,
  };
}

export interface Svcnet {
  /** This server's own loopback ranges (undefined with `isolate: false`). */
  net: TestNet | undefined;
  url: string;
  kubeconfig: string;
  dataDir: string;
  proc: ChildProcess;
  /** Everything the server wrote to stderr (its logs). */
  logs(): string;
  /** SIGTERM and wait. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait. */
  kill9(): Promise<void>;
  /** Starts it again on the same data dir (and port). */
  restart(): Promise<void>;
  /** Ends the pods' processes and removes the data dir; call after stop. */
  cleanup(): void;
}

export interface StartOptions {
  args?: string[];
  env?: Record<string, string>;
  dataDir?: string;
  /** Give the server loopback ranges of its own (default true); flags in `args` still win. */
  isolate?: boolean;
}

// Servers this test process started: whatever a test leaves running (a failed assertion, a
// forgotten cleanup) is ended when the process exits, pods included.
const live = new Map<string, () => ChildProcess>();
process.on('exit', () => {
  for (const [dir, proc] of live) {
    const p = proc();
    if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    killPodProcesses(dir);
  }
});

export async function startSvcnet(opts: StartOptions = {}): Promise<Svcnet> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'svcnet-test-'));
  const claimed = opts.isolate === false ? undefined : claimSlot();
  const net = claimed ? testNet(claimed.slot) : undefined;
  const isolation = net
    ? [
        '--service-cidr', net.serviceCIDR,
        '--cluster-cidr', net.clusterCIDR,
        '--node-ip', net.nodeIP,
        '--loadbalancer-pool', net.loadBalancerPool,
        '--dns-listen', net.dnsListen,
        '--proxy-healthz', `${net.nodeIP}:10256`,
        '--proxy-metrics', `${net.nodeIP}:10249`,
      ]
    : [];
  let listen = '127.0.0.1:0';
  let proc!: ChildProcess;
  let stderr = '';
  let url = '';
  const launch = async () => {
    // The caller's flags come last: commander keeps the last value of an option.
    proc = spawn(svcnetBin, ['server', '--data-dir', dataDir, '--listen', listen, ...isolation, ...(opts.args ?? [])], {
      env: { ...process.env, SVCNET_LOG_LEVEL: process.env.SVCNET_LOG_LEVEL ?? 'info', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    let out = '';
    url = await new Promise<string>((resolve, reject) => {
      const onData = (d: Buffer) => {
        out += d.toString();
        const m = /ready at (https:\/\/\S+)/.exec(out);
        if (m) {
          proc.stdout!.off('data', onData);
          resolve(m[1]);
        }
      };
      proc.stdout!.on('data', onData);
      proc.once('exit', (code) => reject(new Error(`svcnet server exited (${code}) before it was ready:\n${stderr}`)));
      setTimeout(() => reject(new Error(`svcnet server not ready in 20 s:\n${stderr}`)), 20_000).unref();
    });
    listen = new URL(url).host;
  };
  await launch();
  live.set(dataDir, () => proc);
  const waitExit = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
    const [code] = (await once(proc, 'exit')) as [number | null];
    return code;
  };
  return {
    net,
    get url() {
      return url;
    },
    kubeconfig: join(dataDir, 'kubeconfig'),
    dataDir,
    get proc() {
      return proc;
    },
    logs: () => stderr,
    stop: async () => {
      proc.kill('SIGTERM');
      return waitExit();
    },
    kill9: async () => {
      proc.kill('SIGKILL');
      await waitExit();
    },
    restart: launch,
    cleanup: () => {
      // Pods outlive their agent on purpose (a restarted agent re-adopts them): end them here.
      killPodProcesses(dataDir);
      live.delete(dataDir);
      rmSync(dataDir, { recursive: true, force: true });
      claimed?.release();
    },
  };
}

/** The directory holding kubectl.1.27 … kubectl.1.33 (beside the binary `kubectl` links to). */
export function kubectlDir(): string {
  return dirname(realpathSync('/usr/bin/kubectl'));
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubectlOptions {
  /** "1.27" … "1.33": run that binary directly; default: the dispatcher on PATH. */
  version?: string;
  input?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}

export function run(cmd: string, args: string[], opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { env: { ...process.env, ...opts.env }, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: stdout.toString(), stderr: stderr.toString() });
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin?.end();
  });
}

/** Runs kubectl against the server with a private discovery cache. */
export function kubectl(s: Pick<Svcnet, 'kubeconfig' | 'dataDir'>, args: string[], opts: KubectlOptions = {}): Promise<RunResult> {
  const bin = opts.version ? join(kubectlDir(), `kubectl.${opts.version}`) : 'kubectl';
  const cacheDir = join(s.dataDir, `kubectl-cache-${opts.version ?? 'default'}`);
  return run(bin, ['--kubeconfig', s.kubeconfig, '--cache-dir', cacheDir, ...args], opts);
}

/** The seed's manifests (copied verbatim from shared/examples; test/examples.test.ts checks they match). */
export const examplesDir = join(repoRoot, 'examples');

/** kubectl that must succeed: its stdout (an error names the command and its stderr). */
export async function kubectlOk(s: Pick<Svcnet, 'kubeconfig' | 'dataDir'>, args: string[], input?: string): Promise<string> {
  const r = await kubectl(s, args, input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/**
 * A server whose own agent runs pods (host mode) as node `node`, once that node is Ready, with
 * namespace `ns` created: the setup of tests that run pods end to end.
 */
export async function startNodeServer(node: string, ns: string): Promise<Svcnet> {
  const s = await startSvcnet({ args: ['--node-name', node], env: { SVCNET_LOG_LEVEL: 'warn' } });
  try {
    await waitFor('the node Ready', async () => (await kubectl(s, ['get', 'node', node, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).stdout === 'True');
    await kubectlOk(s, ['create', 'namespace', ns]);
  } catch (e) {
    await s.stop();
    s.cleanup();
    throw e;
  }
  return s;
}
