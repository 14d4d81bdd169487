// The API's vocabulary: object shapes, the served resources, and Kubernetes' errors.
export * from './meta.ts';
export * from './errors.ts';
export * from './resources.ts';
