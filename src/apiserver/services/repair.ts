// The repair pass at start (kube's ipallocator and portallocator repair controllers): every
// Service's cluster IPs and node ports must have an allocation record of its own; records
// without their Service are leaks. Problems are fixed where safe and reported as Events.
import type { Service } from 'kubernetes-types/core/v1.js';
import { Services } from '../../api/index.ts';
import type { EventRecorder } from '../../client/index.ts';
import type { Store } from '../../store/index.ts';
import { logger } from '../../util/index.ts';
import type { Registry } from '../registry/index.ts';
import { ipKey, nodePortKey, type AllocationOwner, type ServiceAllocator } from './allocator.ts';

const log = logger('allocator-repair');

export interface RepairReport {
  notAllocated: number;
  duplicates: number;
  outOfRange: number;
  leaked: number;
}

/** Event recorders of kube-apiserver's two repair controllers, whose names Events carry as their source. */
export interface RepairRecorders {
  /** `ipallocator-repair-controller` */
  ip: EventRecorder;
  /** `portallocator-repair-controller` */
  port: EventRecorder;
}

export async function repairAllocations(registry: Registry, store: Store, allocator: ServiceAllocator, recorders: RepairRecorders): Promise<RepairReport> {
  const report: RepairReport = { notAllocated: 0, duplicates: 0, outOfRange: 0, leaked: 0 };
  const services = (await registry.storage(Services).list(undefined, {})).items.map((i) => i.obj as Service);
  const usedIPs = new Set<string>();
  const usedPorts = new Set<number>();
  for (const svc of services) {
    const m = svc.metadata ?? {};
    const owner: AllocationOwner = { namespace: m.namespace ?? '', name: m.name ?? '', uid: m.uid ?? '' };
    const s = svc.spec ?? {};
    for (const ip of s.clusterIPs ?? []) if (ip && ip !== 'None') usedIPs.add(ip);
    for (const ip of s.clusterIPs ?? []) {
      if (!ip || ip === 'None') continue;
      // The family of the address itself, as kube's repair takes it (getFamilyByIP).
      const family = ip.includes(':') ? 'IPv6' : 'IPv4';
      const range = allocator.rangeFor(family);
      if (!range) {
        report.outOfRange++;
        await recorders.ip.event(svc, 'Warning', 'ClusterIPNotValid', `Cluster IP ${ip}(${family}) is of ip family that is no longer configured on cluster; please recreate service`);
        continue;
      }
      if (range.offsetOf(ip) === undefined) {
        report.outOfRange++;
        await recorders.ip.event(svc, 'Warning', 'ClusterIPOutOfRange', `Cluster IP [${family}]:${ip} is not within the service CIDR ${range.cidr}; please recreate service`);
        continue;
      }
      const cur = allocator.ipOwner(ip);
      if (!cur) {
        report.notAllocated++;
        await recorders.ip.event(svc, 'Warning', 'ClusterIPNotAllocated', `Cluster IP [${family}]:${ip} is not allocated; repairing`);
        await createQuietly(store, ipKey(ip), owner);
      } else if (cur.uid !== owner.uid) {
        report.duplicates++;
        await recorders.ip.event(svc, 'Warning', 'ClusterIPAlreadyAllocated', `Cluster IP [${family}]:${ip} was assigned to multiple services; please recreate service`);
      }
    }
    const ports = new Set<number>();
    for (const p of s.ports ?? []) if (p.nodePort) ports.add(p.nodePort);
    if (s.healthCheckNodePort) ports.add(s.healthCheckNodePort);
    for (const port of ports) {
      usedPorts.add(port);
      const r = allocator.ports;
      if (port < r.base || port >= r.base + r.size) {
        report.outOfRange++;
        await recorders.port.event(svc, 'Warning', 'PortOutOfRange', `Port ${port} is not within the port range ${r.base}-${r.base + r.size - 1}; please recreate service`);
        continue;
      }
      const cur = allocator.nodePortOwner(port);
      if (!cur) {
        report.notAllocated++;
        await recorders.port.event(svc, 'Warning', 'PortNotAllocated', `Port ${port} is not allocated; repairing`);
        await createQuietly(store, nodePortKey(port), owner);
      } else if (cur.uid !== owner.uid) {
        report.duplicates++;
        await recorders.port.event(svc, 'Warning', 'PortAlreadyAllocated', `Port ${port} was assigned to multiple services; please recreate service`);
      }
    }
  }
  // Leaks: records whose Service is gone or no longer holds the value.
  const byUid = new Map(services.map((s) => [s.metadata?.uid ?? '', s]));
  const leakEvent = async (recorder: EventRecorder, what: string, owner: AllocationOwner, reason: string) => {
    report.leaked++;
    log.warn({ what, owner }, 'allocation leaked; released');
    const ref = { apiVersion: 'v1', kind: 'Service', metadata: { namespace: owner.namespace || 'default', name: owner.name || 'unknown', uid: owner.uid } };
    await recorder.event(ref, 'Warning', reason, `the ${what} appears to have leaked: cleaning up`);
  };
  for (const [ip, owner] of [...allocator.allocatedIPs()]) {
    const svc = byUid.get(owner.uid);
    if (svc && (svc.spec?.clusterIPs ?? []).includes(ip)) continue;
    if (usedIPs.has(ip) && !svc) continue; // held by another Service under a foreign record (duplicate case)
    if (await deleteQuietly(store, ipKey(ip))) await leakEvent(recorders.ip, `cluster IP ${ip}`, owner, 'ClusterIPLeaked');
  }
  for (const [port, owner] of [...allocator.allocatedNodePorts()]) {
    const svc = byUid.get(owner.uid);
    const holds = svc && ((svc.spec?.ports ?? []).some((p) => p.nodePort === port) || svc.spec?.healthCheckNodePort === port);
    if (holds) continue;
    if (usedPorts.has(port) && !svc) continue;
    if (await deleteQuietly(store, nodePortKey(port))) await leakEvent(recorders.port, `node port ${port}`, owner, 'PortLeaked');
  }
  if (report.notAllocated + report.duplicates + report.outOfRange + report.leaked > 0) log.warn(report, 'allocation repair found problems');
  return report;
}

async function createQuietly(store: Store, key: string, owner: AllocationOwner): Promise<void> {
  try {
    await store.create(key, JSON.stringify(owner));
  } catch (err) {
    log.warn({ err, key }, 'could not repair an allocation record');
  }
}

async function deleteQuietly(store: Store, key: string): Promise<boolean> {
  try {
    await store.delete(key);
    return true;
  } catch {
    return false;
  }
}
