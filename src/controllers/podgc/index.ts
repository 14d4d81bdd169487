// The pod garbage collector (kube-controller-manager's "podgc").
export { PodGCController, type PodGCOptions } from './controller.ts';
