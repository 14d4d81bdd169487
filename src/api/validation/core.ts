// Namespace, Node, ConfigMap, Secret, Endpoints, Event, ServiceAccount and Lease validation
// (core validation.go and events.go, coordination validation; Kubernetes 1.33).
import type { ConfigMap, Endpoints, Event, Namespace, Node, Secret, ServiceAccount } from 'kubernetes-types/core/v1.js';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import { fe, goStringSlice, goValueError, invalidEach, path, type FieldError } from './field.ts';
import { byteLength, isConfigMapKey, isDNS1123Subdomain, isQualifiedName, isValidLabelValue, isValidPortNum, nameIsDNSLabel, nameIsDNSSubdomain } from './format.ts';
import { semanticEqual } from './equality.ts';
import {
  isNegativeErrorMsg,
  validateImmutableField,
  validateKubeFinalizerName,
  validateLabelName,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from './objectmeta.ts';
import { isValidCIDR, isValidIP, supportedPortProtocols, validateDNS1123Label, validateNonSpecialIP, validateQualifiedName } from './common.ts';
import { parseCIDRSloppy } from './net.ts';

/** core.MaxSecretSize: 1 MiB, for Secret data and ConfigMap data. */
export const maxSecretSize = 1024 * 1024;

// ---- Namespace ----

function validateFinalizerName(name: string, field: string): FieldError[] {
  return [...invalidEach(field, name, isQualifiedName(name)), ...validateKubeFinalizerName(name, field)];
}

export function validateNamespace(ns: Namespace): FieldError[] {
  const errs = validateObjectMeta(ns.metadata, false, nameIsDNSLabel);
  for (const f of ns.spec?.finalizers ?? []) errs.push(...validateFinalizerName(f, 'spec.finalizers'));
  return errs;
}

export function validateNamespaceUpdate(ns: Namespace, old: Namespace): FieldError[] {
  return validateObjectMetaUpdate(ns.metadata, old.metadata);
}

export function validateNamespaceStatusUpdate(ns: Namespace, old: Namespace): FieldError[] {
  const errs = validateObjectMetaUpdate(ns.metadata, old.metadata);
  const phase = ns.status?.phase ?? '';
  // Kubernetes names this path "status.Phase".
  if (!ns.metadata?.deletionTimestamp) {
    if (phase !== 'Active') errs.push(fe.invalid('status.Phase', phase, "may only be 'Active' if `deletionTimestamp` is empty"));
  } else if (phase !== 'Terminating') {
    errs.push(fe.invalid('status.Phase', phase, "may only be 'Terminating' if `deletionTimestamp` is not empty"));
  }
  return errs;
}

export function validateNamespaceFinalizeUpdate(ns: Namespace, old: Namespace): FieldError[] {
  const errs = validateObjectMetaUpdate(ns.metadata, old.metadata);
  (ns.spec?.finalizers ?? []).forEach((f, i) => errs.push(...validateFinalizerName(f, path.index('spec.finalizers', i))));
  return errs;
}

// ---- Node ----

function validateQuantity(value: string | number | undefined, field: string): FieldError[] {
  const v = String(value ?? '');
  return v.startsWith('-') ? [fe.invalid(field, v, isNegativeErrorMsg)] : [];
}

function validateNodeResources(node: Node): FieldError[] {
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(node.status?.capacity ?? {})) errs.push(...validateQuantity(v, `status.capacity.${k}`));
  for (const [k, v] of Object.entries(node.status?.allocatable ?? {})) errs.push(...validateQuantity(v, `status.allocatable.${k}`));
  return errs;
}

function validateNodeTaints(node: Node): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Map<string, Set<string>>();
  // Kubernetes reports taints under metadata.taints.
  (node.spec?.taints ?? []).forEach((t, i) => {
    const p = path.index('metadata.taints', i);
    errs.push(...validateLabelName(t.key, path.child(p, 'key')));
    const vm = isValidLabelValue(t.value ?? '');
    if (vm.length) errs.push(fe.invalid(path.child(p, 'value'), t.value ?? '', vm.join(';')));
    const effects = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
    if (!t.effect) errs.push(fe.required(path.child(p, 'effect'), ''));
    else if (!effects.includes(t.effect)) errs.push(fe.notSupported(path.child(p, 'effect'), t.effect, effects));
    const keys = seen.get(t.effect) ?? new Set<string>();
    if (keys.has(t.key)) {
      errs.push(
        goValueError(
          'FieldValueDuplicate',
          p,
          `core.Taint{Key:${JSON.stringify(t.key)}, Value:${JSON.stringify(t.value ?? '')}, Effect:${JSON.stringify(t.effect)}, TimeAdded:<nil>}`,
          'taints must be unique by key and effect pair',
        ),
      );
      return;
    }
    keys.add(t.key);
    seen.set(t.effect, keys);
  });
  return errs;
}

export function validateNode(node: Node): FieldError[] {
  const errs = validateObjectMeta(node.metadata, false, nameIsDNSSubdomain);
  errs.push(...validateNodeTaints(node));
  errs.push(...validateNodeResources(node));
  const cidrs = node.spec?.podCIDRs ?? [];
  cidrs.forEach((c, i) => errs.push(...isValidCIDR(path.index('spec.podCIDRs', i), c)));
  if (cidrs.length > 1) {
    const fams = cidrs.map((c) => parseCIDRSloppy(c)?.ip.family);
    if (cidrs.length > 2 || fams[0] === fams[1]) {
      errs.push(goValueError('FieldValueInvalid', 'spec.podCIDRs', goStringSlice(cidrs), 'may specify no more than one CIDR for each IP family'));
    }
    const seen = new Set<string>();
    cidrs.forEach((c, i) => {
      if (seen.has(c)) errs.push(fe.duplicate(path.index('spec.podCIDRs', i), c));
      seen.add(c);
    });
  }
  return errs;
}

/** ValidateNodeUpdate; also the status subresource's validation. */
export function validateNodeUpdate(node: Node, old: Node): FieldError[] {
  const errs = validateObjectMetaUpdate(node.metadata, old.metadata);
  errs.push(...validateNodeResources(node));
  const seen = new Set<string>();
  (node.status?.addresses ?? []).forEach((a, i) => {
    const key = `${a.type}/${a.address}`;
    if (seen.has(key)) {
      errs.push(goValueError('FieldValueDuplicate', path.index('status.addresses', i), `core.NodeAddress{Type:${JSON.stringify(a.type)}, Address:${JSON.stringify(a.address)}}`));
    }
    seen.add(key);
  });
  const oldCIDRs = old.spec?.podCIDRs ?? [];
  const newCIDRs = node.spec?.podCIDRs ?? [];
  if (oldCIDRs.length > 0) {
    const msg = 'node updates may not change podCIDR except from "" to valid';
    if (oldCIDRs.length !== newCIDRs.length) errs.push(fe.forbidden('spec.podCIDRs', msg));
    else oldCIDRs.forEach((c, i) => c !== newCIDRs[i] && errs.push(fe.forbidden('spec.podCIDRs', msg)));
  }
  if (old.spec?.providerID && old.spec.providerID !== node.spec?.providerID) {
    errs.push(fe.forbidden('spec.providerID', 'node updates may not change providerID except from "" to valid'));
  }
  errs.push(...validateNodeTaints(node));
  if ((node.spec?.externalID ?? '') !== (old.spec?.externalID ?? '')) errs.push(fe.forbidden('spec.externalID', 'may not be updated'));
  return errs;
}

// ---- ConfigMap and Secret ----

function base64Size(v: string): number {
  return Buffer.from(v, 'base64').length;
}

export function validateConfigMap(cm: ConfigMap): FieldError[] {
  const errs = validateObjectMeta(cm.metadata, true, nameIsDNSSubdomain);
  let total = 0;
  for (const [k, v] of Object.entries(cm.data ?? {})) {
    errs.push(...invalidEach(path.key('data', k), k, isConfigMapKey(k)));
    if (cm.binaryData && k in cm.binaryData) errs.push(fe.invalid(path.key('data', k), k, 'duplicate of key present in binaryData'));
    total += byteLength(v);
  }
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) {
    errs.push(...invalidEach(path.key('binaryData', k), k, isConfigMapKey(k)));
    total += base64Size(v);
  }
  if (total > maxSecretSize) errs.push(fe.tooLong('', '', maxSecretSize));
  return errs;
}

function immutableWhenSet(
  oldImmutable: boolean | undefined,
  newImmutable: boolean | undefined,
  fields: readonly [string, unknown, unknown][],
): FieldError[] {
  const errs: FieldError[] = [];
  if (!oldImmutable) return errs;
  const msg = 'field is immutable when `immutable` is set';
  if (!newImmutable) errs.push(fe.forbidden('immutable', msg));
  for (const [name, n, o] of fields) if (!semanticEqual(n ?? {}, o ?? {})) errs.push(fe.forbidden(name, msg));
  return errs;
}

export function validateConfigMapUpdate(cm: ConfigMap, old: ConfigMap): FieldError[] {
  const errs = validateObjectMetaUpdate(cm.metadata, old.metadata);
  errs.push(
    ...immutableWhenSet(old.immutable, cm.immutable, [
      ['data', cm.data, old.data],
      ['binaryData', cm.binaryData, old.binaryData],
    ]),
  );
  errs.push(...validateConfigMap(cm));
  return errs;
}

export function validateSecret(secret: Secret): FieldError[] {
  const errs = validateObjectMeta(secret.metadata, true, nameIsDNSSubdomain);
  let total = 0;
  const data = secret.data ?? {};
  for (const [k, v] of Object.entries(data)) {
    errs.push(...invalidEach(path.key('data', k), k, isConfigMapKey(k)));
    total += base64Size(v);
  }
  if (total > maxSecretSize) errs.push(fe.tooLong('data', '', maxSecretSize));
  const has = (k: string): boolean => Object.prototype.hasOwnProperty.call(data, k);
  switch (secret.type ?? '') {
    case 'kubernetes.io/service-account-token':
      if (!secret.metadata?.annotations?.['kubernetes.io/service-account.name']) {
        errs.push(fe.required(path.key('metadata.annotations', 'kubernetes.io/service-account.name'), ''));
      }
      break;
    case 'kubernetes.io/dockercfg':
      if (!has('.dockercfg')) errs.push(fe.required(path.key('data', '.dockercfg'), ''));
      break;
    case 'kubernetes.io/dockerconfigjson':
      if (!has('.dockerconfigjson')) errs.push(fe.required(path.key('data', '.dockerconfigjson'), ''));
      break;
    case 'kubernetes.io/basic-auth':
      if (!has('username') && !has('password')) {
        errs.push(fe.required(path.key('data', 'username'), ''));
        errs.push(fe.required(path.key('data', 'password'), ''));
      }
      break;
    case 'kubernetes.io/ssh-auth':
      if (!data['ssh-privatekey']) errs.push(fe.required(path.key('data', 'ssh-privatekey'), ''));
      break;
    case 'kubernetes.io/tls':
      if (!has('tls.crt')) errs.push(fe.required(path.key('data', 'tls.crt'), ''));
      if (!has('tls.key')) errs.push(fe.required(path.key('data', 'tls.key'), ''));
      break;
    default:
      break;
  }
  return errs;
}

export function validateSecretUpdate(secret: Secret, old: Secret): FieldError[] {
  const errs = validateObjectMetaUpdate(secret.metadata, old.metadata);
  errs.push(...validateImmutableField(secret.type ?? '', old.type ?? '', 'type'));
  errs.push(...immutableWhenSet(old.immutable, secret.immutable, [['data', secret.data, old.data]]));
  errs.push(...validateSecret(secret));
  return errs;
}

// ---- Endpoints ----

export function validateEndpoints(ep: Endpoints): FieldError[] {
  const errs = validateObjectMeta(ep.metadata, true, nameIsDNSSubdomain);
  (ep.subsets ?? []).forEach((ss, i) => {
    const ip = path.index('subsets', i);
    if ((ss.addresses ?? []).length === 0 && (ss.notReadyAddresses ?? []).length === 0) {
      errs.push(fe.required(ip, 'must specify `addresses` or `notReadyAddresses`'));
    }
    for (const [key, list] of [
      ['addresses', ss.addresses ?? []],
      ['notReadyAddresses', ss.notReadyAddresses ?? []],
    ] as const) {
      list.forEach((a, j) => {
        const ap = path.index(path.child(ip, key), j);
        errs.push(...isValidIP(path.child(ap, 'ip'), a.ip));
        if (a.hostname) errs.push(...validateDNS1123Label(a.hostname, path.child(ap, 'hostname')));
        if (a.nodeName !== undefined && a.nodeName !== null) errs.push(...invalidEach(path.child(ap, 'nodeName'), a.nodeName, nameIsDNSSubdomain(a.nodeName, false)));
        errs.push(...validateNonSpecialIP(a.ip, path.child(ap, 'ip')));
      });
    }
    const ports = ss.ports ?? [];
    ports.forEach((p, j) => {
      const pp = path.index(path.child(ip, 'ports'), j);
      if (ports.length > 1 && !p.name) errs.push(fe.required(path.child(pp, 'name'), ''));
      else if (p.name) errs.push(...validateDNS1123Label(p.name, path.child(pp, 'name')));
      errs.push(...invalidEach(path.child(pp, 'port'), p.port, isValidPortNum(p.port)));
      if (!p.protocol) errs.push(fe.required(path.child(pp, 'protocol'), ''));
      else if (!(supportedPortProtocols as readonly string[]).includes(p.protocol)) errs.push(fe.notSupported(path.child(pp, 'protocol'), p.protocol, supportedPortProtocols));
      if (p.appProtocol !== undefined) errs.push(...validateQualifiedName(p.appProtocol, path.child(pp, 'appProtocol')));
    });
  });
  return errs;
}

export function validateEndpointsUpdate(ep: Endpoints, old: Endpoints): FieldError[] {
  return [...validateObjectMetaUpdate(ep.metadata, old.metadata), ...validateEndpoints(ep)];
}

// ---- Event (core/v1: legacy validation only, as ValidateEventCreate does for v1) ----

export function validateEvent(ev: Event): FieldError[] {
  const errs: FieldError[] = [];
  const ns = ev.metadata?.namespace ?? '';
  const involvedNs = ev.involvedObject?.namespace ?? '';
  const mismatch = (): FieldError => fe.invalid('involvedObject.namespace', involvedNs, 'does not match event.namespace');
  if (!ev.eventTime) {
    if (involvedNs === '') {
      if (ns !== '' && ns !== 'default') errs.push(mismatch());
    } else if (ns !== involvedNs) {
      errs.push(mismatch());
    }
  } else {
    if (involvedNs === '' && ns !== 'default' && ns !== 'kube-system') errs.push(mismatch());
    const rc = ev.reportingComponent ?? '';
    if (!rc) errs.push(fe.required('reportingController', ''));
    errs.push(...invalidEach('reportingController', rc, isQualifiedName(rc)));
    const ri = ev.reportingInstance ?? '';
    if (!ri) errs.push(fe.required('reportingInstance', ''));
    if (byteLength(ri) > 128) errs.push(fe.invalid('reportingInstance', '', 'can have at most 128 characters'));
    const action = ev.action ?? '';
    if (!action) errs.push(fe.required('action', ''));
    if (byteLength(action) > 128) errs.push(fe.invalid('action', '', 'can have at most 128 characters'));
    const reason = ev.reason ?? '';
    if (!reason) errs.push(fe.required('reason', ''));
    if (byteLength(reason) > 128) errs.push(fe.invalid('reason', '', 'can have at most 128 characters'));
    if (byteLength(ev.message ?? '') > 1024) errs.push(fe.invalid('message', '', 'can have at most 1024 characters'));
  }
  errs.push(...invalidEach('namespace', ns, isDNS1123Subdomain(ns)));
  return errs;
}

// ---- ServiceAccount ----

export function validateServiceAccount(sa: ServiceAccount): FieldError[] {
  return validateObjectMeta(sa.metadata, true, nameIsDNSSubdomain);
}

export function validateServiceAccountUpdate(sa: ServiceAccount, old: ServiceAccount): FieldError[] {
  return [...validateObjectMetaUpdate(sa.metadata, old.metadata), ...validateServiceAccount(sa)];
}

// ---- Lease (coordination.k8s.io) ----

function validateLeaseSpec(lease: Lease): FieldError[] {
  const errs: FieldError[] = [];
  const s = lease.spec ?? {};
  if (s.leaseDurationSeconds !== undefined && s.leaseDurationSeconds !== null && s.leaseDurationSeconds <= 0) {
    errs.push(fe.invalid('spec.leaseDurationSeconds', s.leaseDurationSeconds, 'must be greater than 0'));
  }
  if (s.leaseTransitions !== undefined && s.leaseTransitions !== null && s.leaseTransitions < 0) {
    errs.push(fe.invalid('spec.leaseTransitions', s.leaseTransitions, isNegativeErrorMsg));
  }
  const ext = s as { strategy?: string; preferredHolder?: string };
  if (ext.preferredHolder && !ext.strategy) errs.push(fe.forbidden('spec.preferredHolder', 'may only be specified if `strategy` is defined'));
  return errs;
}

export function validateLease(lease: Lease): FieldError[] {
  return [...validateObjectMeta(lease.metadata, true, nameIsDNSSubdomain), ...validateLeaseSpec(lease)];
}

export function validateLeaseUpdate(lease: Lease, old: Lease): FieldError[] {
  return [...validateObjectMetaUpdate(lease.metadata, old.metadata), ...validateLeaseSpec(lease)];
}
