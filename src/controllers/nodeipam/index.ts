export { NodeIpamController, defaultClusterCIDR, type NodeIpamOptions } from './controller.ts';
export { CidrSet, defaultNodeMask } from './cidrset.ts';
