import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { formatResolvConf, parseResolvConf, podResolvConf } from './dns.ts';

const host = parseResolvConf('# host\nnameserver 192.0.2.53\nsearch corp.example\noptions edns0\n');
const pod = (spec: Partial<NonNullable<Pod['spec']>>): Pod => ({ metadata: { name: 'p', namespace: 'mlflow' }, spec: { containers: [], ...spec } });

test('ClusterFirst points at the cluster DNS with the Kubernetes search list and ndots:5', () => {
  const c = podResolvConf(pod({}), ['10.96.0.10'], 'cluster.local', host);
  assert.equal(formatResolvConf(c), 'search mlflow.svc.cluster.local svc.cluster.local cluster.local corp.example\nnameserver 10.96.0.10\noptions ndots:5\n');
});

test('Default, hostNetwork, None and dnsConfig as kubelet applies them', () => {
  assert.deepEqual(podResolvConf(pod({ dnsPolicy: 'Default' }), ['10.96.0.10'], 'cluster.local', host), host);
  assert.deepEqual(podResolvConf(pod({ hostNetwork: true }), ['10.96.0.10'], 'cluster.local', host).nameservers, ['192.0.2.53']);
  assert.deepEqual(podResolvConf(pod({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }), ['10.96.0.10'], 'cluster.local', host).nameservers, ['10.96.0.10']);
  const none = podResolvConf(pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['1.2.3.4'], searches: ['a.b'], options: [{ name: 'ndots', value: '2' }] } }), ['10.96.0.10'], 'cluster.local', host);
  assert.deepEqual(none, { nameservers: ['1.2.3.4'], searches: ['a.b'], options: ['ndots:2'] });
  const merged = podResolvConf(pod({ dnsConfig: { options: [{ name: 'ndots', value: '1' }, { name: 'single-request' }] } }), ['10.96.0.10'], 'cluster.local', host);
  assert.deepEqual(merged.options, ['ndots:1', 'single-request']);
  assert.deepEqual(podResolvConf(pod({}), [], 'cluster.local', host), host, 'no cluster DNS: the node\'s own');
});
