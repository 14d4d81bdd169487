// The garbage collector (kube-controller-manager's "garbagecollector").
export { GarbageCollector, collectedResources, type GarbageCollectorOptions } from './controller.ts';
