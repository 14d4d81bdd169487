// Services refused and accepted as kube-apiserver 1.33 refuses and accepts them: each case goes
// through defaulting, the registry strategy and validation, and the 422 message is compared
// word for word with what Kubernetes' validation.go produces for it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Service, ServiceSpec } from 'kubernetes-types/core/v1.js';
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';
import { Services, invalid } from '../index.ts';
import { defaultObject, initServiceIPFamilies } from '../defaults/index.ts';
import { normalizeClusterIPs, patchAllocatedValues, prepareForCreate, prepareForUpdate } from '../strategy/index.ts';
import { checkAllocationRanges, defaultClusterConfig, validateCreate, validateUpdate } from './index.ts';

const gk = { group: '', kind: 'Service' };

// Loose on purpose: tests write values the types forbid (type Foo, trafficDistribution).
function svc(spec: object, meta: ObjectMeta = {}): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default', ...meta }, spec: structuredClone(spec) };
}

const web: ServiceSpec = { selector: { app: 'web' }, ports: [{ port: 80 }] };

/** What `kubectl create` of this Service gets back: undefined when created, else the 422 message. */
function createMessage(obj: Service): string | undefined {
  defaultObject(Services, obj);
  normalizeClusterIPs(obj);
  prepareForCreate(Services, obj);
  const errs = validateCreate(Services, obj);
  return errs.length ? invalid(gk, obj.metadata?.name ?? '', errs).message : undefined;
}

const dns1035 =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const dns1123Label =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const dns1123Subdomain =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const qualifiedName =
  "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')";
const nameChars =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const labelValue =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const portRange = 'must be between 1 and 65535, inclusive';
const badIP = 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)';
const onlyLB = "may only be used when `type` is 'LoadBalancer'";

const invalidServices: { name: string; obj: Service; message: string }[] = [
  { name: 'an upper-case name', obj: svc(web, { name: 'Web' }), message: `Service "Web" is invalid: metadata.name: Invalid value: "Web": ${dns1035}` },
  { name: 'a name starting with a digit', obj: svc(web, { name: '1web' }), message: `Service "1web" is invalid: metadata.name: Invalid value: "1web": ${dns1035}` },
  {
    name: 'a name of 64 characters',
    obj: svc(web, { name: 'a'.repeat(64) }),
    message: `Service "${'a'.repeat(64)}" is invalid: metadata.name: Invalid value: "${'a'.repeat(64)}": must be no more than 63 characters`,
  },
  { name: 'no name', obj: svc(web, { name: '' }), message: 'Service "" is invalid: metadata.name: Required value: name or generateName is required' },
  { name: 'no namespace', obj: svc(web, { namespace: '' }), message: 'Service "web" is invalid: metadata.namespace: Required value' },
  {
    name: 'a bad generateName',
    obj: svc(web, { generateName: 'Web-' }),
    message: `Service "web" is invalid: metadata.generateName: Invalid value: "Web-": ${dns1035}`,
  },
  {
    name: 'a bad label key',
    obj: svc(web, { labels: { '-app': 'web' } }),
    message: `Service "web" is invalid: metadata.labels: Invalid value: "-app": name part ${nameChars}`,
  },
  {
    name: 'a bad annotation key',
    obj: svc(web, { annotations: { 'a/b/c': 'x' } }),
    message: `Service "web" is invalid: metadata.annotations: Invalid value: "a/b/c": ${qualifiedName}`,
  },
  {
    name: 'a finalizer that is neither standard nor qualified',
    obj: svc(web, { finalizers: ['mine'] }),
    message: 'Service "web" is invalid: metadata.finalizers[0]: Invalid value: "mine": name is neither a standard finalizer name nor is it fully qualified',
  },
  {
    name: 'topology annotations that disagree',
    obj: svc(web, { annotations: { 'service.kubernetes.io/topology-aware-hints': 'Disabled', 'service.kubernetes.io/topology-mode': 'Auto' } }),
    message:
      'Service "web" is invalid: metadata.annotations[service.kubernetes.io/topology-mode]: Invalid value: "Auto": must match annotations[service.kubernetes.io/topology-aware-hints] when both are specified',
  },
  { name: 'no ports', obj: svc({ selector: { app: 'web' } }), message: 'Service "web" is invalid: spec.ports: Required value' },
  {
    name: 'port 0',
    obj: svc({ ports: [{ port: 0 }] }),
    message: `Service "web" is invalid: [spec.ports[0].port: Invalid value: 0: ${portRange}, spec.ports[0].targetPort: Invalid value: 0: ${portRange}]`,
  },
  {
    name: 'port 70000',
    obj: svc({ ports: [{ port: 70000, targetPort: 8080 }] }),
    message: `Service "web" is invalid: spec.ports[0].port: Invalid value: 70000: ${portRange}`,
  },
  {
    name: 'protocol HTTP',
    obj: svc({ ports: [{ port: 80, protocol: 'HTTP' }] }),
    message: 'Service "web" is invalid: spec.ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"',
  },
  {
    name: 'two ports without names',
    obj: svc({ ports: [{ port: 80 }, { port: 443 }] }),
    message: 'Service "web" is invalid: [spec.ports[0].name: Required value, spec.ports[1].name: Required value]',
  },
  {
    name: 'two ports with the same name',
    obj: svc({ ports: [{ name: 'http', port: 80 }, { name: 'http', port: 81 }] }),
    message: 'Service "web" is invalid: spec.ports[1].name: Duplicate value: "http"',
  },
  {
    name: 'an upper-case port name',
    obj: svc({ ports: [{ name: 'HTTP', port: 80 }] }),
    message: `Service "web" is invalid: spec.ports[0].name: Invalid value: "HTTP": ${dns1123Label}`,
  },
  {
    name: 'a port name with a dot',
    obj: svc({ ports: [{ name: 'a.b', port: 80 }] }),
    message: 'Service "web" is invalid: spec.ports[0].name: Invalid value: "a.b": must not contain dots',
  },
  {
    name: 'the same port and protocol twice',
    obj: svc({ ports: [{ name: 'a', port: 80 }, { name: 'b', port: 80, targetPort: 8080 }] }),
    message:
      'Service "web" is invalid: spec.ports[1]: Duplicate value: core.ServicePort{Name:"", Protocol:"TCP", AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}',
  },
  {
    name: 'targetPort 70000',
    obj: svc({ ports: [{ port: 80, targetPort: 70000 }] }),
    message: `Service "web" is invalid: spec.ports[0].targetPort: Invalid value: 70000: ${portRange}`,
  },
  {
    name: 'an upper-case named targetPort',
    obj: svc({ ports: [{ port: 80, targetPort: 'HTTP' }] }),
    message:
      'Service "web" is invalid: [spec.ports[0].targetPort: Invalid value: "HTTP": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-), spec.ports[0].targetPort: Invalid value: "HTTP": must contain at least one letter (a-z)]',
  },
  {
    name: 'a named targetPort of 16 characters',
    obj: svc({ ports: [{ port: 80, targetPort: 'abcdefghijklmnop' }] }),
    message: 'Service "web" is invalid: spec.ports[0].targetPort: Invalid value: "abcdefghijklmnop": must be no more than 15 characters',
  },
  {
    name: 'a targetPort written as a string of digits',
    obj: svc({ ports: [{ port: 80, targetPort: '8080' }] }),
    message: 'Service "web" is invalid: spec.ports[0].targetPort: Invalid value: "8080": must contain at least one letter (a-z)',
  },
  {
    name: 'a named targetPort with two hyphens in a row',
    obj: svc({ ports: [{ port: 80, targetPort: 'my--port' }] }),
    message: 'Service "web" is invalid: spec.ports[0].targetPort: Invalid value: "my--port": must not contain consecutive hyphens',
  },
  {
    name: 'a named targetPort starting with a hyphen',
    obj: svc({ ports: [{ port: 80, targetPort: '-http' }] }),
    message: 'Service "web" is invalid: spec.ports[0].targetPort: Invalid value: "-http": must not begin or end with a hyphen',
  },
  {
    name: 'an appProtocol that is not a qualified name',
    obj: svc({ ports: [{ port: 80, appProtocol: 'a/b/c' }] }),
    message: `Service "web" is invalid: spec.ports[0].appProtocol: Invalid value: "a/b/c": ${qualifiedName}`,
  },
  {
    name: 'a selector value with a space',
    obj: svc({ selector: { app: 'bad value' }, ports: [{ port: 80 }] }),
    message: `Service "web" is invalid: spec.selector: Invalid value: "bad value": ${labelValue}`,
  },
  {
    name: 'type Foo',
    obj: svc({ ...web, type: 'Foo' }),
    message: 'Service "web" is invalid: spec.type: Unsupported value: "Foo": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
  },
  {
    name: 'sessionAffinity Sticky',
    obj: svc({ ...web, sessionAffinity: 'Sticky' }),
    message: 'Service "web" is invalid: spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None"',
  },
  {
    name: 'a ClientIP timeout of 0',
    obj: svc({ ...web, sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 0 } } }),
    message: 'Service "web" is invalid: spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 0: must be greater than 0 and less than 86400',
  },
  {
    name: 'a ClientIP timeout over a day',
    obj: svc({ ...web, sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 86401 } } }),
    message: 'Service "web" is invalid: spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 86401: must be greater than 0 and less than 86400',
  },
  {
    name: 'a headless NodePort',
    obj: svc({ ...web, type: 'NodePort', clusterIP: 'None' }),
    message: `Service "web" is invalid: spec.clusterIPs[0]: Invalid value: "None": may not be set to 'None' for NodePort services`,
  },
  {
    name: 'a headless LoadBalancer',
    obj: svc({ ...web, type: 'LoadBalancer', clusterIP: 'None' }),
    message: `Service "web" is invalid: spec.clusterIPs[0]: Invalid value: "None": may not be set to 'None' for LoadBalancer services`,
  },
  { name: 'an ExternalName without externalName', obj: svc({ type: 'ExternalName' }), message: 'Service "web" is invalid: spec.externalName: Required value' },
  {
    name: 'an ExternalName that is not a DNS name',
    obj: svc({ type: 'ExternalName', externalName: '-db.example.com' }),
    message: `Service "web" is invalid: spec.externalName: Invalid value: "-db.example.com": ${dns1123Subdomain}`,
  },
  {
    name: 'an ExternalName with a clusterIP',
    obj: svc({ type: 'ExternalName', externalName: 'db.example.com', clusterIP: '10.96.0.10' }),
    message: 'Service "web" is invalid: spec.clusterIPs: Forbidden: may not be set for ExternalName services',
  },
  {
    name: 'an ExternalName with ipFamilies',
    obj: svc({ type: 'ExternalName', externalName: 'db.example.com', ipFamilies: ['IPv4'] }),
    message: 'Service "web" is invalid: spec.ipFamilies: Forbidden: may not be set for ExternalName services',
  },
  {
    name: 'an ExternalName with ipFamilyPolicy',
    obj: svc({ type: 'ExternalName', externalName: 'db.example.com', ipFamilyPolicy: 'SingleStack' }),
    message: 'Service "web" is invalid: spec.ipFamilyPolicy: Forbidden: may not be set for ExternalName services',
  },
  {
    name: 'a nodePort on a ClusterIP service',
    obj: svc({ ports: [{ port: 80, nodePort: 30001 }] }),
    message: "Service \"web\" is invalid: spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'",
  },
  {
    name: 'the same nodePort twice',
    obj: svc({ type: 'NodePort', ports: [{ name: 'a', port: 80, nodePort: 30001 }, { name: 'b', port: 81, nodePort: 30001 }] }),
    message: 'Service "web" is invalid: spec.ports[1].nodePort: Duplicate value: 30001',
  },
  {
    name: 'an external IP that is not an IP',
    obj: svc({ ...web, externalIPs: ['1.2.3'] }),
    message: `Service "web" is invalid: spec.externalIPs[0]: Invalid value: "1.2.3": ${badIP}`,
  },
  {
    name: 'a loopback external IP',
    obj: svc({ ...web, externalIPs: ['127.0.0.1'] }),
    message: 'Service "web" is invalid: spec.externalIPs[0]: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)',
  },
  {
    name: 'an unspecified external IP',
    obj: svc({ ...web, externalIPs: ['0.0.0.0'] }),
    message: 'Service "web" is invalid: spec.externalIPs[0]: Invalid value: "0.0.0.0": may not be unspecified (0.0.0.0)',
  },
  {
    name: 'a link-local external IP',
    obj: svc({ ...web, externalIPs: ['169.254.1.1'] }),
    message: 'Service "web" is invalid: spec.externalIPs[0]: Invalid value: "169.254.1.1": may not be in the link-local range (169.254.0.0/16, fe80::/10)',
  },
  {
    name: 'loadBalancerSourceRanges on a ClusterIP service',
    obj: svc({ ...web, loadBalancerSourceRanges: ['10.0.0.0/8'] }),
    message: `Service "web" is invalid: spec.LoadBalancerSourceRanges: Forbidden: ${onlyLB}`,
  },
  {
    name: 'a source range that is not a CIDR',
    obj: svc({ ...web, type: 'LoadBalancer', loadBalancerSourceRanges: ['10.0.0.0/33'] }),
    message: 'Service "web" is invalid: spec.LoadBalancerSourceRanges[0]: Invalid value: "10.0.0.0/33": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
  },
  {
    name: 'the source-ranges annotation on a ClusterIP service',
    obj: svc(web, { annotations: { 'service.beta.kubernetes.io/load-balancer-source-ranges': '10.0.0.0/8' } }),
    message: `Service "web" is invalid: metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]: Forbidden: ${onlyLB}`,
  },
  {
    name: 'allocateLoadBalancerNodePorts on a NodePort service',
    obj: svc({ ...web, type: 'NodePort', allocateLoadBalancerNodePorts: false }),
    message: `Service "web" is invalid: spec.allocateLoadBalancerNodePorts: Forbidden: ${onlyLB}`,
  },
  {
    name: 'loadBalancerClass on a ClusterIP service',
    obj: svc({ ...web, loadBalancerClass: 'example.com/lb' }),
    message: `Service "web" is invalid: spec.loadBalancerClass: Forbidden: ${onlyLB}`,
  },
  {
    name: 'a loadBalancerClass that is not a qualified name',
    obj: svc({ ...web, type: 'LoadBalancer', loadBalancerClass: 'a/b/c' }),
    message: `Service "web" is invalid: spec.loadBalancerClass: Invalid value: "a/b/c": ${qualifiedName}`,
  },
  {
    name: 'externalTrafficPolicy on an internal service',
    obj: svc({ ...web, externalTrafficPolicy: 'Local' }),
    message: 'Service "web" is invalid: spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services',
  },
  {
    name: 'externalTrafficPolicy Global',
    obj: svc({ ...web, type: 'NodePort', externalTrafficPolicy: 'Global' }),
    message: 'Service "web" is invalid: spec.externalTrafficPolicy: Unsupported value: "Global": supported values: "Cluster", "Local"',
  },
  {
    name: 'healthCheckNodePort on a NodePort service',
    obj: svc({ ...web, type: 'NodePort', healthCheckNodePort: 30100 }),
    message: "Service \"web\" is invalid: spec.healthCheckNodePort: Invalid value: 30100: may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
  },
  {
    name: 'internalTrafficPolicy Global',
    obj: svc({ ...web, internalTrafficPolicy: 'Global' }),
    message: 'Service "web" is invalid: spec.internalTrafficPolicy: Unsupported value: "Global": supported values: "Cluster", "Local"',
  },
  {
    name: 'trafficDistribution PreferSameNode',
    obj: svc({ ...web, trafficDistribution: 'PreferSameNode' }),
    message: 'Service "web" is invalid: spec.trafficDistribution: Unsupported value: "PreferSameNode": supported values: "PreferClose"',
  },
  {
    name: 'a clusterIP that is not an IP',
    obj: svc({ ...web, clusterIP: '10.0.0.300' }),
    message: `Service "web" is invalid: spec.clusterIPs[0]: Invalid value: "10.0.0.300": ${badIP}`,
  },
  {
    name: 'clusterIPs that disagree with clusterIP',
    obj: svc({ ...web, clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.11'] }),
    message: 'Service "web" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.0.11"}: first value must match `clusterIP`',
  },
  {
    name: 'clusterIPs without clusterIP',
    obj: svc({ ...web, clusterIPs: ['10.96.0.10'] }),
    message: 'Service "web" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.0.10"}: must be empty when `clusterIP` is not specified',
  },
  {
    name: 'None followed by an IP',
    obj: svc({ ...web, clusterIP: 'None', clusterIPs: ['None', '10.96.0.1'] }),
    message: `Service "web" is invalid: spec.clusterIPs: Invalid value: []string{"None", "10.96.0.1"}: 'None' must be the first and only value`,
  },
  {
    name: 'three cluster IPs',
    obj: svc({ ...web, clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1', 'fd00::1', '10.96.0.2'] }),
    message: 'Service "web" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.0.1", "fd00::1", "10.96.0.2"}: may only hold up to 2 values',
  },
  {
    name: 'two IPv4 cluster IPs',
    obj: svc({ ...web, clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1', '10.96.0.2'] }),
    message: 'Service "web" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.0.1", "10.96.0.2"}: may specify no more than one IP for each IP family',
  },
  {
    name: 'ipFamilies IPv5',
    obj: svc({ ...web, ipFamilies: ['IPv5'] }),
    message: 'Service "web" is invalid: spec.ipFamilies[0]: Unsupported value: "IPv5": supported values: "IPv4", "IPv6"',
  },
  {
    name: 'the same IP family twice',
    obj: svc({ ...web, ipFamilies: ['IPv4', 'IPv4'] }),
    message: 'Service "web" is invalid: spec.ipFamilies[1]: Duplicate value: "IPv4"',
  },
  {
    name: 'ipFamilyPolicy DualStack',
    obj: svc({ ...web, ipFamilyPolicy: 'DualStack' }),
    message: 'Service "web" is invalid: spec.ipFamilyPolicy: Unsupported value: "DualStack": supported values: "PreferDualStack", "RequireDualStack", "SingleStack"',
  },
  {
    name: 'an IPv6 clusterIP in an IPv4 family',
    obj: svc({ ...web, clusterIP: 'fd00::10', ipFamilies: ['IPv4'] }),
    message: 'Service "web" is invalid: spec.clusterIPs[0]: Invalid value: "fd00::10": expected an IPv4 value as indicated by `ipFamilies[0]`',
  },
  {
    name: 'several mistakes at once',
    obj: svc({ type: 'NodePort', ports: [{ port: 0, protocol: 'HTTP', nodePort: 30001 }, { port: 80, nodePort: 30001, protocol: 'HTTP' }] }),
    message:
      'Service "web" is invalid: [spec.ports[0].name: Required value, spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive, spec.ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP", spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive, spec.ports[1].name: Required value, spec.ports[1].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP", spec.ports[1].nodePort: Duplicate value: 30001]',
  },
];

test('the table holds at least 40 invalid Services', () => {
  assert.ok(invalidServices.length >= 40, `only ${invalidServices.length} cases`);
});

for (const c of invalidServices) {
  test(`a Service with ${c.name} is refused with Kubernetes' message`, () => {
    assert.equal(createMessage(structuredClone(c.obj)), c.message);
  });
}

const validServices: { name: string; obj: Service }[] = [
  { name: 'the seed ClusterIP service', obj: svc({ selector: { app: 'mlflow' }, ports: [{ protocol: 'TCP', port: 5000, targetPort: 5000 }], type: 'ClusterIP' }) },
  { name: 'an ExternalName with a trailing dot', obj: svc({ type: 'ExternalName', externalName: 'db.example.com.' }) },
  { name: 'a headless service without ports', obj: svc({ clusterIP: 'None', selector: { app: 'web' } }) },
  { name: 'the same port over TCP and UDP', obj: svc({ ports: [{ name: 'dns', port: 53 }, { name: 'dns-udp', port: 53, protocol: 'UDP' }] }) },
  { name: 'sessionAffinity None with a config (dropped by defaulting)', obj: svc({ ...web, sessionAffinity: 'None', sessionAffinityConfig: { clientIP: { timeoutSeconds: 5 } } }) },
  { name: 'a space-padded source range', obj: svc({ ...web, type: 'LoadBalancer', loadBalancerSourceRanges: [' 10.0.0.0/8 '] }) },
  { name: 'a LoadBalancer with externalTrafficPolicy Local and a health check port', obj: svc({ ...web, type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: 30100 }) },
  { name: 'a dual-stack pair of cluster IPs', obj: svc({ ...web, clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1', 'fd00::1'], ipFamilyPolicy: 'RequireDualStack' }) },
];

for (const c of validServices) {
  test(`a Service with ${c.name} is accepted`, () => {
    assert.equal(createMessage(structuredClone(c.obj)), undefined);
  });
}

// ---- updates: type changes and the update rules ----

let nextIP = 10;
let nextNodePort = 30010;

/** The stored form of a Service, as created: defaulted, allocated (fake allocator), prepared. */
function stored(obj: Service): Service {
  const s = structuredClone(obj);
  defaultObject(Services, s);
  normalizeClusterIPs(s);
  assert.deepEqual(initServiceIPFamilies(s, undefined, defaultClusterConfig), []);
  fakeAllocate(s);
  prepareForCreate(Services, s);
  assert.deepEqual(validateCreate(Services, s), []);
  s.metadata = { ...s.metadata, resourceVersion: '1', uid: 'u1' };
  return s;
}

/** Stands in for the API server's allocator: an IP when needed, NodePorts when needed. */
function fakeAllocate(s: Service): void {
  const spec = s.spec ?? {};
  if (spec.type !== 'ExternalName' && !spec.clusterIP) {
    const ip = `10.96.0.${nextIP++}`;
    spec.clusterIP = ip;
    spec.clusterIPs = [ip];
  }
  if (spec.type === 'NodePort' || (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false)) {
    for (const p of spec.ports ?? []) p.nodePort ??= nextNodePort++;
  }
  if (spec.type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local') spec.healthCheckNodePort ??= nextNodePort++;
}

/** An update the way the Service registry runs it; returns the result and the 422 message. */
function update(next: Service, old: Service): { obj: Service; message: string | undefined } {
  const obj = structuredClone(next);
  defaultObject(Services, obj);
  patchAllocatedValues(obj, old);
  normalizeClusterIPs(obj, old);
  const famErrs = initServiceIPFamilies(obj, old, defaultClusterConfig);
  if (famErrs.length) return { obj, message: invalid(gk, 'web', famErrs).message };
  if (old.spec?.type === 'ExternalName' || old.spec?.type === 'ClusterIP' || obj.spec?.type !== old.spec?.type) fakeAllocate(obj);
  prepareForUpdate(Services, obj, old);
  const errs = validateUpdate(Services, obj, old);
  return { obj, message: errs.length ? invalid(gk, 'web', errs).message : undefined };
}

/** kubectl apply/patch: the stored object with some fields replaced. */
function patched(old: Service, specPatch: object): Service {
  const o = structuredClone(old);
  o.spec = { ...o.spec, ...specPatch };
  return o;
}

test('ClusterIP to NodePort keeps the cluster IP and gains a NodePort and externalTrafficPolicy Cluster', () => {
  const old = stored(svc(web));
  const { obj, message } = update(patched(old, { type: 'NodePort' }), old);
  assert.equal(message, undefined);
  assert.equal(obj.spec?.clusterIP, old.spec?.clusterIP);
  assert.ok((obj.spec?.ports?.[0]?.nodePort ?? 0) >= 30000);
  assert.equal(obj.spec?.externalTrafficPolicy, 'Cluster');
});

test('NodePort to ClusterIP drops the unchanged NodePorts and externalTrafficPolicy', () => {
  const old = stored(svc({ ...web, type: 'NodePort' }));
  const { obj, message } = update(patched(old, { type: 'ClusterIP' }), old);
  assert.equal(message, undefined);
  assert.equal(obj.spec?.ports?.[0]?.nodePort, undefined);
  assert.equal(obj.spec?.externalTrafficPolicy, undefined);
});

test('NodePort to ClusterIP with a new nodePort value is refused', () => {
  const old = stored(svc({ ...web, type: 'NodePort' }));
  const next = patched(old, { type: 'ClusterIP', ports: [{ port: 80, targetPort: 80, protocol: 'TCP', nodePort: 31999 }] });
  assert.equal(update(next, old).message, "Service \"web\" is invalid: spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'");
});

test('NodePort to LoadBalancer keeps the NodePorts and defaults allocateLoadBalancerNodePorts', () => {
  const old = stored(svc({ ...web, type: 'NodePort' }));
  const { obj, message } = update(patched(old, { type: 'LoadBalancer' }), old);
  assert.equal(message, undefined);
  assert.equal(obj.spec?.ports?.[0]?.nodePort, old.spec?.ports?.[0]?.nodePort);
  assert.equal(obj.spec?.allocateLoadBalancerNodePorts, true);
});

test('LoadBalancer to NodePort drops the load-balancer fields and status but keeps the NodePorts', () => {
  const old = stored(svc({ ...web, type: 'LoadBalancer', loadBalancerClass: 'example.com/lb' }));
  (old as { status?: Service['status'] }).status = { loadBalancer: { ingress: [{ ip: '192.168.1.200', ipMode: 'VIP' }] } };
  const { obj, message } = update(patched(old, { type: 'NodePort' }), old);
  assert.equal(message, undefined);
  assert.equal(obj.spec?.allocateLoadBalancerNodePorts, undefined);
  assert.equal(obj.spec?.loadBalancerClass, undefined);
  assert.equal(obj.spec?.ports?.[0]?.nodePort, old.spec?.ports?.[0]?.nodePort);
  assert.deepEqual(obj.status?.loadBalancer, {});
});

test('LoadBalancer to ClusterIP drops NodePorts, the health check port, policy and status', () => {
  const old = stored(svc({ ...web, type: 'LoadBalancer', externalTrafficPolicy: 'Local' }));
  (old as { status?: Service['status'] }).status = { loadBalancer: { ingress: [{ ip: '192.168.1.200', ipMode: 'VIP' }] } };
  const { obj, message } = update(patched(old, { type: 'ClusterIP' }), old);
  assert.equal(message, undefined);
  assert.equal(obj.spec?.ports?.[0]?.nodePort, undefined);
  assert.equal(obj.spec?.healthCheckNodePort, undefined);
  assert.equal(obj.spec?.externalTrafficPolicy, undefined);
  assert.equal(obj.spec?.allocateLoadBalancerNodePorts, undefined);
  assert.deepEqual(obj.status?.loadBalancer, {});
});

test('ClusterIP to ExternalName drops the cluster IPs, families and policy', () => {
  const old = stored(svc(web));
  const { obj, message } = update(patched(old, { type: 'ExternalName', externalName: 'db.example.com' }), old);
  assert.equal(message, undefined);
  assert.equal(obj.spec?.clusterIP, undefined);
  assert.equal(obj.spec?.clusterIPs, undefined);
  assert.equal(obj.spec?.ipFamilies, undefined);
  assert.equal(obj.spec?.ipFamilyPolicy, undefined);
});

test('NodePort to ExternalName drops the cluster IPs and the NodePorts', () => {
  const old = stored(svc({ ...web, type: 'NodePort' }));
  const { obj, message } = update(patched(old, { type: 'ExternalName', externalName: 'db.example.com' }), old);
  assert.equal(message, undefined);
  assert.equal(obj.spec?.clusterIPs, undefined);
  assert.equal(obj.spec?.ports?.[0]?.nodePort, undefined);
});

test('ExternalName to ClusterIP gets a cluster IP, SingleStack and IPv4', () => {
  const old = stored(svc({ type: 'ExternalName', externalName: 'db.example.com' }));
  const next = structuredClone(old);
  next.spec = { type: 'ClusterIP', selector: { app: 'web' }, ports: [{ port: 80 }] };
  const { obj, message } = update(next, old);
  assert.equal(message, undefined);
  assert.match(obj.spec?.clusterIP ?? '', /^10\.96\./);
  assert.equal(obj.spec?.ipFamilyPolicy, 'SingleStack');
  assert.deepEqual(obj.spec?.ipFamilies, ['IPv4']);
});

test('ExternalName to ClusterIP while keeping the externalName is accepted, as Kubernetes does', () => {
  const old = stored(svc({ type: 'ExternalName', externalName: 'db.example.com' }));
  const { message } = update(patched(old, { type: 'ClusterIP', ports: [{ port: 80 }] }), old);
  assert.equal(message, undefined);
});

test('a headless service may not become a ClusterIP service with an address', () => {
  const old = stored(svc({ clusterIP: 'None', selector: { app: 'web' } }));
  const { message } = update(patched(old, { clusterIP: '10.96.0.99', ports: [{ port: 80 }] }), old);
  assert.equal(message, 'Service "web" is invalid: spec.clusterIPs[0]: Invalid value: []string{"10.96.0.99"}: may not change once set');
});

test('a ClusterIP service may not become headless', () => {
  const old = stored(svc(web));
  const { message } = update(patched(old, { clusterIP: 'None' }), old);
  assert.equal(message, 'Service "web" is invalid: spec.clusterIPs[0]: Invalid value: []string{"None"}: may not change once set');
});

test('a resubmitted manifest without clusterIP keeps the allocated one (kubectl replace)', () => {
  const old = stored(svc({ ...web, type: 'NodePort' }));
  const next = svc({ ...web, type: 'NodePort' }, { resourceVersion: '1', uid: 'u1' });
  const { obj, message } = update(next, old);
  assert.equal(message, undefined);
  assert.equal(obj.spec?.clusterIP, old.spec?.clusterIP);
  assert.equal(obj.spec?.ports?.[0]?.nodePort, old.spec?.ports?.[0]?.nodePort);
});

test('changing the cluster IP is refused: may not change once set', () => {
  const old = stored(svc(web));
  const next = svc({ ...web, clusterIP: '10.96.0.250' }, { resourceVersion: '1', uid: 'u1' });
  assert.equal(update(next, old).message, 'Service "web" is invalid: spec.clusterIPs[0]: Invalid value: []string{"10.96.0.250"}: may not change once set');
});

test('changing loadBalancerClass of a LoadBalancer is refused', () => {
  const old = stored(svc({ ...web, type: 'LoadBalancer', loadBalancerClass: 'example.com/a' }));
  const { message } = update(patched(old, { loadBalancerClass: 'example.com/b' }), old);
  assert.equal(message, 'Service "web" is invalid: spec.loadBalancerClass: Invalid value: "example.com/b": may not change once set');
});

test('changing healthCheckNodePort while it is in use is refused', () => {
  const old = stored(svc({ ...web, type: 'LoadBalancer', externalTrafficPolicy: 'Local' }));
  const { message } = update(patched(old, { healthCheckNodePort: 32000 }), old);
  assert.equal(message, 'Service "web" is invalid: spec.healthCheckNodePort: Forbidden: field is immutable');
});

test('releasing the secondary cluster IP needs ipFamilyPolicy SingleStack', () => {
  const old: Service = svc({ ...web, clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1', 'fd00::1'], ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'PreferDualStack' }, { resourceVersion: '1', uid: 'u1' });
  defaultObject(Services, old);
  const next = patched(old, { clusterIPs: ['10.96.0.1'], ipFamilies: ['IPv4'] });
  defaultObject(Services, next);
  prepareForUpdate(Services, next, old);
  const errs = validateUpdate(Services, next, old);
  assert.equal(
    invalid(gk, 'web', errs).message,
    `Service "web" is invalid: [spec.ipFamilyPolicy: Invalid value: "PreferDualStack": must be set to 'SingleStack' when releasing the secondary clusterIP, spec.ipFamilyPolicy: Invalid value: "PreferDualStack": must be set to 'SingleStack' when releasing the secondary ipFamily]`,
  );
});

test('an update without resourceVersion is refused, as for every type', () => {
  const old = stored(svc(web));
  const next = patched(old, {});
  delete (next.metadata as { resourceVersion?: string }).resourceVersion;
  prepareForUpdate(Services, next, old);
  assert.equal(invalid(gk, 'web', validateUpdate(Services, next, old)).message, 'Service "web" is invalid: metadata.resourceVersion: Invalid value: "": must be specified for an update');
});

// ---- status ----

function statusMessage(old: Service, status: Service['status']): string | undefined {
  const obj = structuredClone(old);
  (obj as { status?: Service['status'] }).status = status;
  defaultObject(Services, obj);
  prepareForUpdate(Services, obj, old, 'status');
  const errs = validateUpdate(Services, obj, old, 'status');
  return errs.length ? invalid(gk, 'web', errs).message : undefined;
}

test('a load-balancer status written with an IP only is accepted with ipMode VIP (as MetalLB writes it)', () => {
  const old = stored(svc({ ...web, type: 'LoadBalancer' }));
  const obj = structuredClone(old);
  (obj as { status?: Service['status'] }).status = { loadBalancer: { ingress: [{ ip: '192.168.1.200' }] } };
  defaultObject(Services, obj);
  prepareForUpdate(Services, obj, old, 'status');
  assert.deepEqual(validateUpdate(Services, obj, old, 'status'), []);
  assert.equal(obj.status?.loadBalancer?.ingress?.[0]?.ipMode, 'VIP');
});

test('a status update cannot change the spec', () => {
  const old = stored(svc({ ...web, type: 'LoadBalancer' }));
  const obj = structuredClone(old);
  obj.spec = { ...obj.spec, type: 'ClusterIP' };
  prepareForUpdate(Services, obj, old, 'status');
  assert.equal(obj.spec?.type, 'LoadBalancer');
});

const invalidStatuses: { name: string; type: string; status: Service['status']; message: string }[] = [
  {
    name: 'ingress on a ClusterIP service',
    type: 'ClusterIP',
    status: { loadBalancer: { ingress: [{ ip: '192.168.1.200' }] } },
    message: "Service \"web\" is invalid: status.loadBalancer.ingress: Forbidden: may only be used when `spec.type` is 'LoadBalancer'",
  },
  {
    name: 'ipMode without ip',
    type: 'LoadBalancer',
    status: { loadBalancer: { ingress: [{ hostname: 'lb.example.com', ipMode: 'VIP' }] } },
    message: 'Service "web" is invalid: status.loadBalancer.ingress[0].ipMode: Forbidden: may not be specified when `ip` is not set',
  },
  {
    name: 'ipMode Direct',
    type: 'LoadBalancer',
    status: { loadBalancer: { ingress: [{ ip: '192.168.1.200', ipMode: 'Direct' }] } },
    message: 'Service "web" is invalid: status.loadBalancer.ingress[0].ipMode: Unsupported value: "Direct": supported values: "Proxy", "VIP"',
  },
  {
    name: 'an IP as hostname',
    type: 'LoadBalancer',
    status: { loadBalancer: { ingress: [{ hostname: '1.2.3.4' }] } },
    message: 'Service "web" is invalid: status.loadBalancer.ingress[0].hostname: Invalid value: "1.2.3.4": must be a DNS name, not an IP address',
  },
  {
    name: 'an ingress ip that is not an IP',
    type: 'LoadBalancer',
    status: { loadBalancer: { ingress: [{ ip: '300.1.1.1' }] } },
    message: `Service "web" is invalid: status.loadBalancer.ingress[0].ip: Invalid value: "300.1.1.1": ${badIP}`,
  },
];

for (const c of invalidStatuses) {
  test(`a status with ${c.name} is refused`, () => {
    const old = stored(svc({ ...web, type: c.type }));
    assert.equal(statusMessage(old, c.status), c.message);
  });
}

// ---- IP family defaulting at allocation ----

test('IP families default to the cluster primary family, SingleStack', () => {
  const s = svc(web);
  defaultObject(Services, s);
  assert.deepEqual(initServiceIPFamilies(s, undefined, defaultClusterConfig), []);
  assert.equal(s.spec?.ipFamilyPolicy, 'SingleStack');
  assert.deepEqual(s.spec?.ipFamilies, ['IPv4']);
});

test('PreferDualStack on a dual-stack cluster gets both families, primary first', () => {
  const s = svc({ ...web, ipFamilyPolicy: 'PreferDualStack' });
  defaultObject(Services, s);
  assert.deepEqual(initServiceIPFamilies(s, undefined, { ...defaultClusterConfig, serviceCIDRs: ['fd00:10:96::/108', '10.96.0.0/12'] }), []);
  assert.deepEqual(s.spec?.ipFamilies, ['IPv6', 'IPv4']);
});

test('a headless service without selector defaults to RequireDualStack with both families', () => {
  const s = svc({ clusterIP: 'None' });
  defaultObject(Services, s);
  normalizeClusterIPs(s);
  assert.deepEqual(initServiceIPFamilies(s, undefined, defaultClusterConfig), []);
  assert.equal(s.spec?.ipFamilyPolicy, 'RequireDualStack');
  assert.deepEqual(s.spec?.ipFamilies, ['IPv4', 'IPv6']);
});

const familyErrors: { name: string; spec: ServiceSpec; message: string }[] = [
  {
    name: 'RequireDualStack on a single-stack cluster',
    spec: { ...web, ipFamilyPolicy: 'RequireDualStack' },
    message: 'Service "web" is invalid: spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services',
  },
  {
    name: 'an IPv6 family on an IPv4 cluster',
    spec: { ...web, ipFamilies: ['IPv6'] },
    message: 'Service "web" is invalid: spec.ipFamilies[0]: Invalid value: "IPv6": not configured on this cluster',
  },
  {
    name: 'an IPv6 cluster IP on an IPv4 cluster',
    spec: { ...web, clusterIP: 'fd00::1' },
    message: 'Service "web" is invalid: spec.clusterIPs[0]: Invalid value: []string{"fd00::1"}: IPv6 is not configured on this cluster',
  },
  {
    name: 'SingleStack with two cluster IPs',
    spec: { ...web, clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1', 'fd00::1'], ipFamilyPolicy: 'SingleStack' },
    message: `Service "web" is invalid: [spec.ipFamilyPolicy: Invalid value: "SingleStack": must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified, spec.clusterIPs[1]: Invalid value: []string{"10.96.0.1", "fd00::1"}: IPv6 is not configured on this cluster]`,
  },
];

for (const c of familyErrors) {
  test(`allocation refuses ${c.name}`, () => {
    const s = svc(structuredClone(c.spec));
    defaultObject(Services, s);
    normalizeClusterIPs(s);
    assert.equal(invalid(gk, 'web', initServiceIPFamilies(s, undefined, defaultClusterConfig)).message, c.message);
  });
}

test('allocation range checks speak the allocators\' words', () => {
  const s = svc({ ...web, type: 'NodePort', clusterIP: '10.0.0.5', ports: [{ port: 80, nodePort: 29999 }] });
  defaultObject(Services, s);
  normalizeClusterIPs(s);
  assert.equal(
    invalid(gk, 'web', checkAllocationRanges(s, defaultClusterConfig)).message,
    'Service "web" is invalid: [spec.clusterIPs: Invalid value: []string{"10.0.0.5"}: failed to allocate IP 10.0.0.5: the provided IP (10.0.0.5) is not in the valid range. The range of valid IPs is 10.96.0.0/12, spec.ports[0].nodePort: Invalid value: 29999: provided port is not in the valid range. The range of valid ports is 30000-32767]',
  );
  const ok = svc({ ...web, type: 'NodePort', clusterIP: '10.96.0.5', ports: [{ port: 80, nodePort: 30001 }] });
  normalizeClusterIPs(ok);
  assert.deepEqual(checkAllocationRanges(ok, defaultClusterConfig), []);
});
