import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { BoundedFrequencyRunner } from './runner.ts';

test('runner: requests within minInterval are folded into one run', async () => {
  let runs = 0;
  const r = new BoundedFrequencyRunner(async () => void runs++, { minIntervalMs: 200, maxIntervalMs: 60_000 });
  r.start();
  r.run();
  await sleep(20);
  for (let i = 0; i < 10; i++) r.run();
  await sleep(50);
  assert.equal(runs, 1);
  await sleep(250);
  assert.equal(runs, 2);
  r.stop();
});

test('runner: runs at least every maxInterval without requests', async () => {
  let runs = 0;
  const r = new BoundedFrequencyRunner(async () => void runs++, { minIntervalMs: 0, maxIntervalMs: 40 });
  r.start();
  await sleep(150);
  r.stop();
  assert.ok(runs >= 3, `runs: ${runs}`);
});

test('runner: retryAfter schedules another run after a failure', async () => {
  let runs = 0;
  const errors: unknown[] = [];
  const r = new BoundedFrequencyRunner(
    async () => {
      runs++;
      if (runs === 1) {
        r.retryAfter(30);
        throw new Error('nft failed');
      }
    },
    { minIntervalMs: 0, maxIntervalMs: 60_000, onError: (e) => errors.push(e) },
  );
  r.start();
  r.run();
  await sleep(100);
  r.stop();
  assert.equal(runs, 2);
  assert.equal(errors.length, 1);
});
