import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeNftables } from './fake.ts';
import { isExists, isNotFound } from './nftables.ts';

const base = 'add table ip svcnet\nadd chain ip svcnet c\nadd map ip svcnet m { type ipv4_addr : verdict ; }\n';

test('FakeNftables applies a script atomically: a refused line leaves nothing of it', async () => {
  const nft = new FakeNftables();
  await nft.run(base);
  const before = nft.dump();
  const err = await nft.run('add element ip svcnet m { 10.0.0.1 : goto c }\ndelete element ip svcnet m { 10.0.0.2 }\n').catch((e: unknown) => e);
  assert.ok(isNotFound(err));
  assert.equal(nft.dump(), before);
});

test('FakeNftables refuses what the kernel refuses', async () => {
  const nft = new FakeNftables();
  await nft.run(base);
  await nft.run('add element ip svcnet m { 10.0.0.1 : goto c }\n');
  assert.ok(isExists(await nft.run('add element ip svcnet m { 10.0.0.1 : drop }\n').catch((e: unknown) => e)));
  await nft.run('add element ip svcnet m { 10.0.0.1 : goto c }\n'); // the same element again is fine
  assert.match(String(await nft.run('delete chain ip svcnet c\n').catch((e: unknown) => e)), /referenced/);
  assert.ok(isNotFound(await nft.run('add rule ip svcnet c goto nowhere\n').catch((e: unknown) => e)));
  assert.ok(isNotFound(await nft.run('add rule ip svcnet c ip daddr @nope drop\n').catch((e: unknown) => e)));
});

test('FakeNftables dumps sorted commands that rebuild the same state', async () => {
  const nft = new FakeNftables();
  await nft.run(`${base}add element ip svcnet m { 10.0.0.2 : drop, 10.0.0.1 : goto c }\nadd rule ip svcnet c ip daddr vmap @m\n`);
  const dump = nft.dump();
  assert.equal(
    dump,
    [
      'add table ip svcnet',
      'add chain ip svcnet c',
      'add rule ip svcnet c ip daddr vmap @m',
      'add map ip svcnet m { type ipv4_addr : verdict ; }',
      'add element ip svcnet m { 10.0.0.1 : goto c }',
      'add element ip svcnet m { 10.0.0.2 : drop }',
      '',
    ].join('\n'),
  );
  const again = new FakeNftables();
  await again.run(dump.replace('add rule ip svcnet c ip daddr vmap @m\nadd map ip svcnet m { type ipv4_addr : verdict ; }', 'add map ip svcnet m { type ipv4_addr : verdict ; }\nadd rule ip svcnet c ip daddr vmap @m'));
  assert.equal(again.dump(), dump);
});
