// The controllers `svcnet server` runs, in kube-controller-manager's spirit. Each entry is a
// factory so a process can pick a subset (e.g. an agent-only node runs none).
import type { Controller } from './manager.ts';
import { PodGCController } from './podgc/index.ts';
import { NodeLifecycleController } from './nodelifecycle/index.ts';
import { Scheduler } from './scheduler/index.ts';
import { ServiceAccountsController } from './serviceaccount/index.ts';
import { NamespaceController } from './namespace/index.ts';
import { GarbageCollector } from './garbagecollector/index.ts';
import { DeploymentController } from './deployment/index.ts';
import { EndpointSliceController } from './endpointslice/index.ts';
import { EndpointsController } from './endpoints/index.ts';
import { EndpointSliceMirroringController } from './endpointslicemirroring/index.ts';
import { ReplicaSetController } from './replicaset/index.ts';
import { LoadBalancerController } from './loadbalancer/index.ts';
import { NodeIpamController } from './nodeipam/index.ts';
import { KubeDnsController } from './kubedns/index.ts';
import { RootCACertPublisher } from './rootcacertpublisher/index.ts';

export type ControllerFactory = () => Controller;

/** name → factory; add new controllers here (one line each). */
export const controllerFactories: Record<string, ControllerFactory> = {
  endpointslice: () => new EndpointSliceController(),
  endpoint: () => new EndpointsController(),
  endpointslicemirroring: () => new EndpointSliceMirroringController(),
  replicaset: () => new ReplicaSetController(),
  loadbalancer: () => new LoadBalancerController(),
  nodeipam: () => new NodeIpamController(),
  deployment: () => new DeploymentController(),
  garbagecollector: () => new GarbageCollector(),
  namespace: () => new NamespaceController(),
  serviceaccount: () => new ServiceAccountsController(),
  'root-ca-cert-publisher': () => new RootCACertPublisher(),
  scheduler: () => new Scheduler(),
  nodelifecycle: () => new NodeLifecycleController(),
  podgc: () => new PodGCController(),
  kubedns: () => new KubeDnsController(),
};

export function defaultControllers(): Controller[] {
  return Object.values(controllerFactories).map((f) => f());
}
