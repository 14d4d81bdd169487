// metadata.managedFields: who owns which fields, kept as kube-apiserver's field manager keeps
// it (k8s.io/apimachinery/pkg/util/managedfields/internal and structured-merge-diff's merge
// package). An entry is keyed by its manager identity: manager name, operation, and (for
// Update entries) apiVersion, plus the subresource; Apply entries do not carry the version in
// their identity, so an applier keeps one entry across versions.
//
// Every write updates the entries: an Update takes the fields it added or changed from whoever
// owned them and records them for its manager (merged with what that manager had); fields it
// removed leave every entry. An Apply sets its manager's fields to exactly the applied
// configuration, removes from the object what it applied before and no longer applies (unless
// another applier still owns it), and fails with a conflict when it would change a value
// another manager owns, unless forced.
import type { SchemaNode } from '../../api/schema/index.ts';
import { FieldSet, FieldsV1Error, pathString, type Path } from './fieldpath.ts';
import { goQuote, isJsonObject, jsonEqual, type Json, type JsonObject } from './go.ts';
import { compareValues, mergeValues, removeItems, toFieldSet, type Comparison } from './typed.ts';

export type Operation = 'Apply' | 'Update';

/** One managedFields entry, decoded. */
export interface ManagerEntry {
  manager: string;
  operation: Operation;
  apiVersion: string;
  subresource?: string;
  /** RFC 3339, seconds; absent when the manager never changed the object. */
  time?: string;
  set: FieldSet;
}

/** Entries by manager identity (BuildManagerIdentifier). */
export type Managed = Map<string, ManagerEntry>;

/** BuildManagerIdentifier: the entry's JSON without fields, type and time (and version, for appliers). */
export function managerIdentity(e: { manager: string; operation: Operation; apiVersion?: string; subresource?: string }): string {
  const id: Record<string, string> = { manager: e.manager, operation: e.operation };
  if (e.operation === 'Update' && e.apiVersion) id['apiVersion'] = e.apiVersion;
  if (e.subresource) id['subresource'] = e.subresource;
  return JSON.stringify(id);
}

export class ManagedFieldsError extends Error {}

function describeEntry(e: JsonObject): string {
  return JSON.stringify(e);
}

/** DecodeManagedFields: the entries of metadata.managedFields, or an error for a malformed list. */
export function decodeManagedFields(list: Json | undefined): Managed {
  const out: Managed = new Map();
  if (list === undefined || list === null) return out;
  if (!Array.isArray(list)) throw new ManagedFieldsError('managedFields must be a list');
  list.forEach((raw, i) => {
    if (!isJsonObject(raw)) throw new ManagedFieldsError(`managed fields entry ${i} is not an object`);
    const op = raw['operation'];
    if (op !== 'Apply' && op !== 'Update') throw new ManagedFieldsError('operation must be `Apply` or `Update`');
    const apiVersion = raw['apiVersion'];
    if (typeof apiVersion !== 'string' || apiVersion.length < 1) throw new ManagedFieldsError('apiVersion must not be empty');
    const fieldsType = raw['fieldsType'];
    if (fieldsType === undefined || fieldsType === '' || fieldsType === null) throw new ManagedFieldsError(`missing fieldsType in managed fields entry ${i}`);
    if (fieldsType !== 'FieldsV1') throw new ManagedFieldsError(`invalid fieldsType ${typeof fieldsType === 'string' ? goQuote(fieldsType) : JSON.stringify(fieldsType)} in managed fields entry ${i}`);
    const manager = typeof raw['manager'] === 'string' ? raw['manager'] : '';
    const subresource = typeof raw['subresource'] === 'string' && raw['subresource'] ? raw['subresource'] : undefined;
    let set: FieldSet;
    try {
      set = FieldSet.fromFieldsV1(raw['fieldsV1']);
    } catch (e) {
      if (e instanceof FieldsV1Error) throw new ManagedFieldsError(`error decoding versioned set from ${describeEntry(raw)}: error decoding set: ${e.message}`);
      throw e;
    }
    const entry: ManagerEntry = { manager, operation: op, apiVersion, set };
    if (subresource) entry.subresource = subresource;
    if (typeof raw['time'] === 'string') entry.time = raw['time'];
    out.set(managerIdentity(entry), entry);
  });
  return out;
}

function seconds(t: string | undefined): number {
  if (!t) return 0;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
}

/** The managedFields list: sorted by operation, time, manager, apiVersion, subresource. */
export function encodeManagedFields(managed: Managed): JsonObject[] {
  const entries = [...managed.values()].sort((p, q) => {
    if (p.operation !== q.operation) return p.operation < q.operation ? -1 : 1;
    const ps = seconds(p.time);
    const qs = seconds(q.time);
    if (ps !== qs) return ps - qs;
    if (p.manager !== q.manager) return p.manager < q.manager ? -1 : 1;
    if (p.apiVersion !== q.apiVersion) return p.apiVersion < q.apiVersion ? -1 : 1;
    const pr = p.subresource ?? '';
    const qr = q.subresource ?? '';
    return pr < qr ? -1 : pr > qr ? 1 : 0;
  });
  // Keys in metav1.ManagedFieldsEntry's field order, as kube-apiserver writes them.
  return entries.map((e) => {
    const out: JsonObject = { manager: e.manager, operation: e.operation, apiVersion: e.apiVersion };
    if (e.time) out['time'] = e.time;
    out['fieldsType'] = 'FieldsV1';
    out['fieldsV1'] = e.set.toFieldsV1();
    if (e.subresource) out['subresource'] = e.subresource;
    return out;
  });
}

function copyManaged(m: Managed): Managed {
  return new Map([...m].map(([k, e]) => [k, { ...e }]));
}

/** Fields no manager owns: the object's identity and the server's bookkeeping (stripMetaManager). */
const stripSet = FieldSet.of(
  [{ field: 'apiVersion' }],
  [{ field: 'kind' }],
  [{ field: 'metadata' }],
  ...['name', 'namespace', 'creationTimestamp', 'selfLink', 'uid', 'clusterName', 'generation', 'managedFields', 'resourceVersion'].map(
    (f): Path => [{ field: 'metadata' }, { field: f }],
  ),
);

/** The time format of metav1.Time: RFC 3339 in UTC, whole seconds. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}

/** What a field manager needs to know about the write. */
export interface FieldManagerContext {
  schema: SchemaNode | undefined;
  /** The object's apiVersion, e.g. "v1", "apps/v1". */
  apiVersion: string;
  now: Date;
  subresource?: string;
  /** Paths nobody owns at this endpoint, e.g. status on the main resource (GetResetFields). */
  resetFields?: FieldSet;
  /** A new object of the kind, as Go's zero value serializes it (typed.zeroObject); shared and frozen. */
  zero: JsonObject;
  /** Updates keep at most this many Update entries; older ones merge into "ancient-changes". */
  maxUpdateManagers?: number;
}

/** The ownership conflicts of an apply, by manager identity. */
export class ApplyConflicts extends Error {
  readonly conflicts: ReadonlyArray<{ manager: string; path: Path }>;
  constructor(conflicts: ReadonlyArray<{ manager: string; path: Path }>) {
    super('apply conflicts');
    this.conflicts = conflicts;
  }
}

function filterReset(c: Comparison, reset: FieldSet | undefined): Comparison {
  if (!reset) return c;
  return { added: c.added.recursiveDifference(reset), modified: c.modified.recursiveDifference(reset), removed: c.removed.recursiveDifference(reset) };
}

/**
 * Updater.update: takes the changed fields from every manager but the writer's own entry;
 * with force unset, a changed field another manager owns is a conflict instead.
 */
function takeChangedFields(live: Json, next: Json, managed: Managed, writer: string, force: boolean, ctx: FieldManagerContext): Comparison {
  const c = filterReset(compareValues(live, next, ctx.schema), ctx.resetFields);
  const changed = c.modified.union(c.added);
  const conflicts = new Map<string, FieldSet>();
  for (const [id, e] of managed) {
    if (id === writer) continue;
    // Entries of versions this server does not serve cannot be converted; Kubernetes drops them.
    if (e.apiVersion !== ctx.apiVersion) {
      managed.delete(id);
      continue;
    }
    const mine = e.set.intersection(changed);
    if (!mine.empty()) conflicts.set(id, mine);
  }
  if (!force && conflicts.size > 0) {
    const list: Array<{ manager: string; path: Path }> = [];
    for (const id of [...conflicts.keys()].sort()) for (const path of conflicts.get(id)?.paths() ?? []) list.push({ manager: id, path });
    throw new ApplyConflicts(list);
  }
  for (const [id, lost] of conflicts) {
    const e = managed.get(id);
    if (e) e.set = e.set.difference(lost);
  }
  if (!c.removed.empty()) {
    for (const [id, e] of managed) if (id !== writer) e.set = e.set.difference(c.removed);
  }
  for (const [id, e] of managed) if (e.set.empty()) managed.delete(id);
  return c;
}

/** capManagersManager: too many Update entries merge, oldest first, into "ancient-changes" per version. */
function capUpdateManagers(managed: Managed, max: number): void {
  const updaters = [...managed.entries()].filter(([, e]) => e.operation === 'Update').map(([id]) => id);
  if (updaters.length <= max) return;
  updaters.sort((a, b) => {
    const ta = seconds(managed.get(a)?.time);
    const tb = seconds(managed.get(b)?.time);
    if (ta !== tb) return ta - tb;
    return a < b ? -1 : a > b ? 1 : 0;
  });
  const firstOfVersion = new Map<string, string>();
  let length = updaters.length;
  for (let i = 0; i < updaters.length && length > max; i++) {
    const id = updaters[i] ?? '';
    const e = managed.get(id);
    if (!e) continue;
    const bucket = managerIdentity({ manager: 'ancient-changes', operation: 'Update', apiVersion: e.apiVersion });
    const first = firstOfVersion.get(e.apiVersion);
    if (first === undefined) {
      firstOfVersion.set(e.apiVersion, id);
      continue;
    }
    if (!managed.has(bucket)) {
      const f = managed.get(first);
      managed.delete(first);
      if (f) managed.set(bucket, { ...f, manager: 'ancient-changes' });
    }
    const b = managed.get(bucket);
    if (b) {
      const merged: ManagerEntry = { ...b, set: e.set.union(b.set), manager: 'ancient-changes' };
      if (e.time) merged.time = e.time;
      else delete merged.time;
      managed.set(bucket, merged);
    }
    managed.delete(id);
    length--;
  }
}

/**
 * Records a non-apply write (create, update, patch) by manager: the fields it added or changed
 * become the manager's, merged into its existing Update entry, with the time of this write.
 * A write that changes nothing leaves the entries as they were.
 */
export function recordUpdate(live: Json, next: Json, managed: Managed, manager: string, ctx: FieldManagerContext): Managed {
  const out = copyManaged(managed);
  const current = 'current-operation';
  const c = takeChangedFields(live, next, out, current, true, ctx);
  let set = c.modified.union(c.added);
  if (ctx.resetFields) set = set.recursiveDifference(ctx.resetFields);
  set = set.difference(stripSet);
  if (!set.empty()) {
    const entry: ManagerEntry = { manager: manager || 'unknown', operation: 'Update', apiVersion: ctx.apiVersion, set, time: rfc3339(ctx.now) };
    if (ctx.subresource) entry.subresource = ctx.subresource;
    const id = managerIdentity(entry);
    const previous = out.get(id);
    if (previous) entry.set = set.union(previous.set);
    out.set(id, entry);
  }
  capUpdateManagers(out, ctx.maxUpdateManagers ?? 10);
  return out;
}

/**
 * Updater.prune: removes what the applier owned last time and no longer applies, unless another
 * applier owns it; fields only Update managers own do not keep it.
 */
function prune(merged: Json, managed: Managed, lastSet: FieldSet | undefined, schema: SchemaNode | undefined): Json {
  if (!lastSet || lastSet.empty()) return merged;
  const mergedSet = toFieldSet(merged, schema);
  const pruned1 = removeItems(merged, lastSet, schema) ?? {};
  let applied = new FieldSet();
  for (const e of managed.values()) if (e.operation === 'Apply') applied = applied.union(e.set);
  const pruned2 = removeItems(merged, mergedSet.difference(toFieldSet(pruned1, schema).union(applied)), schema) ?? {};
  const dangling = mergedSet.difference(toFieldSet(pruned2, schema)).intersection(lastSet);
  return removeItems(merged, dangling, schema) ?? {};
}

export interface ApplyOutcome {
  /** The merged object; undefined when the apply changes nothing. */
  object: JsonObject | undefined;
  managed: Managed;
}

/**
 * Updater.Apply for manager (with stripMeta and the time stamp): merges config into live and
 * records config's fields as the applier's. Throws ApplyConflicts unless force.
 */
export function recordApply(live: JsonObject, config: JsonObject, managed: Managed, manager: string, force: boolean, ctx: FieldManagerContext): ApplyOutcome {
  let out = copyManaged(managed);
  // skipNonAppliedManager: fields set before the first apply belong to "before-first-apply".
  if (out.size === 0) out = recordUpdate(ctx.zero, live, out, 'before-first-apply', ctx);

  const entry: ManagerEntry = { manager, operation: 'Apply', apiVersion: ctx.apiVersion, set: new FieldSet() };
  if (ctx.subresource) entry.subresource = ctx.subresource;
  const id = managerIdentity(entry);
  const previous = out.get(id);
  const merged = mergeValues(live, config, ctx.schema);
  let set = toFieldSet(config, ctx.schema);
  if (ctx.resetFields) set = set.recursiveDifference(ctx.resetFields);
  entry.set = set;
  if (previous?.time) entry.time = previous.time;
  out.set(id, entry);
  const lastSet = previous && previous.apiVersion === ctx.apiVersion ? previous.set : undefined;
  const next = prune(merged ?? {}, out, lastSet, ctx.schema);
  takeChangedFields(live, next, out, id, force, ctx);

  const mine = out.get(id);
  if (mine) {
    mine.set = mine.set.difference(stripSet);
    if (mine.set.empty()) out.delete(id);
  }
  const changed = !jsonEqual(live, next);
  if (changed) {
    const e = out.get(id);
    if (e) e.time = rfc3339(ctx.now);
  }
  return { object: changed && isJsonObject(next) ? next : undefined, managed: out };
}

/** printManager: `"kubectl-client-side-apply" using v1`, `"m" with subresource "status"`. */
export function printManager(identity: string): string {
  let e: { manager?: unknown; operation?: unknown; apiVersion?: unknown; subresource?: unknown };
  try {
    e = JSON.parse(identity) as typeof e;
  } catch {
    return goQuote(identity);
  }
  let s = goQuote(typeof e.manager === 'string' ? e.manager : '');
  if (typeof e.subresource === 'string' && e.subresource) s += ` with subresource ${goQuote(e.subresource)}`;
  if (e.operation === 'Update') s += ` using ${typeof e.apiVersion === 'string' ? e.apiVersion : ''}`;
  return s;
}

/** The 409 message of an apply conflict (internal/conflict.go getConflictMessage). */
export function conflictMessage(conflicts: ReadonlyArray<{ manager: string; path: Path }>): string {
  const [only] = conflicts;
  if (conflicts.length === 1 && only) return `Apply failed with 1 conflict: conflict with ${printManager(only.manager)}: ${pathString(only.path)}`;
  const byManager = new Map<string, Path[]>();
  for (const c of conflicts) byManager.set(c.manager, [...(byManager.get(c.manager) ?? []), c.path]);
  const lines: string[] = [];
  for (const m of [...byManager.keys()].sort()) {
    lines.push(`conflicts with ${printManager(m)}:`);
    for (const p of byManager.get(m) ?? []) lines.push(`- ${pathString(p)}`);
  }
  return `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
}
