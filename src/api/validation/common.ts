// Field-level checks shared by many types (core validation.go and util/validation/ip.go).
import { fe, invalidEach, type FieldError } from './field.ts';
import { isDNS1123Label, isDNS1123Subdomain, isQualifiedName, isValidPortName, isValidPortNum } from './format.ts';
import { isLinkLocalMulticast, isLinkLocalUnicast, isLoopback, isUnspecified, parseCIDRSloppy, parseIPSloppy } from './net.ts';

export const supportedPortProtocols = ['SCTP', 'TCP', 'UDP'] as const;

export function validateDNS1123Label(value: string, field: string): FieldError[] {
  return invalidEach(field, value, isDNS1123Label(value));
}

export function validateDNS1123Subdomain(value: string, field: string): FieldError[] {
  return invalidEach(field, value, isDNS1123Subdomain(value));
}

export function validateQualifiedName(value: string, field: string): FieldError[] {
  return invalidEach(field, value, isQualifiedName(value));
}

export function isValidIP(field: string, value: string): FieldError[] {
  return parseIPSloppy(value) ? [] : [fe.invalid(field, value, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)')];
}

export function isValidIPv4Address(field: string, value: string): FieldError[] {
  return parseIPSloppy(value)?.family === 'IPv4' ? [] : [fe.invalid(field, value, 'must be a valid IPv4 address')];
}

export function isValidIPv6Address(field: string, value: string): FieldError[] {
  return parseIPSloppy(value)?.family === 'IPv6' ? [] : [fe.invalid(field, value, 'must be a valid IPv6 address')];
}

export function isValidCIDR(field: string, value: string): FieldError[] {
  return parseCIDRSloppy(value) ? [] : [fe.invalid(field, value, 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)')];
}

/**
 * In svcnet's host mode pods, Services and LoadBalancer addresses all live on loopback, so
 * loopback addresses must be allowed where Kubernetes refuses them (docs/compatibility.md).
 */
const addressPolicy = { allowLoopback: false };

/** Sets whether Endpoints, EndpointSlices and externalIPs may hold loopback addresses (host mode). */
export function allowLoopbackAddresses(allow: boolean): void {
  addressPolicy.allowLoopback = allow;
}

/** ValidateNonSpecialIP: no unspecified, loopback or link-local addresses (Endpoints, externalIPs). */
export function validateNonSpecialIP(value: string, field: string): FieldError[] {
  const ip = parseIPSloppy(value);
  if (!ip) return [fe.invalid(field, value, 'must be a valid IP address')];
  const errs: FieldError[] = [];
  if (isUnspecified(ip)) errs.push(fe.invalid(field, value, `may not be unspecified (${value})`));
  if (isLoopback(ip) && !addressPolicy.allowLoopback) errs.push(fe.invalid(field, value, 'may not be in the loopback range (127.0.0.0/8, ::1/128)'));
  if (isLinkLocalUnicast(ip)) errs.push(fe.invalid(field, value, 'may not be in the link-local range (169.254.0.0/16, fe80::/10)'));
  if (isLinkLocalMulticast(ip)) errs.push(fe.invalid(field, value, 'may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)'));
  return errs;
}

/** ValidatePortNumOrName for an IntOrString: a port number, or an IANA service name. */
export function validatePortNumOrName(port: number | string | undefined, field: string): FieldError[] {
  if (typeof port === 'string') return invalidEach(field, port, isValidPortName(port));
  return invalidEach(field, port ?? 0, isValidPortNum(port ?? 0));
}

export function notSupported(field: string, value: unknown, supported: readonly string[]): FieldError {
  return fe.notSupported(field, value, supported);
}

/** Go's sets.List: sorted values. */
export function sorted(values: Iterable<string>): string[] {
  return [...values].sort();
}
