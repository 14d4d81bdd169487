import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { ConfigMap, Namespace } from 'kubernetes-types/core/v1.js';
import { parse as parseYaml } from 'yaml';
import type { IPAddressPool, IPAddressPoolSpec } from '../../api/validation/index.ts';
import { buildPools, loopbackPoolName, poolsFingerprint, poolsFromIPAddressPools, poolsFromLegacyConfig, type Pools } from './config.ts';
import { formatPrefix } from './ip.ts';

const examples = new URL('../../../examples/', import.meta.url);

function pool(name: string, spec: IPAddressPoolSpec, labels?: Record<string, string>): IPAddressPool {
  return { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name, namespace: 'metallb-system', labels }, spec };
}

function ns(name: string, labels: Record<string, string> = {}): Namespace {
  return { metadata: { name, labels } };
}

function cm(config: string): ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config', namespace: 'metallb-system' }, data: { config } };
}

function summary(p: Pools): Record<string, string[]> {
  return Object.fromEntries([...p.byName.values()].map((x) => [x.name, x.prefixes.map(formatPrefix)]));
}

test('the seed’s legacy ConfigMap (examples/06) gives the pool 192.168.1.200-250', () => {
  const obj = parseYaml(readFileSync(new URL('06-metallb-legacy-configmap.yaml', examples), 'utf8')) as ConfigMap;
  const p = poolsFromLegacyConfig(obj.data!.config);
  assert.equal(p.source, 'ConfigMap');
  const d = p.byName.get('default')!;
  assert.equal(d.autoAssign, true);
  assert.equal(d.avoidBuggyIPs, false);
  assert.equal(formatPrefix(d.prefixes[0]), '192.168.1.200/29');
  assert.equal(formatPrefix(d.prefixes.at(-1)!), '192.168.1.250/32');
});

test('the seed’s IPAddressPool (examples/07) gives the same pool', () => {
  const docs = readFileSync(new URL('07-metallb-ipaddresspool.yaml', examples), 'utf8').split(/^---$/m).map((d) => parseYaml(d) as IPAddressPool);
  const p = poolsFromIPAddressPools(docs.filter((d) => d.kind === 'IPAddressPool'), []);
  assert.equal(p.source, 'IPAddressPool');
  assert.deepEqual(summary(p), summary(poolsFromLegacyConfig(['address-pools:', '- name: default', '  protocol: layer2', '  addresses: [192.168.1.200-192.168.1.250]'].join('\n'))));
});

test('legacy pool options auto-assign and avoid-buggy-ips are read', () => {
  const p = poolsFromLegacyConfig(['address-pools:', '- name: a', '  protocol: bgp', '  auto-assign: false', '  avoid-buggy-ips: true', '  addresses: [10.0.0.0/24]'].join('\n'));
  const a = p.byName.get('a')!;
  assert.equal(a.autoAssign, false);
  assert.equal(a.avoidBuggyIPs, true);
});

test('bad legacy configs are refused in MetalLB’s words', () => {
  const cases: [string, string][] = [
    ['address-pools:\n- name: a\n  addresses: [10.0.0.0/24]', 'parsing address pool #1: address pool is missing the protocol field'],
    ['address-pools:\n- name: a\n  protocol: arp\n  addresses: [10.0.0.0/24]', 'parsing address pool #1: unknown protocol "arp"'],
    ['address-pools:\n- protocol: layer2\n  addresses: [10.0.0.0/24]', 'parsing address pool #1: missing pool name'],
    ['address-pools:\n- name: a\n  protocol: layer2', 'parsing address pool #1: pool has no prefixes defined'],
    ['address-pools:\n- name: a\n  protocol: layer2\n  addresses: [10.0.0.0/33]', 'parsing address pool #1: invalid CIDR "10.0.0.0/33" in pool "a": invalid CIDR "10.0.0.0/33"'],
    ['address-pools:\n- name: a\n  protocol: layer2\n  addresses: [10.0.0.0/24]\n- name: a\n  protocol: layer2\n  addresses: [10.0.1.0/24]', 'duplicate definition of pool "a"'],
    ['address-pools:\n- name: a\n  protocol: layer2\n  addresses: [10.0.0.0/24]\n- name: b\n  protocol: layer2\n  addresses: [10.0.0.10-10.0.0.20]', 'CIDR "10.0.0.10/31" in pool "b" overlaps with already defined CIDR "10.0.0.0/24"'],
    ['address-pool:\n- name: a', 'could not parse config: field address-pool not found in type config.configFile'],
    ['address-pools: [{name: a, protocol: layer2, adresses: [10.0.0.0/24]}]', 'could not parse config: field adresses not found in type config.addressPool'],
    ['address-pools: [', 'could not parse config:'],
  ];
  for (const [text, msg] of cases) {
    assert.throws(() => poolsFromLegacyConfig(text), (e: Error) => e.message.startsWith(msg), text);
  }
});

test('IPAddressPools: defaults, serviceAllocation by namespace, namespace selector and service selector', () => {
  const p = poolsFromIPAddressPools(
    [
      pool('plain', { addresses: ['10.0.0.0/28'] }),
      pool('team', { addresses: ['10.0.1.0/28'], serviceAllocation: { priority: 10, namespaces: ['a'], namespaceSelectors: [{ matchLabels: { team: 'x' } }] } }),
      pool('web', { addresses: ['10.0.2.0/28'], serviceAllocation: { serviceSelectors: [{ matchLabels: { tier: 'web' } }] } }),
    ],
    [ns('a'), ns('b', { team: 'x' }), ns('c', { team: 'y' })],
  );
  assert.equal(p.byName.get('plain')!.autoAssign, true);
  assert.equal(p.byName.get('plain')!.serviceAllocation, undefined);
  assert.deepEqual([...p.byName.get('team')!.serviceAllocation!.namespaces].sort(), ['a', 'b']);
  assert.deepEqual(p.byNamespace.get('a'), ['team']);
  assert.deepEqual(p.byNamespace.get('b'), ['team']);
  assert.equal(p.byNamespace.get('c'), undefined);
  assert.deepEqual(p.byServiceSelector, ['web']);
});

test('overlapping IPAddressPools are refused, naming the later pool', () => {
  assert.throws(
    () => poolsFromIPAddressPools([pool('b', { addresses: ['10.0.0.0/24'] }), pool('a', { addresses: ['10.0.0.0/16'] })], []),
    (e: Error & { pool?: string }) => e.message === 'CIDR "10.0.0.0/24" in pool "b" overlaps with already defined CIDR "10.0.0.0/16"' && e.pool === 'b',
  );
  assert.throws(() => poolsFromIPAddressPools([pool('a', { addresses: [] })], []), { message: 'parsing address pool a: pool has no prefixes defined' });
});

test('IPAddressPools win over the legacy ConfigMap, which is then reported as ignored', () => {
  const r = buildPools({ ipAddressPools: [pool('crd', { addresses: ['10.0.0.0/28'] })], configMap: cm('address-pools: [{name: legacy, protocol: layer2, addresses: [10.1.0.0/28]}]'), namespaces: [], mode: 'netns' });
  assert.ok(r.ok);
  assert.deepEqual([...r.pools.byName.keys()], ['crd']);
  assert.match(r.notes[0], /ConfigMap metallb-system\/config is ignored/);
});

test('without IPAddressPools the ConfigMap is used; without either, host mode gets the loopback pool and netns none', () => {
  const legacy = buildPools({ ipAddressPools: [], configMap: cm('address-pools: [{name: legacy, protocol: layer2, addresses: [10.1.0.0/28]}]'), namespaces: [], mode: 'host' });
  assert.ok(legacy.ok);
  assert.deepEqual([...legacy.pools.byName.keys()], ['legacy']);
  const host = buildPools({ ipAddressPools: [], namespaces: [], mode: 'host' });
  assert.ok(host.ok);
  assert.equal(host.pools.source, 'default');
  assert.deepEqual(summary(host.pools), { [loopbackPoolName]: ['127.240.0.0/24'] });
  const netns = buildPools({ ipAddressPools: [], namespaces: [], mode: 'netns' });
  assert.ok(netns.ok);
  assert.equal(netns.pools.byName.size, 0);
});

test('a bad configuration is an error result, telling which source', () => {
  const r = buildPools({ ipAddressPools: [], configMap: cm('address-pools: [{name: x, addresses: [10.0.0.0/24]}]'), namespaces: [], mode: 'host' });
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.source, 'ConfigMap');
    assert.equal(r.error.message, 'parsing address pool #1: address pool is missing the protocol field');
  }
});

test('the fingerprint changes with what allocation depends on, not with object order', () => {
  const a = poolsFromIPAddressPools([pool('a', { addresses: ['10.0.0.0/28'] }), pool('b', { addresses: ['10.0.1.0/28'] })], []);
  const b = poolsFromIPAddressPools([pool('b', { addresses: ['10.0.1.0/28'] }), pool('a', { addresses: ['10.0.0.0/28'] })], []);
  const c = poolsFromIPAddressPools([pool('a', { addresses: ['10.0.0.0/28'], avoidBuggyIPs: true }), pool('b', { addresses: ['10.0.1.0/28'] })], []);
  assert.equal(poolsFingerprint(a), poolsFingerprint(b));
  assert.notEqual(poolsFingerprint(a), poolsFingerprint(c));
});
