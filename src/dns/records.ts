// The answer function (pure): model + question + config -> the full response, as CoreDNS's
// kubernetes plugin (handler.go, kubernetes.go, reverse.go, ns.go) and plugin/backend_lookup.go
// give it: rcode, AA, answer, authority (SOA on NXDOMAIN/NODATA) and additional sections.
import { canonicalIP, endpointLabel, keysAt, serviceKey, type DnsModel } from './model.ts';
import { addressFromReverse, inZone, parseRequest, zoneLabels, type RecordRequest } from './parse.ts';
import { addressRR, type Answer, type RR } from './rr.ts';
import { CLASS_IN, RCODE, TYPE } from './wire.ts';

export type PodsMode = 'disabled' | 'insecure' | 'verified';

export interface DnsConfig {
  /** The cluster zone, e.g. "cluster.local". */
  clusterDomain: string;
  /** Reverse zones answered for PTR, e.g. ["in-addr.arpa", "ip6.arpa"]. */
  reverseZones: string[];
  /** TTL of every record from the cluster (CoreDNS `ttl`, default 5); also the SOA minimum. */
  ttl: number;
  podsMode: PodsMode;
  /** The DNS server's own addresses: glue of the apex NS record and `ns.dns.<zone>`. */
  nsAddresses: string[];
  /**
   * PTR questions under the reverse zones that the cluster cannot answer go to the upstreams
   * (kubeadm's `fallthrough in-addr.arpa ip6.arpa`); otherwise NXDOMAIN.
   */
  reverseFallthrough: boolean;
}

export const DNS_SCHEMA_VERSION = '1.1.0';

export interface DnsQuestion {
  /** The name's labels as asked (case kept; compared lower-cased). */
  labels: string[];
  type: number;
  class: number;
}

/** A question for a presentation name, for tests and for chasing CNAMEs. */
export function question(name: string, type: number, klass = CLASS_IN): DnsQuestion {
  const n = name.replace(/\.$/, '');
  return { labels: n === '' ? [] : n.split('.'), type, class: klass };
}

/** The zones the answer function is authoritative for, longest first (lower-cased labels). */
interface Zones {
  cluster: string[];
  reverse: string[][];
}

const zoneCache = new WeakMap<DnsConfig, Zones>();

function zonesOf(cfg: DnsConfig): Zones {
  let z = zoneCache.get(cfg);
  if (!z) {
    z = { cluster: zoneLabels(cfg.clusterDomain), reverse: cfg.reverseZones.map(zoneLabels) };
    zoneCache.set(cfg, z);
  }
  return z;
}

/** True when the name is inside a zone the cluster DNS answers for (else it is forwarded). */
export function isAuthoritative(labels: readonly string[], cfg: DnsConfig): boolean {
  const z = zonesOf(cfg);
  return inZone(labels, z.cluster) || z.reverse.some((r) => inZone(labels, r));
}

// CoreDNS's msg.Service, reduced: what a lookup found before it is shaped into records.
interface Hit {
  /** An address, or (cname) the ExternalName target. */
  host: string;
  cname: boolean;
  port: number;
  /** The name SRV records point at (msg.Domain(key)). */
  target: string;
}

type Lookup = { nx: true } | { nx: false; hits: Hit[] };
const NX: Lookup = { nx: true };
const EMPTY: Lookup = { nx: false, hits: [] };

function matchPort(r: RecordRequest, name: string, protocol: string): boolean {
  return (r.port === '' || r.port === name) && (r.protocol === '' || r.protocol === protocol);
}

function findServices(model: DnsModel, r: RecordRequest, zone: string): Lookup {
  if (!model.namespaces.has(r.namespace)) return NX;
  if (r.service === '') return EMPTY;
  const svc = model.services.get(serviceKey(r.service, r.namespace));
  if (!svc) return NX;
  const base = `${svc.name}.${svc.namespace}.svc.${zone}.`;
  if (svc.kind === 'ExternalName') {
    // External services cannot have endpoints; an IP literal is no CNAME target.
    if (r.endpoint !== '' || svc.externalName === '' || canonicalIP(svc.externalName)) return NX;
    return { nx: false, hits: [{ host: svc.externalName, cname: true, port: 0, target: base }] };
  }
  const hits: Hit[] = [];
  if (svc.kind === 'Headless' || r.endpoint !== '') {
    for (const slice of model.slicesOf(svc.name, svc.namespace)) {
      for (const ep of slice.endpoints) {
        const label = endpointLabel(ep);
        if (r.endpoint !== '' && r.endpoint !== label) continue;
        for (const p of slice.ports) {
          if (!matchPort(r, p.name, p.protocol)) continue;
          hits.push({ host: ep.ip, cname: false, port: p.port, target: `${label}.${base}` });
        }
      }
    }
    return hits.length ? { nx: false, hits } : NX;
  }
  let found = false;
  for (const p of svc.ports) {
    if (!matchPort(r, p.name, p.protocol)) continue;
    found = true;
    for (const ip of svc.clusterIPs) hits.push({ host: ip, cname: false, port: p.port, target: base });
  }
  return found ? { nx: false, hits } : NX;
}

function findPods(model: DnsModel, r: RecordRequest, zone: string, cfg: DnsConfig): Lookup {
  if (cfg.podsMode === 'disabled') return NX;
  if (!model.namespaces.has(r.namespace)) return NX;
  const podname = r.service;
  if (podname === '') return EMPTY;
  const dashes = podname.split('-').length - 1;
  const ip = canonicalIP(dashes === 3 && !podname.includes('--') ? podname.replaceAll('-', '.') : podname.replaceAll('-', ':'));
  if (!ip) return NX;
  const hit: Hit = { host: ip, cname: false, port: 0, target: `${podname}.${r.namespace}.pod.${zone}.` };
  if (cfg.podsMode === 'insecure') return { nx: false, hits: [hit] };
  for (const key of keysAt(model.podsByIP, ip)) {
    if (model.pods.get(key)?.namespace === r.namespace) return { nx: false, hits: [hit] };
  }
  return NX;
}

/** Everything a name below the cluster zone stands for (CoreDNS's Services/Records), type aside. */
function lookup(model: DnsModel, sub: readonly string[], zone: string, cfg: DnsConfig): Lookup {
  // Names of the DNS service itself: they exist (NODATA for other types), as their records do.
  if (sub.length === 1 && (sub[0] === 'dns-version' || sub[0] === 'dns')) return EMPTY;
  if (sub.length === 2 && sub[0] === 'ns' && sub[1] === 'dns') {
    return { nx: false, hits: cfg.nsAddresses.map((a) => ({ host: a, cname: false, port: 0, target: `ns.dns.${zone}.` })) };
  }
  const p = parseRequest(sub);
  if (!p.ok) return NX;
  const r = p.request;
  if (r.podOrSvc === '') return EMPTY;
  return r.podOrSvc === 'pod' ? findPods(model, r, zone, cfg) : findServices(model, r, zone);
}

interface Ctx {
  model: DnsModel;
  cfg: DnsConfig;
  /** The cluster zone as written in config (lower-case) for record data. */
  zone: string;
}

interface AddressResult {
  records: RR[];
  chase?: { prefix: RR[]; target: string; qtype: number };
}

/**
 * CoreDNS's plugin.A / plugin.AAAA: address records for the hits, following CNAMEs inside the
 * zone directly (at most 8 deep, no `x CNAME x`, no repeated CNAME) and handing targets outside
 * the zone to the server (`chase`).
 */
function addressRecords(ctx: Ctx, owner: string, hits: readonly Hit[], qtype: number, previous: readonly RR[]): AddressResult {
  const out: AddressResult = { records: [] };
  const seen = new Set<string>();
  const z = zonesOf(ctx.cfg);
  for (const h of hits) {
    if (h.cname) {
      const target = h.host.endsWith('.') ? h.host : h.host + '.';
      if (target.toLowerCase() === owner.toLowerCase()) continue;
      if (previous.length > 7) continue;
      const cname: RR = { type: 'CNAME', name: owner, ttl: ctx.cfg.ttl, target };
      if (previous.some((p) => p.type === 'CNAME' && p.name.toLowerCase() === owner.toLowerCase() && p.target.toLowerCase() === target.toLowerCase())) continue;
      const tlabels = target.slice(0, -1).split('.');
      const lower = tlabels.map((l) => l.toLowerCase());
      if (inZone(lower, z.cluster)) {
        const next = lookup(ctx.model, lower.slice(0, lower.length - z.cluster.length), ctx.zone, ctx.cfg);
        if (next.nx) continue;
        const sub = addressRecords(ctx, target, next.hits, qtype, [...previous, cname]);
        if (sub.chase) out.chase = { ...sub.chase, prefix: [cname, ...sub.chase.prefix] };
        else if (sub.records.length > 0) out.records.push(cname, ...sub.records);
        continue;
      }
      out.chase = { prefix: [cname], target, qtype };
      continue;
    }
    if (seen.has(h.host)) continue;
    const rr = addressRR(owner, ctx.cfg.ttl, h.host);
    if (!rr || (qtype === TYPE.A) !== (rr.type === 'A')) continue;
    seen.add(h.host);
    out.records.push(rr);
  }
  return out;
}

/** CoreDNS's plugin.SRV: priority 0, weight floor(100/N) (at least 1), targets' addresses as additional. */
function srvRecords(ctx: Ctx, owner: string, hits: readonly Hit[]): { records: RR[]; extra: RR[] } {
  const services = hits.filter((h) => !h.cname);
  const records: RR[] = [];
  const extra: RR[] = [];
  const total = 100 * services.length;
  const dup = new Set<string>();
  for (const s of services) {
    if (s.port === -1) continue;
    // The same float arithmetic as CoreDNS, so the weights match to the unit.
    let weight = Math.floor((100 / total) * 100);
    if (weight === 0) weight = 1;
    const srvKey = `${s.target}\u0000${s.port}`;
    if (!dup.has(srvKey)) {
      dup.add(srvKey);
      records.push({ type: 'SRV', name: owner, ttl: ctx.cfg.ttl, priority: 0, weight, port: s.port, target: s.target });
    }
    const addrKey = `${s.target}\u0000${s.host}`;
    if (!dup.has(addrKey)) {
      dup.add(addrKey);
      const a = addressRR(s.target, ctx.cfg.ttl, s.host);
      if (a) extra.push(a);
    }
  }
  return { records, extra };
}

function soa(ctx: Ctx, zoneOwner: string): RR {
  return {
    type: 'SOA',
    name: zoneOwner,
    ttl: Math.min(ctx.cfg.ttl, 300),
    mname: `ns.dns.${zoneOwner}`,
    rname: `hostmaster.${zoneOwner}`,
    serial: ctx.model.serial,
    refresh: 7200,
    retry: 1800,
    expire: 86400,
    minimum: ctx.cfg.ttl,
  };
}

function nsRecords(ctx: Ctx, zoneOwner: string, owner: string): { records: RR[]; extra: RR[] } {
  const target = `ns.dns.${zoneOwner}`;
  const extra: RR[] = [];
  for (const a of ctx.cfg.nsAddresses) {
    const rr = addressRR(target, ctx.cfg.ttl, a);
    if (rr) extra.push(rr);
  }
  return { records: [{ type: 'NS', name: owner, ttl: ctx.cfg.ttl, target }], extra };
}

function respond(rcode: number, answer: RR[], authority: RR[] = [], additional: RR[] = []): Answer {
  return { rcode, authoritative: true, answer, authority, additional, cacheable: true };
}

/** NXDOMAIN (SERVFAIL until the informers have synced, as CoreDNS) with the zone's SOA. */
function nxdomain(ctx: Ctx, zoneOwner: string): Answer {
  return respond(ctx.model.synced ? RCODE.NXDOMAIN : RCODE.SERVFAIL, [], [soa(ctx, zoneOwner)]);
}

function nodata(ctx: Ctx, zoneOwner: string): Answer {
  return respond(RCODE.NOERROR, [], [soa(ctx, zoneOwner)]);
}

function refused(): Answer {
  return { rcode: RCODE.REFUSED, authoritative: false, answer: [], authority: [], additional: [], cacheable: true };
}

function reverseAnswer(ctx: Ctx, q: DnsQuestion, lower: readonly string[], zoneLen: number, owner: string, zoneOwner: string): Answer | null {
  const sub = lower.slice(0, lower.length - zoneLen);
  if (sub.length === 0) {
    if (q.type === TYPE.SOA) return respond(RCODE.NOERROR, [soa(ctx, zoneOwner)]);
    if (q.type === TYPE.NS) {
      const ns = nsRecords(ctx, zoneOwner, owner);
      return respond(RCODE.NOERROR, ns.records, [], ns.extra);
    }
    return nodata(ctx, zoneOwner);
  }
  const ip = addressFromReverse(lower);
  const names: string[] = [];
  if (ip && q.type === TYPE.PTR) {
    const svcKeys = keysAt(ctx.model.servicesByIP, ip);
    const svc = svcKeys.length ? ctx.model.services.get(svcKeys[0]) : undefined;
    if (svc) {
      names.push(`${svc.name}.${svc.namespace}.svc.${ctx.zone}.`);
    } else {
      for (const key of keysAt(ctx.model.slicesByIP, ip)) {
        const slice = ctx.model.slices.get(key);
        if (!slice) continue;
        for (const ep of slice.endpoints) {
          if (ep.ip !== ip) continue;
          const n = `${endpointLabel(ep)}.${slice.service}.${slice.namespace}.svc.${ctx.zone}.`;
          if (!names.includes(n)) names.push(n);
        }
      }
    }
  }
  if (names.length === 0) return ctx.cfg.reverseFallthrough ? null : nxdomain(ctx, zoneOwner);
  return respond(
    RCODE.NOERROR,
    names.map((target) => ({ type: 'PTR', name: owner, ttl: ctx.cfg.ttl, target })),
  );
}

/**
 * The response to a question, or null when the question is not the cluster's to answer (outside
 * its zones, or a reverse name it does not know with fallthrough on): the server forwards those.
 */
export function answer(model: DnsModel, q: DnsQuestion, cfg: DnsConfig): Answer | null {
  const lower = q.labels.map((l) => l.toLowerCase());
  const z = zonesOf(cfg);
  const owner = q.labels.length ? q.labels.join('.') + '.' : '.';
  const ctx: Ctx = { model, cfg, zone: z.cluster.join('.') };
  let zoneLen = -1;
  let reverse = false;
  if (inZone(lower, z.cluster)) zoneLen = z.cluster.length;
  for (const r of z.reverse) {
    if (r.length > zoneLen && inZone(lower, r)) {
      zoneLen = r.length;
      reverse = true;
    }
  }
  if (zoneLen < 0) return null;
  // The zone's owner name keeps the question's case, as CoreDNS's handler does.
  const zoneOwner = zoneLen === 0 ? '.' : q.labels.slice(q.labels.length - zoneLen).join('.') + '.';
  if (q.type === TYPE.AXFR || q.type === TYPE.IXFR) return refused();
  if (q.class !== CLASS_IN && q.class !== 255) return refused();
  if (reverse) return reverseAnswer(ctx, q, lower, zoneLen, owner, zoneOwner);

  const sub = lower.slice(0, lower.length - zoneLen);
  const apex = sub.length === 0;
  switch (q.type) {
    case TYPE.SOA:
      if (apex) return respond(RCODE.NOERROR, [soa(ctx, zoneOwner)]);
      break;
    case TYPE.NS:
      if (apex) {
        const ns = nsRecords(ctx, zoneOwner, owner);
        return respond(RCODE.NOERROR, ns.records, [], ns.extra);
      }
      break;
    case TYPE.TXT:
      if (sub.length === 1 && sub[0] === 'dns-version') {
        return respond(RCODE.NOERROR, [{ type: 'TXT', name: owner, ttl: 28800, text: [DNS_SCHEMA_VERSION] }]);
      }
      break;
  }

  const found = lookup(model, sub, ctx.zone, cfg);
  if (found.nx) return nxdomain(ctx, zoneOwner);
  const isNsName = sub.length === 2 && sub[0] === 'ns' && sub[1] === 'dns';
  switch (q.type) {
    case TYPE.A:
    case TYPE.AAAA: {
      const res = addressRecords(ctx, owner, found.hits, q.type, []);
      if (res.chase) return { ...nodata(ctx, zoneOwner), chase: res.chase, cacheable: false };
      return res.records.length ? respond(RCODE.NOERROR, res.records) : nodata(ctx, zoneOwner);
    }
    case TYPE.CNAME: {
      const first = found.hits[0];
      if (first?.cname) {
        const target = first.host.endsWith('.') ? first.host : first.host + '.';
        return respond(RCODE.NOERROR, [{ type: 'CNAME', name: owner, ttl: cfg.ttl, target }]);
      }
      return nodata(ctx, zoneOwner);
    }
    case TYPE.SRV: {
      if (isNsName) return nodata(ctx, zoneOwner);
      const srv = srvRecords(ctx, owner, found.hits);
      return srv.records.length ? respond(RCODE.NOERROR, srv.records, [], srv.extra) : nodata(ctx, zoneOwner);
    }
    default:
      // Every other type on a name that exists: NODATA (CoreDNS's "fake A lookup").
      return nodata(ctx, zoneOwner);
  }
}
