// EndpointSlice mirroring: user-written Endpoints of selector-less Services, as EndpointSlices.
export { EndpointSliceMirroringController, newEndpointSliceMirroringController, shouldMirror, type MirroringControllerOptions } from './controller.ts';
export { reconcileMirror, mirroringControllerName, defaultMaxEndpointsPerSubset, type MirrorInput, type MirrorChanges } from './reconciler.ts';
