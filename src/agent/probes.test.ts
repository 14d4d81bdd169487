import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Probe } from 'kubernetes-types/core/v1.js';
import { initialProbeState, probeGate, resolvePort, runProbe, stepProbe, type ProbeKind, type ProbeState } from './probes.ts';

function run(kind: ProbeKind, probe: Probe, outcomes: ('success' | 'failure')[]): { results: string[]; kills: number } {
  let st: ProbeState = initialProbeState(kind);
  const results: string[] = [];
  let kills = 0;
  for (const o of outcomes) {
    if (st.onHold) break;
    const r = stepProbe(kind, st, o, probe);
    st = r.state;
    if (r.kill) kills++;
    results.push(st.result);
  }
  return { results, kills };
}

test('initial results: not ready, alive, startup unknown', () => {
  assert.equal(initialProbeState('readiness').result, 'failure');
  assert.equal(initialProbeState('liveness').result, 'success');
  assert.equal(initialProbeState('startup').result, 'unknown');
});

test('readiness changes only after successThreshold successes or failureThreshold failures', () => {
  const p: Probe = { successThreshold: 2, failureThreshold: 3 };
  assert.deepEqual(run('readiness', p, ['success', 'success', 'failure', 'failure', 'success', 'failure', 'failure', 'failure']).results, [
    'failure',
    'success',
    'success',
    'success',
    'success',
    'success',
    'success',
    'failure',
  ]);
});

test('a liveness failure at the threshold kills once and holds until the container is replaced', () => {
  const r = run('liveness', { failureThreshold: 2 }, ['failure', 'success', 'failure', 'failure', 'failure', 'failure']);
  assert.equal(r.kills, 1);
  assert.deepEqual(r.results, ['success', 'success', 'success', 'failure']);
});

test('probes wait for initialDelaySeconds; others wait for startup', () => {
  const p: Probe = { initialDelaySeconds: 5 };
  assert.equal(probeGate('readiness', p, 4999, true), false);
  assert.equal(probeGate('readiness', p, 5000, true), true);
  assert.equal(probeGate('liveness', {}, 0, false), false);
  assert.equal(probeGate('startup', {}, 0, false), true);
  assert.equal(probeGate('startup', {}, 0, true), false);
});

test('named ports resolve from the container\'s ports', () => {
  const c = { name: 'c', ports: [{ name: 'http', containerPort: 8080 }] };
  assert.equal(resolvePort('http', c), 8080);
  assert.equal(resolvePort(9000, c), 9000);
  assert.equal(resolvePort('9001', c), 9001);
  assert.equal(resolvePort('nope', c), undefined);
});

test('httpGet and tcpSocket probes report as kubelet words them', async (t) => {
  const srv = http.createServer((req, res) => {
    if (req.url === '/slow') return void setTimeout(() => res.end('late'), 1500);
    res.statusCode = req.url === '/ok' ? 200 : req.url === '/redirect' ? 302 : 500;
    res.end(String(req.headers['user-agent']));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => srv.close());
  const port = (srv.address() as AddressInfo).port;
  const target = { podIP: '127.0.0.1', container: { name: 'c' }, exec: async () => ({ output: '', exitCode: 0, timedOut: false }) };
  assert.equal((await runProbe({ httpGet: { path: '/ok', port } }, target)).result, 'success');
  assert.equal((await runProbe({ httpGet: { path: '/redirect', port } }, target)).result, 'success');
  assert.deepEqual(await runProbe({ httpGet: { path: '/bad', port } }, target), { result: 'failure', output: 'HTTP probe failed with statuscode: 500', statusCode: 500 });
  const slow = await runProbe({ httpGet: { path: '/slow', port }, timeoutSeconds: 1 }, target);
  assert.match(slow.output, /context deadline exceeded \(Client\.Timeout exceeded while awaiting headers\)/);
  assert.equal((await runProbe({ tcpSocket: { port } }, target)).result, 'success');
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const freePort = (closed.address() as AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  assert.deepEqual(await runProbe({ tcpSocket: { port: freePort } }, target), { result: 'failure', output: `dial tcp 127.0.0.1:${freePort}: connect: connection refused` });
  const refused = await runProbe({ httpGet: { path: '/', port: freePort } }, target);
  assert.equal(refused.output, `Get "http://127.0.0.1:${freePort}/": dial tcp 127.0.0.1:${freePort}: connect: connection refused`);
});

test('exec probes succeed on exit 0 and fail with the output or a timeout', async () => {
  const mk = (r: { output: string; exitCode: number | null; timedOut: boolean }) => ({ podIP: '', container: { name: 'c' }, exec: async () => r });
  assert.equal((await runProbe({ exec: { command: ['true'] } }, mk({ output: '', exitCode: 0, timedOut: false }))).result, 'success');
  assert.deepEqual(await runProbe({ exec: { command: ['cat', '/x'] } }, mk({ output: 'cat: /x: No such file\n', exitCode: 1, timedOut: false })), { result: 'failure', output: 'cat: /x: No such file\n' });
  assert.deepEqual(await runProbe({ exec: { command: ['sleep', '9'] } }, mk({ output: '', exitCode: null, timedOut: true })), { result: 'failure', output: 'command "sleep 9" timed out' });
});
