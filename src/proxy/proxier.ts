// The proxier: informers → change trackers → a paced sync loop → a backend (kube-proxy's
// Proxier.syncProxyRules and its BoundedFrequencyRunner). Handlers only record changes; each sync
// checks them out, recomputes the state of the Services they touched, and hands the backend the
// whole desired state with the names that changed.
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Registry } from 'prom-client';
import { namespacedName } from '../api/index.ts';
import type { Informer } from '../client/index.ts';
import { logger, type Logger } from '../util/index.ts';
import type { ProxyBackend } from './backend.ts';
import { ProxyHealth, ServiceHealthServer, type ServiceHealthEntry } from './healthcheck/index.ts';
import { ProxyMetrics } from './metrics/index.ts';
import { ChangeTracker, computeServiceState, familyOf, ProxyInputs, toServiceInfo, toSliceInfo } from './model/index.ts';
import { NftablesBackend, RealConntrack, RealExec, RealNftables, type Conntrack, type Nftables } from './nftables/index.ts';
import { BoundedFrequencyRunner } from './runner.ts';
import type { IPFamily, NamespacedName, NodeInfo, ProxyConfig, ServiceInfo, ServiceState, SliceInfo } from './types.ts';

/** EndpointSlice annotation the controller sets to when the change that caused it happened. */
export const AnnotationLastChangeTriggerTime = 'endpoints.kubernetes.io/last-change-trigger-time';

export interface ProxierOptions {
  services: Informer<Service>;
  endpointSlices: Informer<EndpointSlice>;
  nodeName: string;
  nodeLabels?: Record<string, string>;
  /** This node's addresses; NodePorts answer on those inside nodePortAddresses. */
  nodeIPs: string[];
  /** This node's pod CIDRs (the local-traffic detector when clusterCIDRs is not given). */
  podCIDRs?: string[];
  /** The cluster's pod CIDRs (kube-proxy's detect-local-mode ClusterCIDR). */
  clusterCIDRs?: string[];
  /** Service CIDRs: traffic to unallocated IPs inside them is dropped. */
  serviceCIDRs?: string[];
  /** kube-proxy's --nodeport-addresses; default every node IP. */
  nodePortAddresses?: string[];
  masqueradeAll?: boolean;
  /** IP families to proxy; default those of nodeIPs. */
  families?: IPFamily[];
  /** A backend of the caller's (e.g. userspace); default nftables. */
  backend?: ProxyBackend | ((config: ProxyConfig, node: NodeInfo) => ProxyBackend);
  /**
   * For the default nftables backend: its executor (default real nft in netns), and conntrack
   * (default the real tool in netns, but none when nftables is given without it).
   */
  nftables?: Nftables;
  conntrack?: Conntrack;
  netns?: string;
  /** Prometheus registry for kube-proxy's metrics; none: not exported. */
  registry?: Registry;
  /** Address of /healthz and /livez (kube-proxy: 0.0.0.0:10256); false: no server. */
  healthz?: { host: string; port: number } | false;
  /** Address the healthCheckNodePort servers bind; false: none. Default 0.0.0.0. */
  serviceHealthHost?: string | false;
  /** kube-proxy's --min-sync-period (default 1 s) and --sync-period (default 30 s). */
  minSyncPeriodMs?: number;
  syncPeriodMs?: number;
  /** How often everything is re-sent (kube-proxy: an hour). */
  fullSyncPeriodMs?: number;
  log?: Logger;
}

export interface Proxier {
  /** Resolves after the first successful sync. */
  synced(): Promise<void>;
  /** Stops syncing and closes the health servers (the rules stay, for the next run to adopt). */
  stop(): Promise<void>;
  /** Bound port of /healthz (undefined when none, or before it listens; set by synced()). */
  readonly healthzPort: number | undefined;
  /** The healthCheckNodePort servers, by Service. */
  serviceHealthPorts(): Map<NamespacedName, number>;
  /** The desired state as of the last sync. */
  state(): ReadonlyMap<NamespacedName, ServiceState>;
  readonly health: ProxyHealth;
}

/**
 * Starts the proxy: it listens on healthz, waits for the informers' first lists (the caller starts
 * the informers), then syncs. Returns at once; synced() resolves after the first successful sync
 * (and rejects if the health server cannot listen).
 */
export function startProxier(o: ProxierOptions): Proxier {
  const log = o.log ?? logger('proxy');
  const families: IPFamily[] = o.families ?? [...new Set(o.nodeIPs.map(familyOf))];
  const config: ProxyConfig = {
    families: families.length ? families : ['IPv4'],
    nodeIPs: o.nodeIPs,
    nodePortAddresses: o.nodePortAddresses ?? [],
    localTrafficCIDRs: o.clusterCIDRs?.length ? o.clusterCIDRs : (o.podCIDRs ?? []),
    masqueradeAll: o.masqueradeAll ?? false,
    serviceCIDRs: o.serviceCIDRs ?? [],
  };
  const node: NodeInfo = { name: o.nodeName, ...(o.nodeLabels ? { labels: o.nodeLabels } : {}) };
  let nftToClose: Nftables | undefined;
  let backend: ProxyBackend;
  if (typeof o.backend === 'function') backend = o.backend(config, node);
  else if (o.backend) backend = o.backend;
  else {
    const nft = o.nftables ?? (nftToClose = new RealNftables(new RealExec(), o.netns ? { netns: o.netns } : {}));
    // With an executor of the caller's (a fake, say), no real conntrack unless given one.
    const conntrack = o.conntrack ?? (o.nftables ? undefined : new RealConntrack(new RealExec(), o.netns));
    backend = new NftablesBackend({ nft, ...(conntrack ? { conntrack } : {}), config, node, onConntrackError: (e, f) => log.warn({ err: e, flow: f }, 'conntrack cleanup failed') });
  }

  const minSync = o.minSyncPeriodMs ?? 1000;
  const syncPeriod = o.syncPeriodMs ?? 30_000;
  const fullSyncPeriod = o.fullSyncPeriodMs ?? 3_600_000;
  const metrics = o.registry ? new ProxyMetrics(o.registry) : undefined;
  const health = new ProxyHealth({ healthTimeoutMs: 2 * syncPeriod, ...(metrics ? { metrics } : {}) });
  const serviceHealth = o.serviceHealthHost === false ? undefined : new ServiceHealthServer(o.serviceHealthHost ?? '0.0.0.0', () => health.isHealthy(), (e, svc, port) => log.error({ err: e, service: svc, port }, 'cannot serve healthCheckNodePort'));

  const inputs = new ProxyInputs();
  const states = new Map<NamespacedName, ServiceState>();
  // Trigger times of pending EndpointSlice changes, for network_programming_duration_seconds.
  let triggers: number[] = [];
  // Created now (handlers may queue runs), started once the informers have synced.
  const runner = new BoundedFrequencyRunner(() => sync(), { minIntervalMs: minSync, maxIntervalMs: syncPeriod, onError: (e) => log.error({ err: e }, 'proxy sync loop') });
  const queue = (): void => {
    health.queued();
    metrics?.lastQueuedTimestamp.set(Date.now() / 1000);
    runner.run();
  };
  const svcTracker = new ChangeTracker<ServiceInfo>(queue);
  const epTracker = new ChangeTracker<SliceInfo>(queue);
  const svcInfo = (s: Service): ServiceInfo | undefined => toServiceInfo(s);
  const trigger = (s: EndpointSlice): void => {
    const t = s.metadata?.annotations?.[AnnotationLastChangeTriggerTime];
    const ms = t ? Date.parse(t) : NaN;
    if (!Number.isNaN(ms)) triggers.push(ms);
  };

  o.services.addEventHandler({
    onAdd: (s) => void svcTracker.update(namespacedName(s), undefined, svcInfo(s)),
    onUpdate: (a, b) => void svcTracker.update(namespacedName(b), svcInfo(a), svcInfo(b)),
    onDelete: (s) => void svcTracker.update(namespacedName(s), svcInfo(s), undefined),
  });
  o.endpointSlices.addEventHandler({
    onAdd: (s) => {
      trigger(s);
      epTracker.update(namespacedName(s), undefined, toSliceInfo(s));
    },
    onUpdate: (a, b) => {
      if (epTracker.update(namespacedName(b), toSliceInfo(a), toSliceInfo(b))) trigger(b);
    },
    onDelete: (s) => void epTracker.update(namespacedName(s), toSliceInfo(s), undefined),
  });

  let resolveSynced!: () => void;
  let rejectSynced!: (e: unknown) => void;
  const syncedP = new Promise<void>((resolve, reject) => {
    resolveSynced = resolve;
    rejectSynced = reject;
  });
  let first = true;
  let lastFailed = false;
  let lastFull = Date.now();

  const sync = async (): Promise<void> => {
    const start = performance.now();
    if (Date.now() - lastFull > fullSyncPeriod) {
      backend.requestFullSync();
      lastFull = Date.now();
    }
    const svcChanges = svcTracker.checkout();
    const epChanges = epTracker.checkout();
    const pendingTriggers = triggers;
    triggers = [];
    metrics?.serviceChangesPending.set(0);
    metrics?.endpointChangesPending.set(0);
    const changed = new Set<NamespacedName>();
    inputs.applyServices(svcChanges, changed);
    inputs.applySlices(epChanges, changed);
    for (const name of changed) {
      const svc = inputs.services.get(name);
      if (svc) states.set(name, computeServiceState(svc, inputs.slices.get(name)?.values() ?? [], node, config.families));
      else states.delete(name);
    }
    const whole = first || lastFailed;
    try {
      const r = await backend.sync({ services: states }, whole ? undefined : changed);
      lastFailed = false;
      first = false;
      const secs = (performance.now() - start) / 1000;
      if (metrics) {
        metrics.syncProxyRulesLatency.observe(secs);
        (r.mode === 'incremental' ? metrics.syncPartialProxyRulesLatency : metrics.syncFullProxyRulesLatency).observe(secs);
        metrics.lastSyncTimestamp.set(Date.now() / 1000);
        metrics.serviceChangesTotal.inc(svcChanges.size);
        metrics.endpointChangesTotal.inc(epChanges.size);
        const now = Date.now();
        for (const t of pendingTriggers) metrics.networkProgrammingLatency.observe(Math.max(0, now - t) / 1000);
        let internal = 0;
        let external = 0;
        for (const s of states.values()) {
          for (const p of s.ports) {
            if (p.info.internalPolicyLocal && p.hasAnyEndpoints && p.internalEndpoints.length === 0) internal++;
            if (p.info.externalPolicyLocal && p.hasAnyEndpoints && p.externalEndpoints.length === 0) external++;
          }
        }
        metrics.noLocalEndpointsTotal.set({ traffic_policy: 'internal' }, internal);
        metrics.noLocalEndpointsTotal.set({ traffic_policy: 'external' }, external);
      }
      health.updated();
      if (serviceHealth) {
        const entries = new Map<NamespacedName, ServiceHealthEntry>();
        for (const s of states.values()) if (s.healthCheckNodePort > 0) entries.set(s.name, { port: s.healthCheckNodePort, localEndpoints: s.localReadyEndpoints });
        await serviceHealth.sync(entries);
      }
      log.debug({ mode: r.mode, elements: r.elements, bytes: r.bytes, ms: Math.round(secs * 1000), changed: changed.size }, 'synced proxy rules');
      resolveSynced();
    } catch (e) {
      lastFailed = true;
      triggers = pendingTriggers.concat(triggers);
      metrics?.nftablesSyncFailuresTotal.inc();
      log.error({ err: e }, 'sync of proxy rules failed; retrying');
      runner.retryAfter(Math.max(minSync, 1000));
    }
  };

  let healthzPort: number | undefined;
  let stopped = false;
  health.queued();
  // Starts in the background: health server, then the first sync once the informers have synced.
  const started = (async () => {
    if (o.healthz !== false) {
      const host = o.healthz?.host ?? '0.0.0.0';
      const port = o.healthz?.port ?? 10256;
      // A health port someone else holds must not keep the proxy from programming anything.
      try {
        healthzPort = (await health.listen(host, port)).port;
      } catch (err) {
        log.error({ err, host, port }, 'cannot serve /healthz and /livez; proxying anyway');
      }
    }
    await Promise.all([o.services.waitForSync(), o.endpointSlices.waitForSync()]);
    if (stopped) return;
    runner.start();
    runner.run();
  })();
  started.catch((e: unknown) => {
    log.error({ err: e }, 'cannot start the proxy');
    rejectSynced(e);
  });

  return {
    synced: () => syncedP,
    async stop() {
      stopped = true;
      await started.catch(() => {});
      runner.stop();
      await runner.idle();
      await Promise.all([health.close(), serviceHealth?.close()]);
      nftToClose?.close?.();
    },
    get healthzPort() {
      return healthzPort;
    },
    serviceHealthPorts: () => serviceHealth?.ports() ?? new Map(),
    state: () => states,
    health,
  };
}
