// Balancing over one route's endpoints: a uniformly random pick (kube-proxy's numgen random),
// and sessionAffinity ClientIP: a client address keeps its endpoint while it keeps using it
// within the timeout (kube-proxy's per-endpoint timed sets, refreshed on every packet).
import type { Endpoint } from '../types.ts';
import type { RouteSpec } from './plan.ts';
import { joinHostPort } from '../../util/index.ts';

interface Affinity {
  endpoint: string;
  expires: number;
}

export interface RouteOptions {
  /** [0, 1), default Math.random. */
  random?: () => number;
  /** ms, default Date.now. */
  now?: () => number;
}

export const endpointKey = (ep: Pick<Endpoint, 'ip' | 'port'>): string => joinHostPort(ep.ip, ep.port);

export class Route {
  readonly key: string;
  #spec: RouteSpec;
  #endpoints: readonly Endpoint[] = [];
  /** Endpoint key → index into #endpoints. */
  #index = new Map<string, number>();
  #keys: string[] = [];
  #affinityMs = 0;
  readonly #affinity = new Map<string, Affinity>();
  readonly #random: () => number;
  readonly #now: () => number;

  constructor(spec: RouteSpec, o: RouteOptions = {}) {
    this.key = spec.key;
    this.#spec = spec;
    this.#random = o.random ?? Math.random;
    this.#now = o.now ?? Date.now;
    this.update(spec);
  }

  get spec(): RouteSpec {
    return this.#spec;
  }

  get endpoints(): readonly Endpoint[] {
    return this.#endpoints;
  }

  /** Number of client addresses with a live affinity entry (or not yet swept). */
  get affinityEntries(): number {
    return this.#affinity.size;
  }

  /**
   * Takes new endpoints and settings. Returns whether the endpoint set changed. Affinity to an
   * endpoint that is gone is forgotten (its set goes with its chain in kube-proxy).
   */
  update(spec: RouteSpec): boolean {
    this.#spec = spec;
    const before = this.#keys;
    const keys = spec.endpoints.map(endpointKey);
    const changed = keys.length !== before.length || keys.some((k, i) => k !== before[i]);
    this.#endpoints = spec.endpoints;
    if (changed) {
      this.#keys = keys;
      this.#index = new Map(keys.map((k, i) => [k, i]));
    }
    const ms = spec.affinityTimeoutSeconds * 1000;
    if (ms !== this.#affinityMs) {
      this.#affinityMs = ms;
      this.#affinity.clear();
    } else if (changed) {
      for (const [client, a] of this.#affinity) if (!this.#index.has(a.endpoint)) this.#affinity.delete(client);
    }
    return changed;
  }

  has(endpoint: string): boolean {
    return this.#index.has(endpoint);
  }

  /**
   * The endpoint for a new connection or flow from client (its source address), avoiding those in
   * exclude (endpoints that just refused it); undefined when none is left.
   */
  pick(client: string, exclude?: ReadonlySet<string>): Endpoint | undefined {
    const eps = this.#endpoints;
    if (eps.length === 0) return undefined;
    const now = this.#affinityMs > 0 ? this.#now() : 0;
    if (this.#affinityMs > 0) {
      const a = this.#affinity.get(client);
      if (a && a.expires > now && !exclude?.has(a.endpoint)) {
        const i = this.#index.get(a.endpoint);
        if (i !== undefined) {
          a.expires = now + this.#affinityMs;
          return eps[i];
        }
      }
    }
    let ep: Endpoint | undefined;
    if (!exclude || exclude.size === 0) ep = eps[Math.floor(this.#random() * eps.length)];
    else {
      const left = eps.filter((_, i) => !exclude.has(this.#keys[i]));
      if (left.length === 0) return undefined;
      ep = left[Math.floor(this.#random() * left.length)];
    }
    if (ep && this.#affinityMs > 0) {
      const k = endpointKey(ep);
      const a = this.#affinity.get(client);
      if (a) {
        a.endpoint = k;
        a.expires = now + this.#affinityMs;
      } else this.#affinity.set(client, { endpoint: k, expires: now + this.#affinityMs });
    }
    return ep;
  }

  /** Forgets expired affinity entries. */
  sweep(): void {
    if (this.#affinity.size === 0) return;
    const now = this.#now();
    for (const [client, a] of this.#affinity) if (a.expires <= now) this.#affinity.delete(client);
  }
}
