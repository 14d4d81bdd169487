// Container probes as kubelet's prober runs them (pkg/kubelet/prober): a pure state machine per
// container and probe kind (thresholds, initial values, hold after a liveness/startup failure)
// and the three executors (httpGet, tcpSocket, exec) with kubelet's failure messages.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Container, Probe } from 'kubernetes-types/core/v1.js';
import { joinHostPort } from '../util/index.ts';

export type ProbeKind = 'liveness' | 'readiness' | 'startup';
export type ProbeResult = 'success' | 'failure' | 'unknown';

export interface ProbeState {
  result: ProbeResult;
  lastOutcome: ProbeResult | undefined;
  run: number;
  /** After a liveness/startup failure: no probing until the container is replaced. */
  onHold: boolean;
}

/** kubelet's initial values: not ready until a readiness success; alive until a failure. */
export function initialProbeState(kind: ProbeKind): ProbeState {
  return { result: kind === 'readiness' ? 'failure' : kind === 'liveness' ? 'success' : 'unknown', lastOutcome: undefined, run: 0, onHold: false };
}

export interface ProbeStep {
  state: ProbeState;
  /** The result changed (the pod's status or the container's fate may change). */
  changed: boolean;
  /** A liveness or startup failure reached the threshold: the container must be restarted. */
  kill: boolean;
}

/** One probe outcome through worker.doProbe's threshold logic. */
export function stepProbe(kind: ProbeKind, state: ProbeState, outcome: 'success' | 'failure', probe: Probe): ProbeStep {
  const s = { ...state };
  if (s.lastOutcome === outcome) s.run++;
  else {
    s.lastOutcome = outcome;
    s.run = 1;
  }
  const failureThreshold = probe.failureThreshold ?? 3;
  const successThreshold = probe.successThreshold ?? 1;
  if ((outcome === 'failure' && s.run < failureThreshold) || (outcome === 'success' && s.run < successThreshold)) return { state: s, changed: false, kill: false };
  const changed = s.result !== outcome;
  s.result = outcome;
  let kill = false;
  if ((kind === 'liveness' || kind === 'startup') && outcome === 'failure') {
    s.onHold = true;
    s.run = 0;
    kill = true;
  }
  return { state: s, changed, kill };
}

/** Whether a probe runs now (doProbe's gates), given the container's running time and started flag. */
export function probeGate(kind: ProbeKind, probe: Probe, runningForMs: number, started: boolean): boolean {
  if (runningForMs < (probe.initialDelaySeconds ?? 0) * 1000) return false;
  if (started) return kind !== 'startup';
  return kind === 'startup';
}

export function probeOf(c: Container, kind: ProbeKind): Probe | undefined {
  return kind === 'liveness' ? c.livenessProbe : kind === 'readiness' ? c.readinessProbe : c.startupProbe;
}

export interface ProbeOutcome {
  result: 'success' | 'failure' | 'unknown';
  /** kubelet's output/message for the Unhealthy event. */
  output: string;
  /** httpGet: the status code answered (a lifecycle hook looks at no status, only at errors). */
  statusCode?: number;
}

export interface ProbeTarget {
  podIP: string;
  container: Container;
  /** Runs argv in the container with a time limit: combined output and exit code, or timedOut. */
  exec(argv: string[], timeoutMs: number): Promise<{ output: string; exitCode: number | null; timedOut: boolean; error?: string }>;
}

/** The numeric port of a probe's port (a number or a container port's name). */
export function resolvePort(port: number | string | undefined, c: Container): number | undefined {
  if (typeof port === 'number') return port;
  if (port === undefined) return undefined;
  if (/^\d+$/.test(port)) return Number(port);
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

function netError(e: NodeJS.ErrnoException, host: string, port: number): string {
  const target = `dial tcp ${joinHostPort(host, port)}`;
  if (e.code === 'ECONNREFUSED') return `${target}: connect: connection refused`;
  if (e.code === 'EHOSTUNREACH') return `${target}: connect: no route to host`;
  if (e.code === 'ETIMEDOUT') return `${target}: i/o timeout`;
  return `${target}: ${e.message}`;
}

export const probeUserAgent = 'kube-probe/1.33';
/** What kubelet's lifecycle hooks' HTTP requests say they are. */
export const lifecycleUserAgent = 'kube-lifecycle/1.33';

/** Runs one probe (or a lifecycle hook's httpGet, with userAgent kube-lifecycle/…). */
export async function runProbe(probe: Probe, target: ProbeTarget, userAgent = probeUserAgent): Promise<ProbeOutcome> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  if (probe.exec) {
    const argv = probe.exec.command ?? [];
    const r = await target.exec(argv, timeoutMs);
    if (r.timedOut) return { result: 'failure', output: `command ${JSON.stringify(argv.join(' '))} timed out` };
    if (r.exitCode === null) return { result: 'unknown', output: r.error ?? 'exec failed' };
    return { result: r.exitCode === 0 ? 'success' : 'failure', output: r.output };
  }
  if (probe.httpGet) {
    const g = probe.httpGet;
    const port = resolvePort(g.port, target.container);
    if (port === undefined) return { result: 'unknown', output: `couldn't find port: ${String(g.port)} in ${target.container.name}` };
    const host = g.host || target.podIP;
    const scheme = (g.scheme ?? 'HTTP').toLowerCase();
    const path = g.path || '/';
    const url = `${scheme}://${joinHostPort(host, port)}${path.startsWith('/') ? path : `/${path}`}`;
    const headers: Record<string, string> = { 'User-Agent': userAgent, Accept: '*/*' };
    for (const h of g.httpHeaders ?? []) headers[h.name] = h.value;
    return new Promise((resolve) => {
      const mod = scheme === 'https' ? https : http;
      const req = mod.get(url, { headers, timeout: timeoutMs, rejectUnauthorized: false, agent: false }, (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        res.once('end', () => undefined);
        req.destroy();
        if (code >= 200 && code < 400) resolve({ result: 'success', output: '', statusCode: code });
        else resolve({ result: 'failure', output: `HTTP probe failed with statuscode: ${code}`, statusCode: code });
      });
      req.once('timeout', () => {
        req.destroy();
        resolve({ result: 'failure', output: `Get ${JSON.stringify(url)}: context deadline exceeded (Client.Timeout exceeded while awaiting headers)` });
      });
      req.once('error', (e: NodeJS.ErrnoException) => resolve({ result: 'failure', output: `Get ${JSON.stringify(url)}: ${netError(e, host, port)}` }));
    });
  }
  if (probe.tcpSocket) {
    const port = resolvePort(probe.tcpSocket.port, target.container);
    if (port === undefined) return { result: 'unknown', output: `couldn't find port: ${String(probe.tcpSocket.port)} in ${target.container.name}` };
    const host = probe.tcpSocket.host || target.podIP;
    return new Promise((resolve) => {
      const s = net.connect({ host, port });
      const timer = setTimeout(() => {
        s.destroy();
        resolve({ result: 'failure', output: `dial tcp ${joinHostPort(host, port)}: i/o timeout` });
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        s.destroy();
        resolve({ result: 'success', output: '' });
      });
      s.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        resolve({ result: 'failure', output: netError(e, host, port) });
      });
    });
  }
  if (probe.grpc) return { result: 'unknown', output: 'svcnet does not run gRPC probes' };
  return { result: 'unknown', output: 'missing probe handler' };
}

export function probeKindTitle(kind: ProbeKind): string {
  return kind === 'liveness' ? 'Liveness' : kind === 'readiness' ? 'Readiness' : 'Startup';
}
