import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, parseEtcdEndpoints } from './open.ts';
import { MemoryStore } from './memory.ts';
import { SqliteStore } from './sqlite.ts';
import { isStoreError } from './types.ts';

const root = mkdtempSync(join(tmpdir(), 'svcnet-store-open-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('openStore', () => {
  it('opens memory: and sqlite:<dir>', async () => {
    const m = await openStore('memory:');
    assert.ok(m instanceof MemoryStore);
    await m.close();
    const s = await openStore(`sqlite:${join(root, 'data')}`);
    assert.ok(s instanceof SqliteStore);
    assert.equal(s.backend, 'sqlite');
    await s.close();
  });

  for (const [spec, why] of [
    ['', /no kind/],
    ['/var/lib/svcnet', /no kind/],
    ['sqlite:', /needs a data dir/],
    ['memory:x', /nothing after the colon/],
    ['postgres://db', /unknown kind "postgres"/],
    ['etcd:', /endpoint is empty/],
    ['etcd:127.0.0.1:2379', /must start with http/],
    ['etcd:http://127.0.0.1:2379,', /endpoint is empty/],
    ['etcd:http://127.0.0.1:2379/registry', /must not have a path/],
    ['etcd:http://user:pw@127.0.0.1:2379', /must not carry credentials/],
    ['etcd:http://exa mple:1', /is not a URL/],
  ] as const) {
    it(`refuses "${spec}" with a message naming the problem and the accepted forms`, async () => {
      await assert.rejects(openStore(spec), (e: Error) => why.test(e.message) && e.message.includes('expected sqlite:<dir or file>, memory: or etcd:'));
    });
  }

  it('parses several etcd endpoints', () => {
    assert.deepEqual(parseEtcdEndpoints('x', 'http://127.0.0.1:2379, https://[::1]:2380/'), ['http://127.0.0.1:2379', 'https://[::1]:2380']);
  });

  it('fails with Unavailable when no etcd answers', async () => {
    await assert.rejects(openStore('etcd:http://127.0.0.1:1', { timeoutMs: 1000 }), (e) => isStoreError(e, 'Unavailable'));
  });
});
