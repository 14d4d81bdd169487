// The agent's side of the shim zygote (shim/zygote.py): one Python process that forks pod
// shims on request, so starting a container costs neither a fork of the agent's own (large)
// process nor a fresh interpreter. The zygote is the shims' parent and reports their exits
// at once; shims outlive it (sessions of their own). If it dies, launches fall back to
// spawning shims directly and exits are found by polling.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { closeSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../../util/index.ts';
import { procStat, pythonCommand, shimDir, shimEnv, type ShimHandshake } from './process.ts';

export interface ZygoteLaunch {
  shimPid: number;
  shimStartTicks: string;
  handshake: ShimHandshake;
}

/** What a command run by the zygote gave. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

interface Answer {
  id?: number;
  result?: RunResult;
  pid?: number;
  handshake?: ShimHandshake;
  error?: string;
  exit?: number;
  code?: number | null;
  signal?: number | null;
}

/** A command the zygote forked for an exec: its stdio are connections to the agent. */
export interface ZygoteExec {
  pid: number;
  /** stdin and stdout (and, with a tty, the terminal). */
  stdio: Socket;
  /** stderr (no tty). */
  stderr?: Socket;
  /** Resize messages, one JSON line each (tty). */
  control?: Socket;
  /** The exit code, or 128 + the signal that ended it. */
  exited: Promise<number>;
}

interface PendingExec {
  kinds: Set<string>;
  sockets: Map<string, Socket>;
  pid?: number;
  ready: () => void;
}

export class ShimZygote {
  readonly #proc: ChildProcess;
  readonly #log: Logger;
  readonly #waiters = new Map<number, { resolve: (l: ZygoteLaunch) => void; reject: (e: Error) => void }>();
  /** Exits reported before the shim's handshake was (the pid is not known to the caller yet). */
  readonly #early = new Map<number, { code: number | null; signal: number | null }>();
  readonly #known = new Set<number>();
  #next = 1;
  #buf = '';
  #alive = true;
  onExit: (shimPid: number, code: number | null, signal: number | null) => void = () => undefined;
  #execServer: Promise<{ server: Server; path: string }> | undefined;
  readonly #execs = new Map<string, PendingExec>();
  readonly #execExits = new Map<number, (code: number) => void>();
  readonly #idWaiters = new Map<number, (pid: number, exited: Promise<number>) => void>();
  readonly #runWaiters = new Map<number, { resolve: (r: RunResult) => void; reject: (e: Error) => void }>();
  #activeExecs = 0;

  readonly #socketPath: string | undefined;

  /** socketPath: where exec'd commands connect back (default: a socket in the temp dir). */
  constructor(errPath: string, log: Logger, env: NodeJS.ProcessEnv = process.env, socketPath?: string) {
    this.#log = log;
    this.#socketPath = socketPath;
    const errFd = openSync(errPath, 'a', 0o600);
    try {
      this.#proc = spawn(pythonCommand(env), ['-S', '-E', '-B', join(shimDir, 'zygote.py')], {
        stdio: ['pipe', 'pipe', errFd],
        env: shimEnv(env),
      });
    } finally {
      closeSync(errFd);
    }
    this.#proc.stdin!.on('error', () => undefined);
    this.#proc.stdout!.on('data', (d: Buffer) => this.#onData(d.toString()));
    this.#proc.on('error', (err) => this.#died(err));
    this.#proc.on('exit', (code, sig) => this.#died(new Error(`the shim zygote exited (${sig ?? code})`)));
    // Idle, the zygote does not keep the agent's process alive; a launch in flight does.
    this.#proc.unref();
    this.#ref(false);
  }

  #ref(on: boolean): void {
    for (const s of [this.#proc.stdin, this.#proc.stdout] as unknown as ({ ref?: () => void; unref?: () => void } | null)[]) {
      if (on) s?.ref?.();
      else s?.unref?.();
    }
  }

  get alive(): boolean {
    return this.#alive;
  }

  /** True when the zygote is the parent of this shim (it reports its exit). */
  manages(shimPid: number): boolean {
    return this.#alive && this.#known.has(shimPid);
  }

  /**
   * Forks a shim for the spec; with a prefix the child execs `prefix python3 podshim.py spec`.
   * With `netns` (and its `ip netns exec <netns>` as the prefix) the child enters that network
   * namespace itself, as `ip netns exec` would, and runs the shim in place (the prefix is the
   * fallback where Python has no ctypes).
   */
  launch(specPath: string, errPath: string, prefix: readonly string[] = [], netns?: string): Promise<ZygoteLaunch> {
    if (!this.#alive) return Promise.reject(new Error('the shim zygote is not running'));
    const id = this.#next++;
    this.#ref(true);
    return new Promise((resolve, reject) => {
      this.#waiters.set(id, { resolve, reject });
      this.#proc.stdin!.write(`${JSON.stringify({ id, spec: specPath, err: errPath, prefix, ...(netns ? { netns } : {}) })}\n`);
    });
  }

  /**
   * Runs a short command (`ip -batch -`, sysctl) from a helper the zygote forks, with `input` on
   * its stdin: a fork of the agent's own process would block its event loop for every command.
   */
  run(argv: readonly string[], input?: string): Promise<RunResult> {
    if (!this.#alive) return Promise.reject(new Error('the shim zygote is not running'));
    const id = this.#next++;
    this.#ref(true);
    return new Promise((resolve, reject) => {
      this.#runWaiters.set(id, { resolve, reject });
      this.#proc.stdin!.write(`${JSON.stringify({ id, run: { argv, input: input ?? '' } })}\n`);
    });
  }

  #onData(s: string): void {
    this.#buf += s;
    for (let nl = this.#buf.indexOf('\n'); nl >= 0; nl = this.#buf.indexOf('\n')) {
      const line = this.#buf.slice(0, nl);
      this.#buf = this.#buf.slice(nl + 1);
      let a: Answer;
      try {
        a = JSON.parse(line) as Answer;
      } catch {
        this.#log.warn({ line }, 'unreadable answer from the shim zygote');
        continue;
      }
      if (a.exit !== undefined) {
        const ex = this.#execExits.get(a.exit);
        if (ex) {
          this.#execExits.delete(a.exit);
          ex(a.code ?? 128 + (a.signal ?? 9));
          continue;
        }
        if (this.#known.delete(a.exit)) this.onExit(a.exit, a.code ?? null, a.signal ?? null);
        else this.#early.set(a.exit, { code: a.code ?? null, signal: a.signal ?? null });
        continue;
      }
      const rw = a.id !== undefined ? this.#runWaiters.get(a.id) : undefined;
      if (rw && a.id !== undefined) {
        this.#runWaiters.delete(a.id);
        this.#maybeUnref();
        if (a.result) rw.resolve(a.result);
        else rw.reject(new Error(a.error ?? 'no result from the shim zygote'));
        continue;
      }
      const idw = a.id !== undefined ? this.#idWaiters.get(a.id) : undefined;
      if (idw && a.id !== undefined) {
        this.#idWaiters.delete(a.id);
        // Waits for the exit from now on: it may be in this very chunk.
        const pid = a.pid ?? 0;
        const exited = new Promise<number>((resolve) => this.#execExits.set(pid, resolve));
        idw(pid, exited);
        continue;
      }
      const w = a.id !== undefined ? this.#waiters.get(a.id) : undefined;
      if (!w || a.id === undefined) continue;
      this.#waiters.delete(a.id);
      this.#maybeUnref();
      const pid = a.pid ?? 0;
      if (a.error || !a.handshake) {
        this.#early.delete(pid);
        w.reject(new Error(a.error ?? 'the pod shim did not start'));
        continue;
      }
      this.#known.add(pid);
      w.resolve({ shimPid: pid, shimStartTicks: procStat(pid)?.startTicks ?? '', handshake: a.handshake });
      const early = this.#early.get(pid);
      if (early) {
        this.#early.delete(pid);
        this.#known.delete(pid);
        queueMicrotask(() => this.onExit(pid, early.code, early.signal));
      }
    }
  }

  #died(err: Error): void {
    if (!this.#alive) return;
    this.#alive = false;
    this.#log.warn({ err }, 'the shim zygote ended; shims are spawned directly from now on');
    for (const w of this.#waiters.values()) w.reject(err);
    this.#waiters.clear();
    for (const w of this.#runWaiters.values()) w.reject(err);
    this.#runWaiters.clear();
  }

  /** Ends the zygote (its shims keep running). */
  stop(): void {
    this.#alive = false;
    this.#proc.stdin?.end();
    for (const w of this.#runWaiters.values()) w.reject(new Error('the shim zygote stopped'));
    this.#runWaiters.clear();
    void this.#execServer?.then(({ server, path }) => {
      server.close();
      rmSync(path, { force: true });
    });
  }

  /** The unix socket exec'd commands connect their stdio to (a short path: sun_path holds 108 bytes). */
  #server(): Promise<{ server: Server; path: string }> {
    this.#execServer ??= new Promise((resolve, reject) => {
      const path = this.#socketPath ?? join(tmpdir(), `svcnet-exec-${process.pid}-${randomBytes(6).toString('hex')}.sock`);
      rmSync(path, { force: true }); // left by an agent killed with -9
      const server = createServer({ allowHalfOpen: true }, (sock) => {
        let head = '';
        const onData = (d: Buffer) => {
          head += d.toString('latin1');
          const nl = head.indexOf('\n');
          if (nl < 0) return;
          sock.off('data', onData);
          sock.pause();
          const [tag, kind] = head.slice(0, nl).split(' ');
          const rest = Buffer.from(head.slice(nl + 1), 'latin1');
          if (rest.length) sock.unshift(rest);
          const p = this.#execs.get(tag ?? '');
          if (!p || !kind || !p.kinds.has(kind)) {
            sock.destroy();
            return;
          }
          p.sockets.set(kind, sock);
          if (p.sockets.size === p.kinds.size) p.ready();
        };
        sock.on('data', onData);
        sock.on('error', () => undefined);
      });
      server.once('error', reject);
      server.listen(path, () => resolve({ server, path }));
      server.unref();
    });
    return this.#execServer;
  }

  /** Forks `argv` (under the pty shim with tty) with stdio connected back to the agent (paused sockets: pipe them). */
  async exec(argv: readonly string[], env: Record<string, string>, cwd: string, tty: boolean): Promise<ZygoteExec> {
    if (!this.#alive) throw new Error('the shim zygote is not running');
    const { path } = await this.#server();
    const tag = randomBytes(8).toString('hex');
    const kinds = new Set(tty ? ['o', 'c'] : ['o', 'e']);
    let ready!: () => void;
    const connected = new Promise<void>((r) => (ready = r));
    const pending: PendingExec = { kinds, sockets: new Map(), ready };
    this.#execs.set(tag, pending);
    const id = this.#next++;
    this.#ref(true);
    try {
      this.#activeExecs++;
      const { pid, exited } = await new Promise<{ pid: number; exited: Promise<number> }>((resolve) => {
        this.#idWaiters.set(id, (p, e) => resolve({ pid: p, exited: e }));
        this.#proc.stdin!.write(`${JSON.stringify({ id, exec: { argv, env, cwd, tty, sock: path, tag } })}\n`);
      });
      // The zygote's answers keep the agent alive until the command ended.
      void exited.then(() => {
        this.#activeExecs--;
        this.#maybeUnref();
      });
      const timeout = new Promise<never>((_r, reject) => setTimeout(() => reject(new Error('the exec\'d command did not connect its stdio')), 10_000).unref());
      // A quick command may end before its connections are accepted here: give them a moment.
      const endedFirst = exited.then(() => Promise.race([connected, new Promise<never>((_r, reject) => setTimeout(() => reject(new Error('the command ended before connecting its stdio')), 2000).unref())]));
      await Promise.race([connected, timeout, endedFirst]);
      return { pid, stdio: pending.sockets.get('o')!, stderr: pending.sockets.get('e'), control: pending.sockets.get('c'), exited };
    } finally {
      this.#execs.delete(tag);
    }
  }

  #maybeUnref(): void {
    if (!this.#waiters.size && !this.#idWaiters.size && !this.#runWaiters.size && !this.#activeExecs) this.#ref(false);
  }
}
