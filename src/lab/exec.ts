// Runs the lab's commands (`ip`, `nsenter`, sysctl inside a namespace): the thin shell under
// the pure topology. `FakeRunner` records calls for unit tests.
import { execFile } from 'node:child_process';
import type { Argv } from './topology.ts';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Runner {
  run(argv: Argv, opts?: { input?: string; timeoutMs?: number }): Promise<CommandResult>;
}

export const systemRunner: Runner = {
  run(argv, opts = {}) {
    const [cmd, ...args] = argv;
    if (!cmd) return Promise.reject(new Error('empty command'));
    return new Promise((resolve) => {
      const child = execFile(cmd, args, { timeout: opts.timeoutMs ?? 30_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({ code, stdout, stderr: err && !stderr ? err.message : stderr });
      });
      child.stdin?.on('error', () => undefined);
      if (opts.input !== undefined) child.stdin?.end(opts.input);
      else child.stdin?.end();
    });
  },
};

/** Runs a command and returns its stdout; throws with its stderr when it fails. */
export async function must(r: Runner, argv: Argv, opts?: { input?: string; timeoutMs?: number }): Promise<string> {
  const res = await r.run(argv, opts);
  if (res.code !== 0) throw new Error(`${argv.join(' ')}: ${res.stderr.trim() || `exit ${res.code}`}`);
  return res.stdout;
}

export class FakeRunner implements Runner {
  readonly calls: string[][] = [];
  constructor(private readonly answer: (argv: Argv) => Partial<CommandResult> | undefined = () => undefined) {}
  async run(argv: Argv): Promise<CommandResult> {
    this.calls.push([...argv]);
    return { code: 0, stdout: '', stderr: '', ...this.answer(argv) };
  }
}
