// The agent's side of the shim zygote (shim/zygote.py): one Python process that forks pod
// shims on request, so starting a container costs neither a fork of the agent's own (large)
// process nor a fresh interpreter. The zygote is the shims' parent and reports their exits
// at once; shims outlive it (sessions of their own). If it dies, launches fall back to
// spawning shims directly and exits are found by polling.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../util/index.ts';
import { procStat, pythonCommand, shimDir, type ShimHandshake } from './process.ts';

export interface ZygoteLaunch {
  shimPid: number;
  shimStartTicks: string;
  handshake: ShimHandshake;
}

interface Answer {
  id?: number;
  pid?: number;
  handshake?: ShimHandshake;
  error?: string;
  exit?: number;
  code?: number | null;
  signal?: number | null;
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

  constructor(errPath: string, log: Logger, env: NodeJS.ProcessEnv = process.env) {
    this.#log = log;
    const errFd = openSync(errPath, 'a', 0o600);
    try {
      this.#proc = spawn(pythonCommand(env), ['-S', '-E', '-B', join(shimDir, 'zygote.py')], {
        stdio: ['pipe', 'pipe', errFd],
        env: { PATH: env.PATH ?? '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8', ...(env.SVCNET_LAB ? { SVCNET_LAB: env.SVCNET_LAB } : {}) },
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

  /** Forks a shim for the spec; with a prefix the child execs `prefix python3 podshim.py spec`. */
  launch(specPath: string, errPath: string, prefix: readonly string[] = []): Promise<ZygoteLaunch> {
    if (!this.#alive) return Promise.reject(new Error('the shim zygote is not running'));
    const id = this.#next++;
    this.#ref(true);
    return new Promise((resolve, reject) => {
      this.#waiters.set(id, { resolve, reject });
      this.#proc.stdin!.write(`${JSON.stringify({ id, spec: specPath, err: errPath, prefix })}\n`);
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
        if (this.#known.delete(a.exit)) this.onExit(a.exit, a.code ?? null, a.signal ?? null);
        else this.#early.set(a.exit, { code: a.code ?? null, signal: a.signal ?? null });
        continue;
      }
      const w = a.id !== undefined ? this.#waiters.get(a.id) : undefined;
      if (!w || a.id === undefined) continue;
      this.#waiters.delete(a.id);
      if (!this.#waiters.size) this.#ref(false);
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
  }

  /** Ends the zygote (its shims keep running). */
  stop(): void {
    this.#alive = false;
    this.#proc.stdin?.end();
  }
}
