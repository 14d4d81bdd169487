// The narrowest seam for side effects (knftables' execer): run a program with arguments and
// optional stdin, never through a shell. Commands for a named network namespace are prefixed with
// `ip netns exec NAME` by their callers (Node cannot setns itself).
import { spawn } from 'node:child_process';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Exec {
  /** Runs argv[0] with the rest as arguments; resolves with its exit status (never rejects on a non-zero exit). */
  run(argv: readonly string[], stdin?: string): Promise<ExecResult>;
}

/** argv run inside the named network namespace (unchanged without one). */
export function inNetns(netns: string | undefined, argv: readonly string[]): string[] {
  return netns ? ['ip', 'netns', 'exec', netns, ...argv] : [...argv];
}

/** Runs programs for real. */
export class RealExec implements Exec {
  run(argv: readonly string[], stdin?: string): Promise<ExecResult> {
    const full = argv;
    return new Promise((resolve, reject) => {
      const child = spawn(full[0], full.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('error', reject);
      child.on('close', (code, signal) => {
        resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
      });
      child.stdin.on('error', () => {}); // the program may exit before reading all of stdin
      child.stdin.end(stdin ?? '');
    });
  }
}

export interface ExpectedCall {
  argv: readonly string[];
  stdin?: string;
  result?: Partial<ExecResult>;
}

/** Checks that the expected commands run in order, answering each with its canned result. */
export class FakeExec implements Exec {
  readonly calls: { argv: string[]; stdin: string | undefined }[] = [];
  readonly #expected: ExpectedCall[];

  constructor(expected: ExpectedCall[] = []) {
    this.#expected = [...expected];
  }

  async run(argv: readonly string[], stdin?: string): Promise<ExecResult> {
    this.calls.push({ argv: [...argv], stdin });
    const next = this.#expected.shift();
    if (!next) throw new Error(`FakeExec: unexpected command ${JSON.stringify(argv)}`);
    if (JSON.stringify(next.argv) !== JSON.stringify(argv)) throw new Error(`FakeExec: expected ${JSON.stringify(next.argv)}, got ${JSON.stringify(argv)}`);
    if (next.stdin !== undefined && next.stdin !== stdin) throw new Error(`FakeExec: unexpected stdin for ${argv.join(' ')}:\n${stdin ?? ''}`);
    return { code: 0, stdout: '', stderr: '', ...next.result };
  }

  /** Expected commands not run yet. */
  get remaining(): number {
    return this.#expected.length;
  }
}
