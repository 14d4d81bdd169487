import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CidrSet, defaultNodeMask } from './cidrset.ts';

test('node subnets are handed out round-robin and never twice', () => {
  const s = new CidrSet('127.244.0.0/22', 24);
  assert.equal(s.size, 4);
  assert.ok(s.occupy('127.244.1.0/24'));
  assert.equal(s.allocateNext(), '127.244.0.0/24');
  assert.equal(s.allocateNext(), '127.244.2.0/24');
  assert.equal(s.allocateNext(), '127.244.3.0/24');
  assert.equal(s.allocateNext(), undefined);
  s.release('127.244.0.0/24');
  assert.equal(s.allocateNext(), '127.244.0.0/24');
});

test('subnets outside the set or of another size are not its own', () => {
  const s = new CidrSet('10.244.0.0/16', 24);
  assert.equal(s.occupy('10.245.0.0/24'), false);
  assert.equal(s.occupy('10.244.0.0/25'), false);
  assert.equal(s.occupy('10.244.0.128/24'), false);
  assert.ok(s.contains('10.244.255.0/24'));
});

test('IPv6 cluster CIDRs are cut into /64s by default', () => {
  assert.equal(defaultNodeMask('fd00:10:244::/56'), 64);
  const s = new CidrSet('fd00:10:244::/56', 64);
  assert.equal(s.allocateNext(), 'fd00:10:244::/64');
  assert.equal(s.allocateNext(), 'fd00:10:244:1::/64');
  assert.throws(() => new CidrSet('10.0.0.0/24', 16), /smaller than the cluster CIDR/);
});
