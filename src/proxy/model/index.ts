// The service proxy's pure model: conversion at the informer boundary, change trackers, and the
// desired per-node state every backend programs.
export { toServiceInfo, toSliceInfo, LabelServiceProxyName, LabelServiceName, DefaultAffinityTimeoutSeconds } from './convert.ts';
export { ChangeTracker, ProxyInputs, type Change } from './tracker.ts';
export { categorizeEndpoints, computeServiceState, computeState, endpointsFor, familyOf, LabelTopologyZone } from './state.ts';
