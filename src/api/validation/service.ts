// Service validation: ValidateService, ValidateServiceUpdate, ValidateServiceStatusUpdate and
// ValidateLoadBalancerStatus of pkg/apis/core/validation/validation.go (Kubernetes 1.33), in the
// same order, with the same paths and words, so the aggregated 422 message matches.
import type { LoadBalancerStatus, Service, ServicePort, ServiceSpec } from 'kubernetes-types/core/v1.js';
import { fe, goStringSlice, goValueError, goPtr, path, type FieldError } from './field.ts';
import { isDNS1123Subdomain, isValidPortNum, nameIsDNS1035Label } from './format.ts';
import { parseIPSloppy } from './net.ts';
import { validateLabels, validateObjectMeta, validateObjectMetaUpdate } from './objectmeta.ts';
import {
  isValidCIDR,
  isValidIP,
  supportedPortProtocols,
  validateDNS1123Label,
  validateDNS1123Subdomain,
  validateNonSpecialIP,
  validatePortNumOrName,
  validateQualifiedName,
} from './common.ts';

const supportedSessionAffinityType = ['ClientIP', 'None'];
const supportedServiceType = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const supportedServiceInternalTrafficPolicy = ['Cluster', 'Local'];
const supportedServiceIPFamily = ['IPv4', 'IPv6'];
const supportedServiceIPFamilyPolicy = ['PreferDualStack', 'RequireDualStack', 'SingleStack'];
const validExternalTrafficPolicies = ['Cluster', 'Local'];
const supportedLoadBalancerIPMode = ['Proxy', 'VIP'];
/** core.MaxClientIPServiceAffinitySeconds */
export const maxClientIPServiceAffinitySeconds = 86400;

const annotationTopologyAwareHints = 'service.kubernetes.io/topology-aware-hints';
const annotationTopologyMode = 'service.kubernetes.io/topology-mode';
const annotationLoadBalancerSourceRanges = 'service.beta.kubernetes.io/load-balancer-source-ranges';

function spec(svc: Service): ServiceSpec {
  return svc.spec ?? {};
}

export function isHeadlessService(svc: Service | undefined): boolean {
  const ips = svc?.spec?.clusterIPs ?? [];
  return ips.length === 1 && ips[0] === 'None';
}

/** apiservice.ExternallyAccessible: NodePort, LoadBalancer, or ClusterIP with external IPs. */
export function externallyAccessible(svc: Service): boolean {
  const s = spec(svc);
  return s.type === 'LoadBalancer' || s.type === 'NodePort' || (s.type === 'ClusterIP' && (s.externalIPs ?? []).length > 0);
}

/** apiservice.NeedsHealthCheck: LoadBalancer with externalTrafficPolicy Local. */
export function needsHealthCheck(svc: Service): boolean {
  const s = spec(svc);
  return s.type === 'LoadBalancer' && s.externalTrafficPolicy === 'Local';
}

/** core.ServicePort{Protocol, Port} as %#v prints the duplicate (protocol, port) key. */
function goServicePortKey(protocol: string, port: number): string {
  return `core.ServicePort{Name:"", Protocol:${JSON.stringify(protocol)}, AppProtocol:(*string)(nil), Port:${port}, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}`;
}

function validateServicePort(sp: ServicePort, requireName: boolean, allNames: Set<string>, field: string): FieldError[] {
  const errs: FieldError[] = [];
  if (requireName && !sp.name) {
    errs.push(fe.required(path.child(field, 'name'), ''));
  } else if (sp.name) {
    errs.push(...validateDNS1123Label(sp.name, path.child(field, 'name')));
    if (allNames.has(sp.name)) errs.push(fe.duplicate(path.child(field, 'name'), sp.name));
    else allNames.add(sp.name);
  }
  for (const m of isValidPortNum(sp.port ?? 0)) errs.push(fe.invalid(path.child(field, 'port'), sp.port ?? 0, m));
  if (!sp.protocol) errs.push(fe.required(path.child(field, 'protocol'), ''));
  else if (!(supportedPortProtocols as readonly string[]).includes(sp.protocol)) {
    errs.push(fe.notSupported(path.child(field, 'protocol'), sp.protocol, supportedPortProtocols));
  }
  errs.push(...validatePortNumOrName(sp.targetPort, path.child(field, 'targetPort')));
  if (sp.appProtocol !== undefined) errs.push(...validateQualifiedName(sp.appProtocol, path.child(field, 'appProtocol')));
  return errs;
}

function validateClientIPAffinityConfig(svc: Service, field: string): FieldError[] {
  const config = spec(svc).sessionAffinityConfig;
  const when = 'when session affinity type is ClientIP';
  if (!config) return [fe.required(field, when)];
  if (!config.clientIP) return [fe.required(path.child(field, 'clientIP'), when)];
  const t = config.clientIP.timeoutSeconds;
  const tp = path.child(field, 'clientIP', 'timeoutSeconds');
  if (t === undefined || t === null) return [fe.required(tp, when)];
  if (t <= 0 || t > maxClientIPServiceAffinitySeconds) {
    return [fe.invalid(tp, t, `must be greater than 0 and less than ${maxClientIPServiceAffinitySeconds}`)];
  }
  return [];
}

function validateServiceExternalTrafficPolicy(svc: Service): FieldError[] {
  const s = spec(svc);
  const errs: FieldError[] = [];
  if (!externallyAccessible(svc)) {
    if (s.externalTrafficPolicy) {
      errs.push(fe.invalid('spec.externalTrafficPolicy', s.externalTrafficPolicy, 'may only be set for externally-accessible services'));
    }
  } else if (!s.externalTrafficPolicy) {
    errs.push(fe.required('spec.externalTrafficPolicy', ''));
  } else if (!validExternalTrafficPolicies.includes(s.externalTrafficPolicy)) {
    errs.push(fe.notSupported('spec.externalTrafficPolicy', s.externalTrafficPolicy, validExternalTrafficPolicies));
  }
  const hc = s.healthCheckNodePort ?? 0;
  if (!needsHealthCheck(svc)) {
    if (hc !== 0) {
      errs.push(fe.invalid('spec.healthCheckNodePort', hc, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"));
    }
  } else if (hc === 0) {
    errs.push(fe.required('spec.healthCheckNodePort', ''));
  } else {
    for (const m of isValidPortNum(hc)) errs.push(fe.invalid('spec.healthCheckNodePort', hc, m));
  }
  return errs;
}

function validateServiceInternalTrafficFieldsValue(svc: Service): FieldError[] {
  const s = spec(svc);
  const errs: FieldError[] = [];
  if (s.internalTrafficPolicy === undefined || s.internalTrafficPolicy === null) {
    if (s.type === 'NodePort' || s.type === 'LoadBalancer' || s.type === 'ClusterIP') errs.push(fe.required('spec.internalTrafficPolicy', ''));
  } else if (!supportedServiceInternalTrafficPolicy.includes(s.internalTrafficPolicy)) {
    errs.push(fe.notSupported('spec.internalTrafficPolicy', s.internalTrafficPolicy, supportedServiceInternalTrafficPolicy));
  }
  return errs;
}

function validateServiceTrafficDistribution(svc: Service): FieldError[] {
  const td = (spec(svc) as ServiceSpec & { trafficDistribution?: string }).trafficDistribution;
  if (td === undefined || td === null) return [];
  return td === 'PreferClose' ? [] : [fe.notSupported('spec.trafficDistribution', td, ['PreferClose'])];
}

/** validateLoadBalancerClassField: qualified name, LoadBalancer only, immutable while LoadBalancer. */
function validateLoadBalancerClassField(old: Service | undefined, svc: Service): FieldError[] {
  const errs: FieldError[] = [];
  const cls = spec(svc).loadBalancerClass;
  if (old && spec(old).type === 'LoadBalancer' && spec(svc).type === 'LoadBalancer') {
    if ((spec(old).loadBalancerClass ?? null) !== (cls ?? null)) {
      errs.push(fe.invalid('spec.loadBalancerClass', goPtr(cls), 'may not change once set'));
    }
  }
  if (spec(svc).type === 'LoadBalancer') {
    if (cls !== undefined && cls !== null) errs.push(...validateQualifiedName(cls, 'spec.loadBalancerClass'));
  } else if (cls !== undefined && cls !== null) {
    errs.push(fe.forbidden('spec.loadBalancerClass', "may only be used when `type` is 'LoadBalancer'"));
  }
  return errs;
}

/**
 * ValidateServiceClusterIPsRelatedFields: clusterIP/clusterIPs agreement, families and policy.
 * Exported because the allocator runs it before initialising IP families, as alloc.go does.
 */
export function validateServiceClusterIPsRelatedFields(svc: Service): FieldError[] {
  const s = spec(svc);
  if (s.type === 'ExternalName') return [];
  const errs: FieldError[] = [];
  let hasInvalidIPs = false;
  const clusterIPs = s.clusterIPs ?? [];
  const families = s.ipFamilies ?? [];
  const ipsText = goStringSlice(s.clusterIPs);

  if (s.clusterIP) {
    if (clusterIPs.length === 0) errs.push(fe.required('spec.clusterIPs', ''));
    else if (clusterIPs[0] !== s.clusterIP) errs.push(goValueError('FieldValueInvalid', 'spec.clusterIPs', ipsText, 'first value must match `clusterIP`'));
  } else if (clusterIPs.length !== 0) {
    errs.push(goValueError('FieldValueInvalid', 'spec.clusterIPs', ipsText, 'must be empty when `clusterIP` is not specified'));
  }

  const seen = new Set<string>();
  families.forEach((f, i) => {
    const p = path.index('spec.ipFamilies', i);
    if (!supportedServiceIPFamily.includes(f)) errs.push(fe.notSupported(p, f, supportedServiceIPFamily));
    if (seen.has(f)) errs.push(fe.duplicate(p, f));
    seen.add(f);
  });

  if (s.ipFamilyPolicy !== undefined && s.ipFamilyPolicy !== null && !supportedServiceIPFamilyPolicy.includes(s.ipFamilyPolicy)) {
    errs.push(fe.notSupported('spec.ipFamilyPolicy', s.ipFamilyPolicy, supportedServiceIPFamilyPolicy));
  }

  clusterIPs.forEach((ip, i) => {
    if (i === 0 && ip === 'None') {
      if (clusterIPs.length > 1) {
        hasInvalidIPs = true;
        errs.push(goValueError('FieldValueInvalid', 'spec.clusterIPs', ipsText, "'None' must be the first and only value"));
      }
      return;
    }
    const e = isValidIP(path.index('spec.clusterIPs', i), ip);
    if (e.length) hasInvalidIPs = true;
    errs.push(...e);
  });

  if (clusterIPs.length > 2) errs.push(goValueError('FieldValueInvalid', 'spec.clusterIPs', ipsText, 'may only hold up to 2 values'));
  if (hasInvalidIPs) return errs;

  if (clusterIPs.length > 1) {
    // netutils.IsDualStackIPStrings: at least one address of each family.
    const fams = clusterIPs.map((ip) => parseIPSloppy(ip)?.family);
    const dualStack = fams.includes('IPv4') && fams.includes('IPv6');
    if (!dualStack) errs.push(goValueError('FieldValueInvalid', 'spec.clusterIPs', ipsText, 'may specify no more than one IP for each IP family'));
  }

  if (!isHeadlessService(svc) && clusterIPs.length > 0 && families.length > 0) {
    clusterIPs.forEach((ip, i) => {
      if (i > families.length - 1) return;
      const v6 = parseIPSloppy(ip)?.family === 'IPv6';
      if (families[i] === 'IPv4' && v6) errs.push(fe.invalid(path.index('spec.clusterIPs', i), ip, `expected an IPv4 value as indicated by \`ipFamilies[${i}]\``));
      if (families[i] === 'IPv6' && !v6) errs.push(fe.invalid(path.index('spec.clusterIPs', i), ip, `expected an IPv6 value as indicated by \`ipFamilies[${i}]\``));
    });
  }
  return errs;
}

/** ValidateService: everything a Service must satisfy on create and on every update. */
export function validateService(svc: Service): FieldError[] {
  const s = spec(svc);
  const errs = validateObjectMeta(svc.metadata, true, nameIsDNS1035Label);
  const annotations = svc.metadata?.annotations ?? {};

  const hints = annotations[annotationTopologyAwareHints];
  const mode = annotations[annotationTopologyMode];
  if (hints !== undefined && mode !== undefined && hints !== mode) {
    errs.push(
      fe.invalid(
        path.key('metadata.annotations', annotationTopologyMode),
        mode,
        `must match annotations[${annotationTopologyAwareHints}] when both are specified`,
      ),
    );
  }

  const ports = s.ports ?? [];
  if (ports.length === 0 && !isHeadlessService(svc) && s.type !== 'ExternalName') errs.push(fe.required('spec.ports', ''));

  switch (s.type) {
    case 'LoadBalancer':
      if (isHeadlessService(svc)) errs.push(fe.invalid('spec.clusterIPs[0]', 'None', "may not be set to 'None' for LoadBalancer services"));
      break;
    case 'NodePort':
      if (isHeadlessService(svc)) errs.push(fe.invalid('spec.clusterIPs[0]', 'None', "may not be set to 'None' for NodePort services"));
      break;
    case 'ExternalName': {
      if ((s.clusterIPs ?? []).length > 0) errs.push(fe.forbidden('spec.clusterIPs', 'may not be set for ExternalName services'));
      if ((s.ipFamilies ?? []).length > 0) errs.push(fe.forbidden('spec.ipFamilies', 'may not be set for ExternalName services'));
      if (s.ipFamilyPolicy !== undefined && s.ipFamilyPolicy !== null) errs.push(fe.forbidden('spec.ipFamilyPolicy', 'may not be set for ExternalName services'));
      // A trailing dot marks the CNAME as fully qualified.
      const cname = (s.externalName ?? '').replace(/\.$/, '');
      if (cname.length > 0) errs.push(...validateDNS1123Subdomain(cname, 'spec.externalName'));
      else errs.push(fe.required('spec.externalName', ''));
      break;
    }
    default:
      break;
  }

  const allNames = new Set<string>();
  ports.forEach((p, i) => errs.push(...validateServicePort(p, ports.length > 1, allNames, path.index('spec.ports', i))));

  if (s.selector) errs.push(...validateLabels(s.selector, 'spec.selector'));

  if (!s.sessionAffinity) errs.push(fe.required('spec.sessionAffinity', ''));
  else if (!supportedSessionAffinityType.includes(s.sessionAffinity)) {
    errs.push(fe.notSupported('spec.sessionAffinity', s.sessionAffinity, supportedSessionAffinityType));
  }
  if (s.sessionAffinity === 'ClientIP') errs.push(...validateClientIPAffinityConfig(svc, 'spec.sessionAffinityConfig'));
  else if (s.sessionAffinity === 'None' && s.sessionAffinityConfig) {
    errs.push(fe.forbidden('spec.sessionAffinityConfig', 'must not be set when session affinity is None'));
  }

  errs.push(...validateServiceClusterIPsRelatedFields(svc));

  (s.externalIPs ?? []).forEach((ip, i) => {
    const p = path.index('spec.externalIPs', i);
    const e = isValidIP(p, ip);
    errs.push(...(e.length ? e : validateNonSpecialIP(ip, p)));
  });

  if (!s.type) errs.push(fe.required('spec.type', ''));
  else if (!supportedServiceType.includes(s.type)) errs.push(fe.notSupported('spec.type', s.type, supportedServiceType));

  if (s.type === 'ClusterIP') {
    ports.forEach((p, i) => {
      if ((p.nodePort ?? 0) !== 0) errs.push(fe.forbidden(path.child(path.index('spec.ports', i), 'nodePort'), "may not be used when `type` is 'ClusterIP'"));
    });
  }

  // Duplicate (protocol, nodePort) and (protocol, port) pairs.
  const nodePorts = new Set<string>();
  ports.forEach((p, i) => {
    const np = p.nodePort ?? 0;
    if (np === 0) return;
    const key = `${p.protocol ?? ''}/${np}`;
    if (nodePorts.has(key)) errs.push(fe.duplicate(path.child(path.index('spec.ports', i), 'nodePort'), np));
    nodePorts.add(key);
  });
  const seenPorts = new Set<string>();
  ports.forEach((p, i) => {
    const key = `${p.protocol ?? ''}/${p.port ?? 0}`;
    if (seenPorts.has(key)) errs.push(goValueError('FieldValueDuplicate', path.index('spec.ports', i), goServicePortKey(p.protocol ?? '', p.port ?? 0)));
    seenPorts.add(key);
  });

  const ranges = s.loadBalancerSourceRanges ?? [];
  if (ranges.length > 0) {
    // Kubernetes names this path with a capital L.
    const fp = 'spec.LoadBalancerSourceRanges';
    if (s.type !== 'LoadBalancer') errs.push(fe.forbidden(fp, "may only be used when `type` is 'LoadBalancer'"));
    // Space-padded values are tolerated for historical reasons.
    ranges.forEach((r, i) => errs.push(...isValidCIDR(path.index(fp, i), r.trim())));
  } else if (annotations[annotationLoadBalancerSourceRanges] !== undefined) {
    const fp = path.key('metadata.annotations', annotationLoadBalancerSourceRanges);
    if (s.type !== 'LoadBalancer') errs.push(fe.forbidden(fp, "may only be used when `type` is 'LoadBalancer'"));
    const val = (annotations[annotationLoadBalancerSourceRanges] ?? '').trim();
    if (val !== '') for (const c of val.split(',')) errs.push(...isValidCIDR(fp, c.trim()));
  }

  if (s.allocateLoadBalancerNodePorts !== undefined && s.allocateLoadBalancerNodePorts !== null && s.type !== 'LoadBalancer') {
    errs.push(fe.forbidden('spec.allocateLoadBalancerNodePorts', "may only be used when `type` is 'LoadBalancer'"));
  }
  if (s.type === 'LoadBalancer' && (s.allocateLoadBalancerNodePorts === undefined || s.allocateLoadBalancerNodePorts === null)) {
    // Kubernetes reports this one without the "spec." prefix.
    errs.push(fe.required('allocateLoadBalancerNodePorts', ''));
  }

  errs.push(...validateLoadBalancerClassField(undefined, svc));
  errs.push(...validateServiceExternalTrafficPolicy(svc));
  errs.push(...validateServiceInternalTrafficFieldsValue(svc));
  errs.push(...validateServiceTrafficDistribution(svc));
  return errs;
}

function validateUpgradeDowngradeClusterIPs(old: Service, svc: Service): FieldError[] {
  const errs: FieldError[] = [];
  if (spec(svc).type === 'ExternalName' || spec(old).type === 'ExternalName') return errs;
  const newHeadless = isHeadlessService(svc);
  const oldHeadless = isHeadlessService(old);
  if (oldHeadless && newHeadless) return errs;
  const oldIPs = spec(old).clusterIPs ?? [];
  const newIPs = spec(svc).clusterIPs ?? [];
  const newText = goStringSlice(spec(svc).clusterIPs);
  if (oldIPs.length === newIPs.length) {
    oldIPs.forEach((ip, i) => {
      if (ip !== newIPs[i]) errs.push(goValueError('FieldValueInvalid', path.index('spec.clusterIPs', i), newText, 'may not change once set'));
    });
  } else if (oldIPs.length > newIPs.length) {
    if (newIPs.length === 0) errs.push(goValueError('FieldValueInvalid', 'spec.clusterIPs[0]', newText, 'primary clusterIP can not be unset'));
    if (oldIPs.length > 0 && newIPs.length > 0 && newIPs[0] !== oldIPs[0]) {
      errs.push(goValueError('FieldValueInvalid', 'spec.clusterIPs[0]', newText, 'may not change once set'));
    }
    if (newIPs.length === 1 && spec(svc).ipFamilyPolicy !== 'SingleStack') {
      errs.push(fe.invalid('spec.ipFamilyPolicy', goPtr(spec(svc).ipFamilyPolicy), "must be set to 'SingleStack' when releasing the secondary clusterIP"));
    }
  } else if (oldIPs.length > 0 && newIPs[0] !== oldIPs[0]) {
    errs.push(goValueError('FieldValueInvalid', 'spec.clusterIPs[0]', newText, 'may not change once set'));
  }
  return errs;
}

function validateUpgradeDowngradeIPFamilies(old: Service, svc: Service): FieldError[] {
  const errs: FieldError[] = [];
  if (spec(svc).type === 'ExternalName' || spec(old).type === 'ExternalName') return errs;
  const oldHeadless = isHeadlessService(old);
  const newHeadless = isHeadlessService(svc);
  if (newHeadless !== oldHeadless || newHeadless) return errs;
  const oldF = spec(old).ipFamilies ?? [];
  const newF = spec(svc).ipFamilies ?? [];
  const famText = goStringSlice(spec(svc).ipFamilies, 'core.IPFamily');
  // Kubernetes reports clusterIPs as the value in two of these, and so do we.
  const ipsText = goStringSlice(spec(svc).clusterIPs);
  if (oldF.length === newF.length) {
    oldF.forEach((f, i) => {
      if (f !== newF[i]) errs.push(goValueError('FieldValueInvalid', 'spec.ipFamilies[0]', famText, 'may not change once set'));
    });
  } else if (oldF.length > newF.length) {
    if ((spec(svc).clusterIPs ?? []).length === 0) errs.push(goValueError('FieldValueInvalid', 'spec.ipFamilies[0]', famText, 'primary ipFamily can not be unset'));
    if (newF.length > 0 && newF[0] !== oldF[0]) errs.push(goValueError('FieldValueInvalid', 'spec.ipFamilies[0]', ipsText, 'may not change once set'));
    if (newF.length === 1 && spec(svc).ipFamilyPolicy !== 'SingleStack') {
      errs.push(fe.invalid('spec.ipFamilyPolicy', goPtr(spec(svc).ipFamilyPolicy), "must be set to 'SingleStack' when releasing the secondary ipFamily"));
    }
  } else if (oldF.length > 0 && newF.length > 0 && newF[0] !== oldF[0]) {
    errs.push(goValueError('FieldValueInvalid', 'spec.ipFamilies[0]', ipsText, 'may not change once set'));
  }
  return errs;
}

function validateServiceExternalTrafficFieldsUpdate(old: Service, svc: Service): FieldError[] {
  if (needsHealthCheck(old) && needsHealthCheck(svc) && (spec(svc).healthCheckNodePort ?? 0) !== (spec(old).healthCheckNodePort ?? 0)) {
    return [fe.forbidden('spec.healthCheckNodePort', 'field is immutable')];
  }
  return [];
}

/** ValidateServiceUpdate: the update rules, then every rule of ValidateService. */
export function validateServiceUpdate(svc: Service, old: Service): FieldError[] {
  const errs = validateObjectMetaUpdate(svc.metadata, old.metadata);
  errs.push(...validateUpgradeDowngradeClusterIPs(old, svc));
  errs.push(...validateUpgradeDowngradeIPFamilies(old, svc));
  errs.push(...validateLoadBalancerClassField(old, svc));
  errs.push(...validateServiceExternalTrafficFieldsUpdate(old, svc));
  errs.push(...validateService(svc));
  return errs;
}

/** ValidateLoadBalancerStatus (AllowServiceLBStatusOnNonLB off, LoadBalancerIPMode on, as in 1.33). */
export function validateLoadBalancerStatus(status: LoadBalancerStatus | undefined, fldPath: string, s: ServiceSpec): FieldError[] {
  const errs: FieldError[] = [];
  const ingrPath = path.child(fldPath, 'ingress');
  const ingress = status?.ingress ?? [];
  if (s.type !== 'LoadBalancer' && ingress.length !== 0) {
    return [fe.forbidden(ingrPath, "may only be used when `spec.type` is 'LoadBalancer'")];
  }
  ingress.forEach((ing, i) => {
    const p = path.index(ingrPath, i);
    if (ing.ip) errs.push(...isValidIP(path.child(p, 'ip'), ing.ip));
    const mode = ing.ipMode;
    if (mode === undefined || mode === null) {
      if (ing.ip) errs.push(fe.required(path.child(p, 'ipMode'), 'must be specified when `ip` is set'));
    } else if (!ing.ip) {
      errs.push(fe.forbidden(path.child(p, 'ipMode'), 'may not be specified when `ip` is not set'));
    } else if (!supportedLoadBalancerIPMode.includes(mode)) {
      errs.push(fe.notSupported(path.child(p, 'ipMode'), mode, supportedLoadBalancerIPMode));
    }
    if (ing.hostname) {
      for (const m of isDNS1123Subdomain(ing.hostname)) errs.push(fe.invalid(path.child(p, 'hostname'), ing.hostname, m));
      if (parseIPSloppy(ing.hostname)) errs.push(fe.invalid(path.child(p, 'hostname'), ing.hostname, 'must be a DNS name, not an IP address'));
    }
  });
  return errs;
}

/** ValidateServiceStatusUpdate: metadata rules and the load-balancer status. */
export function validateServiceStatusUpdate(svc: Service, old: Service): FieldError[] {
  const errs = validateObjectMetaUpdate(svc.metadata, old.metadata);
  errs.push(...validateLoadBalancerStatus(svc.status?.loadBalancer, 'status.loadBalancer', spec(svc)));
  return errs;
}
