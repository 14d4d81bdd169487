// Object builders for the layer 2 announcer's unit tests.
import type { ConfigMap, Node, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { IPAddressPool, L2Advertisement } from '../../api/validation/index.ts';

export function node(name: string, o: { ready?: boolean; ip?: string; labels?: Record<string, string>; networkUnavailable?: boolean; deleting?: boolean } = {}): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...o.labels }, ...(o.deleting ? { deletionTimestamp: '2025-01-01T00:00:00Z' } : {}) },
    status: {
      conditions: [
        { type: 'Ready', status: o.ready === false ? 'False' : 'True' },
        ...(o.networkUnavailable ? [{ type: 'NetworkUnavailable', status: 'True' }] : []),
      ],
      addresses: o.ip ? [{ type: 'InternalIP', address: o.ip }] : [],
    },
  };
}

export function lbService(ns: string, name: string, ips: string[], o: { etp?: 'Local' | 'Cluster'; lbClass?: string; type?: string } = {}): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace: ns, name, uid: `uid-${ns}-${name}` },
    spec: {
      type: o.type ?? 'LoadBalancer',
      ports: [{ port: 80, protocol: 'TCP' }],
      ...(o.etp ? { externalTrafficPolicy: o.etp } : {}),
      ...(o.lbClass ? { loadBalancerClass: o.lbClass } : {}),
    },
    status: { loadBalancer: { ingress: ips.map((ip) => ({ ip, ipMode: 'VIP' })) } },
  };
}

export function slice(ns: string, service: string, endpoints: { node: string; ready?: boolean; serving?: boolean; ip?: string }[], suffix = 'a'): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace: ns, name: `${service}-${suffix}`, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    endpoints: endpoints.map((e, i) => ({
      addresses: [e.ip ?? `10.244.0.${i + 2}`],
      nodeName: e.node,
      conditions: { ready: e.ready ?? true, serving: e.serving ?? e.ready ?? true, terminating: e.ready === false && e.serving === true },
    })),
    ports: [{ port: 3000, protocol: 'TCP' }],
  };
}

export function pool(name: string, addresses: string[], labels?: Record<string, string>): IPAddressPool {
  return { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { namespace: 'metallb-system', name, ...(labels ? { labels } : {}) }, spec: { addresses } };
}

export function advertisement(name: string, spec: L2Advertisement['spec'] = {}): L2Advertisement {
  return { apiVersion: 'metallb.io/v1beta1', kind: 'L2Advertisement', metadata: { namespace: 'metallb-system', name }, spec };
}

export function legacyConfig(text: string): ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'metallb-system', name: 'config' }, data: { config: text } };
}
