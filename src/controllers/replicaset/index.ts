// The ReplicaSet controller (kube-controller-manager's "replicaset").
export { ReplicaSetController, type ReplicaSetControllerOptions } from './controller.ts';
