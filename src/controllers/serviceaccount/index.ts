// The ServiceAccounts controller (kube-controller-manager's "serviceaccount").
export { ServiceAccountsController } from './controller.ts';
