// The Endpoints object as a table: a Service and its pods in, subsets (and whether to write) out.
//
// Address plan: pods 10.0.0.0/24 and fd00::/64 on node-a; Service "web" in "ns".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EndpointSubset, Endpoints, Pod, Service } from 'kubernetes-types/core/v1.js';
import { computeSubsets, desiredEndpoints, repackSubsets, truncateSubsets } from './subsets.ts';

function svc(spec: Partial<NonNullable<Service['spec']>> = {}, labels?: Record<string, string>): Service {
  return {
    metadata: { name: 'web', namespace: 'ns', uid: 'svc-uid', ...(labels ? { labels } : {}) },
    spec: { clusterIP: '10.96.0.10', ipFamilies: ['IPv4'], selector: { app: 'web' }, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' }], ...spec },
  };
}

function pod(name: string, ips: string[], o: { ready?: boolean; port?: number; terminating?: boolean; hostname?: string; subdomain?: string } = {}): Pod {
  return {
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, labels: { app: 'web' }, ...(o.terminating ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
    spec: {
      nodeName: 'node-a',
      ...(o.hostname ? { hostname: o.hostname, subdomain: o.subdomain } : {}),
      containers: [{ name: 'c', image: 'i', ports: [{ name: 'http', containerPort: o.port ?? 8080 }, { name: 'admin', containerPort: 9000 }] }],
    },
    status: { phase: 'Running', podIP: ips[0], podIPs: ips.map((ip) => ({ ip })), conditions: [{ type: 'Ready', status: (o.ready ?? true) ? 'True' : 'False' }] },
  };
}

/** Subsets in kubectl's spirit: "ip:port" ready, "~ip:port" not ready, one string per subset. */
function show(subsets: readonly EndpointSubset[] | undefined): string[] {
  return (subsets ?? []).map((s) => {
    const ports = (s.ports ?? []).map((p) => `${p.name ?? ''}=${p.port}`).join(',') || '-';
    const addrs = [...(s.addresses ?? []).map((a) => a.ip), ...(s.notReadyAddresses ?? []).map((a) => `~${a.ip}`)].join(',');
    return `${addrs} @ ${ports}`;
  });
}

test('ready and not-ready pods become addresses and notReadyAddresses of one subset', () => {
  const { subsets, ready, notReady } = computeSubsets(svc(), [pod('b', ['10.0.0.2'], { ready: false }), pod('a', ['10.0.0.1']), pod('c', ['10.0.0.10'])]);
  assert.deepEqual(show(subsets), ['10.0.0.1,10.0.0.10,~10.0.0.2 @ http=8080']);
  assert.deepEqual([ready, notReady], [2, 1]);
  assert.deepEqual(subsets[0].addresses![0], { ip: '10.0.0.1', nodeName: 'node-a', targetRef: { kind: 'Pod', namespace: 'ns', name: 'a', uid: 'uid-a' } });
});

test('addresses offering the same ports share a subset; a different number for a port splits them', () => {
  const s = svc({
    ports: [
      { name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' },
      { name: 'admin', port: 9000, protocol: 'TCP', targetPort: 'admin' },
    ],
  });
  const { subsets } = computeSubsets(s, [pod('a', ['10.0.0.1']), pod('b', ['10.0.0.2'], { port: 8081 }), pod('c', ['10.0.0.3'])]);
  assert.deepEqual(show(subsets).sort(), ['10.0.0.1,10.0.0.2,10.0.0.3 @ admin=9000', '10.0.0.1,10.0.0.3 @ http=8080', '10.0.0.2 @ http=8081']);
  const same = computeSubsets(s, [pod('a', ['10.0.0.1']), pod('c', ['10.0.0.3'])]).subsets;
  assert.deepEqual(show(same), ['10.0.0.1,10.0.0.3 @ admin=9000,http=8080']);
});

test('terminating pods are left out unless the Service publishes not-ready addresses, which also makes them ready', () => {
  const pods = [pod('a', ['10.0.0.1'], { terminating: true }), pod('b', ['10.0.0.2'], { ready: false })];
  assert.deepEqual(show(computeSubsets(svc(), pods).subsets), ['~10.0.0.2 @ http=8080']);
  assert.deepEqual(show(computeSubsets(svc({ publishNotReadyAddresses: true }), pods).subsets), ['10.0.0.1,10.0.0.2 @ http=8080']);
});

test('a dual-stack Service lists its primary family only; a headless one without ports keeps its addresses', () => {
  const pods = [pod('a', ['10.0.0.1', 'fd00::1']), pod('b', ['fd00::2'])];
  assert.deepEqual(show(computeSubsets(svc({ ipFamilies: ['IPv6', 'IPv4'] }), pods).subsets), ['fd00::1,fd00::2 @ http=8080']);
  assert.deepEqual(show(computeSubsets(svc({ clusterIP: 'None', ports: [] }), pods).subsets), ['10.0.0.1 @ -']);
});

test('hostnames are set for pods whose subdomain is the Service', () => {
  const { subsets } = computeSubsets(svc({ clusterIP: 'None' }), [pod('a', ['10.0.0.1'], { hostname: 'a-0', subdomain: 'web' }), pod('b', ['10.0.0.2'], { hostname: 'b-0', subdomain: 'x' })]);
  assert.deepEqual(subsets[0].addresses!.map((a) => a.hostname), ['a-0', undefined]);
});

test('repacking: not ready for one port wins, and addresses are deduplicated by IP and pod', () => {
  const a = { ip: '10.0.0.1', targetRef: { uid: 'a' } };
  const b = { ip: '10.0.0.2', targetRef: { uid: 'b' } };
  const out = repackSubsets([
    { addresses: [a, b], ports: [{ name: 'p', port: 1 }] },
    { notReadyAddresses: [a], ports: [{ name: 'p', port: 1 }] },
    { addresses: [b], ports: [{ name: 'q', port: 2 }] },
  ]);
  assert.deepEqual(show(out).sort(), ['10.0.0.2 @ q=2', '10.0.0.2,~10.0.0.1 @ p=1']);
});

test('over 1000 addresses are truncated, ready ones first, in proportion to the subsets', () => {
  const mk = (n: number, from: number, ready: boolean): EndpointSubset => {
    const addrs = Array.from({ length: n }, (_, i) => ({ ip: `10.1.${Math.floor((from + i) / 250)}.${(from + i) % 250}` }));
    return ready ? { addresses: addrs, ports: [{ port: from }] } : { notReadyAddresses: addrs, ports: [{ port: from }] };
  };
  const subsets = [mk(600, 0, true), mk(600, 1000, true)];
  assert.equal(truncateSubsets(subsets), true);
  assert.deepEqual(
    subsets.map((s) => [s.addresses?.length, s.notReadyAddresses?.length]),
    [
      [500, undefined],
      [500, undefined],
    ],
  );
  const mixed = [{ ...mk(900, 0, true), notReadyAddresses: mk(200, 2000, false).notReadyAddresses }];
  assert.equal(truncateSubsets(mixed), true);
  assert.deepEqual([mixed[0].addresses?.length, mixed[0].notReadyAddresses?.length], [900, 100]);
  assert.equal(truncateSubsets([mk(1000, 0, true)]), false);
});

test('an Endpoints object is written only when subsets, labels or the capacity annotation differ', () => {
  const s = svc({}, { team: 'a' });
  const { subsets } = computeSubsets(s, [pod('a', ['10.0.0.1'])]);
  const first = desiredEndpoints(s, undefined, subsets, '2026-01-01T00:00:00Z');
  assert.deepEqual(first, {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'web', namespace: 'ns', labels: { team: 'a' }, annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2026-01-01T00:00:00Z' } },
    subsets,
  });
  const stored: Endpoints = { ...structuredClone(first), metadata: { ...first.metadata, resourceVersion: '5' } };
  // Only a pod's resourceVersion differs: no write.
  const again = computeSubsets(s, [pod('a', ['10.0.0.1'])]).subsets;
  again[0].addresses![0].targetRef!.resourceVersion = '99';
  assert.equal(desiredEndpoints(s, stored, again, ''), undefined);
  const relabelled = desiredEndpoints(svc({}, { team: 'b' }), stored, subsets, '');
  assert.deepEqual(relabelled?.metadata?.labels, { team: 'b' });
  assert.equal(relabelled?.metadata?.resourceVersion, '5');
  assert.deepEqual(relabelled?.metadata?.annotations, {});
  const headless = desiredEndpoints(svc({ clusterIP: 'None' }, { team: 'a' }), undefined, [], '');
  assert.deepEqual(headless?.metadata?.labels, { team: 'a', 'service.kubernetes.io/headless': '' });
  assert.equal(headless?.subsets, undefined);
});

test('more than 1000 pods: the Endpoints are truncated and annotated over-capacity', () => {
  const pods = Array.from({ length: 1200 }, (_, i) => pod(`p${i}`, [`10.2.${Math.floor(i / 250)}.${i % 250}`]));
  const { subsets } = computeSubsets(svc(), pods);
  const ep = desiredEndpoints(svc(), undefined, subsets, '');
  assert.equal(ep?.subsets?.[0].addresses?.length, 1000);
  assert.equal(ep?.metadata?.annotations?.['endpoints.kubernetes.io/over-capacity'], 'truncated');
  // Stored truncated, it stays as it is.
  assert.equal(desiredEndpoints(svc(), { ...ep, metadata: { ...ep.metadata, resourceVersion: '3' } }, subsets, ''), undefined);
});
