// The nftables backend: turns the desired state into one `nft -f` transaction per sync. It keeps
// what it last applied in memory, so an incremental sync sends only the elements of the keys
// that changed; after a failure (and periodically, by request) it re-sends everything. A new
// process adopts the table an earlier one left: it reads back only the service-state map (a hash
// and element flags per key) and the chain names, and sends only what differs. The one exception
// to one transaction per sync is the first load of an empty table (see sync).
import type { ProxyBackend, SyncResult } from '../backend.ts';
import type { NamespacedName, NodeInfo, ProxyConfig, ProxyState, ServiceState } from '../types.ts';
import type { Conntrack, FlowFilter } from './conntrack.ts';
import type { Nftables, NftFamily } from './nftables.ts';
import {
  baseObjects,
  dispatchObjects,
  familyConfig,
  isAdopted,
  nftFamily,
  parseStateValue,
  renderServicePort,
  slotMapSpec,
  stateValue,
  TableName,
  Transaction,
  type AppliedRecord,
  type FamilyConfig,
  type KeyRecord,
  type ObjectSpec,
} from './render.ts';

export interface NftablesBackendOptions {
  nft: Nftables;
  config: ProxyConfig;
  node: NodeInfo;
  /** UDP conntrack cleanup; none: skipped. */
  conntrack?: Conntrack;
  /** Called with conntrack failures (they do not fail the sync). */
  onConntrackError?: (e: unknown, f: FlowFilter) => void;
  /**
   * The first sync into an empty table sends its map and set elements in transactions of this many
   * while it renders the rest (default 20,000).
   */
  preloadChunkElements?: number;
}

/** Per-key fields the diff compares (an adopted record's unknown values never equal a real one). */
interface Comparable {
  key: string;
  svc: string | undefined;
  kind: KeyRecord['kind'];
  dispatch: string | undefined;
  slots: readonly string[];
  noEndpoint: string | undefined;
  firewall: readonly string[];
  hash: number;
  known: boolean;
}

const Unknown = '\0unknown';

function comparable(r: AppliedRecord): Comparable {
  if (!isAdopted(r)) return { ...r, known: true };
  return {
    key: r.key,
    svc: undefined,
    kind: r.clusterIP ? 'cluster-ip' : 'external-ip',
    dispatch: r.hasDispatch ? Unknown : undefined,
    slots: new Array<string>(r.slotCount).fill(Unknown),
    noEndpoint: r.hasNoEndpoint ? Unknown : undefined,
    firewall: r.hasFirewall ? [Unknown] : [],
    hash: r.hash,
    known: false,
  };
}

/**
 * Maps and sets whose elements a first sync into an empty table may send before the rest: no
 * chain hooks into the kernel until the last transaction declares them, so nothing reads these.
 * (hairpin and firewall-allow are emptied by that transaction, so they wait for it.)
 */
const isInert = (obj: string): boolean => obj.startsWith('slot-') || obj === 'service-state' || obj === 'service-ips' || obj === 'no-endpoint-services' || obj === 'cluster-ips';
/** Services rendered between two looks at what can be preloaded (and a turn of the event loop). */
const PaceServices = 256;

const objId = (o: { kind: string; name: string }): string => `${o.kind} ${o.name}`;
const isAffinitySet = (id: string): boolean => id.startsWith('set affinity-');

/** Deletion order: chains that reference others first, then maps and sets. */
function deleteRank(id: string): number {
  const [kind, name = ''] = id.split(' ');
  if (kind !== 'chain') return 9;
  if (/^(internal|external|extlocal)-/.test(name)) return 0;
  if (name.startsWith('pick-')) return 1;
  if (/^slot-\d+-a\d+$/.test(name)) return 2;
  return 3;
}

class FamilySync {
  readonly f: NftFamily;
  readonly fc: FamilyConfig;
  records = new Map<string, AppliedRecord>();
  byService = new Map<NamespacedName, string[]>();
  /**
   * Every Service port claiming a key, the owner first. Two Services may ask for the same
   * address, protocol and port (externalIPs are the user's to choose, and may even be another
   * Service's ClusterIP): the map holds one element per key, so one claim is applied, the owner's,
   * and the others wait until it lets go (the first waiting one then takes over).
   */
  claims = new Map<string, KeyRecord[]>();
  /** Keys whose owner let go during this render: applied once, after every Service is rendered. */
  #handover = new Set<string>();
  /** Slot layout per Service port, kept across syncs (and full syncs) for stable slots. */
  layouts = new Map<string, string[]>();
  portsByService = new Map<NamespacedName, string[]>();
  clusterIPRefs = new Map<string, number>();
  dispatchRefs = new Map<string, number>();
  hairpinRefs = new Map<string, number>();
  hairpinByService = new Map<NamespacedName, string[]>();
  hairpinApplied = new Set<string>();
  hairpinDirty = new Set<string>();
  hairpinReset = false;
  firewallKeys = new Set<string>();
  firewallDirty = false;
  /** Shared (non-base) objects believed to exist. */
  objects = new Set<string>();
  pendingDelete = new Set<string>();
  declared = false;
  readonly #base: ObjectSpec[];
  readonly #baseIds: Set<string>;
  readonly #dispatchMemo = new Map<string, ObjectSpec[]>();
  readonly nodeName: string;

  constructor(f: NftFamily, cfg: ProxyConfig, node: NodeInfo) {
    this.f = f;
    this.fc = familyConfig(cfg, f);
    this.#base = baseObjects(this.fc);
    this.#baseIds = new Set(this.#base.map(objId));
    this.nodeName = node.name;
  }

  dispatchObjects(name: string): ObjectSpec[] {
    let o = this.#dispatchMemo.get(name);
    if (!o) this.#dispatchMemo.set(name, (o = dispatchObjects(name, this.fc)));
    return o;
  }

  /** Forgets what was applied (before a full sync); layouts are kept. */
  reset(): void {
    this.records.clear();
    this.byService.clear();
    this.claims.clear();
    this.clusterIPRefs.clear();
    this.dispatchRefs.clear();
    this.hairpinRefs.clear();
    this.hairpinByService.clear();
    this.hairpinApplied.clear();
    this.hairpinDirty.clear();
    this.firewallKeys.clear();
  }

  /**
   * Reads back the service-state map and the chain names of a table an earlier process left.
   * 'partial': the table has no `services` chain, so an earlier process died while preloading it
   * (its service-state says nothing about what exists); nothing is read.
   */
  async adopt(nft: Nftables): Promise<'absent' | 'adopted' | 'partial'> {
    const elems = await nft.listElements(this.f, TableName, 'map', 'service-state');
    if (!elems) return 'absent';
    const chains = (await nft.listChains(this.f, TableName)) ?? [];
    if (!chains.includes('services')) return 'partial';
    for (const e of elems) {
      const key = e.key.join(' . ');
      const r = parseStateValue(key, e.value ?? []);
      this.records.set(key, r);
      if (r.clusterIP) this.clusterIPRefs.set(e.key[0], (this.clusterIPRefs.get(e.key[0]) ?? 0) + 1);
    }
    for (const name of chains) {
      const id = `chain ${name}`;
      if (this.#baseIds.has(id)) continue;
      this.objects.add(id);
      let m = /^slot-(\d+)$/.exec(name);
      if (m) this.objects.add(`map slot-${m[1]}`);
      m = /^slot-(\d+)-a(\d+)$/.exec(name);
      if (m) this.objects.add(`set affinity-${m[2]}-${m[1]}`);
    }
    return 'adopted';
  }

  /** Moves tx's additions to inert objects into a preload transaction, when there are at least `min`. */
  takeInert(tx: Transaction, min: number): Transaction | undefined {
    const chunk = tx.takeElements(isInert, min);
    if (!chunk) return undefined;
    // Declarations come first in the script, so the preload may create the table, its maps and
    // (empty, unhooked) the chains that verdicts go to; the last transaction gives them rules.
    chunk.addTable();
    for (const obj of chunk.elementTargets()) chunk.define(this.#base.find((o) => o.name === obj) ?? slotMapSpec(Number(obj.slice('slot-'.length)), this.f));
    // Every dispatch chain in use so far: a superset of what this preload's verdicts name.
    for (const [chain, n] of this.dispatchRefs) if (n > 0) chunk.define({ kind: 'chain', name: chain, rules: [] });
    chunk.define({ kind: 'chain', name: 'reject-chain', rules: [] });
    return chunk;
  }

  /** Renders one sync of this family into tx; returns the conntrack flows to clear once it applied. */
  async render(tx: Transaction, state: ProxyState, changed: ReadonlySet<NamespacedName> | undefined, mode: SyncResult['mode'], pace?: () => Promise<void>): Promise<FlowFilter[]> {
    const flows: FlowFilter[] = [];
    const full = mode !== 'incremental';
    if (full || !this.declared) {
      tx.addTable();
      for (const o of this.#base) tx.define(o);
      this.hairpinReset = true;
      this.firewallDirty = true;
    }
    if (mode === 'full') {
      // Re-send everything: every map and set but the affinity ones is emptied first.
      for (const o of this.#base) if (o.kind !== 'chain' && o.name !== 'firewall-allow' && o.name !== 'hairpin') tx.flush(o.kind, o.name);
      for (const id of this.objects) {
        const [kind, name] = id.split(' ') as ['chain' | 'map' | 'set', string];
        if (kind === 'map') {
          tx.define(slotMapSpec(Number(name.slice('slot-'.length)), this.f));
          tx.flush(kind, name);
        }
      }
    }

    const services = full || !changed ? new Set([...state.services.keys(), ...this.byService.keys()]) : changed;
    let i = 0;
    for (const name of services) {
      this.#syncService(tx, name, state.services.get(name), flows);
      if (pace && ++i % PaceServices === 0) await pace();
    }
    // Keys handed to a waiting claim (or to nobody): one change each, whatever happened to them
    // in between (a transaction sends an object's deletes before its adds, so a key must not be
    // both added and deleted in one).
    for (const key of this.#handover) {
      const old = this.records.get(key);
      this.#diffKey(tx, old ? comparable(old) : undefined, this.claims.get(key)?.[0], flows);
    }
    this.#handover.clear();
    if (full) {
      // Keys an earlier process left that no Service claims any more.
      for (const r of [...this.records.values()]) if (isAdopted(r)) this.#diffKey(tx, comparable(r), undefined, flows);
    }

    // Shared objects: declare the new ones (all of them after a restart, whose rules may differ).
    const needed = new Map<string, ObjectSpec>();
    for (const [d, n] of this.dispatchRefs) if (n > 0) for (const o of this.dispatchObjects(d)) needed.set(objId(o), o);
    for (const [id, o] of needed) {
      if (mode !== 'incremental' || !this.objects.has(id)) {
        tx.define(o);
        this.objects.add(id);
      }
    }
    // Objects unused since the previous sync go now (the elements that referenced them went in
    // an earlier transaction); objects unused as of this sync go in the next one.
    const gone = [...this.pendingDelete].filter((id) => !needed.has(id) && this.objects.has(id));
    gone.sort((a, b) => deleteRank(a) - deleteRank(b));
    for (const id of gone) {
      const [kind, name] = id.split(' ') as [ObjectSpec['kind'], string];
      tx.remove(kind, name);
      this.objects.delete(id);
    }
    this.pendingDelete = new Set([...this.objects].filter((id) => !needed.has(id) && !isAffinitySet(id)));
    for (const id of this.objects) if (isAffinitySet(id) && !needed.has(id)) this.pendingDelete.add(id);

    this.#renderHairpin(tx);
    if (this.firewallDirty) {
      tx.flush('set', 'firewall-allow');
      for (const key of this.firewallKeys) {
        const r = this.records.get(key);
        if (r && !isAdopted(r)) for (const c of r.firewall) tx.addElement('firewall-allow', `${key} . ${c}`);
      }
      this.firewallDirty = false;
    }
    this.declared = true;
    return flows;
  }

  #renderHairpin(tx: Transaction): void {
    let todo: Iterable<string> = this.hairpinDirty;
    if (this.hairpinReset) {
      tx.flush('set', 'hairpin');
      this.hairpinApplied.clear();
      this.hairpinReset = false;
      todo = this.hairpinRefs.keys();
    }
    for (const ip of todo) {
      const want = (this.hairpinRefs.get(ip) ?? 0) > 0;
      if (want && !this.hairpinApplied.has(ip)) {
        tx.addElement('hairpin', `${ip} . ${ip}`);
        this.hairpinApplied.add(ip);
      } else if (!want && this.hairpinApplied.has(ip)) {
        tx.deleteElement('hairpin', `${ip} . ${ip}`);
        this.hairpinApplied.delete(ip);
      }
    }
    this.hairpinDirty.clear();
  }

  #syncService(tx: Transaction, name: NamespacedName, svc: ServiceState | undefined, flows: FlowFilter[]): void {
    const fam = this.f === 'ip' ? 'IPv4' : 'IPv6';
    const newRecords: KeyRecord[] = [];
    const ports: string[] = [];
    const hairpin = new Set<string>();
    for (const sp of svc?.ports ?? []) {
      if (sp.family !== fam) continue;
      const { records, slots } = renderServicePort(sp, this.fc, this.layouts.get(sp.info.name));
      this.layouts.set(sp.info.name, slots);
      ports.push(sp.info.name);
      // One claim per key and Service (an externalIP may repeat its own ClusterIP): the first.
      for (const r of records) if (!newRecords.some((n) => n.key === r.key)) newRecords.push(r);
      for (const ep of sp.allReachableEndpoints) if (ep.nodeName === this.nodeName) hairpin.add(ep.ip);
      for (const ep of sp.localEndpoints) hairpin.add(ep.ip);
    }
    for (const p of this.portsByService.get(name) ?? []) if (!ports.includes(p)) this.layouts.delete(p);
    if (ports.length) this.portsByService.set(name, ports);
    else this.portsByService.delete(name);

    const newKeys = new Set(newRecords.map((r) => r.key));
    const mine = (r: KeyRecord): boolean => r.svc.startsWith(`${name}:`);
    for (const key of this.byService.get(name) ?? []) {
      if (newKeys.has(key)) continue;
      const list = this.claims.get(key);
      if (!list) continue;
      const owned = list.length > 0 && mine(list[0]);
      const rest = list.filter((r) => !mine(r));
      if (rest.length) this.claims.set(key, rest);
      else this.claims.delete(key);
      if (owned) this.#handover.add(key);
    }
    for (const r of newRecords) {
      const list = this.claims.get(r.key);
      const others = list?.filter((c) => !mine(c)) ?? [];
      if (list && list.length > 0 && !mine(list[0])) {
        // Another Service owns the key: this claim waits behind it.
        this.claims.set(r.key, [...others, r]);
        continue;
      }
      this.claims.set(r.key, [r, ...others]);
      if (this.#handover.has(r.key)) continue;
      const old = this.records.get(r.key);
      this.#diffKey(tx, old ? comparable(old) : undefined, r, flows);
    }
    if (newKeys.size) this.byService.set(name, [...newKeys]);
    else this.byService.delete(name);

    for (const ip of this.hairpinByService.get(name) ?? []) {
      this.#ref(this.hairpinRefs, ip, -1);
      this.hairpinDirty.add(ip);
    }
    for (const ip of hairpin) {
      this.#ref(this.hairpinRefs, ip, 1);
      this.hairpinDirty.add(ip);
    }
    if (hairpin.size) this.hairpinByService.set(name, [...hairpin]);
    else this.hairpinByService.delete(name);
  }

  #ref(m: Map<string, number>, k: string, d: number): number {
    const n = (m.get(k) ?? 0) + d;
    if (n <= 0) m.delete(k);
    else m.set(k, n);
    return n;
  }

  #diffKey(tx: Transaction, o: Comparable | undefined, n: KeyRecord | undefined, flows: FlowFilter[]): void {
    const key = (n ?? o)!.key;
    if (o && n && o.hash === n.hash) {
      if (!o.known) {
        // Adopted and identical: from now on known.
        if (n.dispatch) this.#ref(this.dispatchRefs, n.dispatch, 1);
        if (n.firewall.length) this.firewallKeys.add(key);
      }
      this.records.set(key, n);
      return;
    }
    const oSlots = o?.slots ?? [];
    const nSlots = n?.slots ?? [];
    for (let k = 0; k < Math.max(oSlots.length, nSlots.length); k++) {
      const ov = oSlots[k];
      const nv = nSlots[k];
      if (ov === nv) continue;
      if (ov !== undefined) tx.deleteElement(`slot-${k}`, key);
      if (nv !== undefined) tx.addElement(`slot-${k}`, `${key} : ${nv}`);
    }
    if (o?.dispatch !== n?.dispatch) {
      if (o?.dispatch) {
        tx.deleteElement('service-ips', key);
        if (o.known) this.#ref(this.dispatchRefs, o.dispatch, -1);
      }
      if (n?.dispatch) {
        tx.addElement('service-ips', `${key} : goto ${n.dispatch}`);
        this.#ref(this.dispatchRefs, n.dispatch, 1);
      }
    }
    if (o?.noEndpoint !== n?.noEndpoint) {
      if (o?.noEndpoint) tx.deleteElement('no-endpoint-services', key);
      if (n?.noEndpoint) tx.addElement('no-endpoint-services', `${key} : ${n.noEndpoint}`);
    }
    const oFw = o?.firewall ?? [];
    const nFw = n?.firewall ?? [];
    if (oFw.join(',') !== nFw.join(',')) {
      this.firewallDirty = true;
      if (oFw.length && !nFw.length) tx.deleteElement('firewall-ips', key);
      if (!oFw.length && nFw.length) tx.addElement('firewall-ips', key);
      if (nFw.length) this.firewallKeys.add(key);
      else this.firewallKeys.delete(key);
    }
    if (o) tx.deleteElement('service-state', key);
    if (n) tx.addElement('service-state', `${key} : ${stateValue(n)}`);
    const oIP = o?.kind === 'cluster-ip';
    const nIP = n?.kind === 'cluster-ip';
    const ip = key.slice(0, key.indexOf(' '));
    if (oIP && !nIP && this.#ref(this.clusterIPRefs, ip, -1) === 0) tx.deleteElement('cluster-ips', ip);
    if (nIP && !oIP && this.#ref(this.clusterIPRefs, ip, 1) === 1) tx.addElement('cluster-ips', ip);
    if (n) this.records.set(key, n);
    else this.records.delete(key);

    // UDP flows that would otherwise keep going where they no longer should.
    const proto = n?.proto ?? (key.split(' . ')[1] as KeyRecord['proto']);
    if (proto === 'udp' || proto === 'sctp') {
      const port = Number(key.split(' . ')[2]);
      const family = this.f === 'ip' ? 'ipv4' : 'ipv6';
      if (nSlots.length > 0 && oSlots.length === 0) flows.push({ family, protocol: proto, origDst: ip, origPortDst: port });
      else if (o?.known) {
        const keep = new Set(nSlots.map((s) => s.split(' . ')[0]));
        const removed = new Set(oSlots.map((s) => s.split(' . ')[0]).filter((e) => !keep.has(e)));
        for (const ep of removed) flows.push({ family, protocol: proto, origDst: ip, origPortDst: port, dstNat: ep });
      }
    }
  }
}

const PreloadChunkElements = 20_000;
/** Preload transactions running at once (nft parses on one core each; Node renders meanwhile). */
const PreloadParallelism = 2;

/** Runs preload transactions, at most `limit` at once, in the order they come. */
class Preloader {
  readonly #nft: Nftables;
  readonly #limit: number;
  readonly #done: Promise<void>[] = [];
  readonly #queue: (() => void)[] = [];
  #running = 0;
  elements = 0;
  bytes = 0;

  constructor(nft: Nftables, limit: number) {
    this.#nft = nft;
    this.#limit = limit;
  }

  get started(): boolean {
    return this.#done.length > 0;
  }

  add(tx: Transaction): void {
    const script = String(tx);
    this.elements += tx.elementCount;
    this.bytes += script.length;
    const p = new Promise<void>((resolve, reject) => {
      const start = (): void => {
        this.#running++;
        this.#nft
          .run(script)
          .then(resolve, reject)
          .finally(() => {
            this.#running--;
            this.#queue.shift()?.();
          });
      };
      if (this.#running < this.#limit) start();
      else this.#queue.push(start);
    });
    // Awaited in settle(); until then a failure must not count as unhandled.
    p.catch(() => {});
    this.#done.push(p);
  }

  /** Waits for every preload; rejects with the first failure. */
  async settle(): Promise<void> {
    const failed = (await Promise.allSettled(this.#done)).find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

/** The nftables data plane: one table `svcnet` per IP family, both sent in one transaction. */
export class NftablesBackend implements ProxyBackend {
  readonly name = 'nftables';
  readonly #nft: Nftables;
  readonly #conntrack: Conntrack | undefined;
  readonly #families: FamilySync[];
  readonly #onConntrackError: ((e: unknown, f: FlowFilter) => void) | undefined;
  #needFull = false;
  #started = false;
  readonly #preloadChunk: number;

  constructor(o: NftablesBackendOptions) {
    this.#nft = o.nft;
    this.#conntrack = o.conntrack;
    this.#onConntrackError = o.onConntrackError;
    this.#preloadChunk = o.preloadChunkElements ?? PreloadChunkElements;
    this.#families = o.config.families.map((f) => new FamilySync(nftFamily(f), o.config, o.node));
  }

  requestFullSync(): void {
    this.#needFull = true;
  }

  async sync(state: ProxyState, changed: ReadonlySet<NamespacedName> | undefined): Promise<SyncResult> {
    let mode: SyncResult['mode'] = 'incremental';
    let fresh = false;
    if (!this.#started) {
      mode = 'adopt';
      fresh = true;
      const partial: FamilySync[] = [];
      for (const fs of this.#families) {
        const a = await fs.adopt(this.#nft);
        if (a === 'adopted') fresh = false;
        if (a === 'partial') partial.push(fs);
      }
      // A half-preloaded table carries no rule yet (its chains come with the last transaction):
      // start it over.
      if (partial.length) await this.#nft.run(partial.map((fs) => `delete table ${fs.f} ${TableName}\n`).join(''));
      this.#started = true;
    } else if (this.#needFull) {
      mode = 'full';
      for (const fs of this.#families) fs.reset();
    }
    const txs = this.#families.map((fs) => new Transaction(fs.f));
    let flows: FlowFilter[] = [];
    // The first sync into an empty table: the elements of inert objects go to the kernel in
    // transactions of their own while the rest renders (nft parses them on the other core), and
    // the last transaction gives the chains their rules and hooks, switching every Service on at
    // once. Elsewhere, and when there are fewer elements than one preload, a sync is one transaction.
    const pre = fresh ? new Preloader(this.#nft, PreloadParallelism) : undefined;
    const preload = (min: number): void => {
      if (!pre) return;
      this.#families.forEach((fs, i) => {
        const chunk = fs.takeInert(txs[i], min);
        if (chunk) pre.add(chunk);
      });
    };
    const pace = pre
      ? async (): Promise<void> => {
          preload(this.#preloadChunk);
          // Lets the running nft processes read their scripts.
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      : undefined;
    try {
      try {
        for (let i = 0; i < this.#families.length; i++) flows = flows.concat(await this.#families[i].render(txs[i], state, mode === 'incremental' ? changed : undefined, mode, pace));
        preload(pre?.started ? 1 : this.#preloadChunk);
      } finally {
        await pre?.settle().catch(() => {});
      }
      await pre?.settle();
      // The declarations, the rules, the other elements: every Service switched on at once.
      const script = txs.map(String).join('');
      if (script) await this.#nft.run(script);
      this.#needFull = false;
      for (const f of flows) {
        try {
          await this.#conntrack?.clear(f);
        } catch (e) {
          this.#onConntrackError?.(e, f);
        }
      }
      const elements = txs.reduce((a, t) => a + t.elementCount, 0) + (pre?.elements ?? 0);
      return { mode, elements, bytes: script.length + (pre?.bytes ?? 0) };
    } catch (e) {
      // What is in memory may no longer match the kernel: the next sync re-sends everything.
      this.#needFull = true;
      throw e;
    }
  }

  /** Removes svcnet's tables (kube-proxy's cleanup); no error when they do not exist. */
  async cleanup(): Promise<void> {
    const script = this.#families.map((fs) => `add table ${fs.f} ${TableName}\ndelete table ${fs.f} ${TableName}\n`).join('');
    await this.#nft.run(script);
    for (const fs of this.#families) {
      fs.reset();
      fs.objects.clear();
      fs.pendingDelete.clear();
      fs.declared = false;
    }
  }
}
