// The scheduler's pure core (kube-scheduler's default profile, reduced to what svcnet's nodes
// need): filters in kube's order, each failing node counted under its plugin's reason, and a
// score that spreads the replicas of one owner across nodes (fewest pods of that owner, then
// fewest pods, then the name). Failure messages are kube's FitError text, preemption included.
import type { Node, NodeSelectorRequirement, NodeSelectorTerm, Pod, Taint, Toleration } from 'kubernetes-types/core/v1.js';
import { controllerOf } from '../controllerutil/index.ts';

export const defaultSchedulerName = 'default-scheduler';
export const ErrNoNodesAvailable = 'no nodes available to schedule pods';

export const ReasonUnschedulable = "node(s) were unschedulable";
export const ReasonNodeName = "node(s) didn't match the requested node name";
export const ReasonNodeAffinity = "node(s) didn't match Pod's node affinity/selector";
export const ReasonNodePorts = "node(s) didn't have free ports for the requested pod ports";
export const ReasonTooManyPods = 'Too many pods';

/** Does the scheduler own this pod now: unbound, ours, alive, not gated. */
export function needsScheduling(pod: Pod): boolean {
  const name = pod.spec?.schedulerName || defaultSchedulerName;
  const phase = pod.status?.phase;
  return !pod.spec?.nodeName && name === defaultSchedulerName && !pod.metadata?.deletionTimestamp && phase !== 'Succeeded' && phase !== 'Failed' && !(pod.spec?.schedulingGates ?? []).length;
}

/** v1.Toleration.ToleratesTaint. */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  const op = t.operator || 'Equal';
  if (op === 'Exists') return true;
  if (op === 'Equal') return (t.value ?? '') === (taint.value ?? '');
  return false;
}

export function tolerates(tolerations: readonly Toleration[] | undefined, taint: Taint): boolean {
  return (tolerations ?? []).some((t) => toleratesTaint(t, taint));
}

/**
 * The node's taints as the scheduler sees them. A node that is not Ready carries the taint the
 * node lifecycle controller would put on it (not-ready when Ready=False, unreachable when
 * Unknown or missing), even before that controller got to it.
 */
export function effectiveTaints(node: Node): Taint[] {
  const taints = [...(node.spec?.taints ?? [])];
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status !== 'True') {
    const key = ready?.status === 'False' ? 'node.kubernetes.io/not-ready' : 'node.kubernetes.io/unreachable';
    if (!taints.some((t) => t.key === key && t.effect === 'NoSchedule')) taints.push({ key, effect: 'NoSchedule' });
  }
  return taints;
}

function matchRequirement(r: NodeSelectorRequirement, value: string | undefined): boolean {
  const vals = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return value !== undefined && vals.includes(value);
    case 'NotIn':
      return value === undefined || !vals.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      if (value === undefined || vals.length !== 1 || !/^-?\d+$/.test(value) || !/^-?\d+$/.test(vals[0] ?? '')) return false;
      return r.operator === 'Gt' ? Number(value) > Number(vals[0]) : Number(value) < Number(vals[0]);
    }
    default:
      return false;
  }
}

/** A NodeSelectorTerm: its expressions and fields all hold (an empty term matches nothing). */
function matchTerm(term: NodeSelectorTerm, node: Node): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (!exprs.length && !fields.length) return false;
  const labels = node.metadata?.labels ?? {};
  return exprs.every((r) => matchRequirement(r, labels[r.key])) && fields.every((r) => r.key === 'metadata.name' && matchRequirement(r, node.metadata?.name));
}

/** NodeAffinity filter: spec.nodeSelector and required node affinity. */
export function matchesNodeSelector(pod: Pod, node: Node): boolean {
  const labels = node.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(pod.spec?.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const required = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required) return (required.nodeSelectorTerms ?? []).some((t) => matchTerm(t, node));
  return true;
}

/** Parses a resource quantity: cpu in millicores (unit 'm'), anything else in base units. */
export function parseQuantity(q: string | number | undefined, milli = false): number {
  if (q === undefined) return 0;
  if (typeof q === 'number') return milli ? q * 1000 : q;
  const m = /^([+-]?[0-9.]+(?:[eE][+-]?\d+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(q.trim());
  if (!m) return 0;
  const n = Number(m[1]);
  const mult: Record<string, number> = { '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, Pi: 1024 ** 5, Ei: 1024 ** 6 };
  const v = n * (mult[m[2] ?? ''] ?? 1);
  return milli ? Math.round(v * 1000) : v;
}

interface Requests {
  cpu: number;
  memory: number;
}

/** The pod's requests (noderesources: the larger of the containers' sum and any init container). */
export function podRequests(pod: Pod): Requests {
  const sum = { cpu: 0, memory: 0 };
  for (const c of pod.spec?.containers ?? []) {
    sum.cpu += parseQuantity(c.resources?.requests?.cpu, true);
    sum.memory += parseQuantity(c.resources?.requests?.memory);
  }
  for (const c of pod.spec?.initContainers ?? []) {
    sum.cpu = Math.max(sum.cpu, parseQuantity(c.resources?.requests?.cpu, true));
    sum.memory = Math.max(sum.memory, parseQuantity(c.resources?.requests?.memory));
  }
  return sum;
}

function hostPorts(pod: Pod): string[] {
  const out: string[] = [];
  for (const c of pod.spec?.containers ?? []) for (const p of c.ports ?? []) if (p.hostPort) out.push(`${p.protocol ?? 'TCP'}/${p.hostIP || '0.0.0.0'}/${p.hostPort}`);
  return out;
}

function portsConflict(a: string, b: string): boolean {
  const [pa, ia, na] = a.split('/');
  const [pb, ib, nb] = b.split('/');
  return pa === pb && na === nb && (ia === ib || ia === '0.0.0.0' || ib === '0.0.0.0');
}

export interface NodeFailure {
  reason: string;
  /** UnschedulableAndUnresolvable: preemption cannot help. */
  unresolvable: boolean;
}

/** The filters of kube's default profile, in its order; the first that fails names the reason. */
export function filterNode(pod: Pod, node: Node, podsOnNode: readonly Pod[]): NodeFailure | undefined {
  const tolerations = pod.spec?.tolerations;
  if (node.spec?.unschedulable && !tolerates(tolerations, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' })) return { reason: ReasonUnschedulable, unresolvable: true };
  const taint = effectiveTaints(node).find((t) => (t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !tolerates(tolerations, t));
  if (taint) return { reason: `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`, unresolvable: true };
  if (!matchesNodeSelector(pod, node)) return { reason: ReasonNodeAffinity, unresolvable: true };
  const want = hostPorts(pod);
  if (want.length) {
    const used = podsOnNode.flatMap(hostPorts);
    if (want.some((w) => used.some((u) => portsConflict(w, u)))) return { reason: ReasonNodePorts, unresolvable: false };
  }
  const alloc = node.status?.allocatable ?? node.status?.capacity ?? {};
  const maxPods = alloc.pods !== undefined ? parseQuantity(alloc.pods) : Infinity;
  if (podsOnNode.length + 1 > maxPods) return { reason: ReasonTooManyPods, unresolvable: false };
  const req = podRequests(pod);
  const used = podsOnNode.map(podRequests).reduce((a, b) => ({ cpu: a.cpu + b.cpu, memory: a.memory + b.memory }), { cpu: 0, memory: 0 });
  if (req.cpu > 0 && alloc.cpu !== undefined && used.cpu + req.cpu > parseQuantity(alloc.cpu, true)) return { reason: 'Insufficient cpu', unresolvable: false };
  if (req.memory > 0 && alloc.memory !== undefined && used.memory + req.memory > parseQuantity(alloc.memory)) return { reason: 'Insufficient memory', unresolvable: false };
  return undefined;
}

export type ScheduleResult = { node: string } | { error: string };

/** "3 a, 1 b" style histogram: "<count> <reason>" entries sorted as strings. */
function histogram(reasons: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  return [...counts].map(([r, n]) => `${n} ${r}`).sort().join(', ');
}

/** FitError.Error() with DefaultPreemption's PostFilter message (no lower-priority victims in svcnet). */
export function fitError(total: number, failures: readonly NodeFailure[]): string {
  const filter = histogram(failures.map((f) => f.reason));
  const preemption = histogram(failures.map((f) => (f.unresolvable ? 'Preemption is not helpful for scheduling' : 'No preemption victims found for incoming pod')));
  return `0/${total} nodes are available: ${filter}. preemption: 0/${total} nodes are available: ${preemption}.`;
}

/**
 * Picks a node for the pod. `podsByNode` holds the pods assigned to each node (bound or
 * assumed, not finished). Among feasible nodes the one with the fewest pods of the same owner
 * wins, then the one with the fewest pods, then the first by name.
 */
export function schedule(pod: Pod, nodes: readonly Node[], podsByNode: ReadonlyMap<string, readonly Pod[]>): ScheduleResult {
  if (!nodes.length) return { error: ErrNoNodesAvailable };
  const owner = controllerOf(pod)?.uid;
  const failures: NodeFailure[] = [];
  let best: { name: string; same: number; all: number } | undefined;
  for (const node of nodes) {
    const name = node.metadata?.name ?? '';
    const on = podsByNode.get(name) ?? [];
    const f = filterNode(pod, node, on);
    if (f) {
      failures.push(f);
      continue;
    }
    const same = owner ? on.filter((p) => controllerOf(p)?.uid === owner).length : 0;
    const cand = { name, same, all: on.length };
    if (!best || cand.same < best.same || (cand.same === best.same && (cand.all < best.all || (cand.all === best.all && cand.name < best.name)))) best = cand;
  }
  if (best) return { node: best.name };
  return { error: fitError(nodes.length, failures) };
}
