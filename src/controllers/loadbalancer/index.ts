// LoadBalancer addresses as MetalLB assigns them: the controller that fills
// status.loadBalancer.ingress from address pools, and the layer 2 choices the node agent needs.
export { LoadBalancerController, newLoadBalancerController } from './controller.ts';
export { l2Leader, l2AdvertisementsForPool, type L2Node } from './l2.ts';
export { loopbackPoolAddresses } from './config.ts';
