// Container logs as kubelet reads them (pkg/kubelet/kuberuntime/logs): CRI log files of lines
// "<RFC3339Nano> <stdout|stderr> <P|F> <text>", with tailLines counted from the end of the
// file, sinceTime, timestamps, limitBytes, and follow (through rotation, until the container
// stops). The parsing and selection are pure; streamLogs does the file I/O.
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import type { Writable } from 'node:stream';

export interface CriLine {
  /** RFC 3339 with 9 fractional digits, UTC. */
  time: string;
  stream: 'stdout' | 'stderr';
  partial: boolean;
  content: Buffer;
}

/** Parses one line (without its newline); undefined for a malformed one. */
export function parseCriLine(line: Buffer): CriLine | undefined {
  const s1 = line.indexOf(0x20);
  if (s1 < 0) return undefined;
  const s2 = line.indexOf(0x20, s1 + 1);
  if (s2 < 0) return undefined;
  const s3 = line.indexOf(0x20, s2 + 1);
  const stream = line.subarray(s1 + 1, s2).toString();
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  const tag = line.subarray(s2 + 1, s3 < 0 ? line.length : s3).toString();
  return {
    time: line.subarray(0, s1).toString(),
    stream,
    partial: tag.split(':').includes('P'),
    content: s3 < 0 ? Buffer.alloc(0) : line.subarray(s3 + 1),
  };
}

/** The offset where the last n lines of buf start (tail.FindTailLineStartIndex). */
export function tailStart(buf: Buffer, n: number): number {
  if (n < 0) return 0;
  let end = buf.length;
  if (end > 0 && buf[end - 1] === 0x0a) end--;
  let count = 0;
  for (let i = end - 1; i >= 0; i--) {
    if (buf[i] === 0x0a) {
      count++;
      if (count === n) return i + 1;
    }
  }
  return n === 0 ? buf.length : 0;
}

/** A time as the log's timestamps are written, for comparing as strings. */
export function logTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

export interface LogOptions {
  follow?: boolean;
  tailLines?: number;
  timestamps?: boolean;
  /** Lines before this time are skipped. */
  sinceTime?: Date;
  limitBytes?: number;
}

/** Turns parsed lines into output bytes (kubelet's logWriter): timestamps, limit. */
export class LogFormatter {
  readonly #opts: LogOptions;
  readonly #since: string | undefined;
  #atLineStart = true;
  #written = 0;

  constructor(opts: LogOptions) {
    this.#opts = opts;
    this.#since = opts.sinceTime ? logTime(opts.sinceTime) : undefined;
  }

  /** True once limitBytes is reached. */
  get done(): boolean {
    return this.#opts.limitBytes !== undefined && this.#written >= this.#opts.limitBytes;
  }

  /** Output for one raw file line ("" for skipped ones). */
  format(raw: Buffer): Buffer {
    if (this.done) return Buffer.alloc(0);
    const l = parseCriLine(raw);
    if (!l) return Buffer.alloc(0);
    if (this.#since && l.time < this.#since) return Buffer.alloc(0);
    const parts: Buffer[] = [];
    if (this.#opts.timestamps && this.#atLineStart) parts.push(Buffer.from(`${l.time} `));
    parts.push(l.content);
    if (!l.partial) parts.push(Buffer.from('\n'));
    this.#atLineStart = !l.partial;
    let out = Buffer.concat(parts);
    if (this.#opts.limitBytes !== undefined) {
      const left = this.#opts.limitBytes - this.#written;
      if (out.length > left) out = out.subarray(0, left);
    }
    this.#written += out.length;
    return out;
  }
}

/** Splits a chunk into complete lines, keeping the rest for the next chunk. */
export class LineSplitter {
  #rest: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    const buf = this.#rest.length ? Buffer.concat([this.#rest, chunk]) : chunk;
    const lines: Buffer[] = [];
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      if (nl < 0) break;
      lines.push(buf.subarray(start, nl));
      start = nl + 1;
    }
    this.#rest = Buffer.from(buf.subarray(start));
    return lines;
  }
}

/** The selected, formatted output of a whole log file's content (no follow). */
export function selectLogs(content: Buffer, opts: LogOptions): Buffer {
  const start = opts.tailLines !== undefined ? tailStart(content, opts.tailLines) : 0;
  const f = new LogFormatter(opts);
  const out: Buffer[] = [];
  for (const line of new LineSplitter().push(content.subarray(start))) {
    out.push(f.format(line));
    if (f.done) break;
  }
  return Buffer.concat(out);
}

function write(out: Writable, b: Buffer): Promise<void> {
  if (!b.length) return Promise.resolve();
  return new Promise((resolve) => {
    if (out.write(b)) resolve();
    else {
      const done = () => {
        out.off('drain', done);
        out.off('close', done);
        resolve();
      };
      out.once('drain', done);
      out.once('close', done);
    }
  });
}

function readAll(fd: number, from: number): { data: Buffer; pos: number } {
  const chunks: Buffer[] = [];
  let pos = from;
  const buf = Buffer.allocUnsafe(256 * 1024);
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, pos);
    if (n <= 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
    pos += n;
  }
  return { data: Buffer.concat(chunks), pos };
}

export interface StreamLogsOptions extends LogOptions {
  /** Whether the container still runs (follow ends once it does not and the file is drained). */
  running(): boolean;
  signal?: AbortSignal;
  pollMs?: number;
}

/** Writes a container's log file to `out` as kubectl logs asks; resolves when done. */
export async function streamLogs(path: string, out: Writable, opts: StreamLogsOptions): Promise<void> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return;
  }
  try {
    let { data, pos } = readAll(fd, 0);
    const start = opts.tailLines !== undefined ? tailStart(data, opts.tailLines) : 0;
    const f = new LogFormatter(opts);
    const split = new LineSplitter();
    const emit = async (chunk: Buffer) => {
      for (const line of split.push(chunk)) {
        await write(out, f.format(line));
        if (f.done) return;
      }
    };
    await emit(data.subarray(start));
    if (!opts.follow || f.done) return;
    let ino = fstatSync(fd).ino;
    const pollMs = opts.pollMs ?? 200;
    let stoppedPolls = 0;
    while (!opts.signal?.aborted && !out.destroyed && !f.done) {
      await new Promise((r) => setTimeout(r, pollMs));
      ({ data, pos } = readAll(fd, pos));
      if (data.length) await emit(data);
      let rotated = false;
      try {
        rotated = statSync(path).ino !== ino;
      } catch {
        rotated = false;
      }
      if (rotated) {
        // Drain the old file, then continue with the new one from its start.
        ({ data, pos } = readAll(fd, pos));
        if (data.length) await emit(data);
        closeSync(fd);
        fd = openSync(path, 'r');
        ino = fstatSync(fd).ino;
        pos = 0;
        continue;
      }
      if (data.length) stoppedPolls = 0;
      else if (!opts.running()) {
        // One more quiet poll after it stopped: the shim flushes its last lines on exit.
        if (++stoppedPolls >= 2) break;
      }
    }
  } finally {
    try {
      closeSync(fd);
    } catch {
      // closed already
    }
  }
}
