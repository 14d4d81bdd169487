// The Store contract against a real etcd on loopback (see store-etcd-server.ts).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isStoreError, openStore, openEtcdStore, type Store } from '../src/store/index.ts';
import { runStoreContract } from '../src/store/contract.ts';
import { ETCD_BINARY, etcdAvailable, startEtcd, type TestEtcd } from './store-etcd-server.ts';

if (!etcdAvailable()) {
  it('runs the Store contract against etcd', (t) => t.skip(`needs the etcd binary: ${ETCD_BINARY} is missing (Debian: apt-get install etcd-server)`));
} else {
  let etcd: TestEtcd | undefined;
  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => {
    await etcd?.stop();
  });
  let n = 0;
  // Every store gets its own key prefix: the tests share one etcd (and its revision counter).
  const prefixes = new WeakMap<Store, string>();
  const openFresh = async (): Promise<Store> => {
    // Fixed width: no prefix may start with another ("/t1" would see "/t10"'s keys).
    const prefix = `/t${String(n++).padStart(4, '0')}`;
    const s = await openEtcdStore({ endpoints: [etcd!.endpoint], prefix });
    prefixes.set(s, prefix);
    return s;
  };

  runStoreContract('etcd', openFresh, {
    reopen: async (s) => {
      const prefix = prefixes.get(s)!;
      await s.close();
      const again = await openEtcdStore({ endpoints: [etcd!.endpoint], prefix });
      prefixes.set(again, prefix);
      return again;
    },
  });

  describe('EtcdStore', () => {
    it('keeps stores with different key prefixes apart in one etcd', async (t) => {
      const a = await openStore(`etcd:${etcd!.endpoint}`, { prefix: '/cluster-a' });
      const b = await openStore(`etcd:${etcd!.endpoint}`, { prefix: '/cluster-b' });
      t.after(() => Promise.all([a.close(), b.close()]));
      await a.create('/registry/x', 'a');
      await b.create('/registry/x', 'b');
      assert.equal((await a.get('/registry/x'))?.value, 'a');
      assert.deepEqual(
        (await b.list('/registry/')).items.map((kv) => [kv.key, kv.value]),
        [['/registry/x', 'b']],
      );
    });

    it('sees writes made through another client at once (nothing is cached)', async (t) => {
      const a = await openEtcdStore({ endpoints: [etcd!.endpoint], prefix: '/shared' });
      const b = await openEtcdStore({ endpoints: [etcd!.endpoint], prefix: '/shared' });
      t.after(() => Promise.all([a.close(), b.close()]));
      const kv = await a.create('/k', '1');
      assert.deepEqual(await b.get('/k'), kv);
      assert.equal(await b.currentRevision(), kv.modRevision);
      await b.update('/k', '2', kv.modRevision);
      await assert.rejects(a.update('/k', '3', kv.modRevision), (e) => isStoreError(e, 'Conflict'));
    });

    it('a watch resumes after etcd restarts, losing and repeating no event; writes meanwhile fail with Unavailable', async (t) => {
      const s = await openFresh();
      t.after(() => s.close());
      const base = await s.currentRevision();
      const got: number[] = [];
      const errors: Error[] = [];
      const w = await s.watch('/r/', base, { onEvents: (evs) => evs.forEach((e) => got.push(e.type === 'PUT' ? e.kv.modRevision : e.modRevision)), onError: (e) => errors.push(e) });
      t.after(() => w.stop());
      const written: number[] = [];
      for (let i = 0; i < 50; i++) written.push((await s.create(`/r/${i}`, 'x'.repeat(1000))).modRevision);
      await etcd!.kill();
      await assert.rejects(s.create('/r/down', 'x'), (e) => isStoreError(e, 'Unavailable'));
      await etcd!.restart();
      for (let i = 50; i < 100; i++) {
        // The client may need a moment (its circuit breaker) before it talks to etcd again.
        for (let tries = 0; ; tries++) {
          try {
            written.push((await s.create(`/r/${i}`, 'x')).modRevision);
            break;
          } catch (e) {
            if (!isStoreError(e, 'Unavailable') || tries > 100) throw e;
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      }
      const deadline = Date.now() + 60_000;
      while (got.length < written.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(got, written);
      assert.deepEqual(errors, []);
    });

    it('a watch broken in the middle of its replay resumes where delivery stopped, not at the revision etcd was at', async (t) => {
      // etcd replays history in batches of 1000 revisions, each stamped with its current
      // revision; the etcd3 client resumes a broken watch after that stamp, skipping the batches
      // not yet sent. Break the watch right after the first batch.
      const s = await openFresh();
      t.after(() => s.close());
      const base = await s.currentRevision();
      await Promise.all(
        [0, 1, 2, 3].map(async (w) => {
          for (let i = 0; i < 600; i++) await s.create(`/m/${w}/${i}`, 'v'.repeat(2000));
        }),
      );
      const end = await s.currentRevision();
      const got: number[] = [];
      const errors: Error[] = [];
      let broken: Promise<void> | undefined;
      const w = await s.watch('/m/', base, {
        onEvents: (evs) => {
          for (const e of evs) got.push(e.type === 'PUT' ? e.kv.modRevision : e.modRevision);
          broken ??= etcd!.kill().then(() => etcd!.restart());
        },
        onError: (e) => errors.push(e),
      });
      t.after(() => w.stop());
      const deadline = Date.now() + 60_000;
      while ((got.at(-1) ?? 0) < end && errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await broken;
      assert.ok(broken, 'the watch was broken during its replay');
      assert.deepEqual(errors, []);
      assert.deepEqual(
        got,
        Array.from({ length: end - base }, (_, i) => base + 1 + i),
      );
    });

    it('fails to open with Unavailable when nothing listens at the endpoint', async () => {
      await assert.rejects(openEtcdStore({ endpoints: ['http://127.0.0.1:1'], timeoutMs: 1000 }), (e) => isStoreError(e, 'Unavailable'));
    });
  });
}
