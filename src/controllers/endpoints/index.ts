// The Endpoints controller: the legacy Endpoints object of each Service with a selector.
export { EndpointsController, newEndpointsController, type EndpointsControllerOptions, type EndpointsControllerStats } from './controller.ts';
export { computeSubsets, desiredEndpoints, repackSubsets, truncateSubsets, maxCapacity } from './subsets.ts';
