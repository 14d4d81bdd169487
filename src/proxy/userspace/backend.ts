// The userspace backend (host mode, no root): the data plane is this process. Every sync turns
// the desired state into listeners (plan.ts), opens the new ones, closes the ones no longer
// wanted, and updates the routes behind the others in place, so that a Service coming or going,
// or an endpoint changing, disturbs no other listener and no open connection.
import { BlockList } from 'node:net';
import { logger, type Logger } from '../../util/index.ts';
import type { ProxyBackend, SyncResult } from '../backend.ts';
import type { NamespacedName, NodeInfo, ProxyConfig, ProxyState } from '../types.ts';
import { Route } from './balancer.ts';
import { diffListeners, isLoopback, planService, type ListenerSpec, type RouteSpec, type ServicePlan } from './plan.ts';
import { TcpListener, type ProxyListener } from './tcp.ts';
import { UdpListener } from './udp.ts';

export interface UserspaceBackendOptions {
  config: Pick<ProxyConfig, 'nodeIPs' | 'nodePortAddresses'>;
  node?: NodeInfo;
  log?: Logger;
  /** Addresses this backend may bind; default loopback only (host mode's network-safety rule). */
  bindable?: (ip: string) => boolean;
  /** An endpoint that has not accepted within this long is given up for the next (default 2 s). */
  connectTimeoutMs?: number;
  /** Endpoints tried per TCP connection before it is reset (default 3). */
  connectAttempts?: number;
  /** Idle UDP flows are closed after this long (default 30 s, conntrack's UDP timeout). */
  udpIdleTimeoutMs?: number;
  /** Flows per UDP listener (default 4096; the oldest makes room). */
  udpMaxFlows?: number;
  /** Addresses that could not be bound (in use) are retried this often (default 2 s). */
  bindRetryMs?: number;
  /** Housekeeping period: idle flows, expired affinity (default 1 s). */
  housekeepingMs?: number;
  random?: () => number;
  now?: () => number;
}

export class UserspaceBackend implements ProxyBackend {
  readonly name = 'userspace';
  readonly #log: Logger;
  readonly #bindable: (ip: string) => boolean;
  readonly #nodePortIPs: string[];
  readonly #o: UserspaceBackendOptions;
  readonly #now: () => number;
  /** The plan of every Service, in the order Services were first seen (first claim of an address wins). */
  readonly #plans = new Map<NamespacedName, ServicePlan>();
  readonly #routes = new Map<string, Route>();
  readonly #listeners = new Map<string, ProxyListener>();
  /** Closed TCP listeners whose connections are still open (ended by close()). */
  readonly #draining = new Set<ProxyListener>();
  /** Wanted listeners that could not be bound yet, with the error. */
  readonly #unbound = new Map<string, { spec: ListenerSpec; code: string }>();
  /** Log lines said once: skipped addresses and address conflicts. */
  readonly #said = new Set<string>();
  #fullRequested = false;
  #chain: Promise<unknown> = Promise.resolve();
  #housekeeping: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(o: UserspaceBackendOptions) {
    this.#o = o;
    this.#log = o.log ?? logger('proxy/userspace');
    this.#bindable = o.bindable ?? isLoopback;
    this.#now = o.now ?? Date.now;
    let allowed: BlockList | undefined;
    if (o.config.nodePortAddresses.length) {
      allowed = new BlockList();
      for (const cidr of o.config.nodePortAddresses) {
        const [net, bits] = cidr.split('/');
        const type = net?.includes(':') ? 'ipv6' : 'ipv4';
        if (net) allowed.addSubnet(net, bits === undefined ? (type === 'ipv6' ? 128 : 32) : Number(bits), type);
      }
    }
    this.#nodePortIPs = o.config.nodeIPs.filter((ip) => !allowed || allowed.check(ip, ip.includes(':') ? 'ipv6' : 'ipv4'));
  }

  sync(state: ProxyState, changed: ReadonlySet<NamespacedName> | undefined): Promise<SyncResult> {
    const run = this.#chain.then(() => this.#sync(state, changed));
    this.#chain = run.catch(() => undefined);
    return run;
  }

  requestFullSync(): void {
    this.#fullRequested = true;
  }

  /** Addresses served now, as "TCP/127.96.0.10/5000". */
  listening(): string[] {
    return [...this.#listeners.keys()].sort();
  }

  /** Wanted addresses that could not be bound (another process holds them), with the error code. */
  unbound(): Map<string, string> {
    return new Map([...this.#unbound].map(([k, v]) => [k, v.code]));
  }

  /** Open TCP connections and UDP flows, over every listener (also closed ones still draining are not counted). */
  active(): number {
    let n = 0;
    for (const l of this.#listeners.values()) n += l.active;
    return n;
  }

  /** Stops listening and closes every connection and flow. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#chain;
    clearInterval(this.#housekeeping);
    clearTimeout(this.#retry);
    for (const l of this.#listeners.values()) l.destroy();
    for (const l of this.#draining) l.destroy();
    this.#listeners.clear();
    this.#draining.clear();
    this.#unbound.clear();
  }

  async #sync(state: ProxyState, changed: ReadonlySet<NamespacedName> | undefined): Promise<SyncResult> {
    if (this.#closed) return { mode: 'incremental', elements: 0, bytes: 0 };
    const full = this.#fullRequested || changed === undefined;
    this.#fullRequested = false;
    const names = full ? new Set([...this.#plans.keys(), ...state.services.keys()]) : changed;
    for (const name of names) {
      const svc = state.services.get(name);
      if (!svc) {
        this.#plans.delete(name);
        continue;
      }
      const plan = planService(svc, { nodePortIPs: this.#nodePortIPs, bindable: this.#bindable });
      this.#plans.set(name, plan);
      for (const s of plan.skipped) {
        const k = `skip|${s.service}|${s.kind}|${s.ip}|${s.port}`;
        if (this.#said.has(k)) continue;
        this.#said.add(k);
        this.#log.info({ service: s.service, address: s.ip, port: s.port, protocol: s.protocol, kind: s.kind }, `not serving ${s.ip}:${s.port}: ${s.reason}`);
      }
    }

    const desired = new Map<string, ListenerSpec>();
    const routeSpecs = new Map<string, RouteSpec>();
    for (const plan of this.#plans.values()) {
      for (const r of plan.routes) routeSpecs.set(r.key, r);
      for (const l of plan.listeners) {
        const owner = desired.get(l.key);
        if (!owner) desired.set(l.key, l);
        else if (owner.service !== l.service) {
          const k = `conflict|${l.key}|${l.service}`;
          if (!this.#said.has(k)) {
            this.#said.add(k);
            this.#log.warn({ listener: l.key, service: l.service, owner: owner.service }, 'address already claimed by another Service; not serving it for this one');
          }
        }
      }
    }

    // Routes: updated in place, so listeners and affinity carry over.
    const changedRoutes = new Set<string>();
    for (const [key, spec] of routeSpecs) {
      const r = this.#routes.get(key);
      if (!r) this.#routes.set(key, new Route(spec, { ...(this.#o.random ? { random: this.#o.random } : {}), now: this.#now }));
      else if (r.update(spec)) changedRoutes.add(key);
    }
    for (const key of this.#routes.keys()) if (!routeSpecs.has(key)) this.#routes.delete(key);

    const current = new Map<string, ListenerSpec>();
    for (const [k, l] of this.#listeners) current.set(k, l.spec);
    for (const [k, u] of this.#unbound) current.set(k, u.spec);
    const diff = diffListeners(current, desired);
    for (const spec of diff.remove) {
      this.#unbound.delete(spec.key);
      const l = this.#listeners.get(spec.key);
      if (!l) continue;
      this.#listeners.delete(spec.key);
      l.close();
      // A closed TCP listener's connections drain; keep it until they are gone so close() can end them.
      if (l.active > 0) this.#draining.add(l);
    }
    for (const spec of diff.retarget) {
      const l = this.#listeners.get(spec.key);
      if (l) l.retarget(spec, this.#routes.get(spec.route)!);
      else this.#unbound.set(spec.key, { spec, code: this.#unbound.get(spec.key)?.code ?? '' });
    }
    for (const l of this.#listeners.values()) if (changedRoutes.has(l.spec.route)) l.endpointsChanged();
    // Unbound ones are retried with every sync, and by the retry timer in between.
    const toOpen = [...diff.add, ...[...this.#unbound.values()].map((u) => u.spec).filter((s) => desired.has(s.key) && !diff.add.includes(s))];
    await this.#open(toOpen);
    for (const l of this.#draining) if (l.active === 0) this.#draining.delete(l);
    this.#startTimers();
    return { mode: full ? 'full' : 'incremental', elements: diff.add.length + diff.remove.length + diff.retarget.length, bytes: 0 };
  }

  async #open(specs: readonly ListenerSpec[]): Promise<void> {
    await Promise.all(
      specs.map(async (spec) => {
        const route = this.#routes.get(spec.route);
        if (!route) return;
        const log = this.#log;
        const l: ProxyListener =
          spec.protocol === 'TCP'
            ? new TcpListener(spec, route, { connectTimeoutMs: this.#o.connectTimeoutMs ?? 2000, connectAttempts: this.#o.connectAttempts ?? 3, log })
            : new UdpListener(spec, route, { idleTimeoutMs: this.#o.udpIdleTimeoutMs ?? 30_000, maxFlows: this.#o.udpMaxFlows ?? 4096, log, now: this.#now });
        try {
          await l.listen();
        } catch (e) {
          l.destroy();
          const code = (e as NodeJS.ErrnoException).code ?? 'ERROR';
          const before = this.#unbound.get(spec.key);
          this.#unbound.set(spec.key, { spec, code });
          if (before?.code !== code) this.#log.warn({ listener: spec.key, service: spec.service, code }, `cannot listen on ${spec.ip}:${spec.port} (${code}); retrying`);
          return;
        }
        if (this.#unbound.delete(spec.key)) this.#log.info({ listener: spec.key, service: spec.service }, 'listening at last');
        this.#listeners.set(spec.key, l);
      }),
    );
  }

  #startTimers(): void {
    if (this.#closed) return;
    if (!this.#housekeeping) {
      let ticks = 0;
      this.#housekeeping = setInterval(() => {
        const now = this.#now();
        for (const l of this.#listeners.values()) l.sweep(now);
        for (const l of this.#draining) if (l.active === 0) this.#draining.delete(l);
        if (++ticks % 10 === 0) for (const r of this.#routes.values()) r.sweep();
      }, this.#o.housekeepingMs ?? 1000);
      this.#housekeeping.unref();
    }
    if (this.#unbound.size > 0 && !this.#retry) {
      this.#retry = setTimeout(() => {
        this.#retry = undefined;
        const run = this.#chain.then(async () => {
          if (this.#closed) return;
          await this.#open([...this.#unbound.values()].map((u) => u.spec));
          this.#startTimers();
        });
        this.#chain = run.catch((e: unknown) => this.#log.error({ err: e }, 'retrying listeners failed'));
      }, this.#o.bindRetryMs ?? 2000);
      this.#retry.unref();
    }
  }
}
