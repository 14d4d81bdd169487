// The kube-dns controller: the kube-system/kube-dns Service (netns mode) and its Endpoints,
// the nodes whose cluster DNS serves.
export { KubeDnsController } from './controller.ts';
export { kubeDnsService, kubeDnsSubsets, kubeDnsEndpoints, kubeDnsName, kubeDnsNamespace } from './core.ts';
