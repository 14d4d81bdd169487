import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterDnsIP, formatListen, parseListen } from './plugin.ts';

test('the cluster DNS address is the tenth address of the Service CIDR, as kubeadm picks it', () => {
  assert.equal(clusterDnsIP('10.96.0.0/12'), '10.96.0.10');
  assert.equal(clusterDnsIP('127.96.0.0/16'), '127.96.0.10');
  assert.equal(clusterDnsIP('10.100.7.0/24'), '10.100.7.10');
  assert.equal(clusterDnsIP('10.96.3.4/12'), '10.96.0.10', 'from the network address, whatever host bits the CIDR was written with');
  assert.equal(clusterDnsIP('fd00:10:96::/112'), 'fd00:10:96::a');
});

test('--dns-listen takes ADDRESS:PORT, [IPv6]:PORT, or an address alone for port 53', () => {
  assert.deepEqual(parseListen('127.0.0.1:1053'), { host: '127.0.0.1', port: 1053 });
  assert.deepEqual(parseListen('[::1]:5353'), { host: '::1', port: 5353 });
  assert.deepEqual(parseListen('10.96.0.10'), { host: '10.96.0.10', port: 53 });
  assert.deepEqual(parseListen(' 127.0.0.1:0 '), { host: '127.0.0.1', port: 0 });
  assert.throws(() => parseListen('localhost:53'), /--dns-listen "localhost:53": expected ADDRESS:PORT with an IP address/);
  assert.throws(() => parseListen('127.0.0.1:70000'), /bad port/);
  assert.equal(formatListen({ host: '::1', port: 53 }), '[::1]:53');
  assert.equal(formatListen({ host: '127.0.0.1', port: 1053 }), '127.0.0.1:1053');
});
