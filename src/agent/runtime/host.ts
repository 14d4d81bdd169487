// The `host` runtime: pods are host processes. Each pod gets a loopback address of its own from
// the node's pod CIDR (127.244.x.y in host mode), which its programs bind; each container is a
// pod shim started detached (so pods outlive the agent), writing its logs and exit status into
// files. Everything is kept under <data-dir>/runtime so a restarted agent re-adopts what runs.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../../util/index.ts';
import { allocateAddress } from './ipam.ts';
import { findExecutable, launchShim, processAlive, pythonCommand, ptyShimPath, rfc3339Nano } from './process.ts';
import { ShimZygote, type RunResult, type ZygoteExec } from './zygote.ts';
import type { ContainerInfo, ContainerSpec, ExecOptions, ExecProcess, ExecResult, PodRuntime, Sandbox, SandboxConfig } from './types.ts';

export interface HostRuntimeOptions {
  /** State lives in <dataDir>/sandboxes and <dataDir>/containers. */
  dataDir: string;
  /** The node's addresses (a hostNetwork pod's addresses). */
  nodeIPs: readonly string[];
  log: Logger;
  /** How often processes the agent did not start are checked, ms. Default 500. */
  pollMs?: number;
  /** Runs the shim under this command (the netns runtime passes ip netns exec NS). */
  shimPrefix?: (sandbox: Sandbox) => string[];
  /**
   * The network namespace the shim's prefix puts it in (`ip netns exec <name>`), if any: a shim
   * forked by the zygote enters it itself (no `ip`, no fresh interpreter); a shim spawned
   * directly still runs under the prefix.
   */
  shimNetns?: (sandbox: Sandbox) => string | undefined;
  /**
   * Fork shims from a zygote rather than spawning each from the agent (whose fork blocks its
   * event loop for tens of ms). Default: on without a shim prefix or with shimNetns; with only a
   * prefix, the forked child execs `prefix python3 podshim.py` (opt in).
   */
  zygote?: boolean;
}

/** What the pod shim reads (podshim.py's SPEC.json). */
interface ShimSpec {
  argv: string[];
  env: Record<string, string>;
  cwd: string | null;
  logPath: string;
  exitPath: string;
  maxLogBytes: number;
  builtin: string | null;
  bindAddress: string;
}

interface ContainerRecord {
  info: ContainerInfo;
  shimPid: number;
  shimStartTicks: string;
  pgid: number;
  env: Record<string, string>;
  cwd: string | undefined;
  /** Set when the agent sent SIGKILL (the shim cannot record that exit itself). */
  killed?: boolean;
}

interface ExitRecord {
  exitCode: number;
  signal: number | null;
  finishedAt: string;
  reason?: string;
  message?: string;
}

function writeJson(path: string, obj: unknown, mode = 0o600): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(obj), { mode });
  renameSync(tmp, path);
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

const signalNumbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15, SIGABRT: 6, SIGSEGV: 11 };

export class HostRuntime implements PodRuntime {
  readonly name: string = 'host';
  readonly #opts: HostRuntimeOptions;
  readonly #sandboxes = new Map<string, Sandbox>();
  readonly #containers = new Map<string, ContainerRecord>();
  readonly #children = new Map<string, ChildProcess>();
  readonly #listeners: ((info: ContainerInfo) => void)[] = [];
  #poll: NodeJS.Timeout | undefined;
  /** Forks shims cheaply (host mode; a runtime with a shim prefix spawns them itself). */
  #zygote: ShimZygote | undefined;

  constructor(opts: HostRuntimeOptions) {
    this.#opts = opts;
  }

  get #sandboxDir(): string {
    return join(this.#opts.dataDir, 'sandboxes');
  }

  get #containerDir(): string {
    return join(this.#opts.dataDir, 'containers');
  }

  async start(): Promise<void> {
    mkdirSync(this.#sandboxDir, { recursive: true, mode: 0o700 });
    mkdirSync(this.#containerDir, { recursive: true, mode: 0o700 });
    for (const f of readdirSync(this.#sandboxDir)) {
      if (!f.endsWith('.json')) continue;
      const sb = readJson<Sandbox>(join(this.#sandboxDir, f));
      if (sb?.uid) this.#sandboxes.set(sb.uid, sb);
    }
    for (const id of readdirSync(this.#containerDir)) {
      const dir = join(this.#containerDir, id);
      const rec = readJson<ContainerRecord>(join(dir, 'state.json'));
      if (!rec?.info) {
        rmSync(dir, { recursive: true, force: true });
        continue;
      }
      this.#containers.set(id, rec);
      if (rec.info.state === 'running' && !processAlive(rec.shimPid, rec.shimStartTicks)) this.#finish(id, undefined, false);
    }
    const adopted = [...this.#containers.values()].filter((r) => r.info.state === 'running').length;
    this.#opts.log.info({ sandboxes: this.#sandboxes.size, containers: this.#containers.size, running: adopted }, 'host runtime state loaded');
    if (this.#opts.zygote ?? (!this.#opts.shimPrefix || !!this.#opts.shimNetns)) {
      try {
        const sock = join(this.#opts.dataDir, 'exec.sock');
        // sun_path holds 108 bytes; a long data dir puts the exec socket in the temp dir.
        const z = new ShimZygote(join(this.#opts.dataDir, 'zygote.err'), this.#opts.log, process.env, Buffer.byteLength(sock) < 100 ? sock : undefined);
        z.onExit = (pid, _code, sig) => {
          for (const [id, rec] of this.#containers) if (rec.shimPid === pid && rec.info.state === 'running') this.#finish(id, sig ?? undefined, true);
        };
        this.#zygote = z;
      } catch (err) {
        this.#opts.log.warn({ err }, 'no shim zygote; shims are spawned directly');
      }
    }
    this.#poll = setInterval(() => this.#check(), this.#opts.pollMs ?? 500);
    this.#poll.unref();
  }

  async stop(): Promise<void> {
    if (this.#poll) clearInterval(this.#poll);
    this.#zygote?.stop();
    this.#zygote = undefined;
    for (const c of this.#children.values()) c.removeAllListeners('exit');
    this.#children.clear();
  }

  sandboxes(): Sandbox[] {
    return [...this.#sandboxes.values()];
  }

  /** Runs a short command from the zygote (no fork of the agent); undefined when none runs. */
  runFromZygote(argv: readonly string[], input?: string): Promise<RunResult> | undefined {
    return this.#zygote?.alive ? this.#zygote.run(argv, input) : undefined;
  }

  containers(): ContainerInfo[] {
    return [...this.#containers.values()].map((r) => r.info);
  }

  container(id: string): ContainerInfo | undefined {
    return this.#containers.get(id)?.info;
  }

  onContainerExit(listener: (info: ContainerInfo) => void): void {
    this.#listeners.push(listener);
  }

  async runSandbox(cfg: SandboxConfig): Promise<Sandbox> {
    const existing = this.#sandboxes.get(cfg.uid);
    if (existing) return existing;
    let ips: string[];
    if (cfg.hostNetwork) ips = [...this.#opts.nodeIPs];
    else {
      if (!cfg.podCIDRs.length) throw new Error('the node has no pod CIDR yet');
      const used = new Set<string>();
      for (const s of this.#sandboxes.values()) for (const ip of s.ips) used.add(ip);
      ips = [];
      for (const cidr of cfg.podCIDRs) {
        const ip = allocateAddress(cidr, used);
        if (!ip) throw new Error(`no free address left in the pod CIDR ${cidr}`);
        ips.push(ip);
      }
    }
    const sb: Sandbox = { uid: cfg.uid, namespace: cfg.namespace, name: cfg.name, id: cfg.uid, ips, createdAt: new Date().toISOString() };
    const dir = join(this.#sandboxDir, cfg.uid);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Written for tools and for the DNS engineer's host-mode resolver hook; host processes
    // still resolve through the host's own /etc/resolv.conf.
    if (cfg.resolvConf !== undefined) writeFileSync(join(dir, 'resolv.conf'), cfg.resolvConf);
    if (cfg.hosts !== undefined) writeFileSync(join(dir, 'hosts'), cfg.hosts);
    writeJson(join(this.#sandboxDir, `${cfg.uid}.json`), sb);
    this.#sandboxes.set(cfg.uid, sb);
    return sb;
  }

  async removeSandbox(uid: string): Promise<void> {
    this.#sandboxes.delete(uid);
    rmSync(join(this.#sandboxDir, `${uid}.json`), { force: true });
    rmSync(join(this.#sandboxDir, uid), { recursive: true, force: true });
  }

  async startContainer(sandbox: Sandbox, spec: ContainerSpec): Promise<ContainerInfo> {
    const id = randomBytes(32).toString('hex');
    const dir = join(this.#containerDir, id);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const shim: ShimSpec = {
      argv: spec.argv,
      env: spec.env,
      cwd: spec.cwd ?? '/',
      logPath: spec.logPath,
      exitPath: join(dir, 'exit.json'),
      maxLogBytes: spec.maxLogBytes,
      builtin: spec.builtin ?? null,
      bindAddress: sandbox.ips[0] ?? '127.0.0.1',
    };
    writeJson(join(dir, 'spec.json'), shim);
    const info: ContainerInfo = { id, podUid: spec.podUid, name: spec.name, attempt: spec.attempt, pid: 0, state: 'running', startedAt: rfc3339Nano(), logPath: spec.logPath };
    const rec: ContainerRecord = { info, shimPid: 0, shimStartTicks: '', pgid: 0, env: spec.env, cwd: spec.cwd };
    if (!spec.builtin && !findExecutable(spec.argv[0] ?? '', spec.env.PATH ?? '')) {
      // As runc reports it; the shim would find the same, one process later.
      const msg = `exec: "${spec.argv[0] ?? ''}": executable file not found in $PATH`;
      return this.#failStart(id, rec, msg);
    }
    try {
      const z = this.#zygote;
      if (z?.alive) {
        const l = await z.launch(join(dir, 'spec.json'), join(dir, 'shim.err'), this.#opts.shimPrefix?.(sandbox) ?? [], this.#opts.shimNetns?.(sandbox));
        rec.shimPid = l.shimPid;
        rec.shimStartTicks = l.shimStartTicks;
        rec.pgid = l.handshake.pgid;
        info.pid = l.handshake.pid;
        this.#containers.set(id, rec);
        this.#persist(id);
        // Its exit may have been reported while the launch settled.
        if (!processAlive(rec.shimPid, rec.shimStartTicks) && !z.manages(rec.shimPid)) this.#finish(id, undefined, true);
        return info;
      }
      const prefix = this.#opts.shimPrefix?.(sandbox) ?? [];
      const l = await launchShim(join(dir, 'spec.json'), join(dir, 'shim.err'), prefix);
      rec.shimPid = l.shimPid;
      rec.shimStartTicks = l.shimStartTicks;
      rec.pgid = l.handshake.pgid;
      info.pid = l.handshake.pid;
      this.#containers.set(id, rec);
      this.#children.set(id, l.child);
      l.child.once('exit', (_code, sig) => {
        this.#children.delete(id);
        this.#finish(id, sig ?? undefined, true);
      });
      this.#persist(id);
      // It may have ended before the handler was in place.
      if (l.child.exitCode !== null || l.child.signalCode !== null) {
        this.#children.delete(id);
        this.#finish(id, l.child.signalCode ?? undefined, true);
      }
      return info;
    } catch (e) {
      return this.#failStart(id, rec, e instanceof Error ? e.message : String(e));
    }
  }

  #failStart(id: string, rec: ContainerRecord, message: string): ContainerInfo {
    const now = rfc3339Nano();
    Object.assign(rec.info, { state: 'exited', exitCode: 128, reason: 'StartError', message, finishedAt: now, startedAt: now });
    this.#containers.set(id, rec);
    this.#persist(id);
    return rec.info;
  }

  signalContainer(id: string, signal: NodeJS.Signals): void {
    const rec = this.#containers.get(id);
    if (!rec || rec.info.state !== 'running' || !rec.pgid) return;
    if (signal === 'SIGKILL') rec.killed = true;
    try {
      process.kill(-rec.pgid, signal);
    } catch {
      // Already gone: its exit is on its way.
    }
  }

  async removeContainer(id: string): Promise<void> {
    const rec = this.#containers.get(id);
    if (rec?.info.state === 'running') throw new Error(`container ${id} is still running`);
    this.#containers.delete(id);
    rmSync(join(this.#containerDir, id), { recursive: true, force: true });
  }

  #persist(id: string): void {
    const rec = this.#containers.get(id);
    if (!rec) return;
    try {
      writeJson(join(this.#containerDir, id, 'state.json'), rec);
    } catch (err) {
      this.#opts.log.warn({ err, id }, 'could not persist container state');
    }
  }

  /** Polls the processes the agent is not the parent of (re-adopted after a restart). */
  #check(): void {
    for (const [id, rec] of this.#containers) {
      if (rec.info.state !== 'running' || this.#children.has(id) || this.#zygote?.manages(rec.shimPid)) continue;
      if (!processAlive(rec.shimPid, rec.shimStartTicks)) this.#finish(id, undefined, true);
    }
  }

  #finish(id: string, signal: NodeJS.Signals | number | undefined, notify: boolean): void {
    const rec = this.#containers.get(id);
    if (!rec || rec.info.state !== 'running') return;
    const ex = readJson<ExitRecord>(join(this.#containerDir, id, 'exit.json'));
    const info = rec.info;
    info.state = 'exited';
    if (ex) {
      info.exitCode = ex.exitCode;
      if (ex.signal) info.signal = ex.signal;
      info.finishedAt = ex.finishedAt;
      if (ex.reason) info.reason = ex.reason;
      if (ex.message) info.message = ex.message;
    } else if (rec.killed || signal) {
      const n = typeof signal === 'number' ? signal : signal ? (signalNumbers[signal] ?? 9) : 9;
      info.exitCode = 128 + n;
      info.signal = n;
      info.finishedAt = rfc3339Nano();
    } else if (notify) {
      // Ended under our watch without a record: killed with -9 (the shim could not write one).
      info.exitCode = 137;
      info.signal = 9;
      info.finishedAt = rfc3339Nano();
    } else {
      // Ended while no agent watched and left no record (killed with -9 meanwhile).
      info.exitCode = 137;
      info.finishedAt = rfc3339Nano();
      info.reason = 'ContainerStatusUnknown';
      info.message = 'The container could not be located when the agent restarted';
    }
    this.#persist(id);
    if (notify) for (const l of this.#listeners) l(info);
  }

  exec(id: string, opts: ExecOptions): ExecProcess {
    const rec = this.#containers.get(id);
    if (!rec || rec.info.state !== 'running') return failedExec(`container not found ("${rec?.info.name ?? id}")`);
    const argv0 = opts.argv[0] ?? '';
    const env = { ...rec.env };
    if (opts.tty) env.TERM ??= 'xterm';
    if (!findExecutable(argv0, env.PATH ?? '')) {
      return failedExec(`OCI runtime exec failed: exec failed: unable to start container process: exec: "${argv0}": executable file not found in $PATH: unknown`);
    }
    const cwd = rec.cwd && existsSync(rec.cwd) ? rec.cwd : '/';
    // From the zygote when it runs: a spawn from the agent blocks its event loop for the fork.
    if (this.#zygote?.alive) return zygoteExec(this.#zygote, opts, env, cwd);
    if (opts.tty) {
      const child = spawn(pythonCommand(), ['-S', '-E', ptyShimPath, ...opts.argv], { env, cwd, stdio: ['pipe', 'pipe', 'ignore', 'pipe'], detached: true });
      const ctl = child.stdio[3] as NodeJS.WritableStream | null;
      return wrapChild(child, true, (w, h) => ctl?.write(`${JSON.stringify({ Width: w, Height: h })}\n`));
    }
    const child = spawn(argv0, opts.argv.slice(1), { env, cwd, stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], detached: true });
    return wrapChild(child, false, () => undefined);
  }
}

function zygoteExec(z: ShimZygote, opts: ExecOptions, env: Record<string, string>, cwd: string): ExecProcess {
  const stdout = new PassThrough();
  const stderr = opts.tty ? null : new PassThrough();
  const stdin = new PassThrough();
  let x: ZygoteExec | undefined;
  let killed = false;
  let size: string | undefined;
  const kill = () => {
    killed = true;
    if (!x) return;
    try {
      process.kill(-x.pid, opts.tty ? 'SIGHUP' : 'SIGKILL');
    } catch {
      // gone
    }
  };
  // The connection's read side ended (the command and its children closed that stdio), and
  // ours goes too: with half-open sockets nothing else closes it.
  const ended = (s: Socket) =>
    new Promise<void>((r) => {
      s.once('end', () => {
        s.end();
        r();
      });
      s.once('close', () => r());
    });
  const done = z.exec(opts.argv, env, cwd, opts.tty).then(
    async (started): Promise<ExecResult> => {
      x = started;
      if (killed) kill();
      if (size) started.control?.write(size);
      started.stdio.pipe(stdout);
      started.stderr?.pipe(stderr!);
      if (opts.stdin) stdin.pipe(started.stdio);
      else started.stdio.end();
      started.stdio.on('error', () => undefined);
      // Listen for the streams' ends now: they may end before the exit is reported.
      const drained = Promise.all([ended(started.stdio), started.stderr ? ended(started.stderr) : undefined]);
      const code = await started.exited;
      await Promise.race([drained, new Promise((r) => setTimeout(r, 2000))]);
      return { exitCode: code };
    },
    (e: unknown) => {
      stdout.end();
      stderr?.end();
      return { exitCode: null, error: e instanceof Error ? e.message : String(e) };
    },
  );
  return {
    stdin: opts.stdin ? stdin : null,
    stdout,
    stderr,
    resize: (w, h) => {
      size = `${JSON.stringify({ Width: w, Height: h })}\n`;
      x?.control?.write(size);
    },
    kill,
    done,
  };
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
  return {
    stdin: child.stdin,
    stdout: child.stdout!,
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
