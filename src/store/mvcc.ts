// Logic shared by the embedded backends (memory, sqlite): checking a transaction's conditions
// against the current state, and rebuilding a list as of an older revision from the current
// state plus the changes logged since (so a current-state list never scans history).
import { StoreError, type KeyValue, type ListResult, type StoreEvent, type TxnOp } from './types.ts';
import { compareKeys } from './keys.ts';

/** One key's change in a planned transaction. `kv` undefined: the key is deleted. */
export interface PlannedWrite {
  key: string;
  kv: KeyValue | undefined;
  prev: KeyValue | undefined;
}

export interface TxnPlan {
  revision: number;
  results: KeyValue[];
  events: StoreEvent[];
  writes: PlannedWrite[];
}

/** Rejects what is a caller's mistake rather than a store condition. */
export function checkOps(ops: readonly TxnOp[]): void {
  if (ops.length === 0) throw new TypeError('store txn: no operations');
  const seen = new Set<string>();
  for (const op of ops) {
    // etcd refuses to change one key twice in a transaction; so do we, on every backend.
    if (seen.has(op.key)) throw new TypeError(`store txn: key ${op.key} appears more than once`);
    seen.add(op.key);
  }
}

/**
 * The StoreError of the first operation whose condition does not hold against `lookup`, or
 * undefined when all hold.
 */
export function firstFailure(ops: readonly TxnOp[], lookup: (key: string) => KeyValue | undefined): StoreError | undefined {
  for (const op of ops) {
    const cur = lookup(op.key);
    if (op.op === 'create') {
      if (cur) return new StoreError('KeyExists', `key ${op.key} already exists`, { key: op.key, current: cur });
      continue;
    }
    if (!cur) return new StoreError('NotFound', `key ${op.key} not found`, { key: op.key });
    if (op.expectedModRevision !== undefined && cur.modRevision !== op.expectedModRevision) {
      return new StoreError('Conflict', `key ${op.key} was modified: expected revision ${op.expectedModRevision}, found ${cur.modRevision}`, { key: op.key, current: cur });
    }
  }
  return undefined;
}

/** Checks every condition and computes the writes, results and events at `revision`. */
export function planTxn(ops: readonly TxnOp[], revision: number, read: (key: string) => KeyValue | undefined): TxnPlan {
  checkOps(ops);
  const seen = new Map<string, KeyValue | undefined>();
  const lookup = (key: string): KeyValue | undefined => {
    if (seen.has(key)) return seen.get(key);
    const kv = read(key);
    seen.set(key, kv);
    return kv;
  };
  const failure = firstFailure(ops, lookup);
  if (failure) throw failure;
  const results: KeyValue[] = [];
  const events: StoreEvent[] = [];
  const writes: PlannedWrite[] = [];
  for (const op of ops) {
    const prev = lookup(op.key);
    if (op.op === 'delete') {
      // Checked above: present.
      const p = prev!;
      results.push({ ...p, modRevision: revision });
      events.push({ type: 'DELETE', prev: p, modRevision: revision });
      writes.push({ key: op.key, kv: undefined, prev: p });
      continue;
    }
    const kv: KeyValue = { key: op.key, value: op.value, createRevision: prev ? prev.createRevision : revision, modRevision: revision };
    results.push(kv);
    events.push(prev ? { type: 'PUT', kv, prev } : { type: 'PUT', kv });
    writes.push({ key: op.key, kv, prev });
  }
  return { revision, results, events, writes };
}

/** What a key looked like at the listed revision, and whether it exists now. */
export interface ChangedKey {
  atRevision: KeyValue | undefined;
  existsNow: boolean;
}

/**
 * Folds the changes made after revision R (in revision order) into, per key, its state at R
 * (the first change's previous value) and whether it exists now (the last change's kind).
 */
export function foldChanges(changes: Iterable<StoreEvent>): Map<string, ChangedKey> {
  const out = new Map<string, ChangedKey>();
  for (const e of changes) {
    const key = e.type === 'PUT' ? e.kv.key : e.prev.key;
    const seen = out.get(key);
    if (seen) seen.existsNow = e.type === 'PUT';
    else out.set(key, { atRevision: e.prev, existsNow: e.type === 'PUT' });
  }
  return out;
}

export interface SnapshotSource {
  /** Current keys under the prefix from the list's lower bound on, in key order. */
  current: Iterable<KeyValue>;
  /** foldChanges() of the changes after the listed revision, for keys in the same range. */
  changed: Map<string, ChangedKey>;
  /** How many current keys under the prefix sort after `key`. */
  countCurrentAfter(key: string): number;
}

/**
 * A list at an older revision: current keys the later changes did not touch, merged in key
 * order with the touched keys' states at that revision.
 */
export function listSnapshot(src: SnapshotSource, limit: number, revision: number): ListResult {
  const old = [...src.changed.values()].flatMap((c) => (c.atRevision ? [c.atRevision] : []));
  old.sort((a, b) => compareKeys(a.key, b.key));
  const want = limit > 0 ? limit + 1 : Infinity;
  const items: KeyValue[] = [];
  let oi = 0;
  for (const kv of src.current) {
    if (items.length >= want) break;
    while (oi < old.length && items.length < want && compareKeys(old[oi].key, kv.key) < 0) items.push(old[oi++]);
    if (items.length >= want) break;
    if (!src.changed.has(kv.key)) items.push(kv);
  }
  while (oi < old.length && items.length < want) items.push(old[oi++]);
  if (items.length <= limit || limit <= 0) return { items, revision, more: false };
  items.length = limit;
  const last = items[limit - 1].key;
  let remaining = src.countCurrentAfter(last);
  for (const [key, c] of src.changed) {
    if (compareKeys(key, last) <= 0) continue;
    if (c.existsNow) remaining--;
    if (c.atRevision) remaining++;
  }
  return { items, revision, more: true, remaining };
}

/** The Compacted error for a read or watch at `revision`. */
export function compacted(revision: number, compactRevision: number): StoreError {
  return new StoreError('Compacted', `revision ${revision} has been compacted (compacted revision ${compactRevision})`, { compactRevision });
}
