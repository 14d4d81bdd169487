// The node lifecycle controller (kube-controller-manager's "nodelifecycle", with taint eviction).
export { NodeLifecycleController, type NodeLifecycleOptions } from './controller.ts';
