import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Endpoint } from '../types.ts';
import { Route } from './balancer.ts';
import type { RouteSpec } from './plan.ts';

const ep = (ip: string): Endpoint => ({ ip, port: 8080, family: 'IPv4', ready: true, serving: true, terminating: false });
const spec = (ips: string[], affinityTimeoutSeconds = 0): RouteSpec => ({
  key: 'default/web:http/IPv4/internal',
  service: 'default/web',
  portName: 'default/web:http',
  protocol: 'TCP',
  traffic: 'internal',
  endpoints: ips.map(ep),
  affinityTimeoutSeconds,
});

test('picks are spread evenly over the endpoints', () => {
  const r = new Route(spec(['127.244.0.1', '127.244.0.2', '127.244.0.3']));
  const n = 30_000;
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const e = r.pick('127.0.0.1')!;
    counts.set(e.ip, (counts.get(e.ip) ?? 0) + 1);
  }
  assert.equal(counts.size, 3);
  for (const c of counts.values()) assert.ok(Math.abs(c - n / 3) < n / 3 / 10, JSON.stringify([...counts]));
});

test('the random source decides the endpoint (uniform over the list)', () => {
  let x = 0;
  const r = new Route(spec(['127.244.0.1', '127.244.0.2', '127.244.0.3', '127.244.0.4']), { random: () => x });
  const picks = [0, 0.24, 0.25, 0.5, 0.99].map((v) => ((x = v), r.pick('c')!.ip));
  assert.deepEqual(picks, ['127.244.0.1', '127.244.0.1', '127.244.0.2', '127.244.0.3', '127.244.0.4']);
});

test('no endpoints: no pick', () => {
  assert.equal(new Route(spec([])).pick('c'), undefined);
});

test('excluded endpoints (those that refused) are not picked; none left: no pick', () => {
  const r = new Route(spec(['127.244.0.1', '127.244.0.2']));
  for (let i = 0; i < 50; i++) assert.equal(r.pick('c', new Set(['127.244.0.1:8080']))!.ip, '127.244.0.2');
  assert.equal(r.pick('c', new Set(['127.244.0.1:8080', '127.244.0.2:8080'])), undefined);
});

test('sessionAffinity ClientIP: a client keeps its endpoint while it keeps coming within the timeout', () => {
  let now = 1_000_000;
  const r = new Route(spec(['127.244.0.1', '127.244.0.2', '127.244.0.3'], 10), { now: () => now });
  const first = r.pick('127.0.0.5')!.ip;
  for (let i = 0; i < 100; i++) {
    now += 9_000; // each use refreshes the timeout
    assert.equal(r.pick('127.0.0.5')!.ip, first);
  }
  // Other clients are balanced independently.
  const others = new Set(Array.from({ length: 200 }, (_, i) => r.pick(`127.0.1.${i}`)!.ip));
  assert.equal(others.size, 3);
  assert.equal(r.affinityEntries, 201);
});

test('sessionAffinity expires after the timeout without use', () => {
  let now = 0;
  let x = 0;
  const r = new Route(spec(['127.244.0.1', '127.244.0.2'], 10), { now: () => now, random: () => x });
  assert.equal(r.pick('c')!.ip, '127.244.0.1');
  x = 0.9;
  now = 9_999;
  assert.equal(r.pick('c')!.ip, '127.244.0.1', 'still within the timeout');
  now = 9_999 + 10_000;
  assert.equal(r.pick('c')!.ip, '127.244.0.2', 'expired: picked afresh');
  now += 20_000;
  r.sweep();
  assert.equal(r.affinityEntries, 0);
});

test('affinity to an endpoint that left is forgotten; to one that refused, moved', () => {
  let x = 0;
  const r = new Route(spec(['127.244.0.1', '127.244.0.2'], 100), { random: () => x });
  assert.equal(r.pick('c')!.ip, '127.244.0.1');
  assert.equal(r.update(spec(['127.244.0.2', '127.244.0.3'], 100)), true);
  assert.equal(r.affinityEntries, 0);
  x = 0.9;
  assert.equal(r.pick('c')!.ip, '127.244.0.3');
  assert.equal(r.pick('c', new Set(['127.244.0.3:8080']))!.ip, '127.244.0.2');
  assert.equal(r.pick('c')!.ip, '127.244.0.2', 'the new endpoint sticks');
});

test('update reports whether the endpoint set changed', () => {
  const r = new Route(spec(['127.244.0.1']));
  assert.equal(r.update(spec(['127.244.0.1'])), false);
  assert.equal(r.update(spec(['127.244.0.1', '127.244.0.2'])), true);
  assert.equal(r.has('127.244.0.2:8080'), true);
  assert.equal(r.has('127.244.0.3:8080'), false);
});
