import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalAddr, formatPrefix, isBuggyAddr, parseAddr, parsePoolAddresses, prefixesOverlap, quoteList } from './ip.ts';

test('a range is split into the fewest prefixes, in address order, as MetalLB summarizes it', () => {
  const cases: [string, string[]][] = [
    ['192.168.1.200-192.168.1.250', ['192.168.1.200/29', '192.168.1.208/28', '192.168.1.224/28', '192.168.1.240/29', '192.168.1.248/31', '192.168.1.250/32']],
    ['10.0.0.0-10.0.0.255', ['10.0.0.0/24']],
    ['10.0.0.7 - 10.0.0.7', ['10.0.0.7/32']],
    ['fc00::1-fc00::10', ['fc00::1/128', 'fc00::2/127', 'fc00::4/126', 'fc00::8/125', 'fc00::10/128']],
    ['192.168.1.200/24', ['192.168.1.0/24']],
    ['2001:db8::/64', ['2001:db8::/64']],
  ];
  for (const [entry, want] of cases) assert.deepEqual(parsePoolAddresses(entry).map(formatPrefix), want, entry);
});

test('bad pool entries are refused with MetalLB’s messages', () => {
  const cases: [string, string][] = [
    ['192.168.1.300/24', 'invalid CIDR "192.168.1.300/24"'],
    ['192.168.1.0', 'invalid CIDR "192.168.1.0"'],
    ['10.0.0.9-10.0.0.1', 'invalid IP range "10.0.0.9-10.0.0.1": start IP "10.0.0.9" is after the end IP "10.0.0.1"'],
    ['x-10.0.0.1', 'invalid IP range "x-10.0.0.1": invalid start IP "x"'],
    ['10.0.0.1-y', 'invalid IP range "10.0.0.1-y": invalid end IP "y"'],
    ['10.0.0.1-fc00::1', 'invalid IP range "10.0.0.1-fc00::1": start IP "10.0.0.1" and end IP "fc00::1" are not of the same IP family'],
  ];
  for (const [entry, msg] of cases) assert.throws(() => parsePoolAddresses(entry), { message: msg }, entry);
});

test('addresses print as Go prints them, IPv4-mapped IPv6 counting as IPv4', () => {
  assert.equal(canonicalAddr('2001:0db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
  assert.equal(canonicalAddr('::ffff:192.168.1.1'), '192.168.1.1');
  assert.equal(canonicalAddr('FC00::A'), 'fc00::a');
  assert.equal(canonicalAddr('fe80::1%eth0'), undefined);
  assert.equal(canonicalAddr('1.2.3'), undefined);
  assert.equal(parseAddr('::ffff:1.2.3.4')?.family, 'ipv4');
});

test('only IPv4 addresses ending in .0 or .255 count as buggy', () => {
  assert.equal(isBuggyAddr(parseAddr('10.0.1.0')!), true);
  assert.equal(isBuggyAddr(parseAddr('10.0.1.255')!), true);
  assert.equal(isBuggyAddr(parseAddr('10.0.1.1')!), false);
  assert.equal(isBuggyAddr(parseAddr('fc00::ff')!), false);
});

test('prefixes overlap when one holds the other, never across families', () => {
  const [a] = parsePoolAddresses('10.0.0.0/24');
  const [b] = parsePoolAddresses('10.0.0.128/25');
  const [c] = parsePoolAddresses('10.0.1.0/24');
  const [d] = parsePoolAddresses('::/0');
  assert.equal(prefixesOverlap(a, b), true);
  assert.equal(prefixesOverlap(b, a), true);
  assert.equal(prefixesOverlap(a, c), false);
  assert.equal(prefixesOverlap(a, d), false);
});

test('lists of addresses quote as Go’s %q does', () => {
  assert.equal(quoteList(['192.168.1.200']), '["192.168.1.200"]');
  assert.equal(quoteList(['10.0.0.1', 'fc00::1']), '["10.0.0.1" "fc00::1"]');
});
