import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IPAddressPool, L2Advertisement } from '../../api/validation/index.ts';
import { l2AdvertisementsForPool, l2Leader, type L2Node } from './l2.ts';

const seedNodes: L2Node[] = [
  { name: 'master-node', ready: true },
  { name: 'worker1', ready: true },
  { name: 'worker2', ready: true },
];

// Expected leaders from `printf 'worker1#192.168.1.200' | sha256sum` and so on: the node whose
// sha256(name + "#" + address) is smallest.
test('the leader is the ready node with the smallest sha256 of name#address', () => {
  assert.equal(l2Leader('192.168.1.200', seedNodes), 'master-node'); // 7d3f… < 8f43… < fa95…
  assert.equal(l2Leader('192.168.1.201', seedNodes), 'worker1'); // 7457… < 91c4… < 9809…
  assert.equal(l2Leader('fc00::1', seedNodes), 'worker2'); // 097b… first
});

test('the choice does not depend on the order of the nodes or the spelling of the address', () => {
  assert.equal(l2Leader('192.168.1.200', [...seedNodes].reverse()), 'master-node');
  assert.equal(l2Leader('FC00:0:0::1', seedNodes), 'worker2');
});

test('nodes that are not ready never lead; losing a non-leader never moves the address', () => {
  assert.equal(l2Leader('192.168.1.200', [{ name: 'master-node', ready: false }, ...seedNodes.slice(1)]), 'worker1');
  assert.equal(l2Leader('192.168.1.200', seedNodes.filter((n) => n.name !== 'worker2')), 'master-node');
  assert.equal(l2Leader('192.168.1.200', seedNodes.map((n) => ({ ...n, ready: false }))), undefined);
  assert.equal(l2Leader('192.168.1.200', []), undefined);
});

test('L2Advertisements cover pools by name, by label selector, or all pools when they name none', () => {
  const pool: IPAddressPool = { metadata: { name: 'default', namespace: 'metallb-system', labels: { zone: 'a' } }, spec: { addresses: ['192.168.1.200-192.168.1.250'] } };
  const ad = (name: string, spec: L2Advertisement['spec']): L2Advertisement => ({ metadata: { name, namespace: 'metallb-system' }, spec });
  const ads = [
    ad('by-name', { ipAddressPools: ['default'] }),
    ad('other-name', { ipAddressPools: ['other'] }),
    ad('by-label', { ipAddressPoolSelectors: [{ matchLabels: { zone: 'a' } }] }),
    ad('other-label', { ipAddressPoolSelectors: [{ matchLabels: { zone: 'b' } }] }),
    ad('all', {}),
  ];
  assert.deepEqual(
    l2AdvertisementsForPool(pool, ads).map((a) => a.metadata?.name),
    ['by-name', 'by-label', 'all'],
  );
  assert.deepEqual(l2AdvertisementsForPool(pool, [ads[1]]), [], 'a pool no advertisement covers is never announced');
});
