// Health: the proxy's own /healthz and /livez, and the per-Service healthCheckNodePort servers.
export { ProxyHealth, type ProxyHealthOptions } from './proxy-health.ts';
export { ServiceHealthServer, type ServiceHealthEntry } from './service-health.ts';
