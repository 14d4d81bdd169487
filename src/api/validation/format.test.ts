// The format checks of apimachinery's util/validation, word for word (Kubernetes 1.33).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isConfigMapKey, isDNS1035Label, isDNS1123Label, isDNS1123Subdomain, isQualifiedName, isRelaxedEnvVarName, isValidLabelValue, isValidPortName, nameIsDNS1035Label } from './format.ts';
import { parseCIDRSloppy, parseIPSloppy } from './net.ts';

test('DNS-1123 labels: 63 characters, lower case, no dots', () => {
  assert.deepEqual(isDNS1123Label('my-name'), []);
  assert.deepEqual(isDNS1123Label('123-abc'), []);
  assert.deepEqual(isDNS1123Label('a.b'), ['must not contain dots']);
  assert.deepEqual(isDNS1123Label('a'.repeat(64)), ['must be no more than 63 characters']);
  assert.equal(isDNS1123Label('-a')[0]?.startsWith('a lowercase RFC 1123 label must consist of'), true);
});

test('DNS-1123 subdomains: 253 characters', () => {
  assert.deepEqual(isDNS1123Subdomain('db.example.com'), []);
  assert.deepEqual(isDNS1123Subdomain(`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`), []);
  assert.equal(isDNS1123Subdomain('a'.repeat(254))[0], 'must be no more than 253 characters');
  assert.equal(isDNS1123Subdomain('Example.com').length, 1);
});

test('DNS-1035 labels start with a letter', () => {
  assert.deepEqual(isDNS1035Label('mlflow-service'), []);
  assert.equal(isDNS1035Label('1abc').length, 1);
  // generateName: the trailing dash is masked (Kubernetes drops two characters and adds "a").
  assert.deepEqual(nameIsDNS1035Label('web-', true), []);
  assert.deepEqual(nameIsDNS1035Label('web-', false).length, 1);
});

test('qualified names: optional prefix, 63-character name', () => {
  assert.deepEqual(isQualifiedName('app.kubernetes.io/name'), []);
  assert.deepEqual(isQualifiedName('/name'), ['prefix part must be non-empty']);
  assert.deepEqual(isQualifiedName('example.com/'), [
    'name part must be non-empty',
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
  ]);
  assert.equal(isQualifiedName('Example.com/x')[0]?.startsWith('prefix part a lowercase RFC 1123 subdomain'), true);
});

test('label values may be empty but not padded', () => {
  assert.deepEqual(isValidLabelValue(''), []);
  assert.equal(isValidLabelValue(' x').length, 1);
  assert.equal(isValidLabelValue('a'.repeat(64))[0], 'must be no more than 63 characters');
});

test('port names follow IANA service names', () => {
  assert.deepEqual(isValidPortName('http'), []);
  assert.deepEqual(isValidPortName('h2c-web'), []);
  assert.deepEqual(isValidPortName('80'), ['must contain at least one letter (a-z)']);
});

test('config keys and relaxed env var names', () => {
  assert.deepEqual(isConfigMapKey('config'), []);
  assert.deepEqual(isConfigMapKey('.env'), []);
  assert.deepEqual(isConfigMapKey('..data'), ["must not start with '..'"]);
  assert.deepEqual(isRelaxedEnvVarName('1_STARTS_WITH_DIGIT'), []);
  assert.deepEqual(isRelaxedEnvVarName('A B'), []);
  assert.deepEqual(isRelaxedEnvVarName('é'), ["a valid environment variable name must consist only of printable ASCII characters other than '='"]);
});

test('IPs parse as Go ParseIPSloppy does', () => {
  assert.equal(parseIPSloppy('10.96.0.1')?.family, 'IPv4');
  assert.equal(parseIPSloppy('010.096.000.001')?.family, 'IPv4');
  assert.deepEqual(parseIPSloppy('010.096.000.001')?.bytes, [10, 96, 0, 1]);
  assert.equal(parseIPSloppy('::ffff:10.0.0.1')?.family, 'IPv4');
  assert.equal(parseIPSloppy('fd00::1')?.family, 'IPv6');
  for (const bad of ['10.0.0', '10.0.0.256', '0x0a.0.0.1', 'fe80::1%eth0', '', 'None']) assert.equal(parseIPSloppy(bad), undefined, bad);
  assert.equal(parseCIDRSloppy('10.96.0.0/12')?.prefix, 12);
  assert.equal(parseCIDRSloppy('10.96.0.0/33'), undefined);
  assert.equal(parseCIDRSloppy('fd00::/108')?.ip.family, 'IPv6');
  assert.equal(parseCIDRSloppy('10.96.0.0'), undefined);
});
