// The Deployment controller (kube-controller-manager's "deployment").
export { DeploymentController, type DeploymentControllerOptions } from './controller.ts';
