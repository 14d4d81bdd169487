// kubectl exec's stream protocol over WebSocket (k8s.io/apimachinery wsstream and
// remotecommand): binary frames whose first byte is the channel (0 stdin, 1 stdout, 2 stderr,
// 3 error/status, 4 resize; v5 adds 255 "close this channel"), the exit status as a
// metav1.Status on channel 3 (v4, v5) or as plain text (channel.k8s.io, v2, v3).
import type { WebSocket, RawData } from 'ws';
import type { ExecProcess, ExecResult } from './runtime/index.ts';

/** Ours in preference order; the client's first offer that we speak wins. */
export const streamProtocols = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'] as const;

export function pickProtocol(offered: ReadonlySet<string> | readonly string[]): string | undefined {
  for (const p of offered) if ((streamProtocols as readonly string[]).includes(p)) return p;
  return undefined;
}

export interface ExecStatus {
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: { causes: { reason?: string; message: string }[] };
  code?: number;
}

/** The Status kubelet writes for a finished command (remotecommand's exit code convention). */
export function execStatus(argv: readonly string[], r: ExecResult): ExecStatus {
  if (r.exitCode === 0) return { metadata: {}, status: 'Success' };
  if (r.exitCode === null) {
    const msg = `error executing command in container: ${r.error ?? 'unknown error'}`;
    return { metadata: {}, status: 'Failure', message: `Internal error occurred: ${msg}`, reason: 'InternalError', details: { causes: [{ message: msg }] }, code: 500 };
  }
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${argv.join(' ')}], exit code ${r.exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(r.exitCode) }] },
  };
}

export function frame(channel: number, data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data) : data;
  return Buffer.concat([Buffer.from([channel]), body]);
}

function toBuffer(d: RawData): Buffer {
  if (Buffer.isBuffer(d)) return d;
  if (Array.isArray(d)) return Buffer.concat(d);
  return Buffer.from(d);
}

/** Connects a command to the WebSocket until it ends; resolves with its result. */
export function serveExec(ws: WebSocket, protocol: string, argv: readonly string[], proc: ExecProcess): Promise<ExecResult> {
  const v5 = protocol === 'v5.channel.k8s.io';
  const jsonStatus = v5 || protocol === 'v4.channel.k8s.io';
  let closed = false;
  const send = (ch: number, d: Buffer | string) => {
    if (!closed && ws.readyState === ws.OPEN) ws.send(frame(ch, d));
  };
  ws.on('message', (raw: RawData) => {
    const msg = toBuffer(raw);
    if (!msg.length) return;
    const ch = msg[0];
    const data = msg.subarray(1);
    if (ch === 0) proc.stdin?.write(data);
    else if (ch === 4) {
      try {
        const size = JSON.parse(data.toString()) as { Width?: number; Height?: number };
        if (size.Width && size.Height) proc.resize(size.Width, size.Height);
      } catch {
        // a malformed resize is ignored, as kubelet does
      }
    } else if (ch === 255 && v5 && data[0] === 0) proc.stdin?.end();
  });
  ws.on('close', () => {
    closed = true;
    proc.kill();
  });
  ws.on('error', () => proc.kill());
  proc.stdout.on('data', (d: Buffer) => send(1, d));
  proc.stderr?.on('data', (d: Buffer) => send(2, d));
  return proc.done.then((r) => {
    const st = execStatus(argv, r);
    if (jsonStatus) send(3, JSON.stringify(st));
    else if (st.status === 'Failure') send(3, st.message ?? 'error');
    if (!closed) ws.close(1000);
    return r;
  });
}
