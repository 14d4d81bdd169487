import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeServiceState, toServiceInfo, toSliceInfo } from '../model/index.ts';
import { makeService, makeSlice, type EndpointOptions, type ServiceOptions } from '../testing.ts';
import type { ServiceState } from '../types.ts';
import { diffListeners, isLoopback, listenerKey, planService, type ListenerSpec } from './plan.ts';

const node = { name: 'node-a' };
const opts = { nodePortIPs: ['127.0.0.1'], bindable: isLoopback };

function state(o: ServiceOptions, eps: EndpointOptions[], sliceOpts: Parameters<typeof makeSlice>[2] = {}): ServiceState {
  const svc = toServiceInfo(makeService('web', { clusterIP: '127.96.0.10', ...o }))!;
  return computeServiceState(svc, [toSliceInfo(makeSlice('web', eps, sliceOpts))], node, ['IPv4']);
}

const keys = (ls: readonly ListenerSpec[]): string[] => ls.map((l) => `${l.key} ${l.kind} ${l.route}`);
const two = [
  { ip: '127.244.1.2', node: 'node-a' },
  { ip: '127.244.2.2', node: 'node-b' },
];

test('a ClusterIP Service gets one listener on its ClusterIP:port, routed over its internal endpoints', () => {
  const p = planService(state({}, two), opts);
  assert.deepEqual(keys(p.listeners), ['TCP/127.96.0.10/80 clusterIP default/web:http/IPv4/internal']);
  assert.deepEqual(
    p.routes.map((r) => [r.key, r.endpoints.map((e) => `${e.ip}:${e.port}`)]),
    [['default/web:http/IPv4/internal', ['127.244.1.2:8080', '127.244.2.2:8080']]],
  );
});

test('a NodePort, LoadBalancer and externalIP Service listens on each address, with one external route', () => {
  const s = state(
    {
      type: 'LoadBalancer',
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 30001 }],
      loadBalancerIngress: [{ ip: '127.240.0.1' }],
      externalIPs: ['127.50.0.1'],
      loadBalancerSourceRanges: ['127.0.0.0/8'],
    },
    two,
  );
  const p = planService(s, opts);
  assert.deepEqual(keys(p.listeners), [
    'TCP/127.96.0.10/80 clusterIP default/web:http/IPv4/internal',
    'TCP/127.0.0.1/30001 nodePort default/web:http/IPv4/external',
    'TCP/127.240.0.1/80 loadBalancer default/web:http/IPv4/external',
    'TCP/127.50.0.1/80 externalIP default/web:http/IPv4/external',
  ]);
  assert.deepEqual(p.routes.map((r) => r.key), ['default/web:http/IPv4/internal', 'default/web:http/IPv4/external']);
  // Source ranges guard the LoadBalancer address only (kube-proxy: not NodePorts).
  assert.deepEqual(p.listeners.map((l) => l.sourceRanges.length), [0, 0, 1, 0]);
});

test('addresses outside loopback are skipped with a reason and never listened on', () => {
  const s = state({ type: 'LoadBalancer', clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 30001 }], loadBalancerIngress: [{ ip: '192.168.1.240' }] }, two);
  const p = planService(s, opts);
  assert.deepEqual(keys(p.listeners), ['TCP/127.0.0.1/30001 nodePort default/web:http/IPv4/external']);
  assert.deepEqual(
    p.skipped.map((x) => `${x.kind} ${x.ip}:${x.port}`),
    ['clusterIP 10.96.0.10:80', 'loadBalancer 192.168.1.240:80'],
  );
  assert.match(p.skipped[0].reason, /loopback/);
});

test('a Service port without endpoints gets no listener, so that clients are refused', () => {
  assert.deepEqual(planService(state({}, []), opts).listeners, []);
  // Only not-ready endpoints (and not serving-terminating): none usable.
  assert.deepEqual(planService(state({}, [{ ip: '127.244.1.2', ready: false, serving: false }]), opts).listeners, []);
});

test('serving-terminating endpoints are used when no endpoint is ready (the model\'s fallback)', () => {
  const p = planService(state({}, [{ ip: '127.244.1.2', ready: false, serving: true, terminating: true }]), opts);
  assert.deepEqual(p.routes[0].endpoints.map((e) => e.ip), ['127.244.1.2']);
});

test('externalTrafficPolicy Local routes external traffic to this node\'s endpoints only; ClusterIP traffic still goes to all', () => {
  const p = planService(state({ type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 30002 }] }, two), opts);
  const byRoute = new Map(p.routes.map((r) => [r.traffic, r.endpoints.map((e) => e.ip)]));
  assert.deepEqual(byRoute.get('internal'), ['127.244.1.2', '127.244.2.2']);
  assert.deepEqual(byRoute.get('external'), ['127.244.1.2']);
});

test('externalTrafficPolicy Local without a local endpoint: the node port refuses, the ClusterIP serves', () => {
  const p = planService(state({ type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 30002 }] }, [two[1]]), opts);
  assert.deepEqual(keys(p.listeners), ['TCP/127.96.0.10/80 clusterIP default/web:http/IPv4/internal']);
});

test('internalTrafficPolicy Local without a local endpoint: the ClusterIP refuses', () => {
  assert.deepEqual(planService(state({ internalTrafficPolicy: 'Local' }, [two[1]]), opts).listeners, []);
  const p = planService(state({ internalTrafficPolicy: 'Local' }, two), opts);
  assert.deepEqual(p.routes[0].endpoints.map((e) => e.ip), ['127.244.1.2']);
});

test('sessionAffinity ClientIP carries its timeout into the route', () => {
  const p = planService(state({ affinityTimeout: 60 }, two), opts);
  assert.equal(p.routes[0].affinityTimeoutSeconds, 60);
  assert.equal(planService(state({}, two), opts).routes[0].affinityTimeoutSeconds, 0);
});

test('UDP ports get UDP listeners; SCTP ports are skipped with a reason', () => {
  const s = state(
    { ports: [{ name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 }, { name: 'sctp', port: 99, protocol: 'SCTP', targetPort: 99 }] },
    two,
    { ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'sctp', port: 99, protocol: 'SCTP' }] },
  );
  const p = planService(s, opts);
  assert.deepEqual(keys(p.listeners), ['UDP/127.96.0.10/53 clusterIP default/web:dns/IPv4/internal']);
  assert.equal(p.skipped.length, 1);
  assert.match(p.skipped[0].reason, /SCTP/);
});

test('a Service with several ports gets a listener per port, each with its own route', () => {
  const s = state(
    { ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }, { name: 'metrics', port: 9090, protocol: 'TCP', targetPort: 9090 }] },
    two,
    { ports: [{ name: 'http', port: 8080 }, { name: 'metrics', port: 9090 }] },
  );
  const p = planService(s, opts);
  assert.deepEqual(keys(p.listeners), ['TCP/127.96.0.10/80 clusterIP default/web:http/IPv4/internal', 'TCP/127.96.0.10/9090 clusterIP default/web:metrics/IPv4/internal']);
  assert.deepEqual(p.routes.map((r) => r.endpoints[0].port), [8080, 9090]);
});

test('listener diffing: added, removed and retargeted listeners; unchanged ones are left alone', () => {
  const spec = (ip: string, route: string, ranges: string[] = []): ListenerSpec => ({
    key: listenerKey('TCP', ip, 80),
    protocol: 'TCP',
    ip,
    port: 80,
    family: 'IPv4',
    kind: 'clusterIP',
    service: 'default/web',
    route,
    sourceRanges: ranges,
  });
  const cur = new Map([spec('127.96.0.1', 'r1'), spec('127.96.0.2', 'r2'), spec('127.96.0.3', 'r3'), spec('127.96.0.4', 'r4')].map((s) => [s.key, s]));
  const want = new Map([spec('127.96.0.1', 'r1'), spec('127.96.0.3', 'r3b'), spec('127.96.0.4', 'r4', ['127.0.0.0/8']), spec('127.96.0.5', 'r5')].map((s) => [s.key, s]));
  const d = diffListeners(cur, want);
  assert.deepEqual(d.add.map((s) => s.ip), ['127.96.0.5']);
  assert.deepEqual(d.remove.map((s) => s.ip), ['127.96.0.2']);
  assert.deepEqual(d.retarget.map((s) => s.ip), ['127.96.0.3', '127.96.0.4']);
  assert.deepEqual(diffListeners(want, want), { add: [], remove: [], retarget: [] });
});

test('isLoopback accepts 127.0.0.0/8 and ::1 only', () => {
  for (const ip of ['127.0.0.1', '127.96.0.10', '127.255.255.254', '::1', '0:0:0:0:0:0:0:1']) assert.equal(isLoopback(ip), true, ip);
  for (const ip of ['10.96.0.10', '192.168.1.240', '0.0.0.0', '::', 'fd00::1', '128.0.0.1', '127.0.0.256', '1.127.0.0']) assert.equal(isLoopback(ip), false, ip);
});
