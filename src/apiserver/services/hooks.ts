// The Service registry's allocation step (kube's BeginCreate/BeginUpdate of
// pkg/registry/core/service/storage): IP families defaulted from the cluster's CIDRs, cluster
// IPs and NodePorts allocated or honoured, released on delete and type change. Allocations are
// store keys written in the Service's own transaction.
import type { Service, ServicePort } from 'kubernetes-types/core/v1.js';
import { fieldErrors, internalError, invalid, type AnyObject, type FieldError } from '../../api/index.ts';
import { initServiceIPFamilies } from '../../api/defaults/index.ts';
import { normalizeClusterIPs, patchAllocatedValues } from '../../api/strategy/index.ts';
import { checkAllocationRanges, type ClusterConfig } from '../../api/validation/index.ts';
import { isStoreError, type TxnOp } from '../../store/index.ts';
import type { HookResult, StorageHooks, WriteContext } from '../registry/index.ts';
import { ipKey, ipKeyPrefix, nodePortKey, nodePortKeyPrefix, type AllocationOwner, type ServiceAllocator } from './allocator.ts';
import type { Family } from './ranges.ts';

const gk = { group: '', kind: 'Service' };

function needsClusterIP(s: Service): boolean {
  const spec = s.spec ?? {};
  return spec.type !== 'ExternalName' && spec.clusterIP !== 'None' && spec.clusterIPs?.[0] !== 'None';
}

function needsNodePorts(s: Service): boolean {
  const t = s.spec?.type;
  return t === 'NodePort' || t === 'LoadBalancer';
}

/** LoadBalancer Services with allocateLoadBalancerNodePorts=false get only the node ports they ask for. */
function allocatesMissingNodePorts(s: Service): boolean {
  return s.spec?.type === 'NodePort' || (s.spec?.type === 'LoadBalancer' && s.spec.allocateLoadBalancerNodePorts !== false);
}

function needsHealthCheckNodePort(s: Service): boolean {
  return s.spec?.type === 'LoadBalancer' && s.spec.externalTrafficPolicy === 'Local';
}

function clusterIPsOf(s: Service): string[] {
  return (s.spec?.clusterIPs ?? []).filter((ip) => ip && ip !== 'None');
}

function nodePortsOf(s: Service): number[] {
  const out = new Set<number>();
  for (const p of s.spec?.ports ?? []) if (p.nodePort) out.add(p.nodePort);
  if (s.spec?.healthCheckNodePort) out.add(s.spec.healthCheckNodePort);
  return [...out];
}

function goStrings(v: readonly string[]): string[] {
  return [...v];
}

interface Plan {
  newIPs: string[];
  newPorts: number[];
  releaseIPs: string[];
  releasePorts: number[];
  /** Values the client asked for (a taken one is the client's error, not a retry). */
  requested: Set<string>;
}

export interface ServiceHooksOptions {
  allocator: ServiceAllocator;
  cluster: ClusterConfig;
}

/** Storage hooks for services: allocation on create and update, release on delete. */
export function serviceHooks(opts: ServiceHooksOptions): StorageHooks {
  const { allocator, cluster } = opts;

  const fail = (plan: Plan, e: unknown): never => {
    allocator.unreserve(plan.newIPs, plan.newPorts);
    throw e;
  };

  const allocateIPs = (svc: Service, plan: Plan, keep: Set<string>): void => {
    const s = svc.spec!;
    const ips = [...(s.clusterIPs ?? [])];
    const families = (s.ipFamilies ?? []) as Family[];
    for (let i = 0; i < families.length; i++) {
      const want = ips[i];
      if (want) {
        if (keep.has(want)) continue;
        plan.requested.add(ipKey(want));
        if (!allocator.reserveIP(want)) {
          fail(plan, invalid(gk, svc.metadata?.name ?? '', [fieldErrors.invalid('spec.clusterIPs', goStrings(s.clusterIPs ?? []), `failed to allocate IP ${want}: provided IP is already allocated`)]));
        }
        plan.newIPs.push(want);
      } else {
        const ip = allocator.allocateIP(families[i]);
        if (!ip) fail(plan, internalError('failed to allocate a serviceIP: range is full'));
        ips[i] = ip!;
        plan.newIPs.push(ip!);
      }
    }
    s.clusterIPs = ips;
    s.clusterIP = ips[0];
  };

  const allocateNodePorts = (svc: Service, plan: Plan, keep: Set<number>): void => {
    const s = svc.spec!;
    const byServicePort = new Map<number, number>();
    const mine = new Set<number>(keep);
    const ports: ServicePort[] = s.ports ?? [];
    ports.forEach((p, i) => {
      if (p.nodePort) {
        if (!mine.has(p.nodePort)) {
          plan.requested.add(nodePortKey(p.nodePort));
          if (!allocator.reservePort(p.nodePort)) {
            fail(plan, invalid(gk, svc.metadata?.name ?? '', [fieldErrors.invalid(`spec.ports[${i}].nodePort`, p.nodePort, 'provided port is already allocated')]));
          }
          plan.newPorts.push(p.nodePort);
          mine.add(p.nodePort);
        }
        byServicePort.set(p.port, p.nodePort);
      } else if (allocatesMissingNodePorts(svc)) {
        // The same service port in another protocol shares its node port.
        let np = byServicePort.get(p.port);
        if (np === undefined) {
          np = allocator.allocatePort();
          if (np === undefined) fail(plan, internalError('failed to allocate a nodePort: range is full'));
          plan.newPorts.push(np!);
          mine.add(np!);
          byServicePort.set(p.port, np!);
        }
        p.nodePort = np;
      }
    });
  };

  // kube's allocHealthCheckNodePort: a requested port that is taken (also by this Service's own
  // node ports) or out of range is an internal error, as kube-apiserver answers it.
  const allocateHealthCheck = (svc: Service, plan: Plan, keep: number | undefined): void => {
    const s = svc.spec!;
    const hc = s.healthCheckNodePort;
    if (hc) {
      if (hc === keep) return;
      const r = allocator.ports;
      if (hc < r.base || hc >= r.base + r.size) {
        fail(plan, internalError(`failed to allocate requested HealthCheck NodePort ${hc}: provided port is not in the valid range. The range of valid ports is ${r.base}-${r.base + r.size - 1}`));
      }
      plan.requested.add(nodePortKey(hc));
      if (!allocator.reservePort(hc)) fail(plan, internalError(`failed to allocate requested HealthCheck NodePort ${hc}: provided port is already allocated`));
      plan.newPorts.push(hc);
    } else {
      const np = allocator.allocatePort();
      if (np === undefined) fail(plan, internalError('failed to allocate a HealthCheck NodePort 0: range is full'));
      s.healthCheckNodePort = np;
      plan.newPorts.push(np!);
    }
  };

  const precheck = (svc: Service, old: Service | undefined): void => {
    if (svc.spec?.type === 'ExternalName') return;
    const errs: FieldError[] = initServiceIPFamilies(svc, old, cluster);
    if (!errs.length) errs.push(...checkAllocationRanges(svc, cluster));
    if (errs.length) throw invalid(gk, svc.metadata?.name ?? '', errs);
  };

  const result = (svc: Service, plan: Plan, ctx: WriteContext): HookResult => {
    const owner: AllocationOwner = { namespace: svc.metadata?.namespace ?? '', name: svc.metadata?.name ?? '', uid: svc.metadata?.uid ?? '' };
    const value = JSON.stringify(owner);
    const ops: TxnOp[] = [
      ...plan.newIPs.map((ip): TxnOp => ({ op: 'create', key: ipKey(ip), value })),
      ...plan.newPorts.map((p): TxnOp => ({ op: 'create', key: nodePortKey(p), value })),
      // Only this Service's own records go (another's, after a duplicate, stays).
      ...plan.releaseIPs.filter((ip) => allocator.ipOwner(ip)?.uid === owner.uid).map((ip): TxnOp => ({ op: 'delete', key: ipKey(ip) })),
      ...plan.releasePorts.filter((p) => allocator.nodePortOwner(p)?.uid === owner.uid).map((p): TxnOp => ({ op: 'delete', key: nodePortKey(p) })),
    ];
    let done = false;
    return {
      ops,
      aborted: (err) => {
        if (done) return false;
        done = true;
        allocator.unreserve(plan.newIPs, plan.newPorts);
        if (isStoreError(err, 'KeyExists') && err.key) {
          // Another writer (another API server) took it first.
          allocator.noteTakenElsewhere(err.key);
          if (plan.requested.has(err.key)) {
            const name = svc.metadata?.name ?? '';
            if (err.key.startsWith(ipKeyPrefix)) {
              const ip = err.key.slice(ipKeyPrefix.length);
              throw invalid(gk, name, [fieldErrors.invalid('spec.clusterIPs', goStrings(svc.spec?.clusterIPs ?? []), `failed to allocate IP ${ip}: provided IP is already allocated`)]);
            }
            const port = Number(err.key.slice(nodePortKeyPrefix.length));
            const idx = (svc.spec?.ports ?? []).findIndex((p) => p.nodePort === port);
            if (idx < 0) throw internalError(`failed to allocate requested HealthCheck NodePort ${port}: provided port is already allocated`);
            throw invalid(gk, name, [fieldErrors.invalid(`spec.ports[${idx}].nodePort`, port, 'provided port is already allocated')]);
          }
          return true;
        }
        // A release of a key that was already gone: try again without it.
        return isStoreError(err, 'NotFound');
      },
      committed: (dryRun) => {
        if (done) return;
        done = true;
        allocator.unreserve(plan.newIPs, plan.newPorts);
        if (!dryRun && !ctx.dryRun) allocator.noteCommitted(owner, plan.newIPs, plan.newPorts, plan.releaseIPs, plan.releasePorts);
      },
    };
  };

  return {
    beforeCreate: async (ctx, obj: AnyObject) => {
      const svc = obj as Service;
      svc.spec ??= {};
      normalizeClusterIPs(svc);
      precheck(svc, undefined);
      const plan: Plan = { newIPs: [], newPorts: [], releaseIPs: [], releasePorts: [], requested: new Set() };
      if (needsClusterIP(svc)) allocateIPs(svc, plan, new Set());
      if (needsNodePorts(svc)) allocateNodePorts(svc, plan, new Set());
      if (needsHealthCheckNodePort(svc)) allocateHealthCheck(svc, plan, undefined);
      return result(svc, plan, ctx);
    },
    beforeUpdate: async (ctx, obj: AnyObject, oldObj: AnyObject, subresource) => {
      if (subresource) return undefined;
      const svc = obj as Service;
      const old = oldObj as Service;
      svc.spec ??= {};
      patchAllocatedValues(svc, old);
      normalizeClusterIPs(svc, old);
      precheck(svc, old);
      const plan: Plan = { newIPs: [], newPorts: [], releaseIPs: [], releasePorts: [], requested: new Set() };
      const oldIPs = new Set(clusterIPsOf(old));
      const oldPorts = new Set(nodePortsOf(old));
      if (needsClusterIP(svc)) allocateIPs(svc, plan, oldIPs);
      if (needsNodePorts(svc)) allocateNodePorts(svc, plan, oldPorts);
      // A port the Service already needed stays (validation keeps it immutable while needed).
      if (needsHealthCheckNodePort(svc)) allocateHealthCheck(svc, plan, needsHealthCheckNodePort(old) ? old.spec?.healthCheckNodePort : undefined);
      const keptIPs = new Set(needsClusterIP(svc) ? clusterIPsOf(svc) : []);
      const keptPorts = new Set<number>();
      if (needsNodePorts(svc)) for (const p of svc.spec.ports ?? []) if (p.nodePort) keptPorts.add(p.nodePort);
      if (needsHealthCheckNodePort(svc) && svc.spec.healthCheckNodePort) keptPorts.add(svc.spec.healthCheckNodePort);
      plan.releaseIPs = [...oldIPs].filter((ip) => !keptIPs.has(ip));
      plan.releasePorts = [...oldPorts].filter((p) => !keptPorts.has(p));
      return result(svc, plan, ctx);
    },
    beforeDelete: async (ctx, oldObj: AnyObject) => {
      const old = oldObj as Service;
      const plan: Plan = { newIPs: [], newPorts: [], releaseIPs: clusterIPsOf(old), releasePorts: nodePortsOf(old), requested: new Set() };
      return result(old, plan, ctx);
    },
  };
}
