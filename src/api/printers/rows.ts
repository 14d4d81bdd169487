// The cells of each served resource's row, as kube-apiserver's printers compute them
// (pkg/printers/internalversion/printers.go: printPod, printService, printEndpoints, ...). The
// server always prints wide (priority 1 cells included); kubectl hides them without -o wide.
// Objects here are stored, i.e. defaulted; where a default may still be missing the printer
// falls back to Kubernetes' default (Service type ClusterIP, port protocol TCP, replicas 1).
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type {
  ConfigMap,
  Container,
  ContainerStatus,
  Endpoints,
  Event,
  EventSource,
  Namespace,
  Node,
  Pod,
  Secret,
  Service,
  ServiceAccount,
} from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { humanDuration, translateTimestampSince } from './duration.ts';
import { formatLabelSelector, formatLabels, labelSelectorString } from './selectors.ts';
import type { TableCell, TableRowCondition } from './types.ts';
import { joinHostPort } from '../../util/index.ts';

export interface PrintedRow {
  cells: TableCell[];
  conditions?: TableRowCondition[];
}

export type RowPrinter = (obj: never, now: Date) => PrintedRow;

// ---- pods ----

const podSuccessConditions: TableRowCondition[] = [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }];
const podFailedConditions: TableRowCondition[] = [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' }];

/** Kubelet's reason for pods on a node that stopped reporting (k8s.io/kubernetes/pkg/util/node). */
const nodeUnreachablePodReason = 'NodeLost';

function isRestartableInitContainer(c: Container | undefined): boolean {
  return c?.restartPolicy === 'Always';
}

function time(t: string | undefined): number {
  const v = t ? Date.parse(t) : NaN;
  return Number.isNaN(v) ? 0 : v;
}

function lastTerminated(status: ContainerStatus): number {
  return time(status.lastState?.terminated?.finishedAt);
}

export function printPod(pod: Pod, now: Date): PrintedRow {
  const spec = pod.spec ?? { containers: [] };
  const status = pod.status ?? {};
  let restarts = 0;
  let restartableInitContainerRestarts = 0;
  let totalContainers = spec.containers.length;
  let readyContainers = 0;
  let lastRestartDate = 0;
  let lastRestartableInitContainerRestartDate = 0;

  const podPhase = status.phase ?? '';
  let reason: string = podPhase;
  if (status.reason) reason = status.reason;

  // A pod held by scheduling gates says so.
  for (const c of status.conditions ?? []) {
    if (c.type === 'PodScheduled' && c.reason === 'SchedulingGated') reason = 'SchedulingGated';
  }

  const row: PrintedRow = { cells: [] };
  if (podPhase === 'Succeeded') row.conditions = podSuccessConditions;
  else if (podPhase === 'Failed') row.conditions = podFailedConditions;

  const initContainers = new Map<string, Container>();
  for (const c of spec.initContainers ?? []) {
    initContainers.set(c.name, c);
    if (isRestartableInitContainer(c)) totalContainers++;
  }

  let initializing = false;
  const initStatuses = status.initContainerStatuses ?? [];
  for (let i = 0; i < initStatuses.length; i++) {
    const container = initStatuses[i];
    restarts += container.restartCount ?? 0;
    if (container.lastState?.terminated) lastRestartDate = Math.max(lastRestartDate, lastTerminated(container));
    const restartable = isRestartableInitContainer(initContainers.get(container.name));
    if (restartable) {
      restartableInitContainerRestarts += container.restartCount ?? 0;
      if (container.lastState?.terminated) {
        lastRestartableInitContainerRestartDate = Math.max(lastRestartableInitContainerRestartDate, lastTerminated(container));
      }
    }
    const terminated = container.state?.terminated;
    const waiting = container.state?.waiting;
    if (terminated && terminated.exitCode === 0) continue;
    if (restartable && container.started === true) {
      if (container.ready) readyContainers++;
      continue;
    }
    if (terminated) {
      // initialization failed
      if (!terminated.reason) {
        reason = terminated.signal ? `Init:Signal:${terminated.signal}` : `Init:ExitCode:${terminated.exitCode}`;
      } else {
        reason = `Init:${terminated.reason}`;
      }
    } else if (waiting?.reason && waiting.reason !== 'PodInitializing') {
      reason = `Init:${waiting.reason}`;
    } else {
      reason = `Init:${i}/${(spec.initContainers ?? []).length}`;
    }
    initializing = true;
    break;
  }

  const initialized = (status.conditions ?? []).find((c) => c.type === 'Initialized')?.status === 'True';
  if (!initializing || initialized) {
    restarts = restartableInitContainerRestarts;
    lastRestartDate = lastRestartableInitContainerRestartDate;
    let hasRunning = false;
    const statuses = status.containerStatuses ?? [];
    for (let i = statuses.length - 1; i >= 0; i--) {
      const container = statuses[i];
      restarts += container.restartCount ?? 0;
      if (container.lastState?.terminated) lastRestartDate = Math.max(lastRestartDate, lastTerminated(container));
      const waiting = container.state?.waiting;
      const terminated = container.state?.terminated;
      if (waiting?.reason) {
        reason = waiting.reason;
      } else if (terminated?.reason) {
        reason = terminated.reason;
      } else if (terminated) {
        reason = terminated.signal ? `Signal:${terminated.signal}` : `ExitCode:${terminated.exitCode}`;
      } else if (container.ready && container.state?.running) {
        hasRunning = true;
        readyContainers++;
      }
    }
    // A pod whose last container completed while another still runs is Running (or NotReady).
    if (reason === 'Completed' && hasRunning) {
      const ready = (status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
      reason = ready ? 'Running' : 'NotReady';
    }
  }

  if (pod.metadata?.deletionTimestamp && status.reason === nodeUnreachablePodReason) {
    reason = 'Unknown';
  } else if (pod.metadata?.deletionTimestamp && podPhase !== 'Succeeded' && podPhase !== 'Failed') {
    reason = 'Terminating';
  }

  let restartsText = String(restarts);
  if (restarts !== 0 && lastRestartDate !== 0) restartsText = `${restarts} (${humanDuration(now.getTime() - lastRestartDate)} ago)`;

  // Internally podIP is podIPs[0]: v1→internal conversion fills podIPs from podIP.
  const podIP = status.podIPs?.[0]?.ip || status.podIP || '<none>';
  let readinessGates = '<none>';
  if (spec.readinessGates?.length) {
    let trueConditions = 0;
    for (const gate of spec.readinessGates) {
      const c = (status.conditions ?? []).find((x) => x.type === gate.conditionType);
      if (c?.status === 'True') trueConditions++;
    }
    readinessGates = `${trueConditions}/${spec.readinessGates.length}`;
  }
  row.cells = [
    pod.metadata?.name ?? '',
    `${readyContainers}/${totalContainers}`,
    reason,
    restartsText,
    translateTimestampSince(pod.metadata?.creationTimestamp, now),
    podIP,
    spec.nodeName || '<none>',
    status.nominatedNodeName || '<none>',
    readinessGates,
  ];
  return row;
}

// ---- services ----

/** The load balancer's addresses, sorted and unique; clipped to 16 characters unless wide. */
function loadBalancerStatusString(svc: Service, wide: boolean): string {
  const result = new Set<string>();
  for (const ing of svc.status?.loadBalancer?.ingress ?? []) {
    if (ing.ip) result.add(ing.ip);
    else if (ing.hostname) result.add(ing.hostname);
  }
  let r = [...result].sort().join(',');
  if (!wide && r.length > 16) r = `${r.slice(0, 13)}...`;
  return r;
}

function serviceExternalIP(svc: Service, wide: boolean): string {
  const externalIPs = svc.spec?.externalIPs ?? [];
  switch (svc.spec?.type ?? 'ClusterIP') {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length ? externalIPs.join(',') : '<none>';
    case 'LoadBalancer': {
      const lbIps = loadBalancerStatusString(svc, wide);
      if (externalIPs.length) return [...(lbIps ? lbIps.split(',') : []), ...externalIPs].join(',');
      return lbIps || '<pending>';
    }
    case 'ExternalName':
      return svc.spec?.externalName ?? '';
  }
  return '<unknown>';
}

function portString(svc: Service): string {
  return (svc.spec?.ports ?? [])
    .map((p) => {
      const protocol = p.protocol ?? 'TCP';
      return p.nodePort && p.nodePort > 0 ? `${p.port}:${p.nodePort}/${protocol}` : `${p.port}/${protocol}`;
    })
    .join(',');
}

export function printService(svc: Service, now: Date): PrintedRow {
  const ports = portString(svc);
  return {
    cells: [
      svc.metadata?.name ?? '',
      svc.spec?.type ?? 'ClusterIP',
      // Internally clusterIP is clusterIPs[0]: conversion fills clusterIPs from clusterIP.
      svc.spec?.clusterIPs?.[0] || svc.spec?.clusterIP || '<none>',
      // The server prints wide, so the External-IP is never clipped.
      serviceExternalIP(svc, true),
      ports || '<none>',
      translateTimestampSince(svc.metadata?.creationTimestamp, now),
      formatLabels(svc.spec?.selector),
    ],
  };
}

// ---- endpoints and slices ----

/** formatEndpoints: ip:port per port and address, at most three, then "+ N more...". */
function formatEndpoints(ep: Endpoints): string {
  const subsets = ep.subsets ?? [];
  if (subsets.length === 0) return '<none>';
  const list: string[] = [];
  const max = 3;
  let more = false;
  let count = 0;
  for (const ss of subsets) {
    const addresses = ss.addresses ?? [];
    if (!ss.ports?.length) {
      // headless services may have no ports
      count += addresses.length;
      for (const a of addresses) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(a.ip);
      }
      continue;
    }
    for (const port of ss.ports) {
      count += addresses.length;
      for (const a of addresses) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(joinHostPort(a.ip, port.port));
      }
    }
  }
  const ret = list.join(',');
  return more ? `${ret} + ${count - max} more...` : ret;
}

function listWithMore(list: string[], more: boolean, count: number, max: number): string {
  const ret = list.join(',');
  if (more) return `${ret} + ${count - max} more...`;
  return ret === '' ? '<unset>' : ret;
}

export function printEndpoints(ep: Endpoints, now: Date): PrintedRow {
  return { cells: [ep.metadata?.name ?? '', formatEndpoints(ep), translateTimestampSince(ep.metadata?.creationTimestamp, now)] };
}

export function printEndpointSlice(slice: EndpointSlice, now: Date): PrintedRow {
  const max = 3;
  const ports: string[] = [];
  let morePorts = false;
  let portCount = 0;
  for (const p of slice.ports ?? []) {
    if (ports.length < max) ports.push(p.port !== undefined && p.port !== null ? String(p.port) : (p.name ?? '*'));
    else if (ports.length === max) morePorts = true;
    portCount++;
  }
  const addresses: string[] = [];
  let moreAddresses = false;
  let addressCount = 0;
  for (const e of slice.endpoints ?? []) {
    for (const a of e.addresses ?? []) {
      if (addresses.length < max) addresses.push(a);
      else if (addresses.length === max) moreAddresses = true;
      addressCount++;
    }
  }
  return {
    cells: [
      slice.metadata?.name ?? '',
      slice.addressType ?? '',
      listWithMore(ports, morePorts, portCount, max),
      listWithMore(addresses, moreAddresses, addressCount, max),
      translateTimestampSince(slice.metadata?.creationTimestamp, now),
    ],
  };
}

// ---- nodes and namespaces ----

export function printNode(node: Node, now: Date): PrintedRow {
  const status: string[] = [];
  const ready = (node.status?.conditions ?? []).filter((c) => c.type === 'Ready').pop();
  if (ready) status.push(ready.status === 'True' ? 'Ready' : 'NotReady');
  if (status.length === 0) status.push('Unknown');
  if (node.spec?.unschedulable) status.push('SchedulingDisabled');
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(node.metadata?.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) {
      const role = k.slice('node-role.kubernetes.io/'.length);
      if (role) roles.add(role);
    } else if (k === 'kubernetes.io/role' && v !== '') {
      roles.add(v);
    }
  }
  const address = (type: string): string => (node.status?.addresses ?? []).find((a) => a.type === type)?.address ?? '<none>';
  const info = node.status?.nodeInfo;
  return {
    cells: [
      node.metadata?.name ?? '',
      status.join(','),
      [...roles].sort().join(',') || '<none>',
      translateTimestampSince(node.metadata?.creationTimestamp, now),
      info?.kubeletVersion ?? '',
      address('InternalIP'),
      address('ExternalIP'),
      info?.osImage || '<unknown>',
      info?.kernelVersion || '<unknown>',
      info?.containerRuntimeVersion || '<unknown>',
    ],
  };
}

export function printNamespace(ns: Namespace, now: Date): PrintedRow {
  return { cells: [ns.metadata?.name ?? '', ns.status?.phase ?? '', translateTimestampSince(ns.metadata?.creationTimestamp, now)] };
}

// ---- events ----

function formatEventSource(source: EventSource | undefined, reportingController: string | undefined, reportingInstance: string | undefined): string {
  const component = source?.component || reportingController || '';
  const instance = source?.host || reportingInstance || '';
  return instance ? `${component}, ${instance}` : component;
}

export function printEvent(ev: Event, now: Date): PrintedRow {
  let firstTimestamp = translateTimestampSince(ev.firstTimestamp, now);
  if (!ev.firstTimestamp) firstTimestamp = translateTimestampSince(ev.eventTime, now);
  let lastTimestamp = translateTimestampSince(ev.lastTimestamp, now);
  if (!ev.lastTimestamp) lastTimestamp = firstTimestamp;
  let count = ev.count ?? 0;
  if (ev.series) {
    lastTimestamp = translateTimestampSince(ev.series.lastObservedTime, now);
    count = ev.series.count ?? 0;
  } else if (count === 0) {
    // Singleton events don't have a count set in the new API.
    count = 1;
  }
  const kind = (ev.involvedObject?.kind ?? '').toLowerCase();
  const target = ev.involvedObject?.name ? `${kind}/${ev.involvedObject.name}` : kind;
  return {
    cells: [
      lastTimestamp,
      ev.type ?? '',
      ev.reason ?? '',
      target,
      ev.involvedObject?.fieldPath ?? '',
      formatEventSource(ev.source, ev.reportingComponent, ev.reportingInstance),
      (ev.message ?? '').trim(),
      firstTimestamp,
      count,
      ev.metadata?.name ?? '',
    ],
  };
}

// ---- config, secrets, service accounts, leases ----

export function printConfigMap(cm: ConfigMap, now: Date): PrintedRow {
  const n = Object.keys(cm.data ?? {}).length + Object.keys(cm.binaryData ?? {}).length;
  return { cells: [cm.metadata?.name ?? '', n, translateTimestampSince(cm.metadata?.creationTimestamp, now)] };
}

export function printSecret(s: Secret, now: Date): PrintedRow {
  return { cells: [s.metadata?.name ?? '', s.type ?? '', Object.keys(s.data ?? {}).length, translateTimestampSince(s.metadata?.creationTimestamp, now)] };
}

export function printServiceAccount(sa: ServiceAccount, now: Date): PrintedRow {
  return { cells: [sa.metadata?.name ?? '', (sa.secrets ?? []).length, translateTimestampSince(sa.metadata?.creationTimestamp, now)] };
}

export function printLease(lease: Lease, now: Date): PrintedRow {
  return { cells: [lease.metadata?.name ?? '', lease.spec?.holderIdentity ?? '', translateTimestampSince(lease.metadata?.creationTimestamp, now)] };
}

// ---- workloads ----

/** layoutContainerCells: names and images joined by ",". */
function containerCells(containers: Container[] | undefined): [string, string] {
  const list = containers ?? [];
  return [list.map((c) => c.name).join(','), list.map((c) => c.image ?? '').join(',')];
}

export function printDeployment(d: Deployment, now: Date): PrintedRow {
  const desired = d.spec?.replicas ?? 1;
  const status = d.status ?? {};
  const [names, images] = containerCells(d.spec?.template.spec?.containers);
  return {
    cells: [
      d.metadata?.name ?? '',
      `${status.readyReplicas ?? 0}/${desired}`,
      status.updatedReplicas ?? 0,
      status.availableReplicas ?? 0,
      translateTimestampSince(d.metadata?.creationTimestamp, now),
      names,
      images,
      labelSelectorString(d.spec?.selector) ?? '<invalid>',
    ],
  };
}

export function printReplicaSet(rs: ReplicaSet, now: Date): PrintedRow {
  const [names, images] = containerCells(rs.spec?.template?.spec?.containers);
  return {
    cells: [
      rs.metadata?.name ?? '',
      rs.spec?.replicas ?? 1,
      rs.status?.replicas ?? 0,
      rs.status?.readyReplicas ?? 0,
      translateTimestampSince(rs.metadata?.creationTimestamp, now),
      names,
      images,
      formatLabelSelector(rs.spec?.selector),
    ],
  };
}

/** Row printers by "<group>/<resource>". */
export const rowPrinters: Record<string, (obj: unknown, now: Date) => PrintedRow> = {
  '/pods': (o, now) => printPod(o as Pod, now),
  '/services': (o, now) => printService(o as Service, now),
  '/endpoints': (o, now) => printEndpoints(o as Endpoints, now),
  '/nodes': (o, now) => printNode(o as Node, now),
  '/events': (o, now) => printEvent(o as Event, now),
  '/namespaces': (o, now) => printNamespace(o as Namespace, now),
  '/secrets': (o, now) => printSecret(o as Secret, now),
  '/serviceaccounts': (o, now) => printServiceAccount(o as ServiceAccount, now),
  '/configmaps': (o, now) => printConfigMap(o as ConfigMap, now),
  'apps/deployments': (o, now) => printDeployment(o as Deployment, now),
  'apps/replicasets': (o, now) => printReplicaSet(o as ReplicaSet, now),
  'discovery.k8s.io/endpointslices': (o, now) => printEndpointSlice(o as EndpointSlice, now),
  'coordination.k8s.io/leases': (o, now) => printLease(o as Lease, now),
};
