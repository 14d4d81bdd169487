// Processes that outlive the agent: the pod shim is started detached (a session of its own,
// stdio on files), identified by pid and start time (so a reused pid is never mistaken for it),
// and watched by polling /proc once the agent is no longer its parent. Shared by the host and
// netns runtimes (netns prefixes the shim's command line with `ip netns exec <ns>`).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, openSync, closeSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const shimDir = fileURLToPath(new URL('../shim/', import.meta.url));
export const podShimPath = join(shimDir, 'podshim.py');
export const ptyShimPath = join(shimDir, 'ptyshim.py');

let resolvedPython: string | undefined;

/**
 * The environment of a shim or the zygote (the container gets its own): PATH and LANG, and the
 * markers that find a group's processes later: SVCNET_LAB for `svcnet lab down`, SVCNET_TEST_RUN
 * for the test runner's leak check (scripts/run-tests.mjs).
 */
export function shimEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = { PATH: env.PATH ?? '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8' };
  for (const k of ['SVCNET_LAB', 'SVCNET_TEST_RUN']) if (env[k]) out[k] = env[k];
  return out;
}

/**
 * The Python interpreter for the shims: $SVCNET_PYTHON, else python3 on PATH, resolved once to
 * the interpreter itself (a version manager's shim, such as pyenv's, costs a shell per start).
 */
export function pythonCommand(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SVCNET_PYTHON) return env.SVCNET_PYTHON;
  if (resolvedPython) return resolvedPython;
  const onPath = findExecutable('python3', env.PATH ?? '') ?? 'python3';
  try {
    const exe = execFileSync(onPath, ['-S', '-E', '-c', 'import sys; print(sys.executable)'], { encoding: 'utf8', timeout: 10_000 }).trim();
    resolvedPython = exe && findExecutable(exe, '') ? exe : onPath;
  } catch {
    resolvedPython = onPath;
  }
  return resolvedPython;
}

/** argv[0] resolved against PATH as execvp would, or undefined. */
export function findExecutable(cmd: string, path: string): string | undefined {
  if (cmd.includes('/')) {
    try {
      accessSync(cmd, constants.X_OK);
      return cmd;
    } catch {
      return undefined;
    }
  }
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks) and the state letter. */
export function procStat(pid: number): { startTicks: string; state: string } | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  let s: string;
  try {
    s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm may hold spaces and parentheses: fields start after the last ')'.
  const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0] ?? '', startTicks: rest[19] ?? '' };
}

/** True while the process with this pid and start time lives (a zombie counts as ended). */
export function processAlive(pid: number, startTicks: string | undefined): boolean {
  const st = procStat(pid);
  if (!st || st.state === 'Z' || st.state === 'X') return false;
  return startTicks === undefined || st.startTicks === startTicks;
}

export interface ShimHandshake {
  /** The container's main process. */
  pid: number;
  /** The process group to signal. */
  pgid: number;
}

export interface LaunchedShim {
  child: ChildProcess;
  shimPid: number;
  shimStartTicks: string;
  handshake: ShimHandshake;
}

/**
 * Starts `python3 podshim.py specPath` detached, its stderr appended to `errPath`, and waits
 * for its handshake line. `prefix` runs it under another command (e.g. ip netns exec NS).
 */
export function launchShim(specPath: string, errPath: string, prefix: readonly string[] = [], env: NodeJS.ProcessEnv = process.env): Promise<LaunchedShim> {
  const python = pythonCommand(env);
  const argv = [...prefix, python, '-S', '-E', '-B', podShimPath, specPath];
  const errFd = openSync(errPath, 'a', 0o600);
  let child: ChildProcess;
  try {
    child = spawn(argv[0], argv.slice(1), {
      detached: true,
      stdio: ['ignore', 'pipe', errFd],
      env: shimEnv(env),
    });
  } finally {
    closeSync(errFd);
  }
  child.unref();
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      cleanup();
      child.stdout?.destroy();
      try {
        const hs = JSON.parse(out.slice(0, nl)) as ShimHandshake;
        const pid = child.pid ?? 0;
        resolve({ child, shimPid: pid, shimStartTicks: procStat(pid)?.startTicks ?? '', handshake: hs });
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      cleanup();
      let err = '';
      try {
        err = readFileSync(errPath, 'utf8').trim().split('\n').slice(-5).join('\n');
      } catch {
        // no stderr file
      }
      reject(new Error(`the pod shim exited (${signal ?? code}) before starting the container${err ? `: ${err}` : ''}`));
    };
    const onError = (e: Error) => {
      cleanup();
      reject(e);
    };
    const cleanup = () => {
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

/** RFC 3339 with nanoseconds, from a ms clock (the shim writes real nanoseconds). */
export function rfc3339Nano(d: Date = new Date()): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}
