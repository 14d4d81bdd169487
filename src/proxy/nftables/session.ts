// A long-lived `nft -i` process for small transactions. Starting `ip netns exec NS nft -f -`
// costs 5-20 ms on a busy 2-core machine, most of an endpoint change's latency; writing one line
// to a running `nft -i` costs ~2 ms. nft runs each input line as one batch (one transaction), so
// the script's commands are joined with "; " onto one line. A marker command that always fails
// (`list set ip svcnet marker-N`: no such set) follows each line, and its error on stderr says the
// line is done; anything nft wrote to stderr before it is the transaction's error.
import { spawn } from 'node:child_process';
import { NftError } from './nftables.ts';

export interface Proc {
  write(s: string): void;
  onStderr(cb: (chunk: string) => void): void;
  onExit(cb: () => void): void;
  kill(): void;
}

export type SpawnFn = (argv: readonly string[]) => Proc;

export const realSpawn: SpawnFn = (argv) => {
  const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'ignore', 'pipe'] });
  child.stdin.on('error', () => {});
  child.stderr.setEncoding('utf8');
  return {
    write: (s) => void child.stdin.write(s),
    onStderr: (cb) => void child.stderr.on('data', (c: string) => cb(c)),
    onExit: (cb) => void child.on('close', () => cb()).on('error', () => cb()),
    kill: () => void child.kill(),
  };
};

export interface NftSessionOptions {
  /** Restart the process after this many transactions (libedit keeps every line in its history). */
  maxTransactions?: number;
  /** Give up on a transaction (and the process) after this long. */
  timeoutMs?: number;
}

interface Pending {
  marker: string;
  resolve: () => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class NftSession {
  readonly #spawn: SpawnFn;
  readonly #argv: readonly string[];
  readonly #maxTx: number;
  readonly #timeoutMs: number;
  #proc: Proc | undefined;
  #buf = '';
  #pending: Pending | undefined;
  #count = 0;
  #seq = 0;
  #queue: Promise<void> = Promise.resolve();

  /** argv: the command that starts nft -i (e.g. ["ip", "netns", "exec", "ns1", "nft", "-i"]). */
  constructor(spawnFn: SpawnFn, argv: readonly string[], o: NftSessionOptions = {}) {
    this.#spawn = spawnFn;
    this.#argv = argv;
    this.#maxTx = o.maxTransactions ?? 2000;
    this.#timeoutMs = o.timeoutMs ?? 60_000;
  }

  /** Runs a script (newline-separated commands) as one transaction. */
  run(script: string): Promise<void> {
    const line = script
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'))
      .join('; ');
    const p = this.#queue.then(() => this.#runLine(line));
    this.#queue = p.catch(() => {});
    return p;
  }

  close(): void {
    this.#proc?.kill();
    this.#proc = undefined;
  }

  #start(): Proc {
    const proc = this.#spawn(this.#argv);
    this.#buf = '';
    this.#count = 0;
    proc.onStderr((c) => this.#onStderr(c));
    proc.onExit(() => {
      if (this.#proc === proc) this.#proc = undefined;
      const p = this.#pending;
      if (p) {
        this.#pending = undefined;
        clearTimeout(p.timer);
        p.reject(new NftError('nft -i exited', 'Failed', this.#buf));
      }
    });
    return proc;
  }

  #runLine(line: string): Promise<void> {
    if (this.#proc && this.#count >= this.#maxTx) this.close();
    this.#proc ??= this.#start();
    const proc = this.#proc;
    this.#count++;
    const marker = `marker-${++this.#seq}`;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending = undefined;
        this.close();
        reject(new NftError(`nft -i did not answer within ${this.#timeoutMs} ms`, 'Failed'));
      }, this.#timeoutMs);
      this.#pending = { marker, resolve, reject, timer };
      proc.write(`${line}\nlist set ip svcnet ${marker}\n`);
    });
  }

  #onStderr(chunk: string): void {
    this.#buf += chunk;
    const p = this.#pending;
    if (!p) return;
    // The marker's error: "Error: ...\nlist set ip svcnet marker-N\n<carets>\n".
    const tag = `list set ip svcnet ${p.marker}\n`;
    const i = this.#buf.indexOf(tag);
    if (i < 0) return;
    const end = this.#buf.indexOf('\n', i + tag.length);
    if (end < 0) return;
    const before = this.#buf.slice(0, i);
    this.#buf = this.#buf.slice(end + 1);
    const errStart = before.lastIndexOf('Error:');
    const txErr = (errStart >= 0 ? before.slice(0, errStart) : before).trim();
    this.#pending = undefined;
    clearTimeout(p.timer);
    if (txErr) {
      const code = /No such file or directory/.test(txErr) ? 'NotFound' : /File exists/.test(txErr) ? 'Exists' : 'Failed';
      p.reject(new NftError(`nft failed: ${txErr.split('\n').slice(0, 6).join('\n')}`, code, txErr));
    } else p.resolve();
  }
}
