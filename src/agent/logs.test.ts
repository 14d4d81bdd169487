import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { parseCriLine, selectLogs, streamLogs, tailStart } from './logs.ts';

const file = [
  '2026-01-01T00:00:01.000000000Z stdout F one',
  '2026-01-01T00:00:02.000000000Z stderr F two',
  '2026-01-01T00:00:03.000000000Z stdout P thr',
  '2026-01-01T00:00:03.500000000Z stdout F ee',
  '2026-01-01T00:00:04.000000000Z stdout F four',
  '',
].join('\n');

test('CRI lines parse into time, stream, partial flag and content', () => {
  assert.deepEqual(parseCriLine(Buffer.from('2026-01-01T00:00:01.000000000Z stdout P a b')), { time: '2026-01-01T00:00:01.000000000Z', stream: 'stdout', partial: true, content: Buffer.from('a b') });
  assert.equal(parseCriLine(Buffer.from('garbage')), undefined);
  assert.equal(parseCriLine(Buffer.from('2026 stdin F x')), undefined);
});

test('tailLines counts lines from the end of the file', () => {
  const b = Buffer.from('a\nb\nc\n');
  assert.equal(b.subarray(tailStart(b, 2)).toString(), 'b\nc\n');
  assert.equal(tailStart(b, 0), b.length);
  assert.equal(tailStart(b, 10), 0);
});

test('logs join partial lines, prefix timestamps at line starts, honour since and limitBytes', () => {
  const b = Buffer.from(file);
  assert.equal(selectLogs(b, {}).toString(), 'one\ntwo\nthree\nfour\n');
  assert.equal(selectLogs(b, { tailLines: 1 }).toString(), 'four\n');
  assert.equal(selectLogs(b, { timestamps: true, tailLines: 3 }).toString(), '2026-01-01T00:00:03.000000000Z three\n2026-01-01T00:00:04.000000000Z four\n');
  assert.equal(selectLogs(b, { sinceTime: new Date('2026-01-01T00:00:02.500Z') }).toString(), 'three\nfour\n');
  assert.equal(selectLogs(b, { limitBytes: 6 }).toString(), 'one\ntw');
});

test('follow streams appended lines through a rotation until the container stops', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'svcnet-logs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, '0.log');
  writeFileSync(path, '2026-01-01T00:00:01.000000000Z stdout F first\n');
  const out = new PassThrough();
  let got = '';
  out.on('data', (d: Buffer) => (got += d.toString()));
  let running = true;
  const done = streamLogs(path, out, { follow: true, running: () => running, pollMs: 20 });
  await new Promise((r) => setTimeout(r, 60));
  appendFileSync(path, '2026-01-01T00:00:02.000000000Z stdout F second\n');
  await new Promise((r) => setTimeout(r, 60));
  renameSync(path, `${path}.1`);
  appendFileSync(`${path}.1`, '2026-01-01T00:00:03.000000000Z stdout F third\n');
  writeFileSync(path, '2026-01-01T00:00:04.000000000Z stdout F fourth\n');
  await new Promise((r) => setTimeout(r, 100));
  running = false;
  await done;
  assert.equal(got, 'first\nsecond\nthird\nfourth\n');
});
