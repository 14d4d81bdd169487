// The LoadBalancer address controller's logic over what the informers hold: the pools, each
// Service converged (converge.ts) and its status written, the pool statuses. Its writes go
// through an Executor (the API in the controller, a fake in unit tests).
import type { ConfigMap, Namespace, Service } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../../api/index.ts';
import type { IPAddressPool } from '../../api/validation/index.ts';
import type { Logger } from '../../util/index.ts';
import { Allocator, type PoolCounters } from './allocator.ts';
import { buildPools, poolsFingerprint } from './config.ts';
import { allocRequest, annotationAllocatedFromPool, convergeService, deprecatedAnnotationPrefix, serviceFamily, serviceKey, type LBEvent } from './converge.ts';
import { formatAddr, parseAddr, type Addr } from './ip.ts';

export interface Executor {
  /** Writes the Service through its status subresource (status and annotations, as MetalLB's UpdateStatus). */
  updateServiceStatus(svc: Service): Promise<void>;
  event(obj: KubeObject, type: LBEvent['type'], reason: string, message: string): Promise<void>;
  updatePoolStatus(pool: IPAddressPool, status: PoolCounters): Promise<void>;
}

/** What the controller reads (informer caches). */
export interface Lister {
  service(key: string): Service | undefined;
  services(): Service[];
  /** The IPAddressPools of metallb-system. */
  ipAddressPools(): IPAddressPool[];
  /** metallb-system/config, when it exists. */
  configMap(): ConfigMap | undefined;
  namespaces(): Namespace[];
}

export interface SyncOutcome {
  /** An address was released or changed hands: Services still waiting may now fit. */
  freed: boolean;
}

const deprecatedAllocatedFromPool = `${deprecatedAnnotationPrefix}/ip-allocated-from-pool`;

function withKind<T extends KubeObject>(obj: T, apiVersion: string, kind: string): T {
  return { ...obj, apiVersion: obj.apiVersion ?? apiVersion, kind: obj.kind ?? kind };
}

/** The addresses a status holds, when it holds nothing but addresses (ipMode VIP is the server's default). */
function statusIPs(svc: Service): string[] | undefined {
  const out: string[] = [];
  for (const ing of svc.status?.loadBalancer?.ingress ?? []) {
    const extra = Object.keys(ing).filter((k) => k !== 'ip' && !(k === 'ipMode' && ing.ipMode === 'VIP'));
    if (!ing.ip || extra.length > 0) return undefined;
    out.push(ing.ip);
  }
  return out;
}

export class LoadBalancerReconciler {
  readonly allocator = new Allocator();
  readonly #lister: Lister;
  readonly #exec: Executor;
  readonly #mode: 'host' | 'netns';
  readonly #loopbackPool: string | undefined;
  readonly #log: Logger;
  /** The fingerprint of the pools in use; undefined until a valid configuration was read. */
  #fingerprint: string | undefined;
  #lastConfigProblem = '';
  /** Pools whose status figures may have changed. */
  readonly #dirtyPools = new Set<string>();

  constructor(lister: Lister, exec: Executor, mode: 'host' | 'netns', log: Logger, loopbackPool?: string) {
    this.#lister = lister;
    this.#exec = exec;
    this.#mode = mode;
    this.#loopbackPool = loopbackPool;
    this.#log = log;
  }

  get configLoaded(): boolean {
    return this.#fingerprint !== undefined;
  }

  /**
   * Reads the pools again. True when they changed (every Service is then re-evaluated). A bad
   * configuration is reported and the last good one kept, as MetalLB marks its config stale.
   */
  async syncConfig(): Promise<boolean> {
    const configMap = this.#lister.configMap();
    const res = buildPools({ ipAddressPools: this.#lister.ipAddressPools(), configMap, namespaces: this.#lister.namespaces(), mode: this.#mode, loopbackPool: this.#loopbackPool });
    const problems = [...res.notes, ...(res.ok ? [] : [res.error.message])].join('\n');
    const newProblem = problems !== this.#lastConfigProblem;
    this.#lastConfigProblem = problems;
    if (newProblem) {
      for (const note of res.notes) {
        this.#log.warn(note);
        if (configMap) await this.#exec.event(withKind(configMap, 'v1', 'ConfigMap'), 'Warning', 'ConfigIgnored', note);
      }
    }
    if (!res.ok) {
      if (newProblem) {
        const msg = `config (re)load failed, config marked stale: ${res.error.message}`;
        this.#log.error({ source: res.source }, msg);
        const pool = res.error.pool ? this.#lister.ipAddressPools().find((p) => p.metadata?.name === res.error.pool) : undefined;
        const target = res.source === 'IPAddressPool' ? (pool ? withKind(pool, 'metallb.io/v1beta1', 'IPAddressPool') : undefined) : configMap ? withKind(configMap, 'v1', 'ConfigMap') : undefined;
        if (target) await this.#exec.event(target, 'Warning', 'ConfigStale', msg);
      }
      return false;
    }
    const fp = poolsFingerprint(res.pools);
    if (fp === this.#fingerprint) return false;
    const before = new Set(this.allocator.pools.byName.keys());
    const dropped = this.allocator.setPools(res.pools);
    this.#fingerprint = fp;
    for (const n of [...before, ...res.pools.byName.keys()]) this.#dirtyPools.add(n);
    this.#log.info({ source: res.pools.source, pools: [...res.pools.byName.keys()], stranded: dropped }, 'address pools loaded');
    return true;
  }

  /**
   * Converges one Service and writes its status if it changed. Throws when the write fails
   * (the caller retries). Services of another loadBalancerClass are left alone.
   */
  async syncService(key: string): Promise<SyncOutcome> {
    const svc = this.#lister.service(key);
    if (!svc) {
      const pool = this.allocator.pool(key);
      if (!this.allocator.unassign(key)) return { freed: false };
      this.#dirtyPools.add(pool);
      this.#log.info({ service: key }, 'service deleted; its addresses are free');
      return { freed: true };
    }
    if (svc.spec?.loadBalancerClass) return { freed: false };
    // Until a configuration has been read there is nothing to decide (MetalLB waits, too).
    if (!this.configLoaded) return { freed: false };

    const prevPool = this.allocator.pool(key);
    const prevIPs = this.allocator.ips(key).map(formatAddr).join(',');
    const res = convergeService(this.allocator, svc);
    const nowPool = this.allocator.pool(key);
    const nowIPs = this.allocator.ips(key).map(formatAddr).join(',');
    const changed = prevPool !== nowPool || prevIPs !== nowIPs;
    if (changed) {
      if (prevPool) this.#dirtyPools.add(prevPool);
      if (nowPool) this.#dirtyPools.add(nowPool);
    }
    const ref = withKind(svc, 'v1', 'Service');
    for (const e of res.events) await this.#exec.event(ref, e.type, e.reason, e.message);

    const cur = statusIPs(svc);
    const statusSame = cur !== undefined && cur.length === res.ips.length && cur.every((ip, i) => ip === res.ips[i]);
    const annotations = { ...(svc.metadata?.annotations ?? {}) };
    if (res.pool) annotations[annotationAllocatedFromPool] = res.pool;
    else delete annotations[annotationAllocatedFromPool];
    delete annotations[deprecatedAllocatedFromPool];
    const before = svc.metadata?.annotations ?? {};
    const annotationsSame = Object.keys(annotations).length === Object.keys(before).length && Object.entries(annotations).every(([k, v]) => before[k] === v);
    if (!statusSame || !annotationsSame) {
      for (const k of Object.keys(before)) {
        // MetalLB also deletes these; svcnet keeps honouring them and only warns.
        if (k.startsWith(`${deprecatedAnnotationPrefix}/`) && k !== deprecatedAllocatedFromPool) await this.#exec.event(ref, 'Warning', 'deprecatedAnnotation', `Service uses deprecated annotation ${k}`);
      }
      const { metadata, status, ...rest } = structuredClone(ref);
      const meta = { ...metadata };
      if (Object.keys(annotations).length > 0) meta.annotations = annotations;
      else delete meta.annotations;
      const toWrite: Service = { ...rest, metadata: meta, status: { ...status, loadBalancer: res.ips.length ? { ingress: res.ips.map((ip) => ({ ip })) } : {} } };
      await this.#exec.updateServiceStatus(toWrite);
      this.#log.info({ service: key, ips: res.ips, pool: res.pool }, 'updated service status');
    }
    return { freed: changed && prevIPs !== '' };
  }

  /**
   * MetalLB's reprocessAll: every Service, those whose status holds addresses first (so that at
   * start each keeps what it had before a pending one could take it). `pendingOnly` limits it
   * to LoadBalancer Services holding nothing (after an address was freed). Returns the keys
   * whose write failed, and whether addresses were freed on the way.
   */
  async reprocess(pendingOnly: boolean): Promise<{ failed: string[]; freed: boolean }> {
    let list = this.#lister.services();
    if (pendingOnly) list = list.filter((s) => s.spec?.type === 'LoadBalancer' && !s.spec.loadBalancerClass && this.allocator.pool(serviceKey(s)) === '');
    const ingress = (s: Service) => s.status?.loadBalancer?.ingress?.length ?? 0;
    list.sort((a, b) => ingress(b) - ingress(a) || serviceKey(a).localeCompare(serviceKey(b)));
    const failed: string[] = [];
    let freed = false;
    // Claim first every address a status holds and the config allows, so that a Service whose
    // address is stranded cannot take another's while it is moved (MetalLB only sorts).
    if (!pendingOnly && this.configLoaded) for (const s of list) this.#claim(s);
    // Allocations of Services no longer there (deleted while the config changed) are dropped.
    const present = new Set(this.#lister.services().map(serviceKey));
    for (const k of this.allocator.keys()) if (!present.has(k)) freed = (await this.syncService(k)).freed || freed;
    for (const s of list) {
      const key = serviceKey(s);
      try {
        freed = (await this.syncService(key)).freed || freed;
      } catch (e) {
        this.#log.warn({ service: key, err: e }, 'could not update the service; will retry');
        failed.push(key);
      }
    }
    return { failed, freed };
  }

  #claim(svc: Service): void {
    const key = serviceKey(svc);
    if (svc.spec?.type !== 'LoadBalancer' || svc.spec.loadBalancerClass || this.allocator.pool(key) !== '') return;
    const ips = (svc.status?.loadBalancer?.ingress ?? []).map((i) => (i.ip ? parseAddr(i.ip) : undefined)).filter((a): a is Addr => a !== undefined);
    if (ips.length === 0) return;
    try {
      this.allocator.assign(allocRequest(svc, serviceFamily(svc)), ips);
    } catch {
      // Not allowed any more: the Service's own pass says so and moves it.
    }
  }

  hasDirtyPools(): boolean {
    return this.#dirtyPools.size > 0;
  }

  /** Writes IPAddressPool status figures that changed (assignedIPv4/6, availableIPv4/6). */
  async syncPoolStatus(): Promise<void> {
    const names = [...this.#dirtyPools];
    this.#dirtyPools.clear();
    if (this.allocator.pools.source !== 'IPAddressPool') return;
    const byName = new Map(this.#lister.ipAddressPools().map((p) => [p.metadata?.name ?? '', p]));
    for (const name of names) {
      const pool = byName.get(name);
      const c = this.allocator.counters(name);
      if (!pool || !c) continue;
      const s = pool.status;
      if (s && s.assignedIPv4 === c.assignedIPv4 && s.assignedIPv6 === c.assignedIPv6 && s.availableIPv4 === c.availableIPv4 && s.availableIPv6 === c.availableIPv6) continue;
      try {
        await this.#exec.updatePoolStatus(pool, c);
      } catch (e) {
        this.#dirtyPools.add(name);
        throw e;
      }
    }
  }
}

