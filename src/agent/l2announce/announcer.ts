// The layer 2 announcer's loop: informers and liveness in, planL2 (pure), the executor told the
// difference. Changes are coalesced (debounce) and applied one sync at a time.
import type { ConfigMap, Node, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Informer } from '../../client/index.ts';
import type { IPAddressPool, L2Advertisement } from '../../api/validation/index.ts';
import type { Logger } from '../../util/index.ts';
import { addressesByInterface, announcedAddresses, l2Config, legacyConfigMapName, metallbNamespace, planL2, serviceNameLabel, type L2Plan } from './core.ts';
import type { L2Executor } from './executor.ts';
import type { Liveness } from './liveness.ts';

export const layer2 = 'layer2';

export interface AnnouncerOptions {
  nodeName: string;
  /** The node's primary address: its interface is where addresses are announced by default. */
  nodeIP: string;
  services: Informer<Service>;
  endpointSlices: Informer<EndpointSlice>;
  nodes: Informer<Node>;
  /** IPAddressPools, L2Advertisements and ConfigMaps of metallb-system. */
  ipAddressPools: Informer<IPAddressPool>;
  l2Advertisements: Informer<L2Advertisement>;
  configMaps: Informer<ConfigMap>;
  executor: L2Executor;
  liveness?: Pick<Liveness, 'alive'>;
  /** Records an Event on the Service (MetalLB's speaker: nodeAssigned). */
  event: (svc: Service, reason: string, message: string) => void;
  log: Logger;
  debounceMs?: number;
  retryMs?: number;
}

const sameList = (a: readonly string[] | undefined, b: readonly string[] | undefined) => (a ?? []).join(' ') === (b ?? []).join(' ');

export class L2Announcer {
  readonly #o: AnnouncerOptions;
  /** Addresses the executor answers for, per interface. */
  readonly #applied = new Map<string, string[]>();
  /** Services this node announced at the last sync. */
  #led = new Set<string>();
  #defaultIface: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  #lastPlan: L2Plan | undefined;
  /** The live nodes at the last sync (undefined: not known then). */
  #lastLive: ReadonlySet<string> | undefined;
  readonly #reported = new Set<string>();

  constructor(o: AnnouncerOptions) {
    this.#o = o;
  }

  /** Subscribes to the informers; the first sync runs once they have all synced. */
  start(): void {
    const t = () => this.trigger();
    const isLB = (s: Service | undefined) => s?.spec?.type === 'LoadBalancer';
    this.#o.services.addEventHandler({ onAdd: (s) => isLB(s) && t(), onUpdate: (a, b) => (isLB(a) || isLB(b)) && t(), onDelete: (s) => isLB(s) && t() });
    const sliceOfLB = (s: EndpointSlice) => {
      const name = s.metadata?.labels?.[serviceNameLabel];
      return name !== undefined && isLB(this.#o.services.get(`${s.metadata?.namespace ?? ''}/${name}`));
    };
    this.#o.endpointSlices.addEventHandler({ onAdd: (s) => sliceOfLB(s) && t(), onUpdate: (_a, b) => sliceOfLB(b) && t(), onDelete: (s) => sliceOfLB(s) && t() });
    this.#o.nodes.addEventHandler({ onAdd: t, onUpdate: t, onDelete: t });
    for (const inf of [this.#o.ipAddressPools, this.#o.l2Advertisements]) inf.addEventHandler({ onAdd: t, onUpdate: t, onDelete: t });
    this.#o.configMaps.addEventHandler({ onAdd: t, onUpdate: t, onDelete: t });
    void this.#whenSynced();
  }

  async #whenSynced(): Promise<void> {
    const o = this.#o;
    await Promise.all([o.services, o.endpointSlices, o.nodes, o.ipAddressPools, o.l2Advertisements, o.configMaps].map((i) => i.waitForSync()));
    this.trigger(0);
  }

  #synced(): boolean {
    const o = this.#o;
    return [o.services, o.endpointSlices, o.nodes, o.ipAddressPools, o.l2Advertisements, o.configMaps].every((i) => i.hasSynced());
  }

  /** Schedules a sync (coalescing bursts of changes). */
  trigger(delayMs = this.#o.debounceMs ?? 50): void {
    if (this.#stopped || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.sync();
    }, delayMs);
  }

  /** Runs a sync now (or right after the one running). */
  sync(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      try {
        do {
          this.#again = false;
          await this.#syncOnce();
        } while (this.#again && !this.#stopped);
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }

  /** The last plan (for tests and status). */
  get plan(): L2Plan | undefined {
    return this.#lastPlan;
  }

  /** Addresses answered per interface. */
  get answering(): ReadonlyMap<string, readonly string[]> {
    return this.#applied;
  }

  #reportOnce(key: string, fn: () => void): void {
    if (this.#reported.has(key)) return;
    this.#reported.add(key);
    fn();
  }

  async #syncOnce(): Promise<void> {
    if (this.#stopped || !this.#synced()) return;
    const o = this.#o;
    const log = o.log;
    const config = l2Config(o.ipAddressPools.list(), o.l2Advertisements.list(), o.configMaps.get(`${metallbNamespace}/${legacyConfigMapName}`));
    for (const e of config.errors) this.#reportOnce(`config ${e}`, () => log.warn({ error: e }, 'layer 2 address pool not announced'));
    const services = o.services.list().filter((s) => announcedAddresses(s).length > 0);
    const slices = new Map<string, EndpointSlice[]>();
    if (services.length) {
      for (const s of o.endpointSlices.list()) {
        const name = s.metadata?.labels?.[serviceNameLabel];
        if (name === undefined) continue;
        const key = `${s.metadata?.namespace ?? ''}/${name}`;
        const list = slices.get(key) ?? [];
        list.push(s);
        slices.set(key, list);
      }
    }
    const live = o.liveness?.alive();
    // A node heard again after a silence (a healed cut) may have announced this node's addresses
    // meanwhile, or had them announced by another: say again where they are.
    const rejoined = live !== undefined && this.#lastLive !== undefined && [...live].some((n) => !this.#lastLive!.has(n));
    if (live !== undefined) this.#lastLive = live;
    const plan = planL2({ self: o.nodeName, services, slicesFor: (k) => slices.get(k) ?? [], nodes: o.nodes.list(), config, live });
    this.#lastPlan = plan;
    for (const ip of plan.ipv6Skipped) this.#reportOnce(`v6 ${ip}`, () => log.warn({ address: ip }, 'not announcing an IPv6 LoadBalancer address: svcnet answers ARP (IPv4) only, not NDP'));

    const wanted = addressesByInterface(plan);
    if (wanted.has('')) {
      this.#defaultIface ??= await o.executor.interfaceOf(o.nodeIP).catch((e: unknown) => {
        log.warn({ err: e }, 'cannot list the node\'s interfaces');
        return undefined;
      });
      const list = wanted.get('') ?? [];
      wanted.delete('');
      if (!this.#defaultIface) {
        this.#reportOnce('noiface', () => log.error({ nodeIP: o.nodeIP }, 'no interface holds the node\'s address: LoadBalancer addresses are not announced'));
      } else {
        wanted.set(this.#defaultIface, [...new Set([...(wanted.get(this.#defaultIface) ?? []), ...list])].sort());
      }
    }

    let failed = false;
    const garps = new Map<string, { iface: string; address: string }>();
    for (const iface of new Set([...this.#applied.keys(), ...wanted.keys()])) {
      const want = wanted.get(iface) ?? [];
      const had = this.#applied.get(iface) ?? [];
      if (sameList(want, had)) continue;
      try {
        await o.executor.setAddresses(iface, want);
      } catch (e) {
        failed = true;
        log.warn({ err: e, iface, addresses: want }, 'could not update the ARP responder; retrying');
        continue;
      }
      if (want.length) this.#applied.set(iface, want);
      else this.#applied.delete(iface);
      const gone = had.filter((a) => !want.includes(a));
      const added = want.filter((a) => !had.includes(a));
      for (const a of gone) log.info({ address: a, iface }, 'withdrawing a LoadBalancer address (another node announces it, or none should)');
      for (const a of added) {
        log.info({ address: a, iface, services: plan.announce.get(a)?.services }, 'announcing a LoadBalancer address (layer 2)');
        garps.set(`${iface} ${a}`, { iface, address: a });
      }
    }
    if (rejoined) for (const [iface, list] of this.#applied) for (const a of list) garps.set(`${iface} ${a}`, { iface, address: a });
    // Tell the LAN at once rather than waiting for its ARP caches to expire.
    for (const g of garps.values()) o.executor.gratuitousARP(g.iface, g.address).catch((e: unknown) => log.warn({ err: e, ...g }, 'gratuitous ARP failed'));

    // MetalLB's speaker: an Event on each Service this node starts announcing.
    const led = new Set(plan.decisions.filter((d) => d.leader === o.nodeName && d.addresses.some((a) => plan.announce.has(a))).map((d) => d.service));
    if (!failed) {
      for (const key of led) {
        if (this.#led.has(key)) continue;
        const svc = o.services.get(key);
        if (svc) o.event(svc, 'nodeAssigned', `announcing from node ${JSON.stringify(o.nodeName)} with protocol ${JSON.stringify(layer2)}`);
      }
      this.#led = led;
    } else {
      this.#retry();
    }
  }

  #retry(): void {
    if (this.#stopped) return;
    setTimeout(() => this.trigger(0), this.#o.retryMs ?? 1000).unref();
  }

  /** Stops answering: the executor is closed (its helper ends), and nothing is announced anymore. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => {});
    await this.#o.executor.close();
    this.#applied.clear();
  }
}
