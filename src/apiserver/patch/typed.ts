// Objects read through a structural schema, as sigs.k8s.io/structured-merge-diff's typed
// package reads them: merge (what an apply does to the live object), compare (which fields
// a write added, modified or removed), toFieldSet (the fields an applied configuration sets),
// removeItems, and the checks an applied configuration must pass.
//
// Each schema node is one of: a scalar; a map (a struct with properties, a map with
// additionalProperties, or both), separable unless x-kubernetes-map-type is atomic; a list,
// which is atomic, a set of scalars, or a map keyed by list-map keys. Lists without
// x-kubernetes-list-type follow their patch strategy, as kube-openapi's schema conversion does:
// merge with a merge key is a map list, merge without one a set, anything else atomic. Where
// the schema says nothing (preserve-unknown-fields, or no schema), the type is deduced from
// the value: objects are separable maps, arrays atomic.
import type { SchemaNode } from '../../api/schema/index.ts';
import { FieldSet, pathString, type Path, type PathElement } from './fieldpath.ts';
import { goFormat, hasKey, isJsonObject, jsonEqual, put, type Json, type JsonObject } from './go.ts';

type V = Json | undefined;

export type Atom =
  | { kind: 'scalar'; schema?: SchemaNode }
  | {
      kind: 'map';
      fields?: Readonly<Record<string, SchemaNode>>;
      elem?: SchemaNode;
      /** Any field goes, with no schema below it. */
      open: boolean;
      atomic: boolean;
    }
  | { kind: 'list'; items?: SchemaNode; rel: 'atomic' | 'set' | 'map'; keys: readonly string[] };

const deducedMap: Atom = { kind: 'map', open: true, atomic: false };
const deducedList: Atom = { kind: 'list', rel: 'atomic', keys: [] };
const deducedScalar: Atom = { kind: 'scalar' };

function deduce(v: V): Atom {
  if (isJsonObject(v)) return deducedMap;
  if (Array.isArray(v)) return deducedList;
  return deducedScalar;
}

/** Atoms by schema node (null: the node leaves it to the value). Every write walks the same nodes. */
const atoms = new WeakMap<SchemaNode, Atom | null>();

/** The atom a schema node describes; for an untyped node, the atom of the value. Atoms are shared: never change one. */
export function atomOf(s: SchemaNode | undefined, v: V): Atom {
  if (!s) return deduce(v);
  let a = atoms.get(s);
  if (a === undefined) {
    a = schemaAtom(s);
    atoms.set(s, a);
  }
  return a ?? deduce(v);
}

function schemaAtom(s: SchemaNode): Atom | null {
  if (s.intOrString) return { kind: 'scalar', schema: s };
  if (s.properties || s.additionalProperties) {
    const a: Atom = { kind: 'map', open: s.preserveUnknownFields === true, atomic: s.mapType === 'atomic' };
    if (s.properties) a.fields = s.properties;
    if (s.additionalProperties) a.elem = s.additionalProperties;
    return a;
  }
  if (s.items || s.type === 'array') {
    const a: Atom = { kind: 'list', rel: 'atomic', keys: [] };
    if (s.items) a.items = s.items;
    if (s.listType === 'map') return { ...a, rel: 'map', keys: s.listMapKeys ?? [] };
    if (s.listType === 'set') return { ...a, rel: 'set' };
    if (s.listType === 'atomic') return a;
    if (s.patchStrategy?.split(',').includes('merge')) {
      return s.patchMergeKey ? { ...a, rel: 'map', keys: [s.patchMergeKey] } : { ...a, rel: 'set' };
    }
    return a;
  }
  if (s.type === 'object' || s.preserveUnknownFields || !s.type) return null;
  return { kind: 'scalar', schema: s };
}

/** Whether v can be read as the atom (null and absence fit anything). */
function fits(a: Atom, v: V): boolean {
  if (v === undefined || v === null) return true;
  if (a.kind === 'map') return isJsonObject(v);
  if (a.kind === 'list') return Array.isArray(v);
  return !isJsonObject(v) && !Array.isArray(v);
}

/** The schema of a map's field or entry; declared says whether the field is a struct field. */
export function fieldSchema(a: Atom & { kind: 'map' }, key: string): { schema: SchemaNode | undefined; declared: boolean; known: boolean } {
  const f = a.fields && Object.prototype.hasOwnProperty.call(a.fields, key) ? a.fields[key] : undefined;
  if (f) return { schema: f, declared: true, known: true };
  if (a.elem) return { schema: a.elem, declared: false, known: true };
  return { schema: undefined, declared: false, known: a.open || !a.fields };
}

/** The path element of a list item, or the reason the item cannot be keyed. */
export function listItemElement(a: Atom & { kind: 'list' }, item: Json, index: number): PathElement | string {
  if (a.rel === 'map' && a.keys.length > 0) {
    if (item === null) return 'associative list with keys may not have a null element';
    if (!isJsonObject(item)) return 'associative list with keys may not have non-map elements';
    const props = a.items?.properties;
    const key: Array<readonly [string, Json]> = [];
    for (const name of [...a.keys].sort()) {
      if (hasKey(item, name)) {
        key.push([name, item[name] ?? null]);
        continue;
      }
      // A key field the item omits takes its schema default (a Service port's protocol is TCP).
      const def = props?.[name]?.default;
      if (def === undefined) return `associative list with keys has an element that omits key field "${name}" (and doesn't have default value)`;
      key.push([name, def as Json]);
    }
    return { key };
  }
  if (a.rel === 'set' || a.rel === 'map') {
    if (isJsonObject(item)) return "associative list without keys has an element that's a map type";
    if (Array.isArray(item)) return 'not supported: associative list with lists as elements';
    if (item === null) return "associative list without keys has an element that's an explicit null";
    return { value: item };
  }
  return { index };
}

interface Indexed {
  pe: PathElement;
  key: string;
  value: Json;
}

function indexList(a: Atom & { kind: 'list' }, list: readonly Json[]): { order: Indexed[]; first: Map<string, Json>; all: Indexed[] } {
  const order: Indexed[] = [];
  const first = new Map<string, Json>();
  const all: Indexed[] = [];
  list.forEach((item, i) => {
    const found = listItemElement(a, item, i);
    // An item that cannot be keyed (only a stored object can hold one: configurations are
    // validated) is kept by its position rather than lost.
    const pe: PathElement = typeof found === 'string' ? { index: i } : found;
    const key = typeof found === 'string' ? `\u0000unkeyed:${i}` : JSON.stringify(pe);
    const entry = { pe, key, value: item };
    all.push(entry);
    if (first.has(key)) return;
    first.set(key, item);
    order.push(entry);
  });
  return { order, first, all };
}

interface Rules {
  /**
   * Called on leaves (scalars, atomic values, and containers empty on both sides); returns the
   * output. `path` is the walker's own stack, valid only during the call: copy it to keep it.
   */
  leaf(path: Path, l: V, r: V): V;
  /** Called after a non-leaf node's children. */
  post?(path: Path, l: V, r: V): void;
  /** Keep repeated items of the left list that the right one does not mention (merge only). */
  keepDuplicates?: boolean;
}

function emptyMap(v: V): boolean {
  return !isJsonObject(v) || Object.keys(v).length === 0;
}

function emptyList(v: V): boolean {
  return !Array.isArray(v) || v.length === 0;
}

/** The merging walker: visits lhs and rhs together, as typed.merge does. */
function walk(l: V, r: V, s: SchemaNode | undefined, path: PathElement[], rules: Rules): V {
  const a = atomOf(s, r !== undefined && r !== null ? r : l);
  if (a.kind === 'scalar' || !fits(a, l) || !fits(a, r)) return rules.leaf(path, l, r);
  if (a.kind === 'map') {
    if (a.atomic || (emptyMap(l) && emptyMap(r))) return rules.leaf(path, l, r);
    const lm = isJsonObject(l) ? l : undefined;
    const rm = isJsonObject(r) ? r : undefined;
    const out: JsonObject = {};
    const visit = (k: string, lv: V, rv: V): void => {
      path.push({ field: k });
      const child = walk(lv, rv, fieldSchema(a, k).schema, path, rules);
      path.pop();
      if (child !== undefined) put(out, k, child);
    };
    if (lm) for (const k of Object.keys(lm)) visit(k, lm[k], rm && hasKey(rm, k) ? rm[k] : undefined);
    if (rm) for (const k of Object.keys(rm)) if (!lm || !hasKey(lm, k)) visit(k, undefined, rm[k]);
    rules.post?.(path, l, r);
    return Object.keys(out).length > 0 ? out : undefined;
  }
  if (a.rel === 'atomic' || (emptyList(l) && emptyList(r))) return rules.leaf(path, l, r);
  const out = mergeListItems(a, Array.isArray(l) ? l : [], Array.isArray(r) ? r : [], path, rules);
  rules.post?.(path, l, r);
  return out.length > 0 ? out : undefined;
}

/**
 * Items of both lists, in the right list's order, left-only items where they were: the
 * ordering of structured-merge-diff's visitListItems.
 */
function mergeListItems(a: Atom & { kind: 'list' }, l: readonly Json[], r: readonly Json[], path: PathElement[], rules: Rules): Json[] {
  const lhs = indexList(a, l);
  const rhs = indexList(a, r);
  const out: Json[] = [];
  const item = (pe: PathElement, lv: V, rv: V): void => {
    path.push(pe);
    const v = walk(lv, rv, a.items, path, rules);
    path.pop();
    if (v !== undefined) out.push(v);
  };
  const leftOnly = (e: Indexed): void => {
    if (!rules.keepDuplicates) return item(e.pe, e.value, undefined);
    for (const d of lhs.all) if (d.key === e.key) item(d.pe, d.value, undefined);
  };
  const shared = rhs.order.filter((e) => lhs.first.has(e.key));
  let next = shared.shift();
  let li = 0;
  let ri = 0;
  while (li < lhs.order.length || ri < rhs.order.length) {
    const le = lhs.order[li];
    const re = rhs.order[ri];
    if (le && re) {
      if (le.key === re.key) {
        item(le.pe, le.value, re.value);
        li++;
        ri++;
        next = shared.shift();
        continue;
      }
      if (rhs.first.has(le.key) && next && next.key !== le.key) {
        li++; // a shared item whose turn comes with the right list
        continue;
      }
    }
    if (le && !rhs.first.has(le.key)) {
      leftOnly(le);
      li++;
      continue;
    }
    if (re) {
      item(re.pe, lhs.first.get(re.key), re.value);
      ri++;
      if (next && next.key === re.key) next = shared.shift();
      continue;
    }
    li++; // only reachable for a shared left item already merged: skip it
  }
  return out;
}

/** The live object with the applied configuration merged in (typed.Merge). */
export function mergeValues(live: V, config: V, s: SchemaNode | undefined): V {
  return walk(live, config, s, [], {
    leaf: (_p, l, r) => structuredClone(r !== undefined ? r : l),
    keepDuplicates: true,
  });
}

export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

/** Which fields turned up, changed or went away from lhs to rhs (typed.Compare). */
export function compareValues(lhs: V, rhs: V, s: SchemaNode | undefined): Comparison {
  const c: Comparison = { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
  walk(lhs, rhs, s, [], {
    leaf(p, l, r) {
      if (l === undefined) c.added.insert(p);
      else if (r === undefined) c.removed.insert(p);
      else if (!jsonEqual(l, r)) c.modified.insert(p);
      return undefined;
    },
    post(p, l, r) {
      if (l === undefined) c.added.insert(p);
      else if (r === undefined) c.removed.insert(p);
    },
  });
  return c;
}

/** The fields a value sets (TypedValue.ToFieldSet): leaves, list items and map entries. */
export function toFieldSet(v: V, s: SchemaNode | undefined): FieldSet {
  const set = new FieldSet();
  const visit = (val: V, node: SchemaNode | undefined, path: PathElement[]): void => {
    const a = atomOf(node, val);
    if (a.kind === 'scalar' || !fits(a, val)) {
      set.insert(path);
      return;
    }
    if (a.kind === 'list') {
      if (a.rel === 'atomic') set.insert(path);
      else if (Array.isArray(val)) {
        val.forEach((child, i) => {
          const pe = listItemElement(a, child, i);
          if (typeof pe === 'string') return;
          visit(child, a.items, [...path, pe]);
          set.insert([...path, pe]);
        });
      }
      return;
    }
    if (a.atomic) {
      set.insert(path);
      return;
    }
    if (!isJsonObject(val)) return;
    for (const k of Object.keys(val)) {
      const f = fieldSchema(a, k);
      visit(val[k], f.schema, [...path, { field: k }]);
      if (!f.declared) set.insert([...path, { field: k }]);
    }
  };
  visit(v, s, []);
  return set;
}

/** The value without the paths in toRemove (a removed item takes everything below it). */
export function removeItems(v: V, toRemove: FieldSet, s: SchemaNode | undefined): V {
  if (toRemove.empty()) return v;
  const a = atomOf(s, v);
  if (a.kind === 'scalar' || !fits(a, v)) return v;
  if (a.kind === 'list') {
    if (!Array.isArray(v) || v.length === 0 || a.rel === 'atomic') return undefined;
    const out: Json[] = [];
    v.forEach((item, i) => {
      const pe = listItemElement(a, item, i);
      if (typeof pe === 'string') {
        out.push(item);
        return;
      }
      if (toRemove.has([pe])) return;
      const sub = toRemove.withPrefix(pe);
      const kept = sub.empty() ? item : removeItems(item, sub, a.items);
      if (kept !== undefined) out.push(kept);
    });
    return out.length > 0 ? out : undefined;
  }
  if (!isJsonObject(v) || Object.keys(v).length === 0 || a.atomic) return undefined;
  const out: JsonObject = {};
  for (const k of Object.keys(v)) {
    const pe: PathElement = { field: k };
    if (toRemove.has([pe])) continue;
    const sub = toRemove.withPrefix(pe);
    const kept = sub.empty() ? v[k] : removeItems(v[k], sub, fieldSchema(a, k).schema);
    if (kept !== undefined) put(out, k, kept);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** One reason an applied configuration does not fit its schema (typed.ValidationError). */
export interface ValidationError {
  path: Path;
  message: string;
}

/** ValidationErrors.Error(): one error bare, several as "errors:" and an indented line each. */
export function validationErrorsString(errs: readonly ValidationError[]): string {
  const one = (e: ValidationError): string => (e.path.length ? `${pathString(e.path)}: ${e.message}` : e.message);
  if (errs.length === 1 && errs[0]) return one(errs[0]);
  return ['errors:', ...errs.map((e) => `  ${one(e)}`)].join('\n');
}

function describe(v: Json): string {
  return `${goFormat(v)}`;
}

function scalarError(node: SchemaNode | undefined, v: Json): string | undefined {
  if (v === null || !node || node.preserveUnknownFields) return undefined;
  if (node.intOrString) return typeof v === 'number' || typeof v === 'string' ? undefined : `expected numeric (int or float) or string, got ${describe(v)}`;
  if (node.type === 'integer' || node.type === 'number') return typeof v === 'number' ? undefined : `expected numeric (int or float), got ${describe(v)}`;
  if (node.type === 'string') return typeof v === 'string' ? undefined : `expected string, got ${describe(v)}`;
  if (node.type === 'boolean') return typeof v === 'boolean' ? undefined : `expected boolean, got ${describe(v)}`;
  return undefined;
}

/**
 * What stops a configuration from being read through the schema (ObjectToTyped): fields the
 * schema does not declare, values of the wrong kind, list items without their keys, repeats.
 */
export function validateConfig(v: Json, s: SchemaNode | undefined): ValidationError[] {
  const errs: ValidationError[] = [];
  const visit = (val: Json, node: SchemaNode | undefined, path: PathElement[]): void => {
    const a = atomOf(node, val);
    if (a.kind === 'scalar') {
      const e = scalarError(a.schema, val);
      if (e) errs.push({ path, message: e });
      return;
    }
    if (val === null) return;
    if (a.kind === 'map') {
      if (!isJsonObject(val)) {
        errs.push({ path, message: `expected map, got ${describe(val)}` });
        return;
      }
      for (const k of Object.keys(val)) {
        const f = fieldSchema(a, k);
        const child: PathElement[] = [...path, { field: k }];
        if (!f.known) {
          errs.push({ path: child, message: 'field not declared in schema' });
          continue;
        }
        visit(val[k] ?? null, f.schema, child);
      }
      return;
    }
    if (!Array.isArray(val)) {
      errs.push({ path, message: `expected list, got ${describe(val)}` });
      return;
    }
    const seen = new Set<string>();
    val.forEach((item, i) => {
      const pe = listItemElement(a, item, i);
      if (typeof pe === 'string') {
        errs.push({ path, message: `element ${i}: ${pe}` });
        return;
      }
      const key = JSON.stringify(pe);
      if (a.rel !== 'atomic' && seen.has(key)) {
        errs.push({ path, message: `duplicate entries for key ${pathString([pe])}` });
        return;
      }
      seen.add(key);
      visit(item, a.items, [...path, pe]);
    });
  };
  visit(v, s, []);
  return errs;
}

/**
 * Go struct types that Kubernetes' objects hold by value (not by pointer), so that they are
 * present, empty, in a new object: the object a create or an apply-create starts from.
 */
const valueStructs = new Set([
  'ObjectMeta',
  'ServiceSpec',
  'ServiceStatus',
  'LoadBalancerStatus',
  'PodTemplateSpec',
  'PodSpec',
  'PodStatus',
  'DeploymentSpec',
  'DeploymentStatus',
  'DeploymentStrategy',
  'ReplicaSetSpec',
  'ReplicaSetStatus',
  'NamespaceSpec',
  'NamespaceStatus',
  'NodeSpec',
  'NodeStatus',
  'NodeSystemInfo',
  'NodeDaemonEndpoints',
  'DaemonEndpoint',
  'LeaseSpec',
  'ScaleSpec',
  'ScaleStatus',
]);

function isStruct(s: SchemaNode): boolean {
  return s.properties !== undefined;
}

function zeroOf(s: SchemaNode): Json {
  if (s.intOrString) return null;
  if (s.type === 'string') return '';
  if (s.type === 'integer' || s.type === 'number') return 0;
  if (s.type === 'boolean') return false;
  return null;
}

function zeroStruct(s: SchemaNode, root: boolean): JsonObject {
  const out: JsonObject = {};
  for (const [k, child] of Object.entries(s.properties ?? {})) {
    const byValue = isStruct(child) && (valueStructs.has(child.typeName ?? '') || (root && !child.typeName && ['metadata', 'spec', 'status'].includes(k)));
    if (byValue) put(out, k, zeroStruct(child, false));
    else if (s.required?.includes(k) && !(root && (k === 'apiVersion' || k === 'kind'))) put(out, k, zeroOf(child));
  }
  return out;
}

/**
 * A new, empty object of the schema's kind as Go's zero value serializes it: struct fields
 * held by value are there, empty; required fields are there, zero or null. A create is
 * compared with it, so that (as in Kubernetes) a created Deployment's spec and template are
 * not themselves owned, only what is set inside them.
 */
export function zeroObject(s: SchemaNode | undefined): JsonObject {
  if (!s?.properties) return {};
  return zeroStruct(s, true);
}

/**
 * The object as a Go struct would hold it: fields the schema does not declare are dropped, and
 * so are fields set to null. Free-form parts (preserve-unknown-fields, maps' values) are kept.
 */
export function dropUndeclared(v: Json, s: SchemaNode | undefined): Json {
  const a = atomOf(s, v);
  if (a.kind === 'scalar' || !fits(a, v) || v === null) return v;
  if (a.kind === 'list') {
    return Array.isArray(v) ? v.map((item) => dropUndeclared(item, a.items)) : v;
  }
  if (!isJsonObject(v) || a.open) return v;
  const out: JsonObject = {};
  for (const k of Object.keys(v)) {
    const f = fieldSchema(a, k);
    const child = v[k];
    if (!f.known || child === undefined) continue;
    if (child === null && f.declared) continue;
    put(out, k, dropUndeclared(child, f.schema));
  }
  return out;
}
