// Validation of every served type, as kube-apiserver validates on create and update: field
// paths and messages of Kubernetes 1.33, ready for invalid(gk, name, errs) to make the 422.
//
//   create:  validateCreate(r, obj)                  after defaulting and prepareForCreate
//   update:  validateUpdate(r, obj, old)             after defaulting and prepareForUpdate
//   status:  validateUpdate(r, obj, old, 'status')   (also 'finalize' for namespaces)
//
// Then, for metallb.io objects, webhookDenial(r, obj) gives MetalLB's webhook refusal (a 403).
// Subresource bodies of other kinds: validatePodBinding (pods/binding, kind Binding) and
// validateScale (deployments|replicasets/scale, kind Scale.autoscaling).
import type { ConfigMap, Endpoints, Event, Namespace, Node, Pod, Secret, Service, ServiceAccount } from 'kubernetes-types/core/v1.js';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import { ApiError, type FieldError, type KubeObject, type ResourceInfo } from '../index.ts';
import { validateObjectMeta, validateObjectMetaUpdate } from './objectmeta.ts';
import type { NameValidator } from './format.ts';
import { validateService, validateServiceStatusUpdate, validateServiceUpdate } from './service.ts';
import { validatePodCreate, validatePodStatusUpdate, validatePodUpdate } from './pod.ts';
import {
  validateDeployment,
  validateDeploymentStatusUpdate,
  validateDeploymentUpdate,
  validateReplicaSet,
  validateReplicaSetStatusUpdate,
  validateReplicaSetUpdate,
} from './apps.ts';
import {
  validateConfigMap,
  validateConfigMapUpdate,
  validateEndpoints,
  validateEndpointsUpdate,
  validateEvent,
  validateLease,
  validateLeaseUpdate,
  validateNamespace,
  validateNamespaceFinalizeUpdate,
  validateNamespaceStatusUpdate,
  validateNamespaceUpdate,
  validateNode,
  validateNodeUpdate,
  validateSecret,
  validateSecretUpdate,
  validateServiceAccount,
  validateServiceAccountUpdate,
} from './core.ts';
import { validateEndpointSlice, validateEndpointSliceUpdate } from './discovery.ts';
import {
  ipAddressPoolDenial,
  ipAddressPoolWebhook,
  validateIPAddressPool,
  validateIPAddressPoolUpdate,
  validateL2Advertisement,
  validateL2AdvertisementUpdate,
  type IPAddressPool,
  type L2Advertisement,
} from './metallb.ts';

export type { FieldError };
export { type ClusterConfig, defaultClusterConfig, clusterIPFamilies, checkAllocationRanges } from './config.ts';
export { validateServiceClusterIPsRelatedFields, externallyAccessible, needsHealthCheck, isHeadlessService } from './service.ts';
export { familyOf, parseCIDRSloppy, ipString, type IPFamily } from './net.ts';
export { semanticEqual } from './equality.ts';
export { allowLoopbackAddresses } from './common.ts';
export { validatePodBinding } from './pod.ts';
export { validateScale } from './apps.ts';
export { parseMetalLBAddresses, type IPAddressPool, type IPAddressPoolSpec, type L2Advertisement, type L2AdvertisementSpec } from './metallb.ts';

interface Validators {
  create: (obj: KubeObject) => FieldError[];
  update: (obj: KubeObject, old: KubeObject) => FieldError[];
  status?: (obj: KubeObject, old: KubeObject) => FieldError[];
  finalize?: (obj: KubeObject, old: KubeObject) => FieldError[];
}

// Each entry narrows the stored JSON to its kubernetes-types shape.
function v<T>(create: (o: T) => FieldError[], update: (o: T, old: T) => FieldError[], extra: Partial<Record<'status' | 'finalize', (o: T, old: T) => FieldError[]>> = {}): Validators {
  const out: Validators = {
    create: (o) => create(o as T),
    update: (o, old) => update(o as T, old as T),
  };
  if (extra.status) {
    const s = extra.status;
    out.status = (o, old) => s(o as T, old as T);
  }
  if (extra.finalize) {
    const f = extra.finalize;
    out.finalize = (o, old) => f(o as T, old as T);
  }
  return out;
}

const validators: Record<string, Validators> = {
  '/Service': v<Service>(validateService, validateServiceUpdate, { status: validateServiceStatusUpdate }),
  '/Pod': v<Pod>(validatePodCreate, validatePodUpdate, { status: validatePodStatusUpdate }),
  '/Namespace': v<Namespace>(validateNamespace, validateNamespaceUpdate, { status: validateNamespaceStatusUpdate, finalize: validateNamespaceFinalizeUpdate }),
  '/Node': v<Node>(validateNode, validateNodeUpdate, { status: validateNodeUpdate }),
  '/Endpoints': v<Endpoints>(validateEndpoints, validateEndpointsUpdate),
  '/ConfigMap': v<ConfigMap>(validateConfigMap, validateConfigMapUpdate),
  '/Secret': v<Secret>(validateSecret, validateSecretUpdate),
  '/Event': v<Event>(validateEvent, (o) => validateEvent(o)),
  '/ServiceAccount': v<ServiceAccount>(validateServiceAccount, validateServiceAccountUpdate),
  'discovery.k8s.io/EndpointSlice': v<EndpointSlice>(validateEndpointSlice, validateEndpointSliceUpdate),
  'apps/Deployment': v<Deployment>(validateDeployment, validateDeploymentUpdate, { status: validateDeploymentStatusUpdate }),
  'apps/ReplicaSet': v<ReplicaSet>(validateReplicaSet, validateReplicaSetUpdate, { status: validateReplicaSetStatusUpdate }),
  'coordination.k8s.io/Lease': v<Lease>(validateLease, validateLeaseUpdate),
  'metallb.io/IPAddressPool': v<IPAddressPool>(validateIPAddressPool, validateIPAddressPoolUpdate, {
    status: (o, old) => validateObjectMetaUpdate(o.metadata, old.metadata, 'metadata', { kubeFinalizers: false }),
  }),
  'metallb.io/L2Advertisement': v<L2Advertisement>(validateL2Advertisement, validateL2AdvertisementUpdate),
};

function validatorsFor(r: ResourceInfo): Validators | undefined {
  return validators[`${r.group}/${r.kind}`];
}

/** path.ValidatePathSegmentName: what every name must be to sit in a URL path. */
const pathSegmentName: NameValidator = (name, prefix) => {
  const errs: string[] = [];
  if (!prefix) {
    if (name === '.') return ["may not be '.'"];
    if (name === '..') return ["may not be '..'"];
  }
  for (const ch of ['/', '%']) if (name.includes(ch)) errs.push(`may not contain '${ch}'`);
  return errs;
};

function commonMeta(r: ResourceInfo, obj: KubeObject): FieldError[] {
  return validateObjectMeta(obj.metadata, r.namespaced, pathSegmentName, 'metadata', { kubeFinalizers: false });
}

/**
 * The field errors that refuse a create, [] when it may proceed. The type's own rules run first;
 * only when they pass do the common metadata rules run (as rest.BeforeCreate orders them).
 */
export function validateCreate(r: ResourceInfo, obj: KubeObject): FieldError[] {
  const typeErrs = validatorsFor(r)?.create(obj) ?? [];
  return typeErrs.length ? typeErrs : commonMeta(r, obj);
}

/**
 * The field errors that refuse an update of the resource (subresource undefined) or of its
 * "status" (or a namespace's "finalize") subresource. `obj` is the object after
 * prepareForUpdate; `old` is the stored object. Common metadata rules come first, as in
 * rest.BeforeUpdate; duplicates are kept in the list (kube's causes keep them too; the 422
 * message drops repeats).
 */
export function validateUpdate(r: ResourceInfo, obj: KubeObject, old: KubeObject, subresource?: string): FieldError[] {
  const errs = [...commonMeta(r, obj), ...validateObjectMetaUpdate(obj.metadata, old.metadata, 'metadata', { kubeFinalizers: false })];
  const vs = validatorsFor(r);
  if (!vs) return errs;
  if (subresource === 'status') errs.push(...(vs.status ?? ((o, p) => validateObjectMetaUpdate(o.metadata, p.metadata)))(obj, old));
  else if (subresource === 'finalize' && vs.finalize) errs.push(...vs.finalize(obj, old));
  else errs.push(...vs.update(obj, old));
  return errs;
}

/**
 * MetalLB's validating webhooks, for metallb.io objects: the 403 kube-apiserver returns when the
 * webhook denies the request ("admission webhook \"...\" denied the request: ..."), or undefined.
 * Run it after validateCreate/validateUpdate found nothing.
 */
export function webhookDenial(r: ResourceInfo, obj: KubeObject): ApiError | undefined {
  if (r.group !== 'metallb.io' || r.kind !== 'IPAddressPool') return undefined;
  const msg = ipAddressPoolDenial(obj);
  if (!msg) return undefined;
  return new ApiError(403, 'Forbidden', `admission webhook "${ipAddressPoolWebhook}" denied the request: ${msg}`);
}
