export type * from './types.ts';
export { FakeInformer } from './fake-informer.ts';
export { FakeClient, type FakeCall, type FakeVerb } from './fake-client.ts';
export { HttpClient, apiErrorFromStatus, decodeErrorResponse, defaultUserAgent, patchContentType, type HttpClientOptions, type Query, type RawRequest, type RawResponse } from './http.ts';
export { loadKubeconfig, parseKubeconfig, defaultKubeconfigPath, kubeconfigYaml, KubeconfigError, type ConnectionConfig, type LoadKubeconfigOptions } from './kubeconfig.ts';
export { groupVersionPath, resourcePath } from './paths.ts';
export { SharedInformer, InformerFactory, type SharedInformerOptions, type InformerFactoryOptions } from './informer.ts';
export { WorkQueue, ItemExponentialFailureRateLimiter, runWorkers, type RateLimiter, type WorkQueueOptions, type RunWorkersOptions } from './workqueue.ts';
export { EventRecorder, type EventType } from './events.ts';
