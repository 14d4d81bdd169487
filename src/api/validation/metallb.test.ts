// MetalLB's objects: the CRD schema's 422s and the validating webhook's 403s, in MetalLB's words.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IPAddressPools, L2Advertisements, invalid, type KubeObject } from '../index.ts';
import { defaultObject } from '../defaults/index.ts';
import { prepareForCreate, prepareForUpdate } from '../strategy/index.ts';
import { parseMetalLBAddresses, validateCreate, validateUpdate, webhookDenial, type IPAddressPool } from './index.ts';

function pool(addresses: string[] | undefined): IPAddressPool {
  return { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'default', namespace: 'metallb-system' }, spec: addresses ? { addresses } : {} };
}

test('address entries are checked as MetalLB parses them', () => {
  const cases: [string, string | undefined][] = [
    ['192.168.1.200-192.168.1.250', undefined],
    ['192.168.1.240/28', undefined],
    ['fd00:1::10-fd00:1::20', undefined],
    ['192.168.1.200 - 192.168.1.250', undefined],
    ['192.168.1.300/24', 'invalid CIDR "192.168.1.300/24"'],
    ['192.168.1.0/33', 'invalid CIDR "192.168.1.0/33"'],
    ['192.168.1.300-192.168.1.310', 'invalid IP range "192.168.1.300-192.168.1.310": invalid start IP "192.168.1.300"'],
    ['192.168.1.10-x', 'invalid IP range "192.168.1.10-x": invalid end IP "x"'],
    ['192.168.1.250-192.168.1.200', 'invalid IP range "192.168.1.250-192.168.1.200": start IP "192.168.1.250" is after the end IP "192.168.1.200"'],
    ['192.168.1.1-fd00::1', 'invalid IP range "192.168.1.1-fd00::1": start IP "192.168.1.1" and end IP "fd00::1" are not of the same IP family'],
  ];
  for (const [input, want] of cases) assert.equal(parseMetalLBAddresses(input), want, input);
});

test('a pool with a reversed range is denied by the webhook in MetalLB words', () => {
  const p = pool(['192.168.1.250-192.168.1.200']);
  defaultObject(IPAddressPools, p);
  prepareForCreate(IPAddressPools, p);
  assert.deepEqual(validateCreate(IPAddressPools, p), []);
  const denial = webhookDenial(IPAddressPools, p);
  assert.equal(denial?.code, 403);
  assert.equal(
    denial?.message,
    'admission webhook "ipaddresspoolvalidationwebhook.metallb.io" denied the request: parsing address pool default: invalid CIDR "192.168.1.250-192.168.1.200" in pool "default": invalid IP range "192.168.1.250-192.168.1.200": start IP "192.168.1.250" is after the end IP "192.168.1.200"',
  );
});

test('a pool with an empty address list is denied: pool has no prefixes defined', () => {
  assert.equal(
    webhookDenial(IPAddressPools, pool([]))?.message,
    'admission webhook "ipaddresspoolvalidationwebhook.metallb.io" denied the request: parsing address pool default: pool has no prefixes defined',
  );
});

test('a pool without addresses fails the CRD schema', () => {
  const p = pool(undefined);
  defaultObject(IPAddressPools, p);
  assert.equal(invalid({ group: 'metallb.io', kind: 'IPAddressPool' }, 'default', validateCreate(IPAddressPools, p)).message, 'IPAddressPool.metallb.io "default" is invalid: spec.addresses: Required value');
});

test('a new pool has generation 1 and no status; a status update changes only the status', () => {
  const p = pool(['192.168.1.200-192.168.1.250']);
  (p as { status?: unknown }).status = { assignedIPv4: 3 };
  defaultObject(IPAddressPools, p);
  prepareForCreate(IPAddressPools, p);
  assert.equal(p.metadata?.generation, 1);
  assert.equal(p.status, undefined);
  p.metadata = { ...p.metadata, resourceVersion: '1', uid: 'u' };
  const st = structuredClone(p);
  st.status = { assignedIPv4: 1, availableIPv4: 50 };
  st.spec = { addresses: ['10.0.0.0/8'] };
  prepareForUpdate(IPAddressPools, st, p, 'status');
  assert.deepEqual(validateUpdate(IPAddressPools, st, p, 'status'), []);
  assert.deepEqual(st.spec, p.spec);
  assert.deepEqual(st.status, { assignedIPv4: 1, availableIPv4: 50 });
  const sp = structuredClone(p);
  sp.spec = { ...sp.spec, addresses: ['192.168.1.0/24'] };
  prepareForUpdate(IPAddressPools, sp, p);
  assert.equal(sp.metadata?.generation, 2);
});

test('an L2Advertisement naming a pool that is not an object name is refused', () => {
  const adv: KubeObject & { spec?: { ipAddressPools?: string[] } } = { metadata: { name: 'default', namespace: 'metallb-system' }, spec: { ipAddressPools: ['Default'] } };
  defaultObject(L2Advertisements, adv);
  prepareForCreate(L2Advertisements, adv);
  assert.equal(
    invalid({ group: 'metallb.io', kind: 'L2Advertisement' }, 'default', validateCreate(L2Advertisements, adv)).message,
    "L2Advertisement.metallb.io \"default\" is invalid: spec.ipAddressPools[0]: Invalid value: \"Default\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
  );
  assert.equal(webhookDenial(L2Advertisements, adv), undefined);
});
