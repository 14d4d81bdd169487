// The root CA certificate publisher (kube-controller-manager's "root-ca-cert-publisher").
export { RootCACertPublisher } from './controller.ts';
