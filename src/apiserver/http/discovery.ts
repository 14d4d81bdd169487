// Discovery documents: /api, /apis, each group-version's APIResourceList, and aggregated
// discovery (apidiscovery.k8s.io/v2) when the client asks for it, from the served resources.
import { resourceApiVersion, type ResourceInfo } from '../../api/index.ts';

export interface GroupVersion {
  group: string;
  version: string;
}

function groupVersions(resources: readonly ResourceInfo[]): GroupVersion[] {
  const seen = new Map<string, GroupVersion>();
  for (const r of resources) seen.set(resourceApiVersion(r), { group: r.group, version: r.version });
  return [...seen.values()];
}

export function apiVersions(serverAddress: string): object {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

export function apiGroupList(resources: readonly ResourceInfo[]): object {
  const groups = groupVersions(resources)
    .filter((gv) => gv.group !== '')
    .map((gv) => {
      const v = { groupVersion: `${gv.group}/${gv.version}`, version: gv.version };
      return { name: gv.group, versions: [v], preferredVersion: v };
    });
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

export function apiGroup(resources: readonly ResourceInfo[], group: string): object | undefined {
  const gv = groupVersions(resources).find((g) => g.group === group);
  if (!gv || group === '') return undefined;
  const v = { groupVersion: `${gv.group}/${gv.version}`, version: gv.version };
  return { kind: 'APIGroup', apiVersion: 'v1', name: group, versions: [v], preferredVersion: v };
}

export function apiResourceList(resources: readonly ResourceInfo[], group: string, version: string): object | undefined {
  const rs = resources.filter((r) => r.group === group && r.version === version);
  if (rs.length === 0) return undefined;
  const list: object[] = [];
  for (const r of rs) {
    const entry: Record<string, unknown> = {
      name: r.resource,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: [...r.verbs],
    };
    if (r.shortNames.length) entry.shortNames = [...r.shortNames];
    if (r.categories.length) entry.categories = [...r.categories];
    entry.storageVersionHash = storageVersionHash(r);
    list.push(entry);
    for (const s of r.subresources) {
      const sub: Record<string, unknown> = { name: `${r.resource}/${s.name}`, singularName: '', namespaced: r.namespaced, kind: s.kind.kind, verbs: [...s.verbs] };
      if (s.kind.group !== r.group) sub.group = s.kind.group;
      if (s.kind.version !== r.version || s.kind.group !== r.group) sub.version = s.kind.version;
      list.push(sub);
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: resourceApiVersion({ group, version }), resources: list };
}

// A stable short hash per resource, as kube publishes (clients only compare it for changes).
function storageVersionHash(r: ResourceInfo): string {
  let h = 0x811c9dc5;
  for (const c of `${r.group}/${r.version}/${r.kind}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return Buffer.from(h.toString(16).padStart(8, '0')).toString('base64').slice(0, 11);
}

function discoveryResource(r: ResourceInfo): object {
  const out: Record<string, unknown> = {
    resource: r.resource,
    responseKind: { group: r.group, version: r.version, kind: r.kind },
    scope: r.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: r.singular,
    verbs: [...r.verbs],
  };
  if (r.shortNames.length) out.shortNames = [...r.shortNames];
  if (r.categories.length) out.categories = [...r.categories];
  if (r.subresources.length) {
    out.subresources = r.subresources.map((s) => ({ subresource: s.name, responseKind: { ...s.kind }, verbs: [...s.verbs] }));
  }
  return out;
}

/** Aggregated discovery for /api (legacy: true) or /apis. */
export function aggregatedDiscovery(resources: readonly ResourceInfo[], legacy: boolean): object {
  const items = groupVersions(resources)
    .filter((gv) => (gv.group === '') === legacy)
    .map((gv) => ({
      metadata: legacy ? { creationTimestamp: null } : { name: gv.group, creationTimestamp: null },
      versions: [{ version: gv.version, resources: resources.filter((r) => r.group === gv.group && r.version === gv.version).map(discoveryResource), freshness: 'Current' }],
    }));
  return { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items };
}

/** Which aggregated discovery version the Accept header asks for (v2 or v2beta1), if any. */
export function wantsAggregated(accept: string | undefined): 'v2' | 'v2beta1' | undefined {
  if (!accept) return undefined;
  for (const part of accept.split(',')) {
    const p = part.replace(/\s/g, '');
    if (!p.startsWith('application/json;') || !p.includes('g=apidiscovery.k8s.io') || !p.includes('as=APIGroupDiscoveryList')) continue;
    if (p.includes('v=v2beta1')) return 'v2beta1';
    if (p.includes('v=v2')) return 'v2';
  }
  return undefined;
}
