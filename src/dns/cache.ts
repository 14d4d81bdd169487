// Tables of ready-made responses, found by a hash of the question without allocating: the
// answers of the cluster zones (valid until the model changes) and a bounded cache of relayed
// answers for names outside them (valid for their TTL; negative answers for the SOA minimum),
// with CoreDNS's cache semantics: TTLs clamped to [5 s, 3600 s] (denial 1800 s), every record
// served with the entry's remaining TTL, DO and CD part of the key.
import type { Prepared } from './prepared.ts';
import type { RR } from './rr.ts';
import { RCODE, TYPE, type WireRR } from './wire.ts';

/** FNV-1a over the lower-cased question (name, type, class) and a flags byte. */
export function questionHash(buf: Uint8Array, start: number, end: number, flags: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    let c = buf[i];
    if (c >= 65 && c <= 90) c |= 0x20;
    h = Math.imul(h ^ c, 0x01000193);
  }
  return Math.imul(h ^ flags, 0x01000193) >>> 0;
}

/** The key bytes of a question: lower-cased name, type and class, then the flags byte. */
export function questionKey(buf: Uint8Array, start: number, end: number, flags: number): Buffer {
  const k = Buffer.allocUnsafe(end - start + 1);
  for (let i = start; i < end; i++) {
    const c = buf[i];
    k[i - start] = c >= 65 && c <= 90 ? c | 0x20 : c;
  }
  k[end - start] = flags;
  return k;
}

export function keyMatches(key: Uint8Array, buf: Uint8Array, start: number, end: number, flags: number): boolean {
  const n = end - start;
  if (key.length !== n + 1 || key[n] !== flags) return false;
  for (let i = 0; i < n; i++) {
    let c = buf[start + i];
    if (c >= 65 && c <= 90) c |= 0x20;
    if (c !== key[i]) return false;
  }
  return true;
}

export interface TableEntry {
  key: Buffer;
  p: Prepared;
}

/** Authoritative answers, dropped wholesale when the model's generation moves on. */
export class AnswerMemo {
  readonly #map = new Map<number, TableEntry>();
  #generation = -1;
  readonly capacity: number;

  constructor(capacity = 50_000) {
    this.capacity = capacity;
  }

  get(hash: number, generation: number, buf: Uint8Array, start: number, end: number): TableEntry | undefined {
    if (generation !== this.#generation) return undefined;
    const e = this.#map.get(hash);
    return e && keyMatches(e.key, buf, start, end, 0) ? e : undefined;
  }

  set(hash: number, generation: number, entry: TableEntry): void {
    if (generation !== this.#generation) {
      this.#map.clear();
      this.#generation = generation;
    }
    // Bounded: when full, start over (hot names come back within a query each).
    if (this.#map.size >= this.capacity) this.#map.clear();
    this.#map.set(hash, entry);
  }

  get size(): number {
    return this.#map.size;
  }
}

export interface CachedAnswer extends TableEntry {
  /** ms since epoch when stored, and when it expires. */
  storedAt: number;
  expiresAt: number;
  /** The TTL every record is served with, counting down from storedAt. */
  ttl: number;
  denial: boolean;
  /** The answer section as records, for composing chased CNAMEs. */
  answers: RR[];
}

export interface CacheEvents {
  hit?(denial: boolean): void;
  miss?(): void;
  evict?(denial: boolean): void;
  size?(success: number, denial: number): void;
}

export const CACHE_MAX_TTL = 3600;
export const CACHE_MAX_DENIAL_TTL = 1800;
export const CACHE_MIN_TTL = 5;

/**
 * How long a relayed response may be cached, in seconds, or undefined when it may not be
 * (SERVFAIL, REFUSED, truncated): the smallest TTL of its records, or for NXDOMAIN and NODATA
 * the SOA's min(TTL, MINIMUM) (RFC 2308), clamped as CoreDNS's cache does.
 */
export function cacheTTL(rcode: number, truncated: boolean, answers: readonly WireRR[], authority: readonly WireRR[]): { ttl: number; denial: boolean } | undefined {
  if (truncated) return undefined;
  if (rcode !== RCODE.NOERROR && rcode !== RCODE.NXDOMAIN) return undefined;
  const denial = rcode === RCODE.NXDOMAIN || answers.length === 0;
  let ttl = Infinity;
  if (denial) {
    for (const rr of authority) {
      if (rr.type !== TYPE.SOA || rr.rdata.length < 22) continue;
      const minimum = rr.rdata.readUInt32BE(rr.rdata.length - 4);
      ttl = Math.min(ttl, rr.ttl, minimum);
    }
    if (ttl === Infinity) ttl = CACHE_MIN_TTL;
    return { ttl: Math.max(CACHE_MIN_TTL, Math.min(CACHE_MAX_DENIAL_TTL, ttl)), denial };
  }
  for (const rr of [...answers, ...authority]) ttl = Math.min(ttl, rr.ttl);
  return { ttl: Math.max(CACHE_MIN_TTL, Math.min(CACHE_MAX_TTL, ttl)), denial };
}

/** A bounded cache of relayed answers; the oldest entry goes when it is full. */
export class AnswerCache {
  readonly #map = new Map<number, CachedAnswer>();
  readonly capacity: number;
  readonly #events: CacheEvents;
  #success = 0;
  #denial = 0;

  constructor(capacity: number, events: CacheEvents = {}) {
    this.capacity = Math.max(1, capacity);
    this.#events = events;
  }

  get(hash: number, buf: Uint8Array, start: number, end: number, flags: number, now: number): CachedAnswer | undefined {
    const e = this.#map.get(hash);
    if (!e || !keyMatches(e.key, buf, start, end, flags)) {
      this.#events.miss?.();
      return undefined;
    }
    if (now >= e.expiresAt) {
      this.#delete(hash, e);
      this.#events.miss?.();
      return undefined;
    }
    this.#events.hit?.(e.denial);
    return e;
  }

  set(hash: number, entry: CachedAnswer): void {
    const old = this.#map.get(hash);
    if (old) this.#delete(hash, old);
    while (this.#map.size >= this.capacity) {
      const first = this.#map.entries().next();
      if (first.done) break;
      this.#delete(first.value[0], first.value[1]);
      this.#events.evict?.(first.value[1].denial);
    }
    this.#map.set(hash, entry);
    if (entry.denial) this.#denial++;
    else this.#success++;
    this.#events.size?.(this.#success, this.#denial);
  }

  #delete(hash: number, e: CachedAnswer): void {
    this.#map.delete(hash);
    if (e.denial) this.#denial--;
    else this.#success--;
    this.#events.size?.(this.#success, this.#denial);
  }

  get size(): number {
    return this.#map.size;
  }

  clear(): void {
    this.#map.clear();
    this.#success = this.#denial = 0;
    this.#events.size?.(0, 0);
  }
}
