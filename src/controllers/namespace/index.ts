// The namespace controller (kube-controller-manager's "namespace").
export { NamespaceController, type NamespaceControllerOptions } from './controller.ts';
