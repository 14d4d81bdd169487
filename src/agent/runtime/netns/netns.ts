// The `netns` runtime (root, Linux): every pod is a network namespace of its own, wired to the
// node's bridge (cbr0, the gateway address of the node's pod CIDR) by a veth pair, with an
// address from the pod CIDR and a default route through the bridge; `ip netns exec` bind-mounts
// the pod's /etc/netns/<ns>/resolv.conf and hosts over /etc for everything run in it. Containers
// are the host runtime's pod shims, forked by its zygote, which enters the pod's namespace the
// way `ip netns exec <pod ns>` does (or, without the zygote, started under that command); they
// outlive the agent and are re-adopted alike. `kubectl exec` runs in the pod's namespace too.
//
// State lives in <data-dir>/netns: one record per sandbox (its namespace, veth and addresses,
// written before the first command, so a restarted agent reuses the addresses and finishes or
// redoes half-made plumbing) and each container's environment (for exec).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Logger } from '../../../util/index.ts';
import { HostRuntime } from '../host.ts';
import { allocateAddress } from '../ipam.ts';
import { findExecutable, pythonCommand, ptyShimPath } from '../process.ts';
import type { ContainerInfo, ContainerSpec, ExecOptions, ExecProcess, ExecResult, PodRuntime, Sandbox, SandboxConfig } from '../types.ts';
import { bridgeBatch, bridgeName, cidrInfo, etcNetns, podCommands, podNamespaceName, podRemovalCommands, vethName, type CidrInfo } from './plan.ts';

export interface IpResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command (`ip ...`, `sysctl`), optionally with stdin; never throws. */
export type CommandRunner = (argv: readonly string[], input?: string) => Promise<IpResult>;

export const runCommand: CommandRunner = (argv, input) =>
  new Promise((resolve) => {
    const child = execFile(argv[0] ?? 'false', argv.slice(1), { timeout: 30_000, maxBuffer: 8 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr: err && !stderr ? err.message : stderr });
    });
    // A command that exits before reading its input must not fail the agent with EPIPE.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input ?? '');
  });

export interface NetnsRuntimeOptions {
  /** State lives in <dataDir>/netns (sandboxes) and the host runtime's folders (containers). */
  dataDir: string;
  /** The node's addresses (a hostNetwork pod's addresses). */
  nodeIPs: readonly string[];
  log: Logger;
  /** How often processes the agent did not start are checked, ms. */
  pollMs?: number;
  /**
   * The node's network namespace, when the runtime runs outside it (tests drive a namespace
   * they made from the host: every node-side command then runs as `ip -n <nodeNetns>`).
   * Default: the agent's own namespace.
   */
  nodeNetns?: string;
  run?: CommandRunner;
  /** Where the pods' resolv.conf and hosts go; `ip netns exec` reads /etc/netns (the default). */
  etcNetnsDir?: string;
}

interface SandboxRecord {
  sandbox: Sandbox;
  hostNetwork: boolean;
  veth: string;
  cidrs: string[];
  /** Set once every command that wires it has succeeded. */
  plumbed: boolean;
}

interface ExecEnv {
  podUid: string;
  env: Record<string, string>;
  cwd?: string;
}

function writeJson(path: string, obj: unknown): void {
  writeFileSync(`${path}.tmp`, JSON.stringify(obj), { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Processes whose network namespace is the one mounted at `path` (read from /proc, no process spawned). */
export function pidsInNamespace(path: string): number[] {
  let ino: number;
  try {
    ino = statSync(path).ino;
  } catch {
    return [];
  }
  const want = `net:[${ino}]`;
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readlinkSync(`/proc/${d}/ns/net`) === want) out.push(Number(d));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

/** kubelet's managed /etc/hosts for a pod (pkg/kubelet/kubelet_pods.go managedHostsFileContent). */
export function managedHosts(ips: readonly string[], hostname: string): string {
  return [
    '# Kubernetes-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
    ...ips.map((ip) => `${ip}\t${hostname}`),
    '',
  ].join('\n');
}

const signalNumbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

export class NetnsRuntime implements PodRuntime {
  readonly name: string = 'netns';
  readonly #opts: NetnsRuntimeOptions;
  readonly #run: CommandRunner;
  readonly #host: HostRuntime;
  readonly #records = new Map<string, SandboxRecord>();
  readonly #envs = new Map<string, ExecEnv>();
  readonly #inflight = new Map<string, Promise<Sandbox>>();
  /** Sandboxes this process began to wire (a retry after a failure cleans up first). */
  readonly #attempted = new Set<string>();
  #nodeNs: string | undefined;
  #bridge: { key: string; ready: Promise<void> } | undefined;
  /** Node-side scripts of pods waiting to be wired together (one `ip -batch` for them all). */
  #nodeQueue: { lines: readonly string[]; cleanup: readonly string[]; done: (err?: Error) => void }[] = [];
  #nodeBatchRunning = false;

  constructor(opts: NetnsRuntimeOptions) {
    this.#opts = opts;
    // Commands run from the shim zygote once it runs (a fork of the agent blocks its event loop
    // for every one); a command cut short by the zygote's end fails (and the sandbox is
    // retried, cleaning up first) rather than running twice.
    this.#run =
      opts.run ??
      ((argv, input) => {
        const viaZygote = this.#host.runFromZygote(argv, input);
        if (!viaZygote) return runCommand(argv, input);
        return viaZygote.catch((e: unknown) => ({ code: 1, stdout: '', stderr: e instanceof Error ? e.message : String(e) }));
      });
    this.#host = new HostRuntime({
      dataDir: opts.dataDir,
      nodeIPs: opts.nodeIPs,
      log: opts.log,
      pollMs: opts.pollMs,
      shimPrefix: (sb) => this.#prefixFor(sb.uid),
      // The zygote forks each shim and enters the pod's namespace itself (as `ip netns exec`
      // does): no fork of the agent, no `ip` and no fresh Python per container.
      shimNetns: (sb) => this.#netnsFor(sb.uid),
    });
  }

  get #stateDir(): string {
    return join(this.#opts.dataDir, 'netns');
  }

  get #sandboxDir(): string {
    return join(this.#stateDir, 'sandboxes');
  }

  get #envDir(): string {
    return join(this.#stateDir, 'exec');
  }

  /** `ip` in the node's namespace. */
  #ip(...args: string[]): string[] {
    return this.#opts.nodeNetns ? ['ip', '-n', this.#opts.nodeNetns, ...args] : ['ip', ...args];
  }

  async #must(argv: readonly string[], input?: string): Promise<string> {
    const r = await this.#run(argv, input);
    if (r.code !== 0) throw new Error(`${argv.join(' ')}${input ? ` <<${JSON.stringify(input)}` : ''}: ${r.stderr.trim() || `exit ${r.code}`}`);
    return r.stdout;
  }

  /** The named namespace a pod's processes run in (its own, or the node's), if not the agent's. */
  #netnsFor(uid: string): string | undefined {
    const rec = this.#records.get(uid);
    if (rec && !rec.hostNetwork) return rec.sandbox.id;
    return this.#opts.nodeNetns;
  }

  /** The command prefix that puts a process into a pod's network (its namespace, or the node's). */
  #prefixFor(uid: string): string[] {
    const ns = this.#netnsFor(uid);
    return ns ? ['ip', 'netns', 'exec', ns] : [];
  }

  async start(): Promise<void> {
    mkdirSync(this.#sandboxDir, { recursive: true, mode: 0o700 });
    mkdirSync(this.#envDir, { recursive: true, mode: 0o700 });
    this.#nodeNs = this.#opts.nodeNetns ?? ((await this.#run(['ip', 'netns', 'identify'])).stdout.trim() || undefined);
    for (const f of readdirSync(this.#sandboxDir)) {
      const rec = f.endsWith('.json') ? readJson<SandboxRecord>(join(this.#sandboxDir, f)) : undefined;
      if (rec?.sandbox?.uid) this.#records.set(rec.sandbox.uid, rec);
    }
    for (const f of readdirSync(this.#envDir)) {
      const e = f.endsWith('.json') ? readJson<ExecEnv>(join(this.#envDir, f)) : undefined;
      if (e) this.#envs.set(f.slice(0, -5), e);
    }
    await this.#host.start();
    const missing = [...this.#records.values()].filter((r) => !r.hostNetwork && !existsSync(`/run/netns/${r.sandbox.id}`)).length;
    this.#opts.log.info({ sandboxes: this.#records.size, missingNamespaces: missing, nodeNetns: this.#nodeNs ?? '(the agent\'s own)' }, 'netns runtime state loaded');
  }

  async stop(): Promise<void> {
    await this.#host.stop();
  }

  sandboxes(): Sandbox[] {
    return [...this.#records.values()].map((r) => r.sandbox);
  }

  containers(): ContainerInfo[] {
    return this.#host.containers();
  }

  container(id: string): ContainerInfo | undefined {
    return this.#host.container(id);
  }

  onContainerExit(listener: (info: ContainerInfo) => void): void {
    this.#host.onContainerExit(listener);
  }

  signalContainer(id: string, signal: NodeJS.Signals): void {
    this.#host.signalContainer(id, signal);
  }

  async removeContainer(id: string): Promise<void> {
    await this.#host.removeContainer(id);
    this.#envs.delete(id);
    rmSync(join(this.#envDir, `${id}.json`), { force: true });
  }

  prepareNetwork(podCIDRs: readonly string[]): Promise<void> {
    return podCIDRs.length ? this.#ensureBridge(podCIDRs.map(cidrInfo)) : Promise.resolve();
  }

  runSandbox(cfg: SandboxConfig): Promise<Sandbox> {
    const pending = this.#inflight.get(cfg.uid);
    if (pending) return pending;
    const p = this.#runSandbox(cfg).finally(() => this.#inflight.delete(cfg.uid));
    this.#inflight.set(cfg.uid, p);
    return p;
  }

  async #runSandbox(cfg: SandboxConfig): Promise<Sandbox> {
    const existing = this.#records.get(cfg.uid);
    if (existing && (existing.hostNetwork || (existing.plumbed && existsSync(`/run/netns/${existing.sandbox.id}`)))) {
      this.#writeEtc(existing, cfg);
      return existing.sandbox;
    }
    let rec: SandboxRecord;
    if (existing) {
      // Half-made before a crash, or its namespace went away: wire it again, same addresses.
      rec = existing;
    } else if (cfg.hostNetwork) {
      rec = {
        sandbox: { uid: cfg.uid, namespace: cfg.namespace, name: cfg.name, id: this.#opts.nodeNetns ?? '', ips: [...this.#opts.nodeIPs], createdAt: new Date().toISOString() },
        hostNetwork: true,
        veth: '',
        cidrs: [],
        plumbed: true,
      };
      this.#save(rec);
      return rec.sandbox;
    } else {
      if (!cfg.podCIDRs.length) throw new Error('the node has no pod CIDR yet');
      // Allocated synchronously (no await since reading the others), then recorded before any
      // command runs: concurrent sandboxes never share an address, and a restart reuses it.
      const used = new Set<string>();
      for (const r of this.#records.values()) if (!r.hostNetwork) for (const ip of r.sandbox.ips) used.add(ip);
      const ips: string[] = [];
      for (const cidr of cfg.podCIDRs) {
        const ip = allocateAddress(cidr, used);
        if (!ip) throw new Error(`no free address left in the pod CIDR ${cidr}`);
        ips.push(ip);
      }
      rec = {
        sandbox: { uid: cfg.uid, namespace: cfg.namespace, name: cfg.name, id: podNamespaceName(cfg.uid, this.#nodeNs), ips, createdAt: new Date().toISOString() },
        hostNetwork: false,
        veth: vethName(cfg.uid),
        cidrs: [...cfg.podCIDRs],
        plumbed: false,
      };
      this.#save(rec);
    }
    try {
      await this.#plumb(rec);
    } catch (e) {
      this.#opts.log.warn({ err: (e as Error).message, pod: `${cfg.namespace}/${cfg.name}`, netns: rec.sandbox.id }, 'could not wire the pod\'s network namespace');
      throw e;
    }
    this.#writeEtc(rec, cfg);
    rec.plumbed = true;
    this.#save(rec);
    return rec.sandbox;
  }

  #save(rec: SandboxRecord): void {
    this.#records.set(rec.sandbox.uid, rec);
    writeJson(join(this.#sandboxDir, `${rec.sandbox.uid}.json`), rec);
  }

  /** /etc/netns/<ns>/resolv.conf and hosts, which `ip netns exec` mounts over /etc for the pod. */
  #writeEtc(rec: SandboxRecord, cfg: SandboxConfig): void {
    if (rec.hostNetwork) return;
    const dir = join(this.#opts.etcNetnsDir ?? etcNetns, rec.sandbox.id);
    mkdirSync(dir, { recursive: true });
    if (cfg.resolvConf !== undefined) writeFileSync(join(dir, 'resolv.conf'), cfg.resolvConf);
    else rmSync(join(dir, 'resolv.conf'), { force: true });
    writeFileSync(join(dir, 'hosts'), cfg.hosts ?? managedHosts(rec.sandbox.ips, cfg.hostname));
  }

  /** The node bridge with the gateways of the pod CIDRs, and forwarding on (as kubenet). */
  #ensureBridge(cidrs: readonly CidrInfo[]): Promise<void> {
    const key = cidrs.map((c) => c.cidr).join(',');
    if (this.#bridge?.key === key) return this.#bridge.ready;
    const ready = (async () => {
      const show = await this.#run(this.#ip('-j', 'addr', 'show', 'dev', bridgeName));
      let addrs: string[] = [];
      if (show.code !== 0) await this.#must(this.#ip('link', 'add', bridgeName, 'type', 'bridge'));
      else {
        const links = JSON.parse(show.stdout || '[]') as { addr_info?: { family?: string; local?: string; prefixlen?: number; scope?: string }[] }[];
        addrs = (links[0]?.addr_info ?? []).filter((a) => a.scope !== 'link' && a.local).map((a) => `${a.local}/${a.prefixlen}`);
      }
      await this.#must(this.#ip('-batch', '-'), bridgeBatch(cidrs, addrs).join('\n') + '\n');
      const sysctls = ['net.ipv4.ip_forward=1', ...(cidrs.some((c) => c.family === 6) ? ['net.ipv6.conf.all.forwarding=1'] : [])];
      const prefix = this.#opts.nodeNetns ? ['ip', 'netns', 'exec', this.#opts.nodeNetns] : [];
      await this.#must([...prefix, 'sysctl', '-qw', ...sysctls]);
    })();
    this.#bridge = { key, ready };
    ready.catch(() => {
      if (this.#bridge?.ready === ready) this.#bridge = undefined;
    });
    return ready;
  }

  /**
   * Runs an `ip -batch` script in the node's namespace. `netns add|del` lines cannot run under
   * `ip -n` (it gives itself a private mount namespace, where the namespace's name would be
   * mounted, or unmounted, unseen): with a nodeNetns they run as commands of their own.
   */
  async #nodeScript(lines: readonly string[], tolerant = false): Promise<void> {
    const runOne = async (argv: readonly string[], input?: string) => {
      if (tolerant) await this.#run(argv, input);
      else await this.#must(argv, input);
    };
    if (!this.#opts.nodeNetns) {
      await runOne(tolerant ? ['ip', '-force', '-batch', '-'] : ['ip', '-batch', '-'], lines.join('\n') + '\n');
      return;
    }
    const isNetns = (l: string) => l.startsWith('netns ');
    const rest = lines.filter((l) => !isNetns(l));
    for (const l of lines.filter((x) => isNetns(x) && x.startsWith('netns add'))) await runOne(['ip', ...l.split(' ')]);
    if (rest.length) await runOne(this.#ip(...(tolerant ? ['-force'] : []), '-batch', '-'), rest.join('\n') + '\n');
    for (const l of lines.filter((x) => isNetns(x) && !x.startsWith('netns add'))) await runOne(['ip', ...l.split(' ')]);
  }

  async #plumb(rec: SandboxRecord): Promise<void> {
    const cidrs = rec.cidrs.map(cidrInfo);
    await this.#ensureBridge(cidrs);
    const ns = rec.sandbox.id;
    // Leftovers of a half-made attempt (a crash, a vanished namespace) go first.
    if (existsSync(`/run/netns/${ns}`) || rec.plumbed || this.#attempted.has(rec.sandbox.uid)) await this.#nodeScript(podRemovalCommands(ns, rec.veth), true);
    this.#attempted.add(rec.sandbox.uid);
    const cmds = podCommands({ ns, veth: rec.veth, ips: rec.sandbox.ips, cidrs });
    // The node's side (namespace, veth, bridge port) shares one process with the other pods
    // being wired at the same time; the pod's side is a process of its own.
    await this.#nodeSide(cmds.node, podRemovalCommands(ns, rec.veth));
    await this.#must(['ip', '-n', ns, '-batch', '-'], cmds.pod.join('\n') + '\n');
  }

  /**
   * Queues a pod's node-side script; scripts queued while a batch runs go together in the next.
   * A batch that fails (ip stops at the first failing line) is redone pod by pod, each after its
   * own cleanup, so one bad pod fails alone.
   */
  #nodeSide(lines: readonly string[], cleanup: readonly string[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#nodeQueue.push({ lines, cleanup, done: (err) => (err ? reject(err) : resolve()) });
      if (!this.#nodeBatchRunning) void this.#runNodeBatches();
    });
  }

  async #runNodeBatches(): Promise<void> {
    this.#nodeBatchRunning = true;
    try {
      while (this.#nodeQueue.length) {
        const batch = this.#nodeQueue.splice(0);
        if (batch.length > 1) {
          try {
            await this.#nodeScript(batch.flatMap((b) => b.lines));
            for (const b of batch) b.done();
            continue;
          } catch {
            // Redone one by one below.
          }
        }
        for (const b of batch) {
          try {
            // After a failed batch, what it did for this pod goes first.
            if (batch.length > 1) await this.#nodeScript(b.cleanup, true);
            await this.#nodeScript(b.lines);
            b.done();
          } catch (e) {
            b.done(e instanceof Error ? e : new Error(String(e)));
          }
        }
      }
    } finally {
      this.#nodeBatchRunning = false;
    }
  }

  async removeSandbox(uid: string): Promise<void> {
    const rec = this.#records.get(uid);
    if (!rec) return;
    if (!rec.hostNetwork) {
      const ns = rec.sandbox.id;
      // Its containers have ended; exec sessions still inside go with it.
      for (const pid of pidsInNamespace(`/run/netns/${ns}`)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      // The veth pair goes with the namespace: the kernel tears namespaces down in batches,
      // far cheaper than deleting each veth (an RCU grace period under the RTNL lock apiece).
      if (existsSync(`/run/netns/${ns}`)) {
        const del = await this.#run(['ip', 'netns', 'del', ns]);
        if (del.code !== 0 && existsSync(`/run/netns/${ns}`)) throw new Error(`ip netns del ${ns}: ${del.stderr.trim()}`);
      }
      rmSync(join(this.#opts.etcNetnsDir ?? etcNetns, ns), { recursive: true, force: true });
    }
    this.#records.delete(uid);
    this.#attempted.delete(uid);
    rmSync(join(this.#sandboxDir, `${uid}.json`), { force: true });
  }

  async startContainer(sandbox: Sandbox, spec: ContainerSpec): Promise<ContainerInfo> {
    // In a namespace of its own the pod listens on every address, as it would in Kubernetes
    // (the built-in agnhost binds the sandbox's first address: the unspecified one here).
    const v6 = sandbox.ips[0]?.includes(':') ?? false;
    const rec = this.#records.get(sandbox.uid);
    const bind = rec?.hostNetwork ? sandbox : { ...sandbox, ips: [v6 ? '::' : '0.0.0.0', ...sandbox.ips] };
    const info = await this.#host.startContainer(bind, spec);
    const e: ExecEnv = { podUid: spec.podUid, env: spec.env, cwd: spec.cwd };
    this.#envs.set(info.id, e);
    writeJson(join(this.#envDir, `${info.id}.json`), e);
    return info;
  }

  exec(id: string, opts: ExecOptions): ExecProcess {
    const info = this.#host.container(id);
    if (!info || info.state !== 'running') return failedExec(`container not found ("${info?.name ?? id}")`);
    const saved = this.#envs.get(id);
    const env = { ...(saved?.env ?? { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin' }) };
    if (opts.tty) env.TERM ??= 'xterm';
    const argv0 = opts.argv[0] ?? '';
    if (!findExecutable(argv0, env.PATH ?? '')) {
      return failedExec(`OCI runtime exec failed: exec failed: unable to start container process: exec: "${argv0}": executable file not found in $PATH: unknown`);
    }
    const prefix = this.#prefixFor(info.podUid);
    const cwd = saved?.cwd && existsSync(saved.cwd) ? saved.cwd : '/';
    const argv = opts.tty ? [...prefix, pythonCommand(), '-S', '-E', ptyShimPath, ...opts.argv] : [...prefix, ...opts.argv];
    if (opts.tty) {
      const child = spawn(argv[0] ?? '', argv.slice(1), { env, cwd, stdio: ['pipe', 'pipe', 'ignore', 'pipe'], detached: true });
      const ctl = child.stdio[3] as NodeJS.WritableStream | null;
      return wrapChild(child, true, (w, h) => ctl?.write(`${JSON.stringify({ Width: w, Height: h })}\n`));
    }
    const child = spawn(argv[0] ?? '', argv.slice(1), { env, cwd, stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], detached: true });
    return wrapChild(child, false, () => undefined);
  }
}

function failedExec(error: string): ExecProcess {
  const out = new PassThrough();
  out.end();
  return { stdin: null, stdout: out, stderr: null, resize: () => undefined, kill: () => undefined, done: Promise.resolve({ exitCode: null, error }) };
}

function wrapChild(child: ChildProcess, tty: boolean, resize: (w: number, h: number) => void): ExecProcess {
  const done = new Promise<ExecResult>((resolve) => {
    child.once('error', (e) => resolve({ exitCode: null, error: e.message }));
    child.once('close', (code, sig) => resolve({ exitCode: code ?? (sig ? 128 + (signalNumbers[sig] ?? 9) : 1) }));
  });
  child.stdin?.on('error', () => undefined);
  const stdout = child.stdout ?? new PassThrough().end();
  return {
    stdin: child.stdin,
    stdout,
    stderr: tty ? null : child.stderr,
    resize,
    kill: () => {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid, tty ? 'SIGHUP' : 'SIGKILL');
      } catch {
        // gone
      }
    },
    done,
  };
}
