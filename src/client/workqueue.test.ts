import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { ItemExponentialFailureRateLimiter, WorkQueue, runWorkers } from './workqueue.ts';

const silent = pino({ level: 'silent' });

test('an item added twice while waiting is handed out once', async () => {
  const q = new WorkQueue();
  q.add('a');
  q.add('b');
  q.add('a');
  assert.equal(q.len(), 2);
  assert.equal(await q.get(), 'a');
  assert.equal(await q.get(), 'b');
  assert.equal(q.len(), 0);
  q.done('a');
  q.done('b');
  await q.shutDown();
});

test('an item re-added while processing is handed out again only after done', async () => {
  const q = new WorkQueue();
  q.add('a');
  const first = await q.get();
  assert.equal(first, 'a');
  q.add('a');
  q.add('a');
  assert.equal(q.len(), 0, 'not queued while a worker holds it');
  let second: string | undefined;
  void q.get().then((x) => (second = x));
  await sleep(5);
  assert.equal(second, undefined, 'no second worker gets it meanwhile');
  q.done('a');
  await sleep(0);
  assert.equal(second, 'a');
  q.done('a');
  assert.equal(q.len(), 0, 'handed out once more, not twice');
  await q.shutDown();
});

test('runWorkers never processes one key in two workers at once', async () => {
  const q = new WorkQueue();
  const active = new Set<string>();
  let overlaps = 0;
  const seen: string[] = [];
  const workers = runWorkers(q, 4, async (k) => {
    if (active.has(k)) overlaps++;
    active.add(k);
    seen.push(k);
    await sleep(2);
    active.delete(k);
  });
  for (let i = 0; i < 20; i++) {
    q.add(`k${i % 3}`);
    await sleep(1);
  }
  await sleep(30);
  await q.shutDown();
  await workers;
  assert.equal(overlaps, 0);
  assert.ok(seen.length >= 3 && seen.length <= 20, `processed ${seen.length} times`);
  assert.deepEqual(new Set(seen), new Set(['k0', 'k1', 'k2']));
});

test('a failing item is retried with growing delays until it succeeds, then forgotten', async () => {
  const q = new WorkQueue({ rateLimiter: new ItemExponentialFailureRateLimiter<string>(10, 1000) });
  const at: number[] = [];
  const workers = runWorkers(
    q,
    2,
    (k) => {
      at.push(Date.now());
      if (at.length < 4) throw new Error(`fail ${k}`);
    },
    { log: silent },
  );
  q.add('x');
  while (at.length < 4) await sleep(5);
  await sleep(5);
  assert.equal(q.numRequeues('x'), 0, 'forgotten after success');
  const gaps = at.slice(1).map((t, i) => t - at[i]);
  // 10, 20, 40 ms (timers may fire a little late, never early)
  assert.ok(gaps[0] >= 9 && gaps[1] >= 19 && gaps[2] >= 39, `gaps ${gaps.join(',')}`);
  await q.shutDown();
  await workers;
});

test('an item that keeps failing is dropped after maxRetries', async () => {
  const q = new WorkQueue({ rateLimiter: new ItemExponentialFailureRateLimiter<string>(1, 1) });
  let calls = 0;
  const workers = runWorkers(
    q,
    1,
    () => {
      calls++;
      throw new Error('always');
    },
    { maxRetries: 3, log: silent },
  );
  q.add('x');
  while (calls < 4) await sleep(2);
  await sleep(30);
  assert.equal(calls, 4, 'the first try and three retries, no more');
  assert.equal(q.numRequeues('x'), 0);
  await q.shutDown();
  await workers;
});

test('the exponential limiter doubles from 5 ms up to 1000 s per item', () => {
  const l = new ItemExponentialFailureRateLimiter<string>();
  assert.deepEqual([l.when('a'), l.when('a'), l.when('a'), l.when('b')], [5, 10, 20, 5]);
  for (let i = 0; i < 100; i++) l.when('a');
  assert.equal(l.when('a'), 1_000_000);
  assert.equal(l.numRequeues('b'), 1);
  l.forget('a');
  assert.equal(l.when('a'), 5);
});

test('addAfter adds the item once the delay passed, and the earliest of two delays wins', async () => {
  const q = new WorkQueue();
  const t0 = Date.now();
  q.addAfter('a', 200);
  q.addAfter('a', 20);
  q.addAfter('a', 100);
  assert.equal(q.len(), 0);
  assert.equal(await q.get(), 'a');
  const waited = Date.now() - t0;
  assert.ok(waited >= 19 && waited < 190, `waited ${waited} ms`);
  q.done('a');
  await sleep(220);
  assert.equal(q.len(), 0, 'the later delays were dropped');
  q.addAfter('b', 0);
  assert.equal(q.len(), 1, 'no delay adds at once');
  await q.shutDown();
});

test('shutDown wakes waiting getters, drops queued items and waits for items in processing', async () => {
  const q = new WorkQueue();
  const waiting = q.get();
  await q.shutDown();
  assert.equal(await waiting, undefined);

  const q2 = new WorkQueue();
  q2.add('busy');
  q2.add('queued');
  q2.addAfter('later', 10_000);
  assert.equal(await q2.get(), 'busy');
  let drained = false;
  const down = q2.shutDown().then(() => (drained = true));
  assert.equal(await q2.get(), undefined);
  q2.add('ignored');
  assert.equal(q2.len(), 0);
  await sleep(1);
  assert.equal(drained, false);
  q2.done('busy');
  await down;
  assert.equal(drained, true);
});
