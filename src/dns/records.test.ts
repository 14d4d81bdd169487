// The answer function against a fixture of Services and EndpointSlices, case by case with the
// zone-file text of the expected sections, in the manner of CoreDNS's handler_test.go. Figures
// are CoreDNS's where its tests fix them (weights, SOA fields, NXDOMAIN vs NODATA).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Namespace, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice, Endpoint } from 'kubernetes-types/discovery/v1.js';
import { DnsModel, toDnsPod, toDnsService, toDnsSlice } from './model.ts';
import { answer, question, type DnsConfig } from './records.ts';
import { rrText } from './rr.ts';
import { RCODE, TYPE, rcodeName, typeCode } from './wire.ts';

const SERIAL = 1499347823;

function svc(ns: string, name: string, spec: Service['spec']): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { namespace: ns, name }, spec };
}

function slice(ns: string, name: string, service: string, addressType: string, endpoints: Endpoint[], ports: EndpointSlice['ports']): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace: ns, name, labels: { 'kubernetes.io/service-name': service } },
    addressType,
    endpoints,
    ports,
  };
}

const http = [{ name: 'http', protocol: 'TCP', port: 80 }];

export const fixtureServices: Service[] = [
  svc('testns', 'svc1', { type: 'ClusterIP', clusterIP: '10.0.0.1', clusterIPs: ['10.0.0.1'], ports: [{ name: 'http', protocol: 'TCP', port: 80 }] }),
  svc('testns', 'svcempty', { type: 'ClusterIP', clusterIP: '10.0.0.4', ports: [{ name: 'http', protocol: 'TCP', port: 80 }] }),
  svc('testns', 'svc6', { type: 'ClusterIP', clusterIP: '1234:abcd::1', clusterIPs: ['1234:abcd::1'], ports: [{ name: 'http', protocol: 'TCP', port: 80 }] }),
  svc('testns', 'svc-dual-stack', { type: 'ClusterIP', clusterIP: '10.0.0.3', clusterIPs: ['10.0.0.3', '10::3'], ports: [{ name: 'http', protocol: 'TCP', port: 80 }] }),
  svc('testns', 'multiport', {
    type: 'LoadBalancer',
    clusterIP: '10.0.0.5',
    ports: [
      { name: 'http', protocol: 'TCP', port: 80 },
      { name: 'https', protocol: 'TCP', port: 443 },
      { name: 'dns', protocol: 'UDP', port: 53 },
    ],
  }),
  svc('testns', 'unnamed', { type: 'ClusterIP', clusterIP: '10.0.0.6', ports: [{ protocol: 'TCP', port: 8080 }] }),
  svc('testns', 'hdls1', { type: 'ClusterIP', clusterIP: 'None', ports: [{ name: 'http', protocol: 'TCP', port: 80 }] }),
  svc('testns', 'hdlsprtls', { type: 'ClusterIP', clusterIP: 'None' }),
  svc('testns', 'hdls-ready', { type: 'ClusterIP', clusterIP: 'None', ports: [{ name: 'http', protocol: 'TCP', port: 80 }] }),
  svc('testns', 'hdls-empty', { type: 'ClusterIP', clusterIP: 'None', ports: [{ name: 'http', protocol: 'TCP', port: 80 }] }),
  svc('testns', 'external', { type: 'ExternalName', externalName: 'ext.interwebs.test' }),
  svc('testns', 'external-to-service', { type: 'ExternalName', externalName: 'svc1.testns.svc.cluster.local.' }),
  svc('testns', 'external-ip', { type: 'ExternalName', externalName: '1.2.3.4' }),
  svc('kube-system', 'kube-dns', {
    type: 'ClusterIP',
    clusterIP: '10.0.0.10',
    ports: [
      { name: 'dns', protocol: 'UDP', port: 53 },
      { name: 'dns-tcp', protocol: 'TCP', port: 53 },
    ],
  }),
];

export const fixtureSlices: EndpointSlice[] = [
  slice('testns', 'svc1-abc', 'svc1', 'IPv4', [{ addresses: ['172.0.0.1'], hostname: 'ep1a', conditions: { ready: true } }], http),
  slice('testns', 'svcempty-abc', 'svcempty', 'IPv4', [], http),
  slice(
    'testns',
    'hdls1-v4',
    'hdls1',
    'IPv4',
    [
      { addresses: ['172.0.0.2'], conditions: { ready: true } },
      { addresses: ['172.0.0.3'], conditions: { ready: true } },
      { addresses: ['172.0.0.4'], hostname: 'dup-name', conditions: { ready: true } },
      { addresses: ['172.0.0.5'], hostname: 'dup-name', conditions: { ready: true } },
    ],
    http,
  ),
  slice(
    'testns',
    'hdls1-v6',
    'hdls1',
    'IPv6',
    [
      { addresses: ['5678:abcd::1'], conditions: { ready: true } },
      { addresses: ['5678:abcd::2'], conditions: { ready: true } },
    ],
    http,
  ),
  slice('testns', 'hdlsprtls-1', 'hdlsprtls', 'IPv4', [{ addresses: ['172.0.0.20'] }], []),
  slice(
    'testns',
    'hdls-ready-1',
    'hdls-ready',
    'IPv4',
    [
      { addresses: ['172.0.1.1'], hostname: 'web-0', conditions: { ready: true } },
      { addresses: ['172.0.1.2'], hostname: 'web-1', conditions: { ready: false } },
      { addresses: ['172.0.1.3'], hostname: 'web-2', conditions: {} },
    ],
    http,
  ),
  slice('testns', 'hdls-empty-1', 'hdls-empty', 'IPv4', [{ addresses: ['172.0.2.1'], conditions: { ready: false } }], http),
  slice('kube-system', 'kube-dns-1', 'kube-dns', 'IPv4', [{ addresses: ['172.0.0.100'], conditions: { ready: true } }], [
    { name: 'dns', protocol: 'UDP', port: 53 },
    { name: 'dns-tcp', protocol: 'TCP', port: 53 },
  ]),
];

const namespaces: Namespace[] = ['testns', 'kube-system', 'podns', 'default'].map((name) => ({ metadata: { name } }));

const pods: Pod[] = [{ metadata: { namespace: 'podns', name: 'foo' }, status: { podIP: '10.240.0.1', podIPs: [{ ip: '10.240.0.1' }] } }];

export function fixtureModel(): DnsModel {
  const m = new DnsModel(() => SERIAL);
  for (const n of namespaces) m.setNamespace(n.metadata!.name!, true);
  for (const s of fixtureServices) m.setService(toDnsService(s)!);
  for (const s of fixtureSlices) m.setSlice(toDnsSlice(s)!);
  for (const p of pods) m.setPod(toDnsPod(p)!);
  m.setSynced(true);
  return m;
}

const baseConfig: DnsConfig = {
  clusterDomain: 'cluster.local',
  reverseZones: ['in-addr.arpa', 'ip6.arpa'],
  ttl: 5,
  podsMode: 'disabled',
  nsAddresses: ['10.0.0.10'],
  reverseFallthrough: false,
};

interface Case {
  qname: string;
  qtype: string;
  rcode?: number;
  answer?: string[];
  ns?: string[];
  extra?: string[];
  /** A different configuration for this case. */
  cfg?: Partial<DnsConfig>;
}

const SOA = `cluster.local.\t5\tIN\tSOA\tns.dns.cluster.local. hostmaster.cluster.local. ${SERIAL} 7200 1800 86400 5`;
const NX = { rcode: RCODE.NXDOMAIN, ns: [SOA] };
const NODATA = { rcode: RCODE.NOERROR, ns: [SOA] };

const cases: Case[] = [
  // dns-version (spec S1)
  { qname: 'dns-version.cluster.local.', qtype: 'TXT', answer: ['dns-version.cluster.local.\t28800\tIN\tTXT\t"1.1.0"'] },
  { qname: 'dns-version.cluster.local.', qtype: 'A', ...NODATA },
  // ClusterIP A/AAAA (S2, C1)
  { qname: 'svc1.testns.svc.cluster.local.', qtype: 'A', answer: ['svc1.testns.svc.cluster.local.\t5\tIN\tA\t10.0.0.1'] },
  { qname: 'svc1.testns.svc.cluster.local.', qtype: 'AAAA', ...NODATA },
  { qname: 'svc1.testns.svc.cluster.local.', qtype: 'TXT', ...NODATA },
  { qname: 'svc1.testns.svc.cluster.local.', qtype: 'SOA', ...NODATA },
  { qname: 'svc1.testns.svc.cluster.local.', qtype: 'MX', ...NODATA },
  { qname: 'svc1.testns.svc.cluster.local.', qtype: 'NS', ...NODATA },
  { qname: 'svc1.testns.svc.cluster.local.', qtype: 'CNAME', ...NODATA },
  { qname: 'svc1.testns.svc.cluster.local.', qtype: 'PTR', ...NODATA },
  { qname: 'svc1.testns.svc.cluster.local.', qtype: 'TYPE65', ...NODATA },
  // C5: a ClusterIP service without endpoints still has its A record
  { qname: 'svcempty.testns.svc.cluster.local.', qtype: 'A', answer: ['svcempty.testns.svc.cluster.local.\t5\tIN\tA\t10.0.0.4'] },
  { qname: 'svc6.testns.svc.cluster.local.', qtype: 'AAAA', answer: ['svc6.testns.svc.cluster.local.\t5\tIN\tAAAA\t1234:abcd::1'] },
  { qname: 'svc6.testns.svc.cluster.local.', qtype: 'A', ...NODATA },
  // C6 dual stack
  { qname: 'svc-dual-stack.testns.svc.cluster.local.', qtype: 'A', answer: ['svc-dual-stack.testns.svc.cluster.local.\t5\tIN\tA\t10.0.0.3'] },
  { qname: 'svc-dual-stack.testns.svc.cluster.local.', qtype: 'AAAA', answer: ['svc-dual-stack.testns.svc.cluster.local.\t5\tIN\tAAAA\t10::3'] },
  {
    qname: 'svc-dual-stack.testns.svc.cluster.local.',
    qtype: 'SRV',
    answer: ['svc-dual-stack.testns.svc.cluster.local.\t5\tIN\tSRV\t0 50 80 svc-dual-stack.testns.svc.cluster.local.'],
    extra: ['svc-dual-stack.testns.svc.cluster.local.\t5\tIN\tA\t10.0.0.3', 'svc-dual-stack.testns.svc.cluster.local.\t5\tIN\tAAAA\t10::3'],
  },
  // SRV for named ports (S4, C7), on the bare name too, underscores optional
  {
    qname: '_http._tcp.svc1.testns.svc.cluster.local.',
    qtype: 'SRV',
    answer: ['_http._tcp.svc1.testns.svc.cluster.local.\t5\tIN\tSRV\t0 100 80 svc1.testns.svc.cluster.local.'],
    extra: ['svc1.testns.svc.cluster.local.\t5\tIN\tA\t10.0.0.1'],
  },
  {
    qname: 'http.tcp.svc1.testns.svc.cluster.local.',
    qtype: 'SRV',
    answer: ['http.tcp.svc1.testns.svc.cluster.local.\t5\tIN\tSRV\t0 100 80 svc1.testns.svc.cluster.local.'],
    extra: ['svc1.testns.svc.cluster.local.\t5\tIN\tA\t10.0.0.1'],
  },
  {
    qname: 'svc1.testns.svc.cluster.local.',
    qtype: 'SRV',
    answer: ['svc1.testns.svc.cluster.local.\t5\tIN\tSRV\t0 100 80 svc1.testns.svc.cluster.local.'],
    extra: ['svc1.testns.svc.cluster.local.\t5\tIN\tA\t10.0.0.1'],
  },
  {
    qname: '_http._tcp.svc6.testns.svc.cluster.local.',
    qtype: 'SRV',
    answer: ['_http._tcp.svc6.testns.svc.cluster.local.\t5\tIN\tSRV\t0 100 80 svc6.testns.svc.cluster.local.'],
    extra: ['svc6.testns.svc.cluster.local.\t5\tIN\tAAAA\t1234:abcd::1'],
  },
  {
    qname: 'multiport.testns.svc.cluster.local.',
    qtype: 'SRV',
    answer: [
      'multiport.testns.svc.cluster.local.\t5\tIN\tSRV\t0 33 80 multiport.testns.svc.cluster.local.',
      'multiport.testns.svc.cluster.local.\t5\tIN\tSRV\t0 33 443 multiport.testns.svc.cluster.local.',
      'multiport.testns.svc.cluster.local.\t5\tIN\tSRV\t0 33 53 multiport.testns.svc.cluster.local.',
    ],
    extra: ['multiport.testns.svc.cluster.local.\t5\tIN\tA\t10.0.0.5'],
  },
  {
    qname: '_dns._udp.multiport.testns.svc.cluster.local.',
    qtype: 'SRV',
    answer: ['_dns._udp.multiport.testns.svc.cluster.local.\t5\tIN\tSRV\t0 100 53 multiport.testns.svc.cluster.local.'],
    extra: ['multiport.testns.svc.cluster.local.\t5\tIN\tA\t10.0.0.5'],
  },
  // A named port with the wrong protocol, or an unknown port: the name does not exist
  { qname: '_dns._tcp.multiport.testns.svc.cluster.local.', qtype: 'SRV', ...NX },
  { qname: '_ftp._tcp.svc1.testns.svc.cluster.local.', qtype: 'SRV', ...NX },
  { qname: '_http._tcp.svc1.testns.svc.cluster.local.', qtype: 'A', answer: ['_http._tcp.svc1.testns.svc.cluster.local.\t5\tIN\tA\t10.0.0.1'] },
  // S18: an unnamed port has no `_port._proto` name, but the bare-name SRV lists it
  { qname: '_._tcp.unnamed.testns.svc.cluster.local.', qtype: 'SRV', answer: ['_._tcp.unnamed.testns.svc.cluster.local.\t5\tIN\tSRV\t0 100 8080 unnamed.testns.svc.cluster.local.'], extra: ['unnamed.testns.svc.cluster.local.\t5\tIN\tA\t10.0.0.6'] },
  { qname: '_http._tcp.unnamed.testns.svc.cluster.local.', qtype: 'SRV', ...NX },
  {
    qname: 'unnamed.testns.svc.cluster.local.',
    qtype: 'SRV',
    answer: ['unnamed.testns.svc.cluster.local.\t5\tIN\tSRV\t0 100 8080 unnamed.testns.svc.cluster.local.'],
    extra: ['unnamed.testns.svc.cluster.local.\t5\tIN\tA\t10.0.0.6'],
  },
  // Headless (S7-S11, C8)
  {
    qname: 'hdls1.testns.svc.cluster.local.',
    qtype: 'A',
    answer: [
      'hdls1.testns.svc.cluster.local.\t5\tIN\tA\t172.0.0.2',
      'hdls1.testns.svc.cluster.local.\t5\tIN\tA\t172.0.0.3',
      'hdls1.testns.svc.cluster.local.\t5\tIN\tA\t172.0.0.4',
      'hdls1.testns.svc.cluster.local.\t5\tIN\tA\t172.0.0.5',
    ],
  },
  {
    qname: 'hdls1.testns.svc.cluster.local.',
    qtype: 'AAAA',
    answer: ['hdls1.testns.svc.cluster.local.\t5\tIN\tAAAA\t5678:abcd::1', 'hdls1.testns.svc.cluster.local.\t5\tIN\tAAAA\t5678:abcd::2'],
  },
  { qname: '172-0-0-2.hdls1.testns.svc.cluster.local.', qtype: 'A', answer: ['172-0-0-2.hdls1.testns.svc.cluster.local.\t5\tIN\tA\t172.0.0.2'] },
  { qname: '172-0-0-2.hdls1.testns.svc.cluster.local.', qtype: 'AAAA', ...NODATA },
  {
    qname: 'dup-name.hdls1.testns.svc.cluster.local.',
    qtype: 'A',
    answer: ['dup-name.hdls1.testns.svc.cluster.local.\t5\tIN\tA\t172.0.0.4', 'dup-name.hdls1.testns.svc.cluster.local.\t5\tIN\tA\t172.0.0.5'],
  },
  { qname: '5678-abcd--2.hdls1.testns.svc.cluster.local.', qtype: 'AAAA', answer: ['5678-abcd--2.hdls1.testns.svc.cluster.local.\t5\tIN\tAAAA\t5678:abcd::2'] },
  {
    qname: '_http._tcp.hdls1.testns.svc.cluster.local.',
    qtype: 'SRV',
    answer: [
      '_http._tcp.hdls1.testns.svc.cluster.local.\t5\tIN\tSRV\t0 16 80 172-0-0-2.hdls1.testns.svc.cluster.local.',
      '_http._tcp.hdls1.testns.svc.cluster.local.\t5\tIN\tSRV\t0 16 80 172-0-0-3.hdls1.testns.svc.cluster.local.',
      '_http._tcp.hdls1.testns.svc.cluster.local.\t5\tIN\tSRV\t0 16 80 dup-name.hdls1.testns.svc.cluster.local.',
      '_http._tcp.hdls1.testns.svc.cluster.local.\t5\tIN\tSRV\t0 16 80 5678-abcd--1.hdls1.testns.svc.cluster.local.',
      '_http._tcp.hdls1.testns.svc.cluster.local.\t5\tIN\tSRV\t0 16 80 5678-abcd--2.hdls1.testns.svc.cluster.local.',
    ],
    extra: [
      '172-0-0-2.hdls1.testns.svc.cluster.local.\t5\tIN\tA\t172.0.0.2',
      '172-0-0-3.hdls1.testns.svc.cluster.local.\t5\tIN\tA\t172.0.0.3',
      'dup-name.hdls1.testns.svc.cluster.local.\t5\tIN\tA\t172.0.0.4',
      'dup-name.hdls1.testns.svc.cluster.local.\t5\tIN\tA\t172.0.0.5',
      '5678-abcd--1.hdls1.testns.svc.cluster.local.\t5\tIN\tAAAA\t5678:abcd::1',
      '5678-abcd--2.hdls1.testns.svc.cluster.local.\t5\tIN\tAAAA\t5678:abcd::2',
    ],
  },
  // C4: below a headless service only its endpoints; below an ExternalName nothing
  { qname: 'bogusendpoint.hdls1.testns.svc.cluster.local.', qtype: 'A', ...NX },
  { qname: 'bogusendpoint.svc0.testns.svc.cluster.local.', qtype: 'A', ...NX },
  { qname: 'x.external.testns.svc.cluster.local.', qtype: 'A', ...NX },
  // C8: endpoint names work for ClusterIP services too
  { qname: 'ep1a.svc1.testns.svc.cluster.local.', qtype: 'A', answer: ['ep1a.svc1.testns.svc.cluster.local.\t5\tIN\tA\t172.0.0.1'] },
  // Headless without ports: A records, no SRV
  { qname: 'hdlsprtls.testns.svc.cluster.local.', qtype: 'A', answer: ['hdlsprtls.testns.svc.cluster.local.\t5\tIN\tA\t172.0.0.20'] },
  { qname: '172-0-0-20.hdlsprtls.testns.svc.cluster.local.', qtype: 'A', answer: ['172-0-0-20.hdlsprtls.testns.svc.cluster.local.\t5\tIN\tA\t172.0.0.20'] },
  { qname: 'hdlsprtls.testns.svc.cluster.local.', qtype: 'SRV', ...NODATA },
  // Readiness: ready true and nil are answered, false is not; none ready is NXDOMAIN (S16)
  {
    qname: 'hdls-ready.testns.svc.cluster.local.',
    qtype: 'A',
    answer: ['hdls-ready.testns.svc.cluster.local.\t5\tIN\tA\t172.0.1.1', 'hdls-ready.testns.svc.cluster.local.\t5\tIN\tA\t172.0.1.3'],
  },
  {
    qname: '_http._tcp.hdls-ready.testns.svc.cluster.local.',
    qtype: 'SRV',
    answer: [
      '_http._tcp.hdls-ready.testns.svc.cluster.local.\t5\tIN\tSRV\t0 50 80 web-0.hdls-ready.testns.svc.cluster.local.',
      '_http._tcp.hdls-ready.testns.svc.cluster.local.\t5\tIN\tSRV\t0 50 80 web-2.hdls-ready.testns.svc.cluster.local.',
    ],
    extra: ['web-0.hdls-ready.testns.svc.cluster.local.\t5\tIN\tA\t172.0.1.1', 'web-2.hdls-ready.testns.svc.cluster.local.\t5\tIN\tA\t172.0.1.3'],
  },
  { qname: 'web-1.hdls-ready.testns.svc.cluster.local.', qtype: 'A', ...NX },
  { qname: 'hdls-empty.testns.svc.cluster.local.', qtype: 'A', ...NX },
  { qname: 'hdls-empty.testns.svc.cluster.local.', qtype: 'AAAA', ...NX },
  // ExternalName (S14, C10)
  { qname: 'external.testns.svc.cluster.local.', qtype: 'CNAME', answer: ['external.testns.svc.cluster.local.\t5\tIN\tCNAME\text.interwebs.test.'] },
  {
    qname: 'external-to-service.testns.svc.cluster.local.',
    qtype: 'A',
    answer: ['external-to-service.testns.svc.cluster.local.\t5\tIN\tCNAME\tsvc1.testns.svc.cluster.local.', 'svc1.testns.svc.cluster.local.\t5\tIN\tA\t10.0.0.1'],
  },
  { qname: 'external-to-service.testns.svc.cluster.local.', qtype: 'AAAA', ...NODATA },
  { qname: 'external.testns.svc.cluster.local.', qtype: 'SRV', ...NODATA },
  { qname: 'external-ip.testns.svc.cluster.local.', qtype: 'A', ...NX },
  { qname: 'external-ip.testns.svc.cluster.local.', qtype: 'CNAME', ...NX },
  // C2: no such service or namespace
  { qname: 'svc0.testns.svc.cluster.local.', qtype: 'A', ...NX },
  { qname: 'svc0.testns.svc.cluster.local.', qtype: 'AAAA', ...NX },
  { qname: 'svc0.testns.svc.cluster.local.', qtype: 'TXT', ...NX },
  { qname: 'svc0.svc-nons.svc.cluster.local.', qtype: 'A', ...NX },
  { qname: 'svc1.nsnoexist.svc.cluster.local.', qtype: 'A', ...NX },
  // C3: empty non-terminals are NODATA; anything else under the zone NXDOMAIN
  { qname: 'svc.cluster.local.', qtype: 'A', ...NODATA },
  { qname: 'pod.cluster.local.', qtype: 'A', ...NODATA },
  { qname: 'testns.svc.cluster.local.', qtype: 'A', ...NODATA },
  { qname: 'testns.svc.cluster.local.', qtype: 'NS', ...NODATA },
  { qname: 'nsnoexist.svc.cluster.local.', qtype: 'A', ...NX },
  { qname: 'foo.cluster.local.', qtype: 'A', ...NX },
  { qname: 'foo.cluster.local.', qtype: 'NS', ...NX },
  { qname: 'foo.svc.cluster.local.', qtype: 'NS', ...NX },
  { qname: 'a.b._http._tcp.svc1.testns.svc.cluster.local.', qtype: 'A', ...NX },
  { qname: 'a.ep1a.svc1.testns.svc.cluster.local.', qtype: 'A', ...NX },
  // No wildcards: CoreDNS removed them (1.9.0); `*` and `any` are plain labels naming no
  // service, namespace, endpoint, port or protocol (its match() is strings.EqualFold).
  { qname: '*.default.svc.cluster.local.', qtype: 'A', ...NX },
  { qname: '*.testns.svc.cluster.local.', qtype: 'A', ...NX },
  { qname: '*.testns.svc.cluster.local.', qtype: 'SRV', ...NX },
  { qname: 'any.testns.svc.cluster.local.', qtype: 'A', ...NX },
  { qname: '*.*.svc.cluster.local.', qtype: 'A', ...NX },
  { qname: 'x.*.svc.cluster.local.', qtype: 'A', ...NX },
  { qname: 'svc1.*.svc.cluster.local.', qtype: 'A', ...NX },
  { qname: 'svc1.any.svc.cluster.local.', qtype: 'A', ...NX },
  { qname: '*.svc.cluster.local.', qtype: 'A', ...NX },
  { qname: '*.svc1.testns.svc.cluster.local.', qtype: 'A', ...NX },
  { qname: '*.hdls1.testns.svc.cluster.local.', qtype: 'A', ...NX },
  { qname: '_*._tcp.svc1.testns.svc.cluster.local.', qtype: 'SRV', ...NX },
  { qname: '_http._*.svc1.testns.svc.cluster.local.', qtype: 'SRV', ...NX },
  { qname: '*.podns.pod.cluster.local.', qtype: 'A', cfg: { podsMode: 'insecure' }, ...NX },
  // Apex: SOA, NS with glue, NODATA for addresses; ns.dns answers the DNS service's address
  { qname: 'cluster.local.', qtype: 'SOA', answer: [SOA] },
  {
    qname: 'cluster.local.',
    qtype: 'NS',
    answer: ['cluster.local.\t5\tIN\tNS\tns.dns.cluster.local.'],
    extra: ['ns.dns.cluster.local.\t5\tIN\tA\t10.0.0.10'],
  },
  { qname: 'cluster.local.', qtype: 'A', ...NODATA },
  { qname: 'ns.dns.cluster.local.', qtype: 'A', answer: ['ns.dns.cluster.local.\t5\tIN\tA\t10.0.0.10'] },
  { qname: 'ns.dns.cluster.local.', qtype: 'AAAA', ...NODATA },
  { qname: 'ns.dns.cluster.local.', qtype: 'SRV', ...NODATA },
  // Zone transfers are refused
  { qname: 'cluster.local.', qtype: 'AXFR', rcode: RCODE.REFUSED },
  { qname: 'cluster.local.', qtype: 'IXFR', rcode: RCODE.REFUSED },
  // PTR (S5, S6, S12, S13, C9)
  { qname: '1.0.0.10.in-addr.arpa.', qtype: 'PTR', answer: ['1.0.0.10.in-addr.arpa.\t5\tIN\tPTR\tsvc1.testns.svc.cluster.local.'] },
  { qname: '3.0.0.10.in-addr.arpa.', qtype: 'PTR', answer: ['3.0.0.10.in-addr.arpa.\t5\tIN\tPTR\tsvc-dual-stack.testns.svc.cluster.local.'] },
  {
    qname: '3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.ip6.arpa.',
    qtype: 'PTR',
    answer: ['3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.ip6.arpa.\t5\tIN\tPTR\tsvc-dual-stack.testns.svc.cluster.local.'],
  },
  { qname: '4.0.0.172.in-addr.arpa.', qtype: 'PTR', answer: ['4.0.0.172.in-addr.arpa.\t5\tIN\tPTR\tdup-name.hdls1.testns.svc.cluster.local.'] },
  { qname: '2.0.0.172.in-addr.arpa.', qtype: 'PTR', answer: ['2.0.0.172.in-addr.arpa.\t5\tIN\tPTR\t172-0-0-2.hdls1.testns.svc.cluster.local.'] },
  {
    qname: '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.8.7.6.5.ip6.arpa.',
    qtype: 'PTR',
    answer: ['1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.8.7.6.5.ip6.arpa.\t5\tIN\tPTR\t5678-abcd--1.hdls1.testns.svc.cluster.local.'],
  },
  { qname: '2.1.0.172.in-addr.arpa.', qtype: 'PTR', rcode: RCODE.NXDOMAIN, ns: [`in-addr.arpa.\t5\tIN\tSOA\tns.dns.in-addr.arpa. hostmaster.in-addr.arpa. ${SERIAL} 7200 1800 86400 5`] },
  { qname: '99.0.0.10.in-addr.arpa.', qtype: 'PTR', rcode: RCODE.NXDOMAIN, ns: [`in-addr.arpa.\t5\tIN\tSOA\tns.dns.in-addr.arpa. hostmaster.in-addr.arpa. ${SERIAL} 7200 1800 86400 5`] },
  { qname: 'in-addr.arpa.', qtype: 'SOA', answer: [`in-addr.arpa.\t5\tIN\tSOA\tns.dns.in-addr.arpa. hostmaster.in-addr.arpa. ${SERIAL} 7200 1800 86400 5`] },
  // S17: matching ignores case; owner names echo the question, SOA owner the question's zone
  { qname: 'SVC1.TestNS.svc.Cluster.Local.', qtype: 'A', answer: ['SVC1.TestNS.svc.Cluster.Local.\t5\tIN\tA\t10.0.0.1'] },
  { qname: 'svc0.TestNS.svc.Cluster.Local.', qtype: 'A', rcode: RCODE.NXDOMAIN, ns: [`Cluster.Local.\t5\tIN\tSOA\tns.dns.Cluster.Local. hostmaster.Cluster.Local. ${SERIAL} 7200 1800 86400 5`] },
  // C11: pods
  { qname: '10-240-0-1.podns.pod.cluster.local.', qtype: 'A', ...NX },
  { qname: '10-240-0-1.podns.pod.cluster.local.', qtype: 'A', cfg: { podsMode: 'insecure' }, answer: ['10-240-0-1.podns.pod.cluster.local.\t5\tIN\tA\t10.240.0.1'] },
  { qname: '10-240-0-9.podns.pod.cluster.local.', qtype: 'A', cfg: { podsMode: 'insecure' }, answer: ['10-240-0-9.podns.pod.cluster.local.\t5\tIN\tA\t10.240.0.9'] },
  { qname: 'blah.podns.pod.cluster.local.', qtype: 'A', cfg: { podsMode: 'insecure' }, ...NX },
  { qname: '10-240-0-1.nonexistent.pod.cluster.local.', qtype: 'A', cfg: { podsMode: 'insecure' }, ...NX },
  { qname: '1234-abcd--1.podns.pod.cluster.local.', qtype: 'AAAA', cfg: { podsMode: 'insecure' }, answer: ['1234-abcd--1.podns.pod.cluster.local.\t5\tIN\tAAAA\t1234:abcd::1'] },
  { qname: 'podns.pod.cluster.local.', qtype: 'A', cfg: { podsMode: 'insecure' }, ...NODATA },
  { qname: 'podns.pod.cluster.local.', qtype: 'A', ...NX },
  { qname: '10-240-0-1.podns.pod.cluster.local.', qtype: 'A', cfg: { podsMode: 'verified' }, answer: ['10-240-0-1.podns.pod.cluster.local.\t5\tIN\tA\t10.240.0.1'] },
  { qname: '10-240-0-9.podns.pod.cluster.local.', qtype: 'A', cfg: { podsMode: 'verified' }, ...NX },
  { qname: '10-240-0-1.testns.pod.cluster.local.', qtype: 'A', cfg: { podsMode: 'verified' }, ...NX },
  // A configured TTL applies to every record and is the SOA minimum
  { qname: 'svc1.testns.svc.cluster.local.', qtype: 'A', cfg: { ttl: 30 }, answer: ['svc1.testns.svc.cluster.local.\t30\tIN\tA\t10.0.0.1'] },
  {
    qname: 'svc0.testns.svc.cluster.local.',
    qtype: 'A',
    cfg: { ttl: 600 },
    rcode: RCODE.NXDOMAIN,
    ns: [`cluster.local.\t300\tIN\tSOA\tns.dns.cluster.local. hostmaster.cluster.local. ${SERIAL} 7200 1800 86400 600`],
  },
];

for (const c of cases) {
  const cfgNote = c.cfg ? ` (${JSON.stringify(c.cfg)})` : '';
  test(`${c.qname} ${c.qtype}${cfgNote} is answered ${rcodeName(c.rcode ?? 0)} as CoreDNS answers it`, () => {
    const cfg = { ...baseConfig, ...c.cfg };
    const a = answer(fixtureModel(), question(c.qname, typeCode(c.qtype)), cfg);
    assert.ok(a, 'the cluster answers, it does not forward');
    assert.deepEqual(
      { rcode: rcodeName(a.rcode), answer: a.answer.map(rrText), ns: a.authority.map(rrText), extra: a.additional.map(rrText) },
      { rcode: rcodeName(c.rcode ?? 0), answer: c.answer ?? [], ns: c.ns ?? [], extra: c.extra ?? [] },
    );
    assert.equal(a.authoritative, a.rcode !== RCODE.REFUSED);
  });
}

test('names outside the cluster zones are not answered but forwarded', () => {
  assert.equal(answer(fixtureModel(), question('example.com.', TYPE.A), baseConfig), null);
  assert.equal(answer(fixtureModel(), question('.', TYPE.NS), baseConfig), null);
  assert.equal(answer(fixtureModel(), question('cluster.local.example.', TYPE.A), baseConfig), null);
});

test('unknown reverse names fall through to the upstreams when fallthrough is on', () => {
  const cfg = { ...baseConfig, reverseFallthrough: true };
  assert.equal(answer(fixtureModel(), question('8.8.8.8.in-addr.arpa.', TYPE.PTR), cfg), null);
  assert.equal(answer(fixtureModel(), question('1.0.0.10.in-addr.arpa.', TYPE.A), cfg), null);
  assert.ok(answer(fixtureModel(), question('1.0.0.10.in-addr.arpa.', TYPE.PTR), cfg), 'answer(fixtureModel(), question(\'1.0.0.10.in-addr.arpa.\', TYPE.PTR), cfg)');
});

test('an ExternalName outside the zone is answered by chasing its target through the server', () => {
  const a = answer(fixtureModel(), question('external.testns.svc.cluster.local.', TYPE.A), baseConfig);
  assert.ok(a?.chase, 'a?.chase');
  assert.equal(a.cacheable, false);
  assert.deepEqual(a.chase.prefix.map(rrText), ['external.testns.svc.cluster.local.\t5\tIN\tCNAME\text.interwebs.test.']);
  assert.equal(a.chase.target, 'ext.interwebs.test.');
  assert.equal(a.chase.qtype, TYPE.A);
  // What stands if the chase fails: NODATA, as CoreDNS.
  assert.equal(a.rcode, RCODE.NOERROR);
  assert.deepEqual(a.authority.map(rrText), [SOA]);
});

test('until the informers have synced, would-be NXDOMAINs are SERVFAIL', () => {
  const m = fixtureModel();
  m.setSynced(false);
  const a = answer(m, question('svc0.testns.svc.cluster.local.', TYPE.A), baseConfig);
  assert.equal(a?.rcode, RCODE.SERVFAIL);
  assert.deepEqual(a.authority.map(rrText), [SOA]);
  assert.equal(answer(m, question('svc1.testns.svc.cluster.local.', TYPE.A), baseConfig)?.rcode, RCODE.NOERROR);
});

test('SRV weights split 100 between the records and are at least 1', () => {
  const m = fixtureModel();
  const eps: Endpoint[] = [];
  for (let i = 1; i <= 150; i++) eps.push({ addresses: [`172.1.${i >> 8}.${i & 255}`], conditions: { ready: true } });
  m.setService(toDnsService(svc('testns', 'big', { clusterIP: 'None', ports: http }))!);
  m.setSlice(toDnsSlice(slice('testns', 'big-1', 'big', 'IPv4', eps, http))!);
  const a = answer(m, question('_http._tcp.big.testns.svc.cluster.local.', TYPE.SRV), baseConfig);
  assert.equal(a?.answer.length, 150);
  assert.ok(a.answer.every((rr) => rr.type === 'SRV' && rr.weight === 1 && rr.priority === 0), 'a.answer.every((rr) => rr.type === \'SRV\' && rr.weight === 1 && rr.priority === 0)');
  const three = answer(m, question('multiport.testns.svc.cluster.local.', TYPE.SRV), baseConfig);
  assert.deepEqual(three?.answer.map((rr) => (rr.type === 'SRV' ? rr.weight : -1)), [33, 33, 33]);
});

test('a change to the model shows in the next answer, and the serial moves with it', () => {
  let now = 1000;
  const m = new DnsModel(() => now);
  m.setNamespace('testns', true);
  m.setSynced(true);
  now = 2000;
  assert.equal(answer(m, question('late.testns.svc.cluster.local.', TYPE.A), baseConfig)?.rcode, RCODE.NXDOMAIN);
  m.setService(toDnsService(svc('testns', 'late', { clusterIP: '10.0.9.9', ports: http }))!);
  const a = answer(m, question('late.testns.svc.cluster.local.', TYPE.A), baseConfig);
  assert.deepEqual(a?.answer.map(rrText), ['late.testns.svc.cluster.local.\t5\tIN\tA\t10.0.9.9']);
  assert.equal(m.serial, 2000);
  const gen = m.generation;
  assert.equal(m.setService(toDnsService(svc('testns', 'late', { clusterIP: '10.0.9.9', ports: http }))!), false, 'an identical update changes nothing');
  assert.equal(m.generation, gen);
  m.deleteService('late', 'testns');
  assert.equal(answer(m, question('late.testns.svc.cluster.local.', TYPE.A), baseConfig)?.rcode, RCODE.NXDOMAIN);
});
