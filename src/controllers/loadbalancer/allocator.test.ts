import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IPAddressPoolSpec } from '../../api/validation/index.ts';
import { AllocationError, Allocator, type AllocRequest } from './allocator.ts';
import { poolsFromIPAddressPools, poolsFromLegacyConfig } from './config.ts';
import { formatAddr, parseAddr, type Addr } from './ip.ts';

function pools(specs: Record<string, IPAddressPoolSpec>) {
  return poolsFromIPAddressPools(
    Object.entries(specs).map(([name, spec]) => ({ metadata: { name, namespace: 'metallb-system' }, spec })),
    [{ metadata: { name: 'prod', labels: { env: 'prod' } } }, { metadata: { name: 'dev' } }],
  );
}

function req(key: string, over: Partial<AllocRequest> = {}): AllocRequest {
  const [namespace] = key.split('/');
  return { key, namespace: namespace, labels: {}, ports: ['TCP/80'], sharingKey: '', backendKey: '', family: 'ipv4', policy: 'SingleStack', primary: 'ipv4', ...over };
}

function ips(list: readonly Addr[]): string[] {
  return list.map(formatAddr);
}

function addrs(...xs: string[]): Addr[] {
  return xs.map((x) => parseAddr(x)!);
}

test('allocation takes the first free address of a range, in order, until the pool is exhausted', () => {
  const a = new Allocator();
  a.setPools(pools({ p: { addresses: ['192.168.1.200-192.168.1.202'] } }));
  assert.deepEqual(ips(a.allocate(req('ns/a'))), ['192.168.1.200']);
  assert.deepEqual(ips(a.allocate(req('ns/b'))), ['192.168.1.201']);
  assert.deepEqual(ips(a.allocate(req('ns/c'))), ['192.168.1.202']);
  assert.throws(() => a.allocate(req('ns/d')), new AllocationError('no available IPs'));
  a.unassign('ns/b');
  assert.deepEqual(ips(a.allocate(req('ns/d'))), ['192.168.1.201'], 'a freed address is reused');
  assert.equal(a.pool('ns/d'), 'p');
});

test('allocating again for a Service that holds addresses returns them unchanged', () => {
  const a = new Allocator();
  a.setPools(pools({ p: { addresses: ['10.0.0.0/30'] } }));
  const first = ips(a.allocate(req('ns/a')));
  assert.deepEqual(ips(a.allocate(req('ns/a'))), first);
  assert.deepEqual(a.keys(), ['ns/a']);
});

test('avoidBuggyIPs skips .0 and .255, in allocation and in explicit requests', () => {
  const a = new Allocator();
  a.setPools(pools({ p: { addresses: ['10.0.0.255-10.0.1.1'], avoidBuggyIPs: true } }));
  assert.deepEqual(ips(a.allocate(req('ns/a'))), ['10.0.1.1']);
  assert.throws(() => a.assign(req('ns/b'), addrs('10.0.1.0')), { message: '["10.0.1.0"] is not allowed in config' });
  assert.throws(() => a.allocate(req('ns/c')), { message: 'no available IPs' });
});

test('autoAssign false: never picked automatically, yet requested addresses and the pool annotation use it', () => {
  const a = new Allocator();
  a.setPools(pools({ manual: { addresses: ['10.9.0.0/30'], autoAssign: false } }));
  assert.throws(() => a.allocate(req('ns/a')), { message: 'no available IPs' });
  a.assign(req('ns/b'), addrs('10.9.0.2'));
  assert.equal(a.pool('ns/b'), 'manual');
  assert.deepEqual(ips(a.allocateFromPool(req('ns/c'), 'manual')), ['10.9.0.0']);
});

test('a requested address outside every pool is refused in MetalLB’s words', () => {
  const a = new Allocator();
  a.setPools(pools({ p: { addresses: ['10.0.0.0/30'] } }));
  assert.throws(() => a.assign(req('ns/a'), addrs('10.0.5.5')), new AllocationError('["10.0.5.5"] is not allowed in config'));
  assert.throws(() => a.allocateFromPool(req('ns/a'), 'nope'), new AllocationError('unknown pool "nope"'));
});

test('pool priorities and pinning: namespaces, namespace selectors, service selectors, then the open pools', () => {
  const a = new Allocator();
  a.setPools(
    pools({
      open: { addresses: ['10.0.0.0/30'] },
      low: { addresses: ['10.1.0.0/30'], serviceAllocation: { priority: 20, namespaces: ['prod'] } },
      high: { addresses: ['10.2.0.0/32'], serviceAllocation: { priority: 5, namespaceSelectors: [{ matchLabels: { env: 'prod' } }] } },
      web: { addresses: ['10.3.0.0/30'], serviceAllocation: { serviceSelectors: [{ matchLabels: { tier: 'web' } }] } },
      prioOnly: { addresses: ['10.4.0.0/30'], serviceAllocation: { priority: 1 } },
    }),
  );
  // prod: high (priority 5) first, then low (20), then the open pools.
  assert.deepEqual(ips(a.allocate(req('prod/a'))), ['10.2.0.0']);
  assert.deepEqual(ips(a.allocate(req('prod/b'))), ['10.1.0.0']);
  // dev: not pinned anywhere; only pools without serviceAllocation serve it.
  assert.deepEqual(ips(a.allocate(req('dev/a'))), ['10.0.0.0']);
  // A matching service selector pins the web pool.
  assert.deepEqual(ips(a.allocate(req('dev/web', { labels: { tier: 'web' } }))), ['10.3.0.0']);
  // A pool with serviceAllocation selects nobody automatically unless it pins (MetalLB as written).
  assert.equal(a.keys().some((k) => a.pool(k) === 'prioOnly'), false);
  // A pinned pool refuses Services it does not select, even when asked for its addresses.
  assert.throws(() => a.assign(req('dev/x'), addrs('10.1.0.1')), new AllocationError('pool low not compatible for ip assignment'));
});

test('sharing rules: same key, different ports or protocols, same backend key', () => {
  const rows: { name: string; first: Partial<AllocRequest>; second: Partial<AllocRequest>; error?: string }[] = [
    { name: 'same key, tcp/53 and udp/53', first: { sharingKey: 'dns', ports: ['TCP/53'] }, second: { sharingKey: 'dns', ports: ['UDP/53'] } },
    { name: 'same key, different ports', first: { sharingKey: 'k', ports: ['TCP/80'] }, second: { sharingKey: 'k', ports: ['TCP/443'] } },
    { name: 'same key, same port', first: { sharingKey: 'k', ports: ['TCP/80'] }, second: { sharingKey: 'k', ports: ['TCP/80'] }, error: 'port TCP/80 is already in use on "10.0.0.1"' },
    { name: 'different keys', first: { sharingKey: 'a' }, second: { sharingKey: 'b', ports: ['TCP/81'] }, error: 'can\'t change sharing key for "ns/second", address also in use by ns/first' },
    { name: 'no key on the first', first: {}, second: { sharingKey: 'b', ports: ['TCP/81'] }, error: 'can\'t change sharing key for "ns/second", address also in use by ns/first' },
    { name: 'no key on the second', first: { sharingKey: 'k' }, second: { ports: ['TCP/81'] }, error: 'can\'t change sharing key for "ns/second", address also in use by ns/first' },
    { name: 'ETP Local with different selectors', first: { sharingKey: 'k', backendKey: 'app=a' }, second: { sharingKey: 'k', backendKey: 'app=b', ports: ['TCP/81'] }, error: 'can\'t change sharing key for "ns/second", address also in use by ns/first' },
    { name: 'ETP Local with identical selectors', first: { sharingKey: 'k', backendKey: 'app=a' }, second: { sharingKey: 'k', backendKey: 'app=a', ports: ['TCP/81'] } },
  ];
  for (const row of rows) {
    const a = new Allocator();
    a.setPools(pools({ p: { addresses: ['10.0.0.1-10.0.0.2'] } }));
    a.assign(req('ns/first', row.first), addrs('10.0.0.1'));
    if (row.error) assert.throws(() => a.assign(req('ns/second', row.second), addrs('10.0.0.1')), new AllocationError(row.error), row.name);
    else {
      a.assign(req('ns/second', row.second), addrs('10.0.0.1'));
      assert.deepEqual(a.servicesOn('10.0.0.1'), ['ns/first', 'ns/second'], row.name);
    }
  }
});

test('a sharing Service is allocated onto an address already shared under its key', () => {
  const a = new Allocator();
  a.setPools(pools({ p: { addresses: ['10.0.0.1-10.0.0.3'] } }));
  assert.deepEqual(ips(a.allocate(req('ns/plain'))), ['10.0.0.1']);
  assert.deepEqual(ips(a.allocate(req('ns/tcp', { sharingKey: 'dns', ports: ['TCP/53'] }))), ['10.0.0.2']);
  assert.deepEqual(ips(a.allocate(req('ns/udp', { sharingKey: 'dns', ports: ['UDP/53'] }))), ['10.0.0.2']);
  assert.deepEqual(ips(a.allocate(req('ns/tcp2', { sharingKey: 'dns', ports: ['TCP/53'] }))), ['10.0.0.3'], 'a port clash moves on');
  // Freeing one user keeps the address held by the other.
  a.unassign('ns/tcp');
  assert.deepEqual(a.servicesOn('10.0.0.2'), ['ns/udp']);
  assert.throws(() => a.assign(req('ns/other'), addrs('10.0.0.2')), /address also in use by ns\/udp/);
});

test('a Service alone on its address may change its sharing key', () => {
  const a = new Allocator();
  a.setPools(pools({ p: { addresses: ['10.0.0.1/32'] } }));
  a.assign(req('ns/a', { sharingKey: 'x' }), addrs('10.0.0.1'));
  a.assign(req('ns/a', { sharingKey: 'y' }), addrs('10.0.0.1'));
  a.assign(req('ns/b', { sharingKey: 'y', ports: ['UDP/80'] }), addrs('10.0.0.1'));
  assert.deepEqual(a.servicesOn('10.0.0.1'), ['ns/a', 'ns/b']);
});

test('dual-stack: one address per family from one pool, as the family policy asks', () => {
  const a = new Allocator();
  a.setPools(pools({ v4only: { addresses: ['10.0.0.0/31'] }, dual: { addresses: ['10.1.0.0/31', 'fc00::/127'] } }));
  assert.deepEqual(ips(a.allocate(req('ns/req', { family: 'dual', policy: 'RequireDualStack' }))), ['10.1.0.0', 'fc00::']);
  assert.deepEqual(ips(a.allocate(req('ns/v6', { family: 'ipv6' }))), ['fc00::1']);
  // PreferDualStack takes both where a pool has both, else one of its primary family from the
  // first pool (by name) that has one.
  assert.deepEqual(ips(a.allocate(req('ns/pref', { family: 'dual', policy: 'PreferDualStack' }))), ['10.1.0.1']);
  assert.deepEqual(ips(a.allocate(req('ns/pref6', { family: 'dual', policy: 'PreferDualStack', primary: 'ipv6' }))), ['10.0.0.0'], 'no pool has IPv6 left: IPv4 then');
  assert.throws(() => a.allocate(req('ns/req2', { family: 'dual', policy: 'RequireDualStack' })), { message: 'no available IPs' });
  assert.throws(() => a.assign(req('ns/two'), addrs('10.0.0.1', '10.1.0.1')), { message: '["10.0.0.1" "10.1.0.1"] is not allowed in config' });
  assert.throws(() => a.assign(req('ns/two'), addrs('10.1.0.1', '10.1.0.0')), { message: '"10.1.0.1" "10.1.0.0" has the same family' });
});

test('PreferDualStack with one address gets the other family from the same pool when it can', () => {
  const a = new Allocator();
  a.setPools(pools({ dual: { addresses: ['10.1.0.0/32', 'fc00::/127'] } }));
  const r = req('ns/p', { family: 'dual', policy: 'PreferDualStack' });
  a.assign(r, addrs('10.1.0.0'));
  assert.equal(formatAddr(a.allocateAdditionalFamily(r, parseAddr('10.1.0.0')!, 'dual')), 'fc00::');
  assert.deepEqual(ips(a.ips('ns/p')), ['10.1.0.0', 'fc00::']);
  assert.throws(() => a.allocateAdditionalFamily(req('ns/q', { family: 'dual', policy: 'PreferDualStack' }), parseAddr('fc00::1')!, 'dual'), {
    message: 'no available IPs in pool dual for ipv4 IPFamily',
  });
});

test('a new configuration drops allocations no pool holds and re-homes those that moved pools', () => {
  const a = new Allocator();
  a.setPools(pools({ old: { addresses: ['10.0.0.0/30'] }, keep: { addresses: ['10.1.0.0/30'] } }));
  a.allocateFromPool(req('ns/a'), 'old');
  a.allocateFromPool(req('ns/b'), 'keep');
  const dropped = a.setPools(pools({ renamed: { addresses: ['10.1.0.0/29'] } }));
  assert.deepEqual(dropped, ['ns/a']);
  assert.equal(a.pool('ns/a'), '');
  assert.equal(a.pool('ns/b'), 'renamed');
  assert.deepEqual(ips(a.ips('ns/b')), ['10.1.0.0']);
  // The address the dropped Service held is free for anyone under the new config.
  assert.deepEqual(a.counters('renamed'), { assignedIPv4: 1, assignedIPv6: 0, availableIPv4: 7, availableIPv6: 0 });
});

test('pool counters follow MetalLB: avoidBuggyIPs takes two per /24, huge IPv6 pools never run out', () => {
  const a = new Allocator();
  a.setPools(pools({ buggy: { addresses: ['10.0.0.0/23'], avoidBuggyIPs: true }, small: { addresses: ['10.2.0.250-10.2.0.255'], avoidBuggyIPs: true }, big: { addresses: ['fc00::/64'] } }));
  a.allocateFromPool(req('ns/a'), 'buggy');
  a.allocateFromPool(req('ns/b', { family: 'ipv6' }), 'big');
  assert.deepEqual(a.counters('buggy'), { assignedIPv4: 1, assignedIPv6: 0, availableIPv4: 507, availableIPv6: 0 });
  assert.deepEqual(a.counters('small'), { assignedIPv4: 0, assignedIPv6: 0, availableIPv4: 5, availableIPv6: 0 });
  assert.deepEqual(a.counters('big'), { assignedIPv4: 0, assignedIPv6: 1, availableIPv4: 0, availableIPv6: Number.MAX_SAFE_INTEGER });
  assert.equal(a.counters('nope'), undefined);
});

test('legacy ConfigMap pools allocate the same way', () => {
  const a = new Allocator();
  a.setPools(poolsFromLegacyConfig('address-pools: [{name: default, protocol: layer2, addresses: [192.168.1.200-192.168.1.250]}]'));
  assert.deepEqual(ips(a.allocate(req('monitoring/grafana-service'))), ['192.168.1.200']);
});

test('a large pool with many addresses taken still finds a free one quickly', () => {
  const a = new Allocator();
  a.setPools(pools({ big: { addresses: ['10.0.0.0/8'] } }));
  for (let i = 0; i < 2000; i++) a.allocate(req(`ns/s${i}`));
  assert.deepEqual(ips(a.allocate(req('ns/last'))), ['10.0.7.208']);
});
