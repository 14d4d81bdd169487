import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertClosed, buildCommands, desiredRoutes, labTopology, members, namespaceOf, nodeNames, parseRoutes, routeCommands, validateLabName } from './topology.ts';

test('the lab is named as the seed names its machines, at the seed\'s addresses', () => {
  const t = labTopology('demo');
  assert.deepEqual(
    members(t).map((m) => [m.name, m.ip, m.ns]),
    [
      ['master-node', '192.168.1.100', 'svcnet-demo-master-node'],
      ['worker1', '192.168.1.101', 'svcnet-demo-worker1'],
      ['worker2', '192.168.1.102', 'svcnet-demo-worker2'],
      ['workstation', '192.168.1.10', 'svcnet-demo-workstation'],
    ],
  );
  assert.equal(t.lanNs, 'svcnet-demo-lan');
  assert.equal(t.apiServer, '192.168.1.100:6443');
  assert.deepEqual(nodeNames(5).slice(3), ['worker3', 'worker4']);
});

test('node addresses stay below the seed\'s LoadBalancer pool and interface names fit in 15 characters', () => {
  const t = labTopology('x', 100);
  assert.equal(t.nodes.at(-1)?.ip, '192.168.1.199');
  for (const m of members(t)) assert.ok(m.lanIf.length <= 15, m.lanIf);
  assert.equal(new Set(members(t).map((m) => m.lanIf)).size, members(t).length);
  assert.throws(() => labTopology('x', 101), /1 to 100/);
  assert.throws(() => labTopology('x', 0), /1 to 100/);
});

test('lab names that could share a namespace prefix with another lab are refused', () => {
  assert.throws(() => validateLabName('a-b'), /no dashes/);
  assert.throws(() => validateLabName(''), /1-16/);
  assert.throws(() => validateLabName('UPPER'), /lowercase/);
  assert.throws(() => validateLabName('a'.repeat(17)), /1-16/);
  validateLabName('lab2');
});

test('every command that builds the lab acts inside one of its namespaces', () => {
  const t = labTopology('demo');
  const cmds = buildCommands(t);
  assertClosed(t, cmds);
  for (const c of cmds) {
    const ns = c[1] === '-n' ? c[2] : c[3];
    assert.ok(ns?.startsWith('svcnet-demo-'), c.join(' '));
  }
  // veths are made in the LAN namespace with their peer put straight into the member's.
  const veth = cmds.find((c) => c.includes('veth') && c.includes('svcnet-demo-worker1'));
  assert.deepEqual(veth, ['ip', '-n', 'svcnet-demo-lan', 'link', 'add', 'v-w1', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', 'svcnet-demo-worker1']);
  // No default route anywhere, and forwarding only inside the nodes.
  assert.ok(!cmds.some((c) => c.includes('route')));
  assert.deepEqual(
    cmds.filter((c) => c.includes('sysctl')).map((c) => c[3]),
    ['svcnet-demo-master-node', 'svcnet-demo-worker1', 'svcnet-demo-worker2'],
  );
});

test('a command outside the lab\'s namespaces is refused', () => {
  const t = labTopology('demo');
  assert.throws(() => assertClosed(t, [['ip', 'route', 'add', 'default', 'via', '192.168.1.1']]), /refusing/);
  assert.throws(() => assertClosed(t, [['ip', '-n', 'svcnet-other-lan', 'link', 'set', 'br0', 'up']]), /refusing/);
  assert.throws(() => assertClosed(t, [['ip', 'link', 'add', 'x', 'type', 'veth']]), /refusing/);
  assert.throws(() => assertClosed(t, [['nft', '-f', '-']]), /refusing/);
});

test('members are found by the names a user types', () => {
  const t = labTopology('demo');
  assert.equal(namespaceOf(t, 'worker2'), 'svcnet-demo-worker2');
  assert.equal(namespaceOf(t, 'workstation'), 'svcnet-demo-workstation');
  assert.equal(namespaceOf(t, 'lan'), 'svcnet-demo-lan');
  assert.equal(namespaceOf(t, 'worker9'), undefined);
});

test('each node routes the other nodes\' pod CIDRs via their LAN addresses', () => {
  const t = labTopology('demo');
  const cidrs = new Map([
    ['master-node', '10.244.0.0/24'],
    ['worker1', '10.244.1.0/24'],
    ['worker2', '10.244.2.0/24'],
  ]);
  const want = desiredRoutes(t, cidrs);
  assert.deepEqual(want.get('svcnet-demo-worker1'), [
    { dst: '10.244.0.0/24', via: '192.168.1.100' },
    { dst: '10.244.2.0/24', via: '192.168.1.102' },
  ]);
  // A node without a podCIDR yet gets no route to it.
  assert.deepEqual(desiredRoutes(t, new Map([['worker2', '10.244.2.0/24']])).get('svcnet-demo-worker2'), []);
});

test('route changes replace what is missing and delete what is stale, nothing else', () => {
  const ns = 'svcnet-demo-worker1';
  const cmds = routeCommands(
    ns,
    [
      { dst: '10.244.0.0/24', via: '192.168.1.100' },
      { dst: '10.244.9.0/24', via: '192.168.1.109' },
    ],
    [
      { dst: '10.244.0.0/24', via: '192.168.1.100' },
      { dst: '10.244.2.0/24', via: '192.168.1.102' },
    ],
  );
  assert.deepEqual(cmds, [
    ['ip', '-n', ns, 'route', 'del', '10.244.9.0/24', 'via', '192.168.1.109', 'proto', 'static'],
    ['ip', '-n', ns, 'route', 'replace', '10.244.2.0/24', 'via', '192.168.1.102', 'dev', 'eth0', 'proto', 'static'],
  ]);
  assert.deepEqual(routeCommands(ns, [{ dst: '10.244.0.0/24', via: '192.168.1.100' }], [{ dst: '10.244.0.0/24', via: '192.168.1.100' }]), []);
});

test('routes are read from ip -j output', () => {
  assert.deepEqual(parseRoutes(''), []);
  assert.deepEqual(
    parseRoutes('[{"dst":"10.244.2.0/24","gateway":"192.168.1.102","dev":"eth0","protocol":"static","flags":[]},{"dst":"192.168.1.0/24","dev":"eth0","flags":[]}]'),
    [{ dst: '10.244.2.0/24', via: '192.168.1.102' }],
  );
});
