// The EndpointSlice controller, and what the Endpoints and mirroring controllers share with it
// (pod readiness and ports, the Service and Pod indexes, the slice tracker, trigger times).
export { EndpointSliceController, newEndpointSliceController, type EndpointSliceControllerOptions, type EndpointSliceControllerStats } from './controller.ts';
export {
  reconcile,
  controllerName as endpointSliceControllerName,
  defaultMaxEndpointsPerSlice,
  canonicalIP,
  endpointKey,
  endpointsEqualBeyondHash,
  portMapKey,
  sortPorts,
  type AddressType,
  type ReconcileInput,
  type SliceChanges,
} from './reconciler.ts';
export {
  annotationLastApplied,
  annotationLeaderElection,
  annotationOverCapacity,
  annotationTriggerTime,
  findPort,
  isPodReady,
  isServiceIPSet,
  keyOf,
  labelHeadless,
  labelManagedBy,
  labelServiceName,
  labelSkipMirror,
  serviceSelector,
  servicesToUpdateOnPodChange,
  shouldPodBeInEndpoints,
  shouldSetHostname,
  splitKey,
} from './pods.ts';
export { addEndpointIndexes, ensureIndex, podsForService, serviceKeysForPod, sliceServiceIndexFunc } from './indexes.ts';
export { SliceTracker } from './tracker.ts';
export { TriggerTimeTracker } from './triggertime.ts';
