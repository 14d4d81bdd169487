import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { logger } from '../../util/index.ts';
import { LivenessTable, PeerLiveness, decodeHeartbeat, encodeHeartbeat, type Peer } from './liveness.ts';

test('a peer counts as alive while it was heard from within the dead-after window', () => {
  const t = new LivenessTable();
  t.heard('worker1', 1000);
  t.heard('worker2', 3000);
  assert.deepEqual([...t.alive(4000, 3000)].sort(), ['worker1', 'worker2']);
  assert.deepEqual([...t.alive(4001, 3000)], ['worker2']);
  t.forget(new Set(['worker1']));
  assert.deepEqual([...t.alive(3000, 3000)], ['worker1']);
});

test('heartbeats carry the sender\'s node name and nothing else is taken for one', () => {
  assert.equal(decodeHeartbeat(encodeHeartbeat('worker1')), 'worker1');
  for (const junk of ['', 'hello', '{"node":"worker1"}', '{"svcnet-l2":1,"node":""}', '{"svcnet-l2":2,"node":"w"}']) assert.equal(decodeHeartbeat(Buffer.from(junk)), undefined, junk);
});

async function freePort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('announcers on loopback addresses hear each other after warm-up, and one that stops is dead after the window', async () => {
  const port = await freePort();
  const peers: Peer[] = [
    { name: 'a', addresses: ['127.0.0.21'] },
    { name: 'b', addresses: ['127.0.0.22'] },
    { name: 'c', addresses: ['127.0.0.23'] },
  ];
  const changes = { a: 0, b: 0 };
  const start = (name: 'a' | 'b', addr: string) =>
    PeerLiveness.start({ nodeName: name, bindAddress: addr, port, peers: () => peers, onChange: () => changes[name]++, intervalMs: 50, deadAfterMs: 300, warmupMs: 120, log: logger('liveness-test') });
  const a = await start('a', '127.0.0.21');
  const b = await start('b', '127.0.0.22');
  try {
    assert.equal(a.alive(), undefined, 'warming up: does not know yet');
    await sleep(250);
    assert.deepEqual([...(a.alive() ?? [])].sort(), ['a', 'b'], 'c never spoke');
    assert.deepEqual([...(b.alive() ?? [])].sort(), ['a', 'b']);
    assert.ok(changes.a >= 1);
    const before = changes.a;
    await b.stop();
    await sleep(450);
    assert.deepEqual([...(a.alive() ?? [])], ['a']);
    assert.ok(changes.a > before, 'told when b went');
  } finally {
    await a.stop();
    await b.stop();
  }
});

test('a heartbeat naming a node from an address that is not the node\'s is ignored', async () => {
  const port = await freePort();
  const peers: Peer[] = [
    { name: 'a', addresses: ['127.0.0.31'] },
    { name: 'b', addresses: ['127.0.0.32'] },
  ];
  const a = await PeerLiveness.start({ nodeName: 'a', bindAddress: '127.0.0.31', port, peers: () => peers, onChange: () => {}, intervalMs: 50, deadAfterMs: 300, warmupMs: 50, log: logger('liveness-test') });
  const liar = createSocket('udp4');
  await new Promise<void>((r) => liar.bind(0, '127.0.0.33', () => r()));
  try {
    for (let i = 0; i < 5; i++) {
      liar.send(encodeHeartbeat('b'), port, '127.0.0.31');
      await sleep(30);
    }
    assert.deepEqual([...(a.alive() ?? [])], ['a']);
  } finally {
    liar.close();
    await a.stop();
  }
});
