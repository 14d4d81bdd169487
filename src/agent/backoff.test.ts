import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, goDuration } from './backoff.ts';

test('the first restart is immediate, then 10 s doubling to 5 min', () => {
  const b = new Backoff(10_000, 300_000);
  const k = 'uid/c';
  let exitAt = 0;
  assert.equal(b.inBackoffSince(k, exitAt, exitAt), false, 'first exit: restart at once');
  b.next(k, exitAt);
  let startAt = exitAt;
  const windows: number[] = [];
  for (let i = 0; i < 8; i++) {
    exitAt = startAt + 1000; // each instance dies a second after it started
    assert.equal(b.inBackoffSince(k, exitAt, exitAt), true);
    const at = b.restartAt(k, exitAt);
    windows.push(at - exitAt);
    assert.equal(b.inBackoffSince(k, exitAt, at - 1), true);
    assert.equal(b.inBackoffSince(k, exitAt, at), false);
    b.next(k, exitAt);
    startAt = at;
  }
  assert.deepEqual(windows, [10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
});

test('a container that ran for twice the maximum starts over at the initial delay', () => {
  const b = new Backoff(10_000, 300_000);
  b.next('k', 0);
  b.next('k', 1000);
  assert.equal(b.get('k'), 20_000);
  const later = 1000 + 600_001;
  assert.equal(b.inBackoffSince('k', later, later), false);
  b.next('k', later);
  assert.equal(b.get('k'), 10_000);
});

test('back-off state survives a snapshot and restore', () => {
  const a = new Backoff(1000, 8000);
  a.next('u1/c', 5);
  a.next('u1/c', 6);
  a.next('u2/c', 7);
  const b = new Backoff(1000, 8000);
  b.restore(a.snapshot('u1/'));
  assert.equal(b.get('u1/c'), 2000);
  assert.equal(b.get('u2/c'), 0);
});

test('durations print as Go prints them', () => {
  assert.equal(goDuration(10_000), '10s');
  assert.equal(goDuration(160_000), '2m40s');
  assert.equal(goDuration(300_000), '5m0s');
  assert.equal(goDuration(1500), '1.5s');
});
