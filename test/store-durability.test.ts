// A process killed with SIGKILL mid-stream loses none of the writes its store acknowledged,
// and the store's revisions go on increasing after it is reopened.
import { after, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { openStore, SqliteStore, type Store } from '../src/store/index.ts';
import { ETCD_BINARY, etcdAvailable, startEtcd } from './store-etcd-server.ts';

const writer = new URL('./store-durability-writer.ts', import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), 'svcnet-store-durability-'));
after(() => rmSync(root, { recursive: true, force: true }));

interface Writer {
  child: ChildProcess;
  acked: Map<string, number>;
  /** Resolves once the child said "ready", then once it acknowledged `n` writes. */
  waitFor(what: 'ready' | number): Promise<void>;
  exited: Promise<void>;
}

function startWriter(t: TestContext, args: string[]): Writer {
  const child = spawn(process.execPath, ['--import', 'tsx', writer, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SVCNET_LOG_LEVEL: 'error' },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const acked = new Map<string, number>();
  let ready = false;
  const waiters: (() => void)[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line === 'ready') ready = true;
    const m = /^ack (\S+) (\d+)$/.exec(line);
    if (m) acked.set(m[1], Number(m[2]));
    waiters.forEach((w) => w());
  });
  const waitFor = (what: 'ready' | number): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`writer did not get to ${what} within 30 s: ${stderr}`)), 30_000);
      const check = (): void => {
        if (what === 'ready' ? ready : acked.size >= what) {
          clearTimeout(timer);
          resolve();
        }
      };
      waiters.push(check);
      check();
      void exited.then(() => reject(new Error(`writer exited early: ${stderr}`)));
    });
  return { child, acked, waitFor, exited };
}

async function killAndCheck(w: Writer, reopen: () => Promise<Store>): Promise<void> {
  // Kill while writes are in flight.
  await w.waitFor(300);
  w.child.kill('SIGKILL');
  await w.exited;
  assert.equal(w.child.signalCode, 'SIGKILL');
  const acked = [...w.acked];
  const store = await reopen();
  try {
    for (const [key, rev] of acked) {
      const kv = await store.get(key);
      assert.ok(kv, `acknowledged key ${key} is missing after the kill`);
      assert.equal(kv.modRevision, rev);
      assert.equal(kv.value, `value-${Number(key.slice(3))}`);
    }
    // Writes were sequential: what is stored is keys 0..n-1, at least every acknowledged one.
    const stored = (await store.list('/d/')).items;
    assert.ok(stored.length >= acked.length);
    stored.forEach((kv, i) => assert.equal(kv.key, `/d/${String(i).padStart(8, '0')}`));
    const highest = Math.max(...acked.map(([, r]) => r), ...stored.map((kv) => kv.modRevision));
    assert.ok((await store.currentRevision()) >= highest);
    const next = await store.create('/d/after-restart', 'x');
    assert.ok(next.modRevision > highest, `a new write got revision ${next.modRevision}, not above ${highest}`);
  } finally {
    await store.close();
  }
}

describe('store durability', () => {
  it('sqlite: a second process cannot open the data dir, and a SIGKILLed writer loses no acknowledged write', async (t) => {
    const dir = join(root, 'sqlite');
    const w = startWriter(t, [`sqlite:${dir}`]);
    await w.waitFor('ready');
    const started = Date.now();
    await assert.rejects(SqliteStore.open(dir), /is in use: another process holds its lock/);
    assert.ok(Date.now() - started < 2000, 'the second open fails fast');
    await killAndCheck(w, () => SqliteStore.open(dir));
  });

  it('etcd: a SIGKILLed writer loses no acknowledged write', async (t) => {
    if (!etcdAvailable()) {
      t.skip(`needs the etcd binary: ${ETCD_BINARY} is missing`);
      return;
    }
    const etcd = await startEtcd();
    t.after(() => etcd.stop());
    const w = startWriter(t, [`etcd:${etcd.endpoint}`, '/durability']);
    await w.waitFor('ready');
    await killAndCheck(w, () => openStore(`etcd:${etcd.endpoint}`, { prefix: '/durability' }));
  });
});
