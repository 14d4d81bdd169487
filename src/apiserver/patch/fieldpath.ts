// Field paths and sets of them, as sigs.k8s.io/structured-merge-diff/fieldpath defines them:
// what a managedFields entry owns. A path is a list of elements: a struct or map field
// (f:name), a list item by its keys (k:{"port":80,"protocol":"TCP"}), a set item by value
// (v:"a"), or an atomic list's item by index (i:0). The FieldsV1 encoding is a JSON object tree
// of those element strings; "." marks a node that is itself a member and also has children.
import { goJson, goQuote, goFormat, hasKey, isJsonObject, put, type Json, type JsonObject } from './go.ts';

export type PathElement =
  | { readonly field: string }
  | { readonly key: ReadonlyArray<readonly [string, Json]> }
  | { readonly value: Json }
  | { readonly index: number };

export type Path = readonly PathElement[];

// value.Compare's order of kinds: numbers, strings, booleans, lists, maps, null.
function kindRank(v: Json): number {
  if (typeof v === 'number') return 0;
  if (typeof v === 'string') return 1;
  if (typeof v === 'boolean') return 2;
  if (Array.isArray(v)) return 3;
  if (v === null) return 5;
  return 4;
}

/** A total order on JSON values, as structured-merge-diff's value.Compare. */
export function compareValues(a: Json, b: Json): number {
  const ka = kindRank(a);
  const kb = kindRank(b);
  if (ka !== kb) return ka < kb ? -1 : 1;
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'boolean' && typeof b === 'boolean') return a === b ? 0 : a ? 1 : -1;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const c = compareValues(a[i] ?? null, b[i] ?? null);
      if (c !== 0) return c;
    }
    return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
  }
  if (isJsonObject(a) && isJsonObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) {
      if (!hasKey(a, k)) return 1;
      if (!hasKey(b, k)) return -1;
      const c = compareValues(a[k] ?? null, b[k] ?? null);
      if (c !== 0) return c;
    }
    return 0;
  }
  return 0;
}

function compareKeys(ka: ReadonlyArray<readonly [string, Json]>, kb: ReadonlyArray<readonly [string, Json]>): number {
  for (let i = 0; ; i++) {
    if (i >= ka.length && i >= kb.length) return 0;
    if (i >= ka.length) return -1;
    if (i >= kb.length) return 1;
    const [na, va] = ka[i] ?? ['', null];
    const [nb, vb] = kb[i] ?? ['', null];
    if (na !== nb) return na < nb ? -1 : 1;
    const c = compareValues(va, vb);
    if (c !== 0) return c;
  }
}

/** Orders path elements: fields, then keys, then values, then indexes (PathElement.Compare). */
export function comparePathElements(a: PathElement, b: PathElement): number {
  if ('field' in a) {
    if (!('field' in b)) return -1;
    return a.field < b.field ? -1 : a.field > b.field ? 1 : 0;
  }
  if ('field' in b) return 1;
  if ('key' in a) {
    if (!('key' in b)) return -1;
    return compareKeys(a.key, b.key);
  }
  if ('key' in b) return 1;
  if ('value' in a) {
    if (!('value' in b)) return -1;
    return compareValues(a.value, b.value);
  }
  if ('value' in b) return 1;
  return a.index < b.index ? -1 : a.index > b.index ? 1 : 0;
}

/** value.ToString: how a value prints inside a path ("TCP" quoted, 80 bare). */
function valueToString(v: Json): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return goQuote(v);
  if (typeof v === 'number' || typeof v === 'boolean') return goFormat(v);
  if (Array.isArray(v)) return `[${v.map(valueToString).join(',')}]`;
  return Object.keys(v)
    .sort()
    .map((k) => `${k}=${valueToString(v[k] ?? null)}`)
    .join('');
}

/** PathElement.String(): ".ports", "[port=80,protocol=\"TCP\"]", "[=\"a\"]", "[0]". */
export function pathElementString(pe: PathElement): string {
  if ('field' in pe) return `.${pe.field}`;
  if ('key' in pe) return `[${pe.key.map(([n, v]) => `${n}=${valueToString(v)}`).join(',')}]`;
  if ('value' in pe) return `[=${valueToString(pe.value)}]`;
  return `[${pe.index}]`;
}

/** Path.String(): ".spec.ports[port=80,protocol=\"TCP\"].targetPort". */
export function pathString(p: Path): string {
  return p.map(pathElementString).join('');
}

/** The FieldsV1 key of a path element: f:name, k:{...}, v:value, i:index. */
export function serializePathElement(pe: PathElement): string {
  if ('field' in pe) return `f:${pe.field}`;
  if ('key' in pe) return `k:{${pe.key.map(([n, v]) => `${goJson(n)}:${goJson(v)}`).join(',')}}`;
  if ('value' in pe) return `v:${goJson(pe.value)}`;
  return `i:${pe.index}`;
}

/** Thrown for a FieldsV1 key that is not a path element. */
export class FieldsV1Error extends Error {}

/** Unknown element kinds are skipped, as a newer version might know them. */
const unknownKind = Symbol('unknown');

export function deserializePathElement(s: string): PathElement | typeof unknownKind {
  if (s.length < 2) throw new FieldsV1Error('key must be 2 characters long:');
  if (s[1] !== ':') throw new FieldsV1Error(`missing colon: ${s}`);
  const rest = s.slice(2);
  switch (s[0]) {
    case 'f':
      return { field: rest };
    case 'v':
      return { value: parseElementJson(rest) };
    case 'k': {
      const obj = parseElementJson(rest);
      if (!isJsonObject(obj)) throw new FieldsV1Error(`parsing key as path element: expected an object, got ${rest}`);
      const key = Object.keys(obj)
        .sort()
        .map((n) => [n, obj[n] ?? null] as const);
      return { key };
    }
    case 'i': {
      if (!/^[+-]?\d+$/.test(rest)) throw new FieldsV1Error(`strconv.Atoi: parsing ${goQuote(rest)}: invalid syntax`);
      return { index: Number(rest) };
    }
    default:
      return unknownKind;
  }
}

function parseElementJson(s: string): Json {
  try {
    return JSON.parse(s) as Json;
  } catch (e) {
    throw new FieldsV1Error(`parsing key as path element: ${(e as Error).message}`);
  }
}

interface Child {
  pe: PathElement;
  set: FieldSet;
}

function sortedMembers(m: Map<string, PathElement>): PathElement[] {
  return [...m.values()].sort(comparePathElements);
}

function sortedChildren(c: Map<string, Child>): Child[] {
  return [...c.values()].sort((a, b) => comparePathElements(a.pe, b.pe));
}

/**
 * A set of paths (fieldpath.Set): each node has members (paths ending here) and children
 * (subtrees). The empty path is never a member: the object as a whole is not tracked.
 *
 * A set is built by inserts and then only read: union, difference and the like return new
 * sets that share the subtrees they leave unchanged (every write computes several of them, and
 * copying whole trees each time cost more than the rest). A set that an operation has seen is
 * sealed, so an insert into a shared subtree fails loudly instead of changing other sets.
 */
export class FieldSet {
  readonly #members = new Map<string, PathElement>();
  readonly #children = new Map<string, Child>();
  #sealed = false;

  static of(...paths: Path[]): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.insert(p);
    return s;
  }

  insert(path: Path): void {
    if (this.#sealed) throw new Error('FieldSet: insert into a set that operations already share');
    if (path.length > 0) this.#insertFrom(path, 0);
  }

  /** Marks this set (and so its subtrees, which only it reaches by insert) as shared. */
  #seal(): this {
    this.#sealed = true;
    return this;
  }

  // By index, without slicing the path: inserts run for every field of every write.
  #insertFrom(path: Path, i: number): void {
    const pe = path[i];
    if (i === path.length - 1) this.#members.set(serializePathElement(pe), pe);
    else this.#child(pe).#insertFrom(path, i + 1);
  }

  #child(pe: PathElement, k = serializePathElement(pe)): FieldSet {
    let c = this.#children.get(k);
    if (!c) {
      c = { pe, set: new FieldSet() };
      this.#children.set(k, c);
    }
    return c.set;
  }

  has(path: Path): boolean {
    return path.length > 0 && this.#hasFrom(path, 0);
  }

  #hasFrom(path: Path, i: number): boolean {
    const k = serializePathElement(path[i]);
    if (i === path.length - 1) return this.#members.has(k);
    const c = this.#children.get(k);
    return c !== undefined && c.set.#hasFrom(path, i + 1);
  }

  /** The paths below pe, without pe (Set.WithPrefix). */
  withPrefix(pe: PathElement): FieldSet {
    return this.#children.get(serializePathElement(pe))?.set ?? new FieldSet();
  }

  empty(): boolean {
    return this.#members.size === 0 && this.#children.size === 0;
  }

  union(o: FieldSet): FieldSet {
    this.#seal();
    o.#seal();
    if (o.empty()) return this;
    if (this.empty()) return o;
    const out = new FieldSet();
    for (const [k, pe] of this.#members) out.#members.set(k, pe);
    for (const [k, pe] of o.#members) out.#members.set(k, pe);
    for (const [k, c] of this.#children) {
      const theirs = o.#children.get(k);
      out.#children.set(k, theirs ? { pe: c.pe, set: c.set.union(theirs.set) } : c);
    }
    for (const [k, c] of o.#children) if (!this.#children.has(k)) out.#children.set(k, c);
    return out.#seal();
  }

  intersection(o: FieldSet): FieldSet {
    this.#seal();
    o.#seal();
    const out = new FieldSet();
    for (const [k, pe] of this.#members) if (o.#members.has(k)) out.#members.set(k, pe);
    for (const [k, c] of this.#children) {
      const theirs = o.#children.get(k);
      if (!theirs) continue;
      const i = c.set.intersection(theirs.set);
      if (!i.empty()) out.#children.set(k, { pe: c.pe, set: i });
    }
    return out.#seal();
  }

  /** Members of this set that o does not have; o's members do not take children with them. */
  difference(o: FieldSet): FieldSet {
    this.#seal();
    o.#seal();
    if (o.empty()) return this;
    const out = new FieldSet();
    for (const [k, pe] of this.#members) if (!o.#members.has(k)) out.#members.set(k, pe);
    for (const [k, c] of this.#children) {
      const theirs = o.#children.get(k);
      if (!theirs) {
        out.#children.set(k, c);
        continue;
      }
      const d = c.set.difference(theirs.set);
      if (!d.empty()) out.#children.set(k, { pe: c.pe, set: d });
    }
    return out.#seal();
  }

  /** Like difference, but a member of o also removes everything below it. */
  recursiveDifference(o: FieldSet): FieldSet {
    this.#seal();
    o.#seal();
    if (o.empty()) return this;
    const out = new FieldSet();
    for (const [k, pe] of this.#members) if (!o.#members.has(k)) out.#members.set(k, pe);
    for (const [k, c] of this.#children) {
      if (o.#members.has(k)) continue;
      const theirs = o.#children.get(k);
      if (!theirs) {
        out.#children.set(k, c);
        continue;
      }
      const d = c.set.recursiveDifference(theirs.set);
      if (!d.empty()) out.#children.set(k, { pe: c.pe, set: d });
    }
    return out.#seal();
  }

  copy(): FieldSet {
    const out = new FieldSet();
    for (const [k, pe] of this.#members) out.#members.set(k, pe);
    for (const [k, c] of this.#children) out.#children.set(k, { pe: c.pe, set: c.set.copy() });
    return out;
  }

  equals(o: FieldSet): boolean {
    if (this.#members.size !== o.#members.size || this.#children.size !== o.#children.size) return false;
    for (const k of this.#members.keys()) if (!o.#members.has(k)) return false;
    for (const [k, c] of this.#children) {
      const theirs = o.#children.get(k);
      if (!theirs || !c.set.equals(theirs.set)) return false;
    }
    return true;
  }

  /** Every member path in Set.Iterate's order: a node's members, then its children in order. */
  paths(): Path[] {
    const out: Path[] = [];
    this.#collect([], out);
    return out;
  }

  #collect(prefix: PathElement[], out: Path[]): void {
    for (const pe of sortedMembers(this.#members)) out.push([...prefix, pe]);
    for (const c of sortedChildren(this.#children)) c.set.#collect([...prefix, c.pe], out);
  }

  size(): number {
    return this.paths().length;
  }

  /** The FieldsV1 encoding, keys in the order structured-merge-diff writes them. */
  toFieldsV1(): JsonObject {
    return this.#emit(false);
  }

  #emit(includeSelf: boolean): JsonObject {
    const out: JsonObject = {};
    if (includeSelf && !this.empty()) out['.'] = {};
    const members = sortedMembers(this.#members);
    const children = sortedChildren(this.#children);
    let mi = 0;
    let ci = 0;
    while (mi < members.length || ci < children.length) {
      const m = members[mi];
      const c = children[ci];
      const order = m && c ? comparePathElements(m, c.pe) : m ? -1 : 1;
      if (order < 0 && m) {
        put(out, serializePathElement(m), {});
        mi++;
      } else if (c) {
        put(out, serializePathElement(c.pe), c.set.#emit(order === 0));
        if (order === 0) mi++;
        ci++;
      }
    }
    return out;
  }

  /** Decodes FieldsV1; unknown element kinds are dropped, malformed keys throw FieldsV1Error. */
  static fromFieldsV1(fields: Json | undefined): FieldSet {
    const out = new FieldSet();
    if (fields === undefined || fields === null) return out;
    if (!isJsonObject(fields)) throw new FieldsV1Error('expected a JSON object');
    out.#read(fields);
    return out;
  }

  #read(obj: JsonObject): void {
    for (const key of Object.keys(obj)) {
      if (key === '.') continue;
      const pe = deserializePathElement(key);
      if (pe === unknownKind) continue;
      const sub = obj[key];
      if (sub !== null && sub !== undefined && !isJsonObject(sub)) throw new FieldsV1Error(`expected a JSON object at ${key}`);
      const child = new FieldSet();
      child.#read(sub ?? {});
      // A node is a member when marked "." or when nothing (known) lies below it.
      if (child.empty() || hasKey(sub ?? {}, '.')) this.#members.set(serializePathElement(pe), pe);
      if (!child.empty()) {
        const k = serializePathElement(pe);
        const mine = this.#children.get(k);
        this.#children.set(k, { pe, set: mine ? mine.set.union(child) : child });
      }
    }
  }
}
