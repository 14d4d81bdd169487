// Test harness: starts the real `bin/svcnet server` as a child process on a free loopback
// port with its own data dir, and runs the real kubectl against it.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { once } from 'node:events';

export const repoRoot = new URL('../..', import.meta.url).pathname;
export const svcnetBin = join(repoRoot, 'bin/svcnet');

export interface Svcnet {
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
  /** Removes the data dir; call after stop. */
  cleanup(): void;
}

export interface StartOptions {
  args?: string[];
  env?: Record<string, string>;
  dataDir?: string;
}

export async function startSvcnet(opts: StartOptions = {}): Promise<Svcnet> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'svcnet-test-'));
  let listen = '127.0.0.1:0';
  let proc!: ChildProcess;
  let stderr = '';
  let url = '';
  const launch = async () => {
    proc = spawn(svcnetBin, ['server', '--data-dir', dataDir, '--listen', listen, ...(opts.args ?? [])], {
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
          resolve(m[1]!);
        }
      };
      proc.stdout!.on('data', onData);
      proc.once('exit', (code) => reject(new Error(`svcnet server exited (${code}) before it was ready:\n${stderr}`)));
      setTimeout(() => reject(new Error(`svcnet server not ready in 20 s:\n${stderr}`)), 20_000).unref();
    });
    listen = new URL(url).host;
  };
  await launch();
  const waitExit = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
    const [code] = (await once(proc, 'exit')) as [number | null];
    return code;
  };
  return {
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
    cleanup: () => rmSync(dataDir, { recursive: true, force: true }),
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
