// What the workload controllers share: pod predicates and deletion order, owner references and
// claims, expectations, the pod-template-hash, timestamps.
export { rfc3339, parseTime, splitKey, asError, retryConflicts } from './time.ts';
export { fnv32a, safeEncodeString, canonicalJson, computeHash } from './hash.ts';
export { podCondition, isPodReady, isPodAvailable, podAvailableAt, isPodActive, filterActivePods, deleteBefore, rankForDeletion, type RankedPod } from './pods.ts';
export { controllerOf, isControlledBy, newControllerRef, claimAction, selects, adoptPatch, releasePatch, type ClaimAction } from './owners.ts';
export { ControllerExpectations, expectationsTimeoutMs } from './expectations.ts';
export { ensureIndex, byNamespace, byControllerUid, byOwnerUid, byNodeName } from './informers.ts';
