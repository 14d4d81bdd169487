// Defaults of the other core/v1 types svcnet serves (pkg/apis/core/v1/defaults.go), and the
// zero values Go serializes that kubectl users see.
import type { Endpoints, Event, Namespace, Node, Secret } from 'kubernetes-types/core/v1.js';

/** v1.LabelMetadataName: every namespace carries its own name as a label. */
export const labelMetadataName = 'kubernetes.io/metadata.name';

export function setDefaultsNamespace(ns: Namespace): void {
  // Nameless namespaces (generateName) get the label in the strategy, once named.
  const name = ns.metadata?.name;
  if (name) {
    ns.metadata ??= {};
    ns.metadata.labels = { ...(ns.metadata.labels ?? {}), [labelMetadataName]: name };
  }
  ns.status ??= {};
  if (!ns.status.phase) ns.status.phase = 'Active';
}

/**
 * SetDefaults_Secret, and stringData folded into data as the v1 conversion does (stringData
 * wins over data for the same key, and is never stored).
 */
export function setDefaultsSecret(s: Secret): void {
  const m = s as { stringData?: Record<string, string>; data?: Record<string, string> };
  if (m.stringData) {
    m.data = { ...(m.data ?? {}) };
    for (const [k, v] of Object.entries(m.stringData)) m.data[k] = Buffer.from(v, 'utf8').toString('base64');
    delete m.stringData;
  }
  if (!s.type) (s as { type?: string }).type = 'Opaque';
}

export function setDefaultsEndpoints(ep: Endpoints): void {
  for (const ss of ep.subsets ?? []) for (const p of ss.ports ?? []) if (!p.protocol) p.protocol = 'TCP';
}

export function setDefaultsNode(node: Node): void {
  const st = node.status;
  if (st?.capacity && !st.allocatable) st.allocatable = { ...st.capacity };
}

export function setDefaultsEvent(ev: Event): void {
  // Non-omitempty fields of core/v1 Event: kubectl shows them even when empty.
  const e = ev as unknown as Record<string, unknown>;
  if (e.reportingComponent === undefined) e.reportingComponent = '';
  if (e.reportingInstance === undefined) e.reportingInstance = '';
  if (!('eventTime' in e)) e.eventTime = null;
  if (!('firstTimestamp' in e)) e.firstTimestamp = null;
  if (!('lastTimestamp' in e)) e.lastTimestamp = null;
}
