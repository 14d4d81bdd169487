import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStoreContract } from './contract.ts';
import { SqliteStore, SQLITE_FILE_NAME } from './sqlite.ts';
import type { Store } from './types.ts';

const root = mkdtempSync(join(tmpdir(), 'svcnet-store-sqlite-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const dirs = new WeakMap<Store, string>();

async function openFresh(): Promise<Store> {
  const dir = join(root, `s${n++}`);
  const s = await SqliteStore.open(dir);
  dirs.set(s, dir);
  return s;
}

runStoreContract('sqlite', openFresh, {
  reopen: async (s) => {
    const dir = dirs.get(s)!;
    await s.close();
    const again = await SqliteStore.open(dir);
    dirs.set(again, dir);
    return again;
  },
});

describe('SqliteStore', () => {
  it('keeps one database file in the data dir, created when missing', async (t) => {
    const dir = join(root, 'fresh', 'nested');
    const s = await SqliteStore.open(dir);
    t.after(() => s.close());
    assert.equal(s.file, join(dir, SQLITE_FILE_NAME));
    assert.ok(existsSync(s.file));
  });

  it('takes a path ending in .db as the database file itself', async (t) => {
    const file = join(root, 'files', 'my.db');
    const s = await SqliteStore.open(file);
    t.after(() => s.close());
    assert.equal(s.file, file);
    await s.create('/a', 'b');
  });

  it('refuses a second open of the same data dir while the first is open, and allows it after close', async () => {
    const dir = join(root, 'twice');
    const first = await SqliteStore.open(dir);
    await first.create('/a', '1');
    await assert.rejects(SqliteStore.open(dir), /is in use/);
    await first.close();
    const second = await SqliteStore.open(dir);
    assert.equal((await second.get('/a'))?.value, '1');
    await second.close();
  });

  it('keeps revisions increasing across a restart after compacting everything, deletes included', async () => {
    const dir = join(root, 'compact-all');
    let s = await SqliteStore.open(dir);
    await s.create('/a', '1');
    const gone = await s.delete('/a');
    await s.compact(gone.modRevision);
    await s.close();
    s = await SqliteStore.open(dir);
    assert.equal(await s.currentRevision(), gone.modRevision);
    assert.equal((await s.create('/a', '2')).modRevision, gone.modRevision + 1);
    await s.close();
  });
});
