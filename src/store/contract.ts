// The Store contract: one suite that every backend passes (memory, sqlite, etcd). A backend's
// test file calls runStoreContract() with a factory of fresh, empty stores. Tests use only
// revisions they observe, never absolute numbers: an etcd shares one revision counter and one
// compaction across the key prefixes the factory hands out.
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { isStoreError, type KeyValue, type Store, type StoreErrorCode, type StoreEvent, type Watch, type WatchCallbacks } from './types.ts';

export interface StoreContractOptions {
  /** Closes `store` and opens it again over the same data (a restart); enables the restart tests. */
  reopen?: (store: Store) => Promise<Store>;
  /** Concurrent writers in the exactly-once test (default 4) and writes per writer (default 500). */
  writers?: number;
  writesPerWriter?: number;
  /** How long to wait for expected watch events (default 20 s). */
  timeoutMs?: number;
  /** The backend reports watch progress (onProgress) within timeoutMs (default true). */
  progress?: boolean;
}

interface Collector {
  callbacks: WatchCallbacks;
  batches: StoreEvent[][];
  events: StoreEvent[];
  errors: Error[];
}

function collector(): Collector {
  const c: Collector = {
    batches: [],
    events: [],
    errors: [],
    callbacks: {
      onEvents: (evs) => {
        c.batches.push(evs);
        c.events.push(...evs);
      },
      onError: (err) => c.errors.push(err),
    },
  };
  return c;
}

function rev(e: StoreEvent): number {
  return e.type === 'PUT' ? e.kv.modRevision : e.modRevision;
}

function key(e: StoreEvent): string {
  return e.type === 'PUT' ? e.kv.key : e.prev.key;
}

/** Rejects with a StoreError of `code`; returns it for further checks. */
async function rejectsWith(p: Promise<unknown> | (() => Promise<unknown>), code: StoreErrorCode): Promise<StoreErrorWithFields> {
  let caught: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, `expected a StoreError ${code}, but the call succeeded`);
  assert.ok(isStoreError(caught, code), `expected a StoreError ${code}, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : JSON.stringify(caught)}`);
  return caught;
}

type StoreErrorWithFields = { key: string | undefined; current: KeyValue | undefined; compactRevision: number | undefined };

export function runStoreContract(name: string, open: () => Promise<Store>, opts: StoreContractOptions = {}): void {
  const timeoutMs = opts.timeoutMs ?? 20_000;

  async function fresh(t: TestContext): Promise<Store> {
    const s = await open();
    t.after(() => s.close());
    return s;
  }

  async function waitUntil(what: string, cond: () => boolean): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Waits until a second watcher, started after `rev`'s write, has seen it: then any watcher has been offered it. */
  async function settle(s: Store, prefix: string, after: number): Promise<void> {
    const probe = collector();
    const w = await s.watch(prefix, after - 1, probe.callbacks);
    try {
      await waitUntil(`revision ${after} is delivered`, () => probe.events.some((e) => rev(e) >= after));
    } finally {
      w.stop();
    }
  }

  describe(`Store contract: ${name}`, () => {
    describe('keys and values', () => {
      it('a new store lists nothing and reports a non-negative integer revision', async (t) => {
        const s = await fresh(t);
        const r = await s.currentRevision();
        assert.ok(Number.isSafeInteger(r) && r >= 0);
        const l = await s.list('');
        assert.deepEqual(l.items, []);
        assert.equal(l.more, false);
        assert.equal(l.revision, r);
        assert.equal(await s.count(''), 0);
        assert.equal(await s.get('/nothing'), undefined);
      });

      it('create stores a value at the next revision, with createRevision equal to modRevision', async (t) => {
        const s = await fresh(t);
        const before = await s.currentRevision();
        const kv = await s.create('/a', 'one');
        assert.deepEqual(kv, { key: '/a', value: 'one', createRevision: before + 1, modRevision: before + 1 });
        assert.deepEqual(await s.get('/a'), kv);
        assert.equal(await s.currentRevision(), before + 1);
      });

      it('create of an existing key fails with KeyExists and writes nothing', async (t) => {
        const s = await fresh(t);
        const kv = await s.create('/a', 'one');
        const err = await rejectsWith(s.create('/a', 'two'), 'KeyExists');
        assert.equal(err.key, '/a');
        assert.deepEqual(await s.get('/a'), kv);
        assert.equal(await s.currentRevision(), kv.modRevision);
      });

      it('update keeps createRevision, advances modRevision and checks the expected revision', async (t) => {
        const s = await fresh(t);
        const v1 = await s.create('/a', 'one');
        const v2 = await s.update('/a', 'two', v1.modRevision);
        assert.deepEqual(v2, { key: '/a', value: 'two', createRevision: v1.createRevision, modRevision: v1.modRevision + 1 });
        const conflict = await rejectsWith(s.update('/a', 'three', v1.modRevision), 'Conflict');
        assert.equal(conflict.key, '/a');
        assert.deepEqual(conflict.current, v2);
        const v3 = await s.update('/a', 'three');
        assert.equal(v3.modRevision, v2.modRevision + 1);
        assert.equal(v3.value, 'three');
        const missing = await rejectsWith(s.update('/b', 'x'), 'NotFound');
        assert.equal(missing.key, '/b');
        await rejectsWith(s.update('/b', 'x', 1), 'NotFound');
        assert.deepEqual(await s.get('/a'), v3);
        assert.equal(await s.currentRevision(), v3.modRevision);
      });

      it('delete returns the deleted value at the delete revision and checks the expected revision', async (t) => {
        const s = await fresh(t);
        const v1 = await s.create('/a', 'one');
        const v2 = await s.update('/a', 'two');
        const conflict = await rejectsWith(s.delete('/a', v1.modRevision), 'Conflict');
        assert.deepEqual(conflict.current, v2);
        const gone = await s.delete('/a', v2.modRevision);
        assert.deepEqual(gone, { key: '/a', value: 'two', createRevision: v1.createRevision, modRevision: v2.modRevision + 1 });
        assert.equal(await s.get('/a'), undefined);
        assert.equal(await s.currentRevision(), gone.modRevision);
        await rejectsWith(s.delete('/a'), 'NotFound');
        await s.create('/b', 'b');
        const b = await s.delete('/b');
        assert.equal(b.value, 'b');
      });

      it('a deleted key can be created again, with a new createRevision', async (t) => {
        const s = await fresh(t);
        await s.create('/a', 'one');
        await s.delete('/a');
        const again = await s.create('/a', 'again');
        assert.equal(again.createRevision, again.modRevision);
        assert.equal(again.createRevision, await s.currentRevision());
      });

      it('an update that changes nothing still writes a new revision', async (t) => {
        const s = await fresh(t);
        const v1 = await s.create('/a', 'same');
        const v2 = await s.update('/a', 'same');
        assert.equal(v2.modRevision, v1.modRevision + 1);
      });

      it('a value of 3 MiB round-trips through create, get, list and watch', async (t) => {
        const s = await fresh(t);
        const big = JSON.stringify({ data: 'x'.repeat(3 * 1024 * 1024 - 64) + 'é' });
        const c = collector();
        const w = await s.watch('/big/', await s.currentRevision(), c.callbacks);
        t.after(() => w.stop());
        const kv = await s.create('/big/one', big);
        assert.equal((await s.get('/big/one'))?.value, big);
        assert.equal((await s.list('/big/')).items[0]?.value, big);
        await s.update('/big/one', big + ' ', kv.modRevision);
        await waitUntil('both big events arrive', () => c.events.length === 2);
        const [created, updated] = c.events;
        assert.ok(created?.type === 'PUT' && created.kv.value === big);
        assert.ok(updated?.type === 'PUT' && updated.kv.value === big + ' ' && updated.prev?.value === big);
      });
    });

    describe('lists', () => {
      it('list returns the keys under a raw string prefix, in byte order', async (t) => {
        const s = await fresh(t);
        for (const k of ['/b', '/a/c', '/a/bc/1', '/a/b/1', '/a/b']) await s.create(k, k);
        const keys = async (p: string): Promise<string[]> => (await s.list(p)).items.map((kv) => kv.key);
        // "/a/b" is a string prefix: it matches "/a/bc/1" too. A trailing slash means a directory.
        assert.deepEqual(await keys('/a/b'), ['/a/b', '/a/b/1', '/a/bc/1']);
        assert.deepEqual(await keys('/a/b/'), ['/a/b/1']);
        assert.deepEqual(await keys(''), ['/a/b', '/a/b/1', '/a/bc/1', '/a/c', '/b']);
        assert.deepEqual(await keys('/c'), []);
        assert.equal(await s.count('/a/b'), 3);
        assert.equal(await s.count('/a/b/'), 1);
        assert.equal(await s.count(''), 5);
        const l = await s.list('/a/');
        assert.equal(l.revision, await s.currentRevision());
        assert.deepEqual(
          l.items.map((kv) => kv.value),
          ['/a/b', '/a/b/1', '/a/bc/1', '/a/c'],
        );
      });

      it('keys sort by their UTF-8 bytes, beyond ASCII too', async (t) => {
        const s = await fresh(t);
        // UTF-8 order: z (7a) < é (c3 a9) < U+FFFF (ef bf bf) < 😀 (f0 9f 98 80); UTF-16 order differs.
        for (const k of ['/u/😀', '/u/\uffff', '/u/é', '/u/z', '/u/é/x']) await s.create(k, 'v');
        assert.deepEqual(
          (await s.list('/u/')).items.map((kv) => kv.key),
          ['/u/z', '/u/é', '/u/é/x', '/u/\uffff', '/u/😀'],
        );
        assert.deepEqual(
          (await s.list('/u/é')).items.map((kv) => kv.key),
          ['/u/é', '/u/é/x'],
        );
        const page = await s.list('/u/', { limit: 2 });
        assert.deepEqual(
          page.items.map((kv) => kv.key),
          ['/u/z', '/u/é'],
        );
        assert.equal(page.remaining, 3);
      });

      it('list pages with limit and startKey, reporting more and remaining', async (t) => {
        const s = await fresh(t);
        const all: string[] = [];
        for (let i = 0; i < 25; i++) {
          const k = `/p/${String(i).padStart(2, '0')}`;
          all.push(k);
          await s.create(k, String(i));
        }
        await s.create('/q/outside', 'x');
        const p1 = await s.list('/p/', { limit: 10 });
        assert.deepEqual(
          p1.items.map((kv) => kv.key),
          all.slice(0, 10),
        );
        assert.equal(p1.more, true);
        assert.equal(p1.remaining, 15);
        const p2 = await s.list('/p/', { limit: 10, startKey: p1.items.at(-1)!.key + '\0' });
        assert.deepEqual(
          p2.items.map((kv) => kv.key),
          all.slice(10, 20),
        );
        assert.equal(p2.remaining, 5);
        const p3 = await s.list('/p/', { limit: 10, startKey: p2.items.at(-1)!.key + '\0' });
        assert.deepEqual(
          p3.items.map((kv) => kv.key),
          all.slice(20),
        );
        assert.equal(p3.more, false);
        const exact = await s.list('/p/', { limit: 25 });
        assert.equal(exact.items.length, 25);
        assert.equal(exact.more, false);
        assert.equal((await s.list('/p/', { limit: 0 })).items.length, 25);
        assert.deepEqual(
          (await s.list('/p/', { startKey: '/p/23' })).items.map((kv) => kv.key),
          ['/p/23', '/p/24'],
        );
        // A start key before the prefix starts at the prefix; one past it finds nothing.
        assert.equal((await s.list('/p/', { startKey: '/a' })).items.length, 25);
        assert.deepEqual((await s.list('/p/', { startKey: '/p0' })).items, []);
      });

      it('list at an older revision returns the state as of that revision', async (t) => {
        const s = await fresh(t);
        const a1 = await s.create('/s/a', 'a1');
        const b1 = await s.create('/s/b', 'b1');
        const c1 = await s.create('/s/c', 'c1');
        const r1 = await s.currentRevision();
        await s.update('/s/a', 'a2');
        await s.delete('/s/b');
        await s.create('/s/d', 'd1');
        await s.delete('/s/c');
        await s.create('/s/c', 'c2');
        await s.create('/s/b', 'b2');
        const old = await s.list('/s/', { revision: r1 });
        assert.equal(old.revision, r1);
        assert.deepEqual(old.items, [a1, b1, c1]);
        assert.equal(old.more, false);
        // Paging at the old revision: one key at a time, with the old count of what follows.
        const pages: KeyValue[] = [];
        const remainings: (number | undefined)[] = [];
        let startKey: string | undefined;
        for (;;) {
          const p = await s.list('/s/', { revision: r1, limit: 1, ...(startKey === undefined ? {} : { startKey }) });
          pages.push(...p.items);
          remainings.push(p.remaining);
          if (!p.more) break;
          startKey = p.items.at(-1)!.key + '\0';
          // Writes between pages change nothing in the snapshot.
          await s.update('/s/a', `a-${pages.length}`);
        }
        assert.deepEqual(pages, [a1, b1, c1]);
        assert.deepEqual(remainings, [2, 1, undefined]);
        const now = await s.list('/s/');
        assert.deepEqual(
          now.items.map((kv) => [kv.key, kv.value]),
          [
            ['/s/a', 'a-2'],
            ['/s/b', 'b2'],
            ['/s/c', 'c2'],
            ['/s/d', 'd1'],
          ],
        );
        assert.deepEqual((await s.list('/s/', { revision: now.revision })).items, now.items);
        assert.deepEqual((await s.list('/s/', { revision: a1.modRevision })).items, [a1]);
        await rejectsWith(s.list('/s/', { revision: now.revision + 100 }), 'FutureRevision');
      });
    });

    describe('transactions', () => {
      it('a transaction applies every operation at one new revision', async (t) => {
        const s = await fresh(t);
        const y = await s.create('/t/y', 'y1');
        await s.create('/t/z', 'z1');
        const before = await s.currentRevision();
        const c = collector();
        const w = await s.watch('/t/', before, c.callbacks);
        t.after(() => w.stop());
        const res = await s.txn([
          { op: 'create', key: '/t/x', value: 'x1' },
          { op: 'update', key: '/t/y', value: 'y2', expectedModRevision: y.modRevision },
          { op: 'delete', key: '/t/z' },
        ]);
        assert.equal(res.revision, before + 1);
        assert.deepEqual(res.results, [
          { key: '/t/x', value: 'x1', createRevision: before + 1, modRevision: before + 1 },
          { key: '/t/y', value: 'y2', createRevision: y.createRevision, modRevision: before + 1 },
          { key: '/t/z', value: 'z1', createRevision: before, modRevision: before + 1 },
        ]);
        assert.equal(await s.currentRevision(), before + 1);
        await waitUntil('the three events arrive', () => c.events.length === 3);
        assert.equal(c.batches.length, 1, 'the events of one transaction arrive together');
        assert.deepEqual(
          c.events.map((e) => [e.type, key(e), rev(e)]),
          [
            ['PUT', '/t/x', before + 1],
            ['PUT', '/t/y', before + 1],
            ['DELETE', '/t/z', before + 1],
          ],
        );
      });

      it('a transaction with a failing operation writes nothing and keeps the revision', async (t) => {
        const s = await fresh(t);
        const y = await s.create('/t/y', 'y1');
        const before = await s.currentRevision();
        const err = await rejectsWith(
          s.txn([
            { op: 'create', key: '/t/new', value: 'n' },
            { op: 'update', key: '/t/y', value: 'y2', expectedModRevision: y.modRevision - 1 },
            { op: 'delete', key: '/t/missing' },
          ]),
          'Conflict',
        );
        assert.equal(err.key, '/t/y');
        assert.deepEqual(err.current, y);
        assert.equal(await s.get('/t/new'), undefined);
        assert.deepEqual(await s.get('/t/y'), y);
        assert.equal(await s.currentRevision(), before);
        // The first failing operation names the error.
        const first = await rejectsWith(
          s.txn([
            { op: 'delete', key: '/t/missing' },
            { op: 'create', key: '/t/y', value: 'again' },
          ]),
          'NotFound',
        );
        assert.equal(first.key, '/t/missing');
        const z = await s.create('/t/z', 'z');
        const exists = await rejectsWith(
          s.txn([
            { op: 'update', key: '/t/y', value: 'ok' },
            { op: 'create', key: '/t/y2', value: 'ok' },
            { op: 'create', key: '/t/z', value: 'again' },
          ]),
          'KeyExists',
        );
        assert.equal(exists.key, '/t/z');
        assert.deepEqual(exists.current, z);
        assert.deepEqual(await s.get('/t/y'), y);
        assert.equal(await s.get('/t/y2'), undefined);
        assert.equal(await s.currentRevision(), before + 1);
      });

      it('a transaction without operations, or naming a key twice, is refused', async (t) => {
        const s = await fresh(t);
        await s.create('/t/a', 'a');
        const before = await s.currentRevision();
        await assert.rejects(s.txn([]));
        await assert.rejects(
          s.txn([
            { op: 'update', key: '/t/a', value: 'b' },
            { op: 'delete', key: '/t/a' },
          ]),
        );
        assert.equal(await s.currentRevision(), before);
        assert.equal((await s.get('/t/a'))?.value, 'a');
      });

      it('revisions advance by exactly one per transaction', async (t) => {
        const s = await fresh(t);
        let last = await s.currentRevision();
        for (let i = 0; i < 20; i++) {
          const r = (await s.txn([{ op: 'create', key: `/r/${i}`, value: 'v' }])).revision;
          assert.equal(r, last + 1);
          last = r;
        }
        await rejectsWith(s.create('/r/0', 'v'), 'KeyExists');
        assert.equal(await s.currentRevision(), last);
      });
    });

    describe('watches', () => {
      it('watch replays the changes after a revision, then delivers live ones', async (t) => {
        const s = await fresh(t);
        const a1 = await s.create('/w/a', 'a1');
        const a2 = await s.update('/w/a', 'a2');
        const b1 = await s.create('/w/b', 'b1');
        const c = collector();
        const w = await s.watch('/w/', a1.modRevision, c.callbacks);
        t.after(() => w.stop());
        const bGone = await s.delete('/w/b');
        const a3 = await s.update('/w/a', 'a3');
        await waitUntil('four events arrive', () => c.events.length >= 4);
        assert.deepEqual(c.events, [
          { type: 'PUT', kv: a2, prev: a1 },
          { type: 'PUT', kv: b1 },
          { type: 'DELETE', prev: b1, modRevision: bGone.modRevision },
          { type: 'PUT', kv: a3, prev: a2 },
        ]);
        assert.deepEqual(c.errors, []);
      });

      it('watch from the current revision delivers only new changes; from a later one, only changes past it', async (t) => {
        const s = await fresh(t);
        await s.create('/w/old', 'x');
        const now = await s.currentRevision();
        const fromNow = collector();
        const fromLater = collector();
        const w1 = await s.watch('/w/', now, fromNow.callbacks);
        const w2 = await s.watch('/w/', now + 2, fromLater.callbacks);
        t.after(() => {
          w1.stop();
          w2.stop();
        });
        for (let i = 0; i < 4; i++) await s.create(`/w/${i}`, 'v');
        await settle(s, '/w/', now + 4);
        assert.deepEqual(
          fromNow.events.map(rev),
          [now + 1, now + 2, now + 3, now + 4],
        );
        assert.deepEqual(
          fromLater.events.map(rev),
          [now + 3, now + 4],
        );
      });

      it('watch sees only keys under its prefix, a raw string prefix', async (t) => {
        const s = await fresh(t);
        const base = await s.currentRevision();
        const dir = collector();
        const str = collector();
        const w1 = await s.watch('/a/b/', base, dir.callbacks);
        const w2 = await s.watch('/a/b', base, str.callbacks);
        t.after(() => {
          w1.stop();
          w2.stop();
        });
        await s.create('/a/b', '0');
        await s.create('/a/b/1', '1');
        await s.create('/a/bc/2', '2');
        await s.create('/a/c', '3');
        await s.create('/a/b/4', '4');
        await settle(s, '', base + 5);
        assert.deepEqual(
          dir.events.map(key),
          ['/a/b/1', '/a/b/4'],
        );
        assert.deepEqual(
          str.events.map(key),
          ['/a/b', '/a/b/1', '/a/bc/2', '/a/b/4'],
        );
      });

      it('watch delivers every change exactly once and in order under concurrent writers', async (t) => {
        const s = await fresh(t);
        const writers = opts.writers ?? 4;
        const perWriter = opts.writesPerWriter ?? 500;
        const base = await s.currentRevision();
        interface Written {
          rev: number;
          key: string;
          type: 'PUT' | 'DELETE';
          value: string | undefined;
        }
        const written: Written[] = [];
        const watchers: { after: number; prefix: string; c: Collector; w: Watch }[] = [];
        t.after(() => watchers.forEach((x) => x.w.stop()));
        const startWatch = async (prefix: string, after: number): Promise<void> => {
          const c = collector();
          const w = await s.watch(prefix, after, c.callbacks);
          watchers.push({ after, prefix, c, w });
        };
        await startWatch('/c/', base);
        await startWatch('/c/w1/', base);
        const writer = async (n: number): Promise<void> => {
          const present = new Set<string>();
          for (let i = 0; i < perWriter; i++) {
            const k = `/c/w${n}/k${i % 10}`;
            const value = `w${n}-${i}`;
            let r: number;
            let type: 'PUT' | 'DELETE' = 'PUT';
            if (!present.has(k)) {
              r = (await s.create(k, value)).modRevision;
              present.add(k);
            } else if (i % 3 === 0) {
              r = (await s.delete(k)).modRevision;
              present.delete(k);
              type = 'DELETE';
            } else {
              r = (await s.update(k, value)).modRevision;
            }
            written.push({ rev: r, key: k, type, value: type === 'PUT' ? value : undefined });
            // Start watches mid-stream: from "now", and from an acknowledged revision in the past.
            if (n === 0 && i % Math.max(1, Math.floor(perWriter / 5)) === 7) {
              await startWatch('/c/', await s.currentRevision());
              await startWatch('/c/', written[Math.floor(written.length / 2)].rev);
              await startWatch('/c/w2/', r);
            }
          }
        };
        await Promise.all(Array.from({ length: writers }, (_, n) => writer(n)));
        await startWatch('/c/', base);
        written.sort((a, b) => a.rev - b.rev);
        assert.equal(written.length, writers * perWriter);
        for (let i = 0; i < written.length; i++) assert.equal(written[i].rev, base + 1 + i, 'every write has its own revision, no gaps');
        for (const x of watchers) {
          const want = written.filter((e) => e.rev > x.after && e.key.startsWith(x.prefix));
          const lastWanted = want.at(-1)?.rev ?? 0;
          // Until it has them all, or has passed the last one (then the comparison shows what is off).
          await waitUntil(`watcher from ${x.after} on ${x.prefix} has ${want.length} events`, () => x.c.events.length >= want.length || x.c.events.some((e) => rev(e) >= lastWanted));
          const got = x.c.events.map((e) => ({ rev: rev(e), key: key(e), type: e.type, value: e.type === 'PUT' ? e.kv.value : undefined }));
          assert.deepEqual(got, want, `watcher from ${x.after} on ${x.prefix}`);
          assert.deepEqual(x.c.errors, []);
        }
        // Nothing more trickles in afterwards (no duplicate delivered late).
        await settle(s, '/c/', written.at(-1)!.rev);
        for (const x of watchers) {
          assert.equal(x.c.events.length, written.filter((e) => e.rev > x.after && e.key.startsWith(x.prefix)).length);
        }
      });

      it('a hundred watchers on one prefix each receive every event', async (t) => {
        const s = await fresh(t);
        const base = await s.currentRevision();
        const cs: Collector[] = [];
        const ws: Watch[] = [];
        t.after(() => ws.forEach((w) => w.stop()));
        for (let i = 0; i < 100; i++) {
          const c = collector();
          cs.push(c);
          ws.push(await s.watch('/f/', base, c.callbacks));
        }
        for (let i = 0; i < 50; i++) await s.create(`/f/${i}`, String(i));
        await waitUntil('every watcher has 50 events', () => cs.every((c) => c.events.length >= 50));
        for (const c of cs) {
          assert.deepEqual(
            c.events.map(rev),
            Array.from({ length: 50 }, (_, i) => base + 1 + i),
          );
        }
      });

      if (opts.progress !== false) {
        it('a watch reports progress, and only up to revisions whose changes it has had', async (t) => {
          const s = await fresh(t);
          const base = await s.currentRevision();
          const heard: ({ events: number[] } | { progress: number })[] = [];
          const w = await s.watch('/pa/', base, {
            onEvents: (evs) => heard.push({ events: evs.map(rev) }),
            onProgress: (r) => heard.push({ progress: r }),
          });
          t.after(() => w.stop());
          const mine: number[] = [];
          for (let i = 0; i < 30; i++) {
            if (i % 3 === 0) mine.push((await s.create(`/pa/${i}`, 'v')).modRevision);
            else await s.create(`/pb/${i}`, 'v');
          }
          const last = await s.currentRevision();
          assert.ok(mine.at(-1)! < last, 'the last writes are under another prefix');
          await waitUntil('progress reaches the last write', () => heard.some((h) => 'progress' in h && h.progress >= last));
          const delivered = new Set<number>();
          let progress = base;
          for (const h of heard) {
            if ('events' in h) {
              h.events.forEach((r) => delivered.add(r));
              continue;
            }
            assert.ok(h.progress > progress, 'progress only moves forward');
            progress = h.progress;
            for (const r of mine) if (r <= h.progress) assert.ok(delivered.has(r), `progress ${h.progress} came before the event at ${r}`);
          }
          assert.deepEqual([...delivered], mine);
        });
      }

      it('stop() ends delivery', async (t) => {
        const s = await fresh(t);
        const c = collector();
        const w = await s.watch('/x/', await s.currentRevision(), c.callbacks);
        const kv = await s.create('/x/1', '1');
        await waitUntil('the first event arrives', () => c.events.length === 1);
        w.stop();
        w.stop();
        const kv2 = await s.create('/x/2', '2');
        await settle(s, '/x/', kv2.modRevision);
        assert.deepEqual(c.events.map(rev), [kv.modRevision]);
        assert.deepEqual(c.errors, []);
      });
    });

    describe('compaction', () => {
      it('compaction discards history: watches and lists from before it fail with Compacted', async (t) => {
        const s = await fresh(t);
        const a1 = await s.create('/k/a', 'a1');
        const b1 = await s.create('/k/b', 'b1');
        const a2 = await s.update('/k/a', 'a2');
        const c1 = await s.create('/k/c', 'c1');
        const r = await s.currentRevision();
        const a3 = await s.update('/k/a', 'a3');
        const bGone = await s.delete('/k/b');
        const before = await s.compactRevision();
        assert.ok(before < r);
        await s.compact(r);
        assert.equal(await s.compactRevision(), r);
        const w = await rejectsWith(() => s.watch('/k/', r - 1, { onEvents: () => {} }), 'Compacted');
        assert.equal(w.compactRevision, r);
        const l = await rejectsWith(s.list('/k/', { revision: a1.modRevision }), 'Compacted');
        assert.equal(l.compactRevision, r);
        // History after the compacted revision is intact.
        const c = collector();
        const ok = await s.watch('/k/', r, c.callbacks);
        t.after(() => ok.stop());
        await waitUntil('the two later events arrive', () => c.events.length === 2);
        assert.deepEqual(c.events[0], { type: 'PUT', kv: a3, prev: a2 });
        assert.deepEqual(c.events[1], { type: 'DELETE', prev: b1, modRevision: bGone.modRevision });
        // The state at the compacted revision can still be listed.
        assert.deepEqual(
          (await s.list('/k/', { revision: r })).items.map((kv) => [kv.key, kv.value]),
          [
            ['/k/a', 'a2'],
            ['/k/b', 'b1'],
            ['/k/c', 'c1'],
          ],
        );
        assert.deepEqual((await s.list('/k/', { revision: r })).items[2], c1);
        // Compacting to an older revision again changes nothing; to a future one is refused.
        await s.compact(r - 1);
        assert.equal(await s.compactRevision(), r);
        await rejectsWith(s.compact((await s.currentRevision()) + 10), 'FutureRevision');
        // Later writes and their watches go on.
        const c2 = collector();
        const w2 = await s.watch('/k/', await s.currentRevision(), c2.callbacks);
        t.after(() => w2.stop());
        await s.update('/k/c', 'c2');
        await waitUntil('the event after compaction arrives', () => c2.events.length === 1);
      });

      it('compacting twice keeps each key at its latest version', async (t) => {
        const s = await fresh(t);
        const a = await s.create('/k2/a', 'a1');
        await s.create('/k2/b', 'b1');
        await s.delete('/k2/b');
        await s.compact(await s.currentRevision());
        await s.create('/k2/b', 'b2');
        const r = await s.currentRevision();
        const a2 = await s.update('/k2/a', 'a2');
        await s.compact(r);
        assert.deepEqual(
          (await s.list('/k2/', { revision: r })).items.map((kv) => [kv.key, kv.value]),
          [
            ['/k2/a', 'a1'],
            ['/k2/b', 'b2'],
          ],
        );
        const c = collector();
        const w = await s.watch('/k2/', r, c.callbacks);
        t.after(() => w.stop());
        await waitUntil('the update after the compaction is replayed', () => c.events.length === 1);
        assert.deepEqual(c.events[0], { type: 'PUT', kv: a2, prev: a });
      });
    });

    describe('lifecycle', () => {
      it('close ends watches with an error, and later calls fail with Closed', async () => {
        const s = await open();
        const c = collector();
        await s.watch('/', await s.currentRevision(), c.callbacks);
        await s.close();
        await waitUntil('the watch reports its end', () => c.errors.length === 1);
        await rejectsWith(s.get('/a'), 'Closed');
        await rejectsWith(s.create('/a', 'x'), 'Closed');
        await rejectsWith(s.list('/'), 'Closed');
        await rejectsWith(() => s.watch('/', 0, { onEvents: () => {} }), 'Closed');
        await s.close();
      });

      if (opts.reopen) {
        const reopen = opts.reopen;
        it('a reopened store keeps its keys and revisions, and new writes get higher revisions', async (t) => {
          let s = await open();
          t.after(() => s.close());
          const a = await s.create('/re/a', 'a');
          const b = await s.create('/re/b', 'b');
          await s.update('/re/a', 'a2');
          await s.delete('/re/b');
          const last = await s.currentRevision();
          await s.compact(b.modRevision);
          s = await reopen(s);
          assert.equal(await s.currentRevision(), last);
          assert.equal(await s.compactRevision(), b.modRevision);
          assert.deepEqual(
            (await s.list('/re/')).items.map((kv) => [kv.key, kv.value, kv.createRevision]),
            [['/re/a', 'a2', a.createRevision]],
          );
          assert.deepEqual(
            (await s.list('/re/', { revision: b.modRevision })).items.map((kv) => kv.value),
            ['a', 'b'],
          );
          await rejectsWith(() => s.watch('/re/', a.modRevision, { onEvents: () => {} }), 'Compacted');
          const c = await s.create('/re/c', 'c');
          assert.equal(c.modRevision, last + 1);
        });
      }
    });
  });
}
