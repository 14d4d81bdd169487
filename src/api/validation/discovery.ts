// EndpointSlice validation (pkg/apis/discovery/validation, Kubernetes 1.33).
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { fe, invalidEach, path, type FieldError } from './field.ts';
import { isDNS1123Label, isDNS1123Subdomain, isValidLabelValue, isValidPortNum, nameIsDNSSubdomain } from './format.ts';
import { validateImmutableField, validateLabels, validateObjectMeta } from './objectmeta.ts';
import { isValidIPv4Address, isValidIPv6Address, supportedPortProtocols, validateDNS1123Label, validateNonSpecialIP, validateQualifiedName } from './common.ts';

const supportedAddressTypes = ['FQDN', 'IPv4', 'IPv6'];
const maxTopologyLabels = 16;
const maxAddresses = 100;
const maxPorts = 100;
const maxEndpoints = 1000;
const maxZoneHints = 8;

/** IsFullyQualifiedDomainName: at least two labels, a trailing dot allowed. */
function isFullyQualifiedDomainName(field: string, name: string): FieldError[] {
  if (name.length === 0) return [fe.required(field, '')];
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  const sub = isDNS1123Subdomain(n);
  if (sub.length) return [fe.invalid(field, n, sub.join(','))];
  if (n.split('.').length < 2) return [fe.invalid(field, n, 'should be a domain with at least two segments separated by dots')];
  for (const label of n.split('.')) {
    const e = isDNS1123Label(label);
    if (e.length) return [fe.invalid(field, label, e.join(','))];
  }
  return [];
}

function validateEndpointSliceCommon(slice: EndpointSlice): FieldError[] {
  const errs: FieldError[] = [];
  const at = slice.addressType ?? '';
  if (!at) errs.push(fe.required('addressType', ''));
  else if (!supportedAddressTypes.includes(at)) errs.push(fe.notSupported('addressType', at, supportedAddressTypes));

  const endpoints = slice.endpoints ?? [];
  if (endpoints.length > maxEndpoints) {
    errs.push(fe.tooMany('endpoints', endpoints.length, maxEndpoints));
  } else {
    endpoints.forEach((ep, i) => {
      const ip = path.index('endpoints', i);
      const ap = path.child(ip, 'addresses');
      const addrs = ep.addresses ?? [];
      if (addrs.length === 0) errs.push(fe.required(ap, 'must contain at least 1 address'));
      else if (addrs.length > maxAddresses) errs.push(fe.tooMany(ap, addrs.length, maxAddresses));
      addrs.forEach((a, j) => {
        const p = path.index(ap, j);
        if (at === 'IPv4') errs.push(...isValidIPv4Address(p, a), ...validateNonSpecialIP(a, p));
        else if (at === 'IPv6') errs.push(...isValidIPv6Address(p, a), ...validateNonSpecialIP(a, p));
        else if (at === 'FQDN') errs.push(...isFullyQualifiedDomainName(p, a));
      });
      if (ep.nodeName !== undefined && ep.nodeName !== null) errs.push(...invalidEach(path.child(ip, 'nodeName'), ep.nodeName, nameIsDNSSubdomain(ep.nodeName, false)));
      const topo = ep.deprecatedTopology ?? {};
      const tp = path.child(ip, 'deprecatedTopology');
      if (Object.keys(topo).length > maxTopologyLabels) errs.push(fe.tooMany(tp, Object.keys(topo).length, maxTopologyLabels));
      errs.push(...validateLabels(topo, tp));
      if (ep.hostname !== undefined && ep.hostname !== null) errs.push(...validateDNS1123Label(ep.hostname, path.child(ip, 'hostname')));
      const zones = ep.hints?.forZones ?? [];
      const fz = path.child(ip, 'hints', 'forZones');
      if (zones.length > maxZoneHints) {
        errs.push(fe.tooMany(fz, zones.length, maxZoneHints));
      } else {
        const seen = new Set<string>();
        zones.forEach((z, j) => {
          const zp = path.child(path.index(fz, j), 'name');
          if (seen.has(z.name)) errs.push(fe.duplicate(zp, z.name));
          else seen.add(z.name);
          errs.push(...invalidEach(zp, z.name, isValidLabelValue(z.name)));
        });
      }
    });
  }

  const ports = slice.ports ?? [];
  if (ports.length > maxPorts) {
    errs.push(fe.tooMany('ports', ports.length, maxPorts));
  } else {
    const names = new Set<string>();
    ports.forEach((p, i) => {
      const pp = path.index('ports', i);
      const name = p.name ?? '';
      if (name) errs.push(...validateDNS1123Label(name, path.child(pp, 'name')));
      if (names.has(name)) errs.push(fe.duplicate(path.child(pp, 'name'), name));
      else names.add(name);
      if (p.port !== undefined && p.port !== null) errs.push(...invalidEach(path.child(pp, 'port'), p.port, isValidPortNum(p.port)));
      if (!p.protocol) errs.push(fe.required(path.child(pp, 'protocol'), ''));
      else if (!(supportedPortProtocols as readonly string[]).includes(p.protocol)) errs.push(fe.notSupported(path.child(pp, 'protocol'), p.protocol, supportedPortProtocols));
      if (p.appProtocol !== undefined && p.appProtocol !== null) errs.push(...validateQualifiedName(p.appProtocol, path.child(pp, 'appProtocol')));
    });
  }
  return errs;
}

export function validateEndpointSlice(slice: EndpointSlice): FieldError[] {
  return [...validateObjectMeta(slice.metadata, true, nameIsDNSSubdomain), ...validateEndpointSliceCommon(slice)];
}

/** ValidateEndpointSliceUpdate: the create rules (metadata included) and addressType immutable. */
export function validateEndpointSliceUpdate(slice: EndpointSlice, old: EndpointSlice): FieldError[] {
  return [...validateEndpointSlice(slice), ...validateImmutableField(slice.addressType, old.addressType, 'addressType')];
}
