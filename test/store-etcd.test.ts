// The Store contract against a real etcd on loopback (see store-etcd-server.ts).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EtcdStore, isStoreError, openStore, type Store } from '../src/store/index.ts';
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
    const prefix = `/t${n++}`;
    const s = await EtcdStore.open({ endpoints: [etcd!.endpoint], prefix });
    prefixes.set(s, prefix);
    return s;
  };

  runStoreContract('etcd', openFresh, {
    reopen: async (s) => {
      const prefix = prefixes.get(s)!;
      await s.close();
      const again = await EtcdStore.open({ endpoints: [etcd!.endpoint], prefix });
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
      const a = await EtcdStore.open({ endpoints: [etcd!.endpoint], prefix: '/shared' });
      const b = await EtcdStore.open({ endpoints: [etcd!.endpoint], prefix: '/shared' });
      t.after(() => Promise.all([a.close(), b.close()]));
      const kv = await a.create('/k', '1');
      assert.deepEqual(await b.get('/k'), kv);
      assert.equal(await b.currentRevision(), kv.modRevision);
      await b.update('/k', '2', kv.modRevision);
      await assert.rejects(a.update('/k', '3', kv.modRevision), (e) => isStoreError(e, 'Conflict'));
    });

    it('fails to open with Unavailable when nothing listens at the endpoint', async () => {
      await assert.rejects(EtcdStore.open({ endpoints: ['http://127.0.0.1:1'], timeoutMs: 1000 }), (e) => isStoreError(e, 'Unavailable'));
    });
  });
}
