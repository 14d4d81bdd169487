// Strategic merge patch (application/strategic-merge-patch+json), the server half of
// k8s.io/apimachinery/pkg/util/strategicpatch: StrategicMergeMapPatch with MergeParallelList
// and IgnoreUnmatchedNulls, as kube-apiserver applies what kubectl apply/patch/edit send.
//
// Types come from the schema's patch markers (x-kubernetes-patch-strategy and -merge-key, the
// Go struct tags): maps merge key by key and null deletes a key; lists replace unless their
// strategy is merge, then maps merge by the merge key and scalars merge as a set. Directives:
// $patch (replace|delete in a map; replace|delete in a list item), $retainKeys,
// $deleteFromPrimitiveList/<list>, $setElementOrder/<list>.
//
// Where Go takes a patch value verbatim because the live object lacks the key, this merges it
// into an empty value instead, so that directives and nulls inside are applied rather than
// stored (Go would persist a `$patch` element in a list that is absent from the live object).
// Deleting from an absent primitive list is a no-op (Go would add the items).
import type { SchemaNode } from '../../api/schema/index.ts';
import { goFormat, goTypeName, hasKey, isJsonObject, put, type Json, type JsonObject } from './go.ts';

const directiveMarker = '$patch';
const retainKeysDirective = '$retainKeys';
const deleteFromPrimitiveListPrefix = '$deleteFromPrimitiveList';
const setElementOrderPrefix = '$setElementOrder';

/** How kube-apiserver answers a strategic merge patch failure (interpretStrategicMergePatchError). */
export type SmpErrorKind = 'BadRequest' | 'Unprocessable' | 'Internal';

export class SmpError extends Error {
  readonly kind: SmpErrorKind;
  constructor(message: string, kind: SmpErrorKind) {
    super(message);
    this.name = 'SmpError';
    this.kind = kind;
  }
}

// mergepatch's errors, by the status kube-apiserver gives them.
const bad = (m: string): SmpError => new SmpError(m, 'BadRequest');
const internal = (m: string): SmpError => new SmpError(m, 'Internal');
const errBadPatchFormatForPrimitiveList = (): SmpError => bad('invalid patch format of primitive list');
const errBadPatchFormatForRetainKeys = (): SmpError => bad('invalid patch format of retainKeys');
const errBadPatchFormatForSetElementOrderList = (): SmpError => bad('invalid patch format of setElementOrder list');
const errNoListOfLists = (): SmpError => new SmpError('lists of lists are not supported', 'Unprocessable');
const errNoMergeKey = (m: JsonObject, key: string): SmpError => internal(`map: ${goFormat(m)} does not contain declared merge key: ${key}`);
const errBadArgType = (expected: 'map' | 'slice', actual: Json | undefined): SmpError =>
  internal(`expected a ${expected === 'map' ? 'map[string]interface {}' : '[]interface {}'}, but received a ${goTypeName(actual)}`);
const errBadPatchType = (t: Json | undefined, m: JsonObject): SmpError =>
  internal(`unknown patch type: ${typeof t === 'string' ? t : goFormat(t)} in map: ${goFormat(m)}`);

/** Applies a strategic merge patch to a copy of original. */
export function strategicMergePatch(original: JsonObject, patch: JsonObject, schema: SchemaNode | undefined): JsonObject {
  return mergeMap(structuredClone(original), structuredClone(patch), schema);
}

interface PatchMeta {
  schema: SchemaNode | undefined;
  /** "merge", "replace" or "" (the retainKeys part is dropped: it only shapes client-side diffs). */
  strategy: string;
  mergeKey: string;
}

const noMeta: PatchMeta = { schema: undefined, strategy: '', mergeKey: '' };

function strategyOf(s: SchemaNode | undefined): string {
  const parts = s?.patchStrategy ? s.patchStrategy.split(',') : [];
  if (parts.length === 0) return '';
  if (parts.length === 1) return parts[0] === 'retainKeys' ? '' : (parts[0] ?? '');
  if (parts.length === 2 && parts[0] === 'retainKeys') return parts[1] ?? '';
  if (parts.length === 2 && parts[1] === 'retainKeys') return parts[0] ?? '';
  throw internal(`unexpected patch strategy: [${parts.join(' ')}]`);
}

/** The patch metadata of a field (LookupPatchMetadataForStruct); unknown fields of a struct fail. */
function lookup(parent: SchemaNode | undefined, key: string, strict: boolean): PatchMeta {
  if (!parent) return noMeta;
  const field = parent.properties && Object.prototype.hasOwnProperty.call(parent.properties, key) ? parent.properties[key] : undefined;
  if (field) return { schema: field, strategy: strategyOf(field), mergeKey: field.patchMergeKey ?? '' };
  // A map's values have no patch strategy of their own.
  if (parent.additionalProperties) return { schema: parent.additionalProperties, strategy: '', mergeKey: '' };
  if (parent.preserveUnknownFields || !parent.properties) {
    if (strict && (parent.items || (parent.type && parent.type !== 'object'))) {
      throw internal(`merging an object in json but data type is not map or struct, instead is: ${parent.items ? 'slice' : parent.type}`);
    }
    return noMeta;
  }
  if (!strict) return noMeta;
  throw internal(`unable to find api field in struct ${parent.typeName ?? ''} for the json field ${JSON.stringify(key)}`);
}

/** Go's reflect kind of a decoded JSON value, for "types differ" and list element checks. */
type GoKind = 'map' | 'slice' | 'string' | 'int' | 'float' | 'bool' | 'nil';

function goKind(v: Json | undefined): GoKind {
  if (v === null || v === undefined) return 'nil';
  if (Array.isArray(v)) return 'slice';
  if (typeof v === 'object') return 'map';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  return Number.isInteger(v) ? 'int' : 'float';
}

function mergeMap(original: JsonObject, patch: JsonObject, schema: SchemaNode | undefined): JsonObject {
  if (hasKey(patch, directiveMarker)) return handleDirectiveInMergeMap(patch[directiveMarker], patch);
  applyRetainKeysDirective(original, patch);
  mergePatchIntoOriginal(original, patch, schema);

  // Deletion lists after the rest, so that a list's additions and removals do not race.
  const keys = Object.keys(patch);
  const ordered = [...keys.filter((k) => !k.startsWith(deleteFromPrimitiveListPrefix)), ...keys.filter((k) => k.startsWith(deleteFromPrimitiveListPrefix))];
  for (const k of ordered) {
    const patchV = patch[k] ?? null;
    let key = k;
    const isDeleteList = k.startsWith(deleteFromPrimitiveListPrefix);
    if (isDeleteList) {
      key = extractKey(k, deleteFromPrimitiveListPrefix);
      if (patchV !== null && !Array.isArray(patchV)) throw errBadPatchFormatForPrimitiveList();
    }
    if (patchV === null) {
      delete original[key];
      continue;
    }
    if (!hasKey(original, key)) {
      if (!isDeleteList) put(original, key, fresh(patchV, () => lookup(schema, key, false)));
      continue;
    }
    const origV = original[key] ?? null;
    if (goKind(origV) !== goKind(patchV)) {
      put(original, key, fresh(patchV, () => lookup(schema, key, false)));
      continue;
    }
    if (isJsonObject(origV) && isJsonObject(patchV)) {
      const meta = lookup(schema, key, true);
      put(original, key, meta.strategy === 'replace' ? patchV : mergeMap(origV, patchV, meta.schema));
    } else if (Array.isArray(origV) && Array.isArray(patchV)) {
      put(original, key, mergeSliceHandler(origV, patchV, lookup(schema, key, true), isDeleteList));
    } else {
      put(original, key, patchV);
    }
  }
  return original;
}

/** A patch value for a key the original lacks, with its directives applied to nothing. */
function fresh(v: Json, meta: () => PatchMeta): Json {
  if (isJsonObject(v)) return mergeMap({}, v, meta().schema);
  if (Array.isArray(v)) return mergeSliceHandler([], v, meta(), false);
  return v;
}

function handleDirectiveInMergeMap(directive: Json | undefined, patch: JsonObject): JsonObject {
  if (directive === 'replace') {
    delete patch[directiveMarker];
    return patch;
  }
  if (directive === 'delete') return {};
  throw errBadPatchType(directive, patch);
}

function extractKey(s: string, prefix: string): string {
  const i = s.indexOf('/');
  if (i < 0 || s.slice(0, i) !== prefix) {
    throw prefix === deleteFromPrimitiveListPrefix ? errBadPatchFormatForPrimitiveList() : errBadPatchFormatForSetElementOrderList();
  }
  return s.slice(i + 1);
}

/** $retainKeys: fields of original missing from the list are cleared; the patch may set only listed ones. */
function applyRetainKeysDirective(original: JsonObject, patch: JsonObject): void {
  if (!hasKey(patch, retainKeysDirective)) return;
  const retain = patch[retainKeysDirective];
  delete patch[retainKeysDirective];
  if (!Array.isArray(retain)) throw errBadPatchFormatForRetainKeys();
  const keep = new Set(retain.filter((k): k is string => typeof k === 'string'));
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith(deleteFromPrimitiveListPrefix) || k.startsWith(setElementOrderPrefix)) continue;
    if (!keep.has(k)) throw errBadPatchFormatForRetainKeys();
  }
  for (const k of Object.keys(original)) if (!keep.has(k)) delete original[k];
}

/**
 * $setElementOrder/<list>: merges the list (if the patch has it) and puts the result in the
 * given order, keeping items only the server has where they were relative to their neighbours.
 */
function mergePatchIntoOriginal(original: JsonObject, patch: JsonObject, schema: SchemaNode | undefined): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(setElementOrderPrefix)) continue;
    const order = patch[key];
    delete patch[key];
    if (!Array.isArray(order)) throw errBadArgType('slice', order);
    const listKey = extractKey(key, setElementOrderPrefix);
    const foundOriginal = hasKey(original, listKey);
    const foundPatch = hasKey(patch, listKey);
    const originalList = original[listKey];
    const patchList = patch[listKey];
    if (foundOriginal && !Array.isArray(originalList)) throw errBadArgType('slice', originalList);
    if (foundPatch && !Array.isArray(patchList)) throw errBadArgType('slice', patchList);
    const origItems = Array.isArray(originalList) ? originalList : [];
    const patchItems = Array.isArray(patchList) ? patchList : [];
    const meta = lookup(schema, listKey, true);
    validatePatchWithSetOrderList(patchItems, order, meta.mergeKey);

    let merged: Json[];
    if (foundOriginal && !foundPatch) merged = origItems;
    else if (foundPatch) merged = mergeSliceHandler(origItems, patchItems, meta, false);
    else continue;

    const kinds = elementKind(origItems, patchItems);
    if (kinds === undefined) {
      put(original, listKey, merged);
      delete patch[listKey];
      continue;
    }
    const [inOrder, serverOnly] = meta.mergeKey ? partitionMaps(merged, order, meta.mergeKey) : partitionPrimitives(merged, order);
    put(original, listKey, normalizeElementOrder(inOrder, serverOnly, order, origItems, meta.mergeKey, kinds));
    delete patch[listKey];
  }
}

function containsDirectiveMarker(v: Json): boolean {
  return isJsonObject(v) && hasKey(v, directiveMarker);
}

function mergeKeyValueEqual(l: Json, r: Json, mergeKey: string): boolean {
  if (!mergeKey) return l === r;
  if (!isJsonObject(l)) throw errBadArgType('map', l);
  if (!isJsonObject(r)) throw errBadArgType('map', r);
  if (!hasKey(l, mergeKey)) throw errNoMergeKey(l, mergeKey);
  if (!hasKey(r, mergeKey)) throw errNoMergeKey(r, mergeKey);
  return l[mergeKey] === r[mergeKey];
}

/** The patch list's items (deletions aside) must appear in $setElementOrder, in its order. */
function validatePatchWithSetOrderList(patchList: Json[], order: Json[], mergeKey: string): void {
  if (order.length === 0 || patchList.length === 0) return;
  const [nonDelete] = mergeKey ? extractToDeleteItems(patchList) : [patchList, []];
  let pi = 0;
  let si = 0;
  while (pi < nonDelete.length && si < order.length) {
    const item = nonDelete[pi] ?? null;
    if (containsDirectiveMarker(item)) {
      pi++;
      continue;
    }
    if (mergeKeyValueEqual(item, order[si] ?? null, mergeKey)) pi++;
    si++;
  }
  if (pi < nonDelete.length && si >= order.length) {
    throw internal(`The order in patch list:\n${goFormat(patchList)}\n doesn't match ${setElementOrderPrefix} list:\n${goFormat(order)}\n`);
  }
}

function extractToDeleteItems(l: Json[]): [Json[], Json[]] {
  const keep: Json[] = [];
  const del: Json[] = [];
  for (const v of l) {
    if (!isJsonObject(v)) throw errBadArgType('map', v);
    if (v[directiveMarker] === 'delete') del.push(v);
    else keep.push(v);
  }
  return [keep, del];
}

function mergeSliceHandler(original: Json[], patch: Json[], meta: PatchMeta, isDeleteList: boolean): Json[] {
  if (meta.strategy === 'merge' || isDeleteList) return mergeSlice(original, patch, meta.schema?.items, meta.mergeKey, isDeleteList);
  return patch;
}

/** The Go kind shared by every element of the lists, undefined when they are all empty. */
function elementKind(...lists: Json[][]): GoKind | undefined {
  let kind: GoKind | undefined;
  for (const l of lists) {
    for (const v of l) {
      const k = goKind(v);
      if (kind === undefined) {
        kind = k;
        if (k === 'slice') throw errNoListOfLists();
      } else if (k !== kind) {
        throw internal(`list element types are not identical: ${goFormat(lists)}`);
      }
    }
  }
  return kind;
}

function itemGoKind(items: SchemaNode | undefined): string {
  if (items?.properties) return 'struct';
  if (items?.additionalProperties) return 'map';
  return 'interface';
}

function mergeSlice(original: Json[], patch: Json[], items: SchemaNode | undefined, mergeKey: string, isDeleteList: boolean): Json[] {
  if (original.length === 0 && patch.length === 0) return original;
  const kind = elementKind(original, patch);
  if (kind === undefined) return original;
  let merged: Json[];
  if (kind !== 'map') {
    if (isDeleteList) return original.filter((v) => !patch.includes(v));
    merged = [...new Set([...original, ...patch])];
  } else {
    if (!mergeKey) throw internal(`cannot merge lists without merge key for type ${itemGoKind(items)}`);
    [original, patch] = mergeSliceWithSpecialElements(original, patch, mergeKey);
    merged = mergeSliceWithoutSpecialElements(original, patch, mergeKey, items);
  }
  const [inPatch, serverOnly] = mergeKey ? partitionMaps(merged, patch, mergeKey) : partitionPrimitives(merged, patch);
  return normalizeElementOrder(inPatch, serverOnly, patch, original, mergeKey, kind);
}

/** $patch in list items: delete removes every item with that key, replace drops the live items. */
function mergeSliceWithSpecialElements(original: Json[], patch: Json[], mergeKey: string): [Json[], Json[]] {
  const plain: Json[] = [];
  let replace = false;
  for (const v of patch) {
    if (!isJsonObject(v) || !hasKey(v, directiveMarker)) {
      plain.push(v);
      continue;
    }
    const directive = v[directiveMarker];
    if (directive === 'delete') {
      if (!hasKey(v, mergeKey)) throw errNoMergeKey(v, mergeKey);
      original = deleteMatchingEntries(original, mergeKey, v[mergeKey] ?? null);
    } else if (directive === 'replace') {
      replace = true;
    } else if (directive === 'merge') {
      throw internal('merging lists cannot yet be specified in the patch');
    } else {
      throw errBadPatchType(directive, v);
    }
  }
  return replace ? [plain, []] : [original, plain];
}

function deleteMatchingEntries(original: Json[], mergeKey: string, value: Json): Json[] {
  return original.filter((item, i) => {
    if (!isJsonObject(item)) throw internal(`value for key ${i} is not a map.`);
    return !(hasKey(item, mergeKey) && item[mergeKey] === value);
  });
}

function findByKey(list: Json[], mergeKey: string, value: Json): number {
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    if (!isJsonObject(item)) throw internal(`value for key ${i} is not a map.`);
    if (hasKey(item, mergeKey) && item[mergeKey] === value) return i;
  }
  return -1;
}

function mergeSliceWithoutSpecialElements(original: Json[], patch: Json[], mergeKey: string, items: SchemaNode | undefined): Json[] {
  const merged = [...original];
  for (const v of patch) {
    if (!isJsonObject(v)) throw errBadArgType('map', v);
    if (!hasKey(v, mergeKey)) throw errNoMergeKey(v, mergeKey);
    const i = findByKey(merged, mergeKey, v[mergeKey] ?? null);
    const target = i >= 0 ? merged[i] : undefined;
    if (isJsonObject(target)) merged[i] = mergeMap(target, v, items);
    else merged.push(mergeMap({}, v, items));
  }
  return merged;
}

function partitionPrimitives(merged: Json[], by: Json[]): [Json[], Json[]] {
  const inPatch: Json[] = [];
  const serverOnly: Json[] = [];
  for (const v of merged) (by.includes(v) ? inPatch : serverOnly).push(v);
  return [inPatch, serverOnly];
}

function partitionMaps(merged: Json[], by: Json[], mergeKey: string): [Json[], Json[]] {
  const inPatch: Json[] = [];
  const serverOnly: Json[] = [];
  for (const v of merged) {
    if (!isJsonObject(v)) throw errBadArgType('map', v);
    if (!hasKey(v, mergeKey)) throw errNoMergeKey(v, mergeKey);
    const value = v[mergeKey];
    const found = by.some((b) => {
      if (!isJsonObject(b)) throw internal(`value for key ${by.indexOf(b)} is not a map.`);
      return hasKey(b, mergeKey) && b[mergeKey] === value;
    });
    (found ? inPatch : serverOnly).push(v);
  }
  return [inPatch, serverOnly];
}

/** Position of an item in a list, by merge key for maps (Go's index()). */
function indexIn(list: Json[], v: Json, mergeKey: string, kind: GoKind): number {
  const get = (x: Json): Json | undefined => (kind === 'map' ? (isJsonObject(x) ? x[mergeKey] : undefined) : x);
  const want = get(v);
  return list.findIndex((x) => get(x) === want);
}

function normalizeElementOrder(patch: Json[], serverOnly: Json[], patchOrder: Json[], serverOrder: Json[], mergeKey: string, kind: GoKind): Json[] {
  const p = normalizeSliceOrder(patch, patchOrder, mergeKey, kind);
  const s = normalizeSliceOrder(serverOnly, serverOrder, mergeKey, kind);
  return mergeSortedSlice(s, p, serverOrder, mergeKey, kind);
}

function normalizeSliceOrder(toSort: Json[], order: Json[], mergeKey: string, kind: GoKind): Json[] {
  let items = toSort;
  let deletions: Json[] = [];
  if (kind === 'map') {
    for (const v of [...toSort, ...order]) {
      if (!isJsonObject(v)) throw errBadArgType('map', v);
      if (!hasKey(v, mergeKey)) throw errNoMergeKey(v, mergeKey);
    }
    [items, deletions] = extractToDeleteItems(toSort);
  }
  const sorted = [...items];
  goSortStable(sorted, (a, b) => {
    const ia = indexIn(order, a, mergeKey, kind);
    if (ia >= 0) {
      const ib = indexIn(order, b, mergeKey, kind);
      if (ib >= 0) return ia < ib;
    }
    return true;
  });
  return [...sorted, ...deletions];
}

/** Interleaves server-only items (left) into the patch's items (right) by the live order. */
function mergeSortedSlice(left: Json[], right: Json[], serverOrder: Json[], mergeKey: string, kind: GoKind): Json[] {
  const out: Json[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    const l = left[i];
    const r = right[j];
    if (l === undefined) {
      out.push(r ?? null);
      j++;
    } else if (r === undefined) {
      out.push(l);
      i++;
    } else {
      const li = indexIn(serverOrder, l, mergeKey, kind);
      const ri = indexIn(serverOrder, r, mergeKey, kind);
      if (li >= 0 && ri >= 0 && li < ri) {
        out.push(l);
        i++;
      } else {
        out.push(r);
        j++;
      }
    }
  }
  return out;
}

/**
 * Go's sort.SliceStable (insertion sort in blocks of 20, then SymMerge). The less function
 * strategicpatch passes is not a strict order when items are missing from the order list, so
 * only Go's exact algorithm gives Go's result.
 */
export function goSortStable<T>(data: T[], less: (a: T, b: T) => boolean): void {
  const l = (i: number, j: number): boolean => less(data[i], data[j]);
  const swap = (i: number, j: number): void => {
    const t = data[i];
    data[i] = data[j];
    data[j] = t;
  };
  const insertionSort = (a: number, b: number): void => {
    for (let i = a + 1; i < b; i++) for (let j = i; j > a && l(j, j - 1); j--) swap(j, j - 1);
  };
  const swapRange = (a: number, b: number, n: number): void => {
    for (let i = 0; i < n; i++) swap(a + i, b + i);
  };
  const rotate = (a: number, m: number, b: number): void => {
    let i = m - a;
    let j = b - m;
    while (i !== j) {
      if (i > j) {
        swapRange(m - i, m, j);
        i -= j;
      } else {
        swapRange(m - i, m + j - i, i);
        j -= i;
      }
    }
    swapRange(m - i, m, i);
  };
  const symMerge = (a: number, m: number, b: number): void => {
    if (m - a === 1) {
      let i = m;
      let j = b;
      while (i < j) {
        const h = (i + j) >>> 1;
        if (l(h, a)) i = h + 1;
        else j = h;
      }
      for (let k = a; k < i - 1; k++) swap(k, k + 1);
      return;
    }
    if (b - m === 1) {
      let i = a;
      let j = m;
      while (i < j) {
        const h = (i + j) >>> 1;
        if (!l(m, h)) i = h + 1;
        else j = h;
      }
      for (let k = m; k > i; k--) swap(k, k - 1);
      return;
    }
    const mid = (a + b) >>> 1;
    const n = mid + m;
    let start: number;
    let r: number;
    if (m > mid) {
      start = n - b;
      r = mid;
    } else {
      start = a;
      r = m;
    }
    const p = n - 1;
    while (start < r) {
      const c = (start + r) >>> 1;
      if (!l(p - c, c)) start = c + 1;
      else r = c;
    }
    const end = n - start;
    if (start < m && m < end) rotate(start, m, end);
    if (a < start && start < mid) symMerge(a, start, mid);
    if (mid < end && end < b) symMerge(mid, end, b);
  };
  const n = data.length;
  let blockSize = 20;
  let a = 0;
  let b = blockSize;
  while (b <= n) {
    insertionSort(a, b);
    a = b;
    b += blockSize;
  }
  insertionSort(a, n);
  while (blockSize < n) {
    a = 0;
    b = 2 * blockSize;
    while (b <= n) {
      symMerge(a, a + blockSize, b);
      a = b;
      b += 2 * blockSize;
    }
    const m = a + blockSize;
    if (m < n) symMerge(a, m, n);
    blockSize *= 2;
  }
}
