// The controllers `svcnet server` runs, in kube-controller-manager's spirit. Each entry is a
// factory so a process can pick a subset (e.g. an agent-only node runs none).
import type { Controller } from './manager.ts';
import { EndpointSliceController } from './endpointslice/index.ts';
import { EndpointsController } from './endpoints/index.ts';
import { EndpointSliceMirroringController } from './endpointslicemirroring/index.ts';
import { ReplicaSetController } from './replicaset/index.ts';
import { LoadBalancerController } from './loadbalancer/index.ts';
import { NodeIpamController } from './nodeipam/index.ts';

export type ControllerFactory = () => Controller;

/** name → factory; add new controllers here (one line each). */
export const controllerFactories: Record<string, ControllerFactory> = {
  endpointslice: () => new EndpointSliceController(),
  endpoint: () => new EndpointsController(),
  endpointslicemirroring: () => new EndpointSliceMirroringController(),
  replicaset: () => new ReplicaSetController(),
  loadbalancer: () => new LoadBalancerController(),
  nodeipam: () => new NodeIpamController(),
};

export function defaultControllers(): Controller[] {
  return Object.values(controllerFactories).map((f) => f());
}
