import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startCompactor } from './compactor.ts';
import { MemoryStore } from './memory.ts';
import { isStoreError } from './types.ts';

describe('compactor', () => {
  it('compacts each tick to the revision seen at the tick before, as kube-apiserver does', async (t) => {
    const s = new MemoryStore();
    const c = startCompactor(s, { intervalMs: 3_600_000 });
    t.after(() => c.stop());
    await s.create('/a', '1');
    await s.create('/b', '1');
    await c.tick(); // sees 2, compacts nothing
    assert.equal(await s.compactRevision(), 0);
    await s.update('/a', '2');
    await c.tick(); // compacts to 2, sees 3
    assert.equal(await s.compactRevision(), 2);
    await assert.rejects(s.watch('/', 1, { onEvents: () => {} }), (e) => isStoreError(e, 'Compacted'));
    await s.watch('/', 2, { onEvents: () => {} });
    await c.tick(); // nothing written since: compacts to 3, its current revision
    assert.equal(await s.compactRevision(), 3);
  });

  it('runs on its interval until stopped', async () => {
    const s = new MemoryStore();
    await s.create('/a', '1');
    const c = startCompactor(s, { intervalMs: 20 });
    const deadline = Date.now() + 10_000;
    while ((await s.compactRevision()) !== 1) {
      assert.ok(Date.now() < deadline, 'the compactor did not compact on its own');
      await new Promise((r) => setTimeout(r, 10));
    }
    await c.stop();
    await s.create('/b', '1');
    await s.create('/c', '1');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await s.compactRevision(), 1);
  });

  it('keeps going after a failed compaction', async (t) => {
    const s = new MemoryStore();
    await s.create('/a', '1');
    const c = startCompactor(s, { intervalMs: 3_600_000 });
    t.after(() => c.stop());
    const realCompact = s.compact.bind(s);
    let fail = true;
    s.compact = async (rev: number) => {
      if (fail) throw new Error('disk on fire');
      return realCompact(rev);
    };
    await c.tick();
    await s.create('/b', '1');
    await c.tick(); // fails, logged
    assert.equal(await s.compactRevision(), 0);
    fail = false;
    await c.tick();
    assert.ok((await s.compactRevision()) > 0);
  });
});
