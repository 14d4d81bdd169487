// discovery.k8s.io/v1 defaults (pkg/apis/discovery/v1/defaults.go): ports get an empty name and
// protocol TCP. The endpoints and ports lists are not omitempty: null shows when empty.
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';

export function setDefaultsEndpointSlice(slice: EndpointSlice): void {
  const s = slice as unknown as Record<string, unknown>;
  if (!('endpoints' in s) || s.endpoints === undefined) s.endpoints = null;
  if (!('ports' in s) || s.ports === undefined) s.ports = null;
  for (const p of slice.ports ?? []) {
    if (p.name === undefined || p.name === null) p.name = '';
    if (!p.protocol) p.protocol = 'TCP';
  }
}
