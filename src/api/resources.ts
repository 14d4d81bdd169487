// The resources svcnet serves: names, scope, short names, categories and subresources, as
// kube-apiserver's discovery documents them. Behaviour (defaults, validation, strategies,
// printing) lives in its own modules, keyed by these descriptors.
import { apiVersionOf, type GroupVersionKind } from './meta.ts';

export type Verb = 'create' | 'delete' | 'deletecollection' | 'get' | 'list' | 'patch' | 'update' | 'watch';

export const allVerbs: readonly Verb[] = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export interface SubresourceInfo {
  /** "status", "scale", "log", "exec", "binding", "finalize" */
  name: string;
  /** The kind a request to the subresource takes and returns. */
  kind: GroupVersionKind;
  verbs: readonly string[];
}

export interface ResourceInfo {
  group: string;
  version: string;
  kind: string;
  listKind: string;
  /** Plural resource name as it appears in URLs: "services". */
  resource: string;
  singular: string;
  namespaced: boolean;
  shortNames: readonly string[];
  categories: readonly string[];
  verbs: readonly Verb[];
  subresources: readonly SubresourceInfo[];
}

const scale: SubresourceInfo = { name: 'scale', kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' }, verbs: ['get', 'patch', 'update'] };

function status(gvk: Omit<GroupVersionKind, 'kind'>, kind: string): SubresourceInfo {
  return { name: 'status', kind: { ...gvk, kind }, verbs: ['get', 'patch', 'update'] };
}

function def(
  group: string,
  version: string,
  kind: string,
  resource: string,
  namespaced: boolean,
  opts: { shortNames?: string[]; categories?: string[]; status?: boolean; extra?: SubresourceInfo[]; verbs?: Verb[] } = {},
): ResourceInfo {
  const subs: SubresourceInfo[] = [];
  if (opts.status) subs.push(status({ group, version }, kind));
  subs.push(...(opts.extra ?? []));
  return {
    group,
    version,
    kind,
    listKind: `${kind}List`,
    resource,
    singular: kind.toLowerCase(),
    namespaced,
    shortNames: opts.shortNames ?? [],
    categories: opts.categories ?? [],
    verbs: opts.verbs ?? allVerbs,
    subresources: subs,
  };
}

const core = (name: string, kind: string, verbs: string[]): SubresourceInfo => ({ name, kind: { group: '', version: 'v1', kind }, verbs });

export const Namespaces = def('', 'v1', 'Namespace', 'namespaces', false, {
  shortNames: ['ns'],
  status: true,
  extra: [core('finalize', 'Namespace', ['update'])],
  verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
});
export const Nodes = def('', 'v1', 'Node', 'nodes', false, { shortNames: ['no'], status: true });
export const Pods = def('', 'v1', 'Pod', 'pods', true, {
  shortNames: ['po'],
  categories: ['all'],
  status: true,
  extra: [core('binding', 'Binding', ['create']), core('exec', 'PodExecOptions', ['create', 'get']), core('log', 'Pod', ['get'])],
});
export const Services = def('', 'v1', 'Service', 'services', true, {
  shortNames: ['svc'],
  categories: ['all'],
  status: true,
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
});
export const Endpoints = def('', 'v1', 'Endpoints', 'endpoints', true, { shortNames: ['ep'] });
// Endpoints' kind is already plural; its list kind is EndpointsList.
export const ConfigMaps = def('', 'v1', 'ConfigMap', 'configmaps', true, { shortNames: ['cm'] });
export const Secrets = def('', 'v1', 'Secret', 'secrets', true);
export const Events = def('', 'v1', 'Event', 'events', true, { shortNames: ['ev'] });
export const ServiceAccounts = def('', 'v1', 'ServiceAccount', 'serviceaccounts', true, { shortNames: ['sa'] });
export const EndpointSlices = def('discovery.k8s.io', 'v1', 'EndpointSlice', 'endpointslices', true);
export const Deployments = def('apps', 'v1', 'Deployment', 'deployments', true, {
  shortNames: ['deploy'],
  categories: ['all'],
  status: true,
  extra: [scale],
});
export const ReplicaSets = def('apps', 'v1', 'ReplicaSet', 'replicasets', true, {
  shortNames: ['rs'],
  categories: ['all'],
  status: true,
  extra: [scale],
});
export const Leases = def('coordination.k8s.io', 'v1', 'Lease', 'leases', true);
export const IPAddressPools = def('metallb.io', 'v1beta1', 'IPAddressPool', 'ipaddresspools', true, { status: true });
export const L2Advertisements = def('metallb.io', 'v1beta1', 'L2Advertisement', 'l2advertisements', true);

/** Every served resource, in discovery order. */
export const allResources: readonly ResourceInfo[] = [
  Namespaces,
  Nodes,
  Pods,
  Services,
  Endpoints,
  ConfigMaps,
  Secrets,
  Events,
  ServiceAccounts,
  EndpointSlices,
  Deployments,
  ReplicaSets,
  Leases,
  IPAddressPools,
  L2Advertisements,
];

export function resourceApiVersion(r: Pick<ResourceInfo, 'group' | 'version'>): string {
  return apiVersionOf(r.group, r.version);
}

export function gvkOf(r: ResourceInfo): GroupVersionKind {
  return { group: r.group, version: r.version, kind: r.kind };
}

/** Finds a served resource by group and plural name. */
export function findResource(group: string, resource: string): ResourceInfo | undefined {
  return allResources.find((r) => r.group === group && r.resource === resource);
}

/** Finds a served resource by apiVersion and kind, as written in a manifest. */
export function findResourceByKind(apiVersion: string, kind: string): ResourceInfo | undefined {
  return allResources.find((r) => resourceApiVersion(r) === apiVersion && r.kind === kind);
}
