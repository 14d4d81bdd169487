// The userspace backend (host mode): TCP and UDP proxying in this process on loopback Service
// addresses. backend.ts has the design.
export { UserspaceBackend, type UserspaceBackendOptions } from './backend.ts';
export { isLoopback } from './plan.ts';
