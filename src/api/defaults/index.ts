// Defaulting of every served type, as kube-apiserver applies it when it decodes a request body
// (SetDefaults_* of core/v1, apps/v1, discovery/v1 and the CRDs' defaults). Call
// defaultObject on every create, update and status update body before anything else.
// The IP families of a Service are defaulted at allocation: see initServiceIPFamilies.
import type { Endpoints, Event, Namespace, Node, Pod, Secret, Service } from 'kubernetes-types/core/v1.js';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { KubeObject, ResourceInfo } from '../index.ts';
import { setDefaultsService } from './service.ts';
import { setDefaultsPod } from './pod.ts';
import { setDefaultsDeployment, setDefaultsReplicaSet } from './apps.ts';
import { setDefaultsEndpoints, setDefaultsEvent, setDefaultsNamespace, setDefaultsNode, setDefaultsSecret } from './core.ts';
import { setDefaultsEndpointSlice } from './discovery.ts';
import { setDefaultsIPAddressPool } from './metallb.ts';

export { initServiceIPFamilies } from './ipfamilies.ts';
export { imageTag } from './pod.ts';
export { labelMetadataName } from './core.ts';

const defaulters: Record<string, (obj: KubeObject) => void> = {
  '/Service': (o) => setDefaultsService(o as Service),
  '/Pod': (o) => setDefaultsPod(o as Pod),
  '/Namespace': (o) => setDefaultsNamespace(o as Namespace),
  '/Node': (o) => setDefaultsNode(o as Node),
  '/Endpoints': (o) => setDefaultsEndpoints(o as Endpoints),
  '/Secret': (o) => setDefaultsSecret(o as Secret),
  '/Event': (o) => setDefaultsEvent(o as Event),
  'discovery.k8s.io/EndpointSlice': (o) => setDefaultsEndpointSlice(o as EndpointSlice),
  'apps/Deployment': (o) => setDefaultsDeployment(o as Deployment),
  'apps/ReplicaSet': (o) => setDefaultsReplicaSet(o as ReplicaSet),
  'metallb.io/IPAddressPool': (o) => setDefaultsIPAddressPool(o),
};

/**
 * Applies Kubernetes' defaults to `obj` in place (and returns it). Idempotent: defaulting an
 * already-defaulted object changes nothing, so stored objects may be defaulted again on read.
 */
export function defaultObject<T extends KubeObject>(r: ResourceInfo, obj: T): T {
  defaulters[`${r.group}/${r.kind}`]?.(obj);
  return obj;
}
