// A packet tracer over FakeNftables (kube-proxy's nftablesTracer idea): it walks a packet through
// the svcnet table's base chains in hook and priority order, interpreting the rule shapes the
// renderer writes, and tells what happens: accepted (and DNATed where), dropped or rejected,
// masqueraded or not. numgen branches are all explored, so a test sees every endpoint a packet
// may reach.
import ipaddr from 'ipaddr.js';
import type { FakeNftables, FakeTable } from './fake.ts';
import { TableName } from './render.ts';
import type { NftFamily } from './nftables.ts';
import { joinHostPort } from '../../util/index.ts';

export interface TracePacket {
  proto: 'tcp' | 'udp' | 'sctp';
  saddr: string;
  daddr: string;
  dport: number;
  /** Sent by a process on the node (output hooks) rather than arriving (prerouting). */
  fromNode?: boolean;
}

export interface TraceResult {
  verdict: 'accept' | 'drop' | 'reject';
  /** "ip:port" ("[ip]:port" for IPv6) the packet was DNATed to. */
  dnat?: string;
  masquerade: boolean;
  /** Dynamic set updates the packet made ("set key"). */
  updates: string[];
}

export interface TracerOptions {
  /** Addresses of the node (`fib saddr type local`). */
  nodeIPs: string[];
  /** Apply `update @set` statements to the fake, as the kernel would (session affinity). */
  commitUpdates?: boolean;
}

type ChainResult = { kind: 'return' } | { kind: 'verdict'; v: 'accept' | 'drop' | 'reject' };

interface Ctx {
  f: NftFamily;
  t: FakeTable;
  pkt: TracePacket;
  mark: number;
  dnat?: { ip: string; port: number };
  masquerade: boolean;
  updates: string[];
  choose: (n: number, offset: number) => number;
  depth: number;
}

const SEL = '(?:ip6? (?:saddr|daddr)|meta l4proto|th dport)';
const EXPR = `${SEL}(?: \\. ${SEL})*`;
const RE = {
  ctNew: /^ct state new\b/,
  ctDnat: /^ct status dnat\b/,
  vmapNamed: new RegExp(`^(${EXPR}) vmap @([\\w-]+)`),
  numgen: /^numgen random mod (\d+)(?: offset (\d+))? vmap \{ ([^}]*) \}/,
  setMatch: new RegExp(`^(${EXPR}) (!= )?@([\\w-]+)`),
  literal: new RegExp(`^(${EXPR}) (!= )?(\\{ [^}]* \\}|[0-9a-fA-F.:/]+)`),
  fibLocal: /^fib saddr type local\b/,
  markSet: /^meta mark set meta mark (or|xor) (0x[0-9a-f]+)/,
  markZero: /^meta mark & (0x[0-9a-f]+) == 0\b/,
  dnat: new RegExp(`^dnat ip6? to (${EXPR}) map @([\\w-]+)`),
  update: new RegExp(`^update @([\\w-]+) \\{ (${EXPR}) \\}`),
  masq: /^masquerade(?: fully-random)?/,
  l4proto: /^meta l4proto (tcp|udp|sctp)\b/,
  rejectReset: /^reject with tcp reset\b/,
  jump: /^(jump|goto) ([\w-]+)/,
  verdict: /^(return|drop|reject|accept)\b/,
};

function evalExpr(expr: string, ctx: Ctx): string {
  return expr
    .split(' . ')
    .map((s) => {
      if (s.endsWith('saddr')) return ctx.pkt.saddr;
      if (s.endsWith('daddr')) return ctx.dnat?.ip ?? ctx.pkt.daddr;
      if (s === 'meta l4proto') return ctx.pkt.proto;
      if (s === 'th dport') return String(ctx.dnat?.port ?? ctx.pkt.dport);
      throw new Error(`tracer: unknown selector ${s}`);
    })
    .join(' . ');
}

function inCIDR(addr: string, cidr: string): boolean {
  try {
    const a = ipaddr.parse(addr);
    const [net, len] = cidr.includes('/') ? ipaddr.parseCIDR(cidr) : [ipaddr.parse(cidr), addr.includes(':') ? 128 : 32];
    return a.kind() === net.kind() && a.match(net, len);
  } catch {
    return false;
  }
}

function elementMatches(elemKey: string, value: string, interval: boolean): boolean {
  if (!interval) return elemKey === value;
  const ep = elemKey.split(' . ');
  const vp = value.split(' . ');
  return ep.length === vp.length && ep.every((e, i) => (e.includes('/') || e.includes('-') ? inCIDR(vp[i], e) : e === vp[i]));
}

function lookup(ctx: Ctx, name: string, value: string): string | undefined {
  const s = ctx.t.sets.get(name);
  if (!s) throw new Error(`tracer: no set ${name}`);
  const exact = s.elements.get(value);
  if (exact !== undefined) return exact;
  if (s.decl.includes('interval')) for (const [k, v] of s.elements) if (elementMatches(k, value, true)) return v;
  return undefined;
}

function runChain(name: string, ctx: Ctx, opts: TracerOptions): ChainResult {
  const chain = ctx.t.chains.get(name);
  if (!chain) throw new Error(`tracer: no chain ${name}`);
  if (++ctx.depth > 64) throw new Error('tracer: chain loop');
  for (const rule of chain.rules) {
    const r = runRule(rule, ctx, opts);
    if (r === 'next') continue;
    return r;
  }
  return { kind: 'return' };
}

function runRule(rule: string, ctx: Ctx, opts: TracerOptions): ChainResult | 'next' {
  let rest = rule.trim();
  const take = (re: RegExp): RegExpExecArray | null => {
    const m = re.exec(rest);
    if (m) rest = rest.slice(m[0].length).trimStart();
    return m;
  };
  const follow = (verdict: string): ChainResult | 'next' => {
    const jm = /^(jump|goto) ([\w-]+)$/.exec(verdict);
    if (jm) {
      const r = runChain(jm[2], ctx, opts);
      if (r.kind === 'verdict') return r;
      return jm[1] === 'goto' ? { kind: 'return' } : 'next';
    }
    if (verdict === 'return') return { kind: 'return' };
    if (verdict === 'accept' || verdict === 'drop' || verdict === 'reject') return { kind: 'verdict', v: verdict };
    throw new Error(`tracer: unknown verdict ${verdict}`);
  };
  let m: RegExpExecArray | null;
  while (rest !== '') {
    if (take(RE.ctNew)) continue;
    if (take(RE.ctDnat)) {
      if (!ctx.dnat) return 'next';
      continue;
    }
    if ((m = take(RE.vmapNamed))) {
      const v = lookup(ctx, m[2], evalExpr(m[1], ctx));
      if (v === undefined) return 'next';
      return follow(v);
    }
    if ((m = take(RE.numgen))) {
      const n = Number(m[1]);
      const offset = Number(m[2] ?? 0);
      const pick = ctx.choose(n, offset);
      const entries = new Map(m[3].split(', ').map((e) => e.split(' : ') as [string, string]));
      const v = entries.get(String(pick));
      if (v === undefined) return 'next';
      return follow(v);
    }
    if ((m = take(RE.dnat))) {
      const v = lookup(ctx, m[2], evalExpr(m[1], ctx));
      if (v === undefined) return 'next';
      const [ip, port] = v.split(' . ');
      ctx.dnat = { ip: ip, port: Number(port) };
      return { kind: 'verdict', v: 'accept' };
    }
    if ((m = take(RE.setMatch))) {
      const found = lookup(ctx, m[3], evalExpr(m[1], ctx)) !== undefined;
      if (found === Boolean(m[2])) return 'next';
      continue;
    }
    if ((m = take(RE.literal))) {
      const value = evalExpr(m[1], ctx);
      const items = m[3].startsWith('{') ? m[3].slice(1, -1).split(',').map((s) => s.trim()) : [m[3]];
      const found = items.some((c) => inCIDR(value, c));
      if (found === Boolean(m[2])) return 'next';
      continue;
    }
    if ((m = take(RE.l4proto))) {
      if (ctx.pkt.proto !== m[1]) return 'next';
      continue;
    }
    if (take(RE.rejectReset)) return { kind: 'verdict', v: 'reject' };
    if (take(RE.fibLocal)) {
      if (!(ctx.pkt.fromNode || opts.nodeIPs.includes(ctx.pkt.saddr))) return 'next';
      continue;
    }
    if ((m = take(RE.markSet))) {
      const bit = Number(m[2]);
      ctx.mark = m[1] === 'or' ? ctx.mark | bit : ctx.mark ^ bit;
      continue;
    }
    if ((m = take(RE.markZero))) {
      if ((ctx.mark & Number(m[1])) !== 0) return 'next';
      continue;
    }
    if ((m = take(RE.update))) {
      const key = evalExpr(m[2], ctx);
      ctx.updates.push(`${m[1]} ${key}`);
      if (opts.commitUpdates) ctx.t.sets.get(m[1])?.elements.set(key, '');
      continue;
    }
    if (take(RE.masq)) {
      ctx.masquerade = true;
      return { kind: 'verdict', v: 'accept' };
    }
    if ((m = take(RE.jump))) {
      const r = follow(`${m[1]} ${m[2]}`);
      if (r !== 'next') return r;
      return 'next';
    }
    if ((m = take(RE.verdict))) return follow(m[1]);
    throw new Error(`tracer: cannot interpret "${rest}" in rule "${rule}"`);
  }
  return 'next';
}

const PRIORITY: Record<string, number> = { dstnat: -100, srcnat: 100, filter: 0 };

function basePriority(decl: string): number {
  const m = /priority (-?\w+)(?: ([+-]) (\d+))?/.exec(decl);
  if (!m) return 0;
  const base = PRIORITY[m[1]] ?? Number(m[1]);
  return m[2] ? base + (m[2] === '+' ? 1 : -1) * Number(m[3]) : base;
}

function hookChains(t: FakeTable, hook: string): string[] {
  return [...t.chains]
    .filter(([, c]) => c.decl?.includes(`hook ${hook} `))
    .sort(([, a], [, b]) => basePriority(a.decl!) - basePriority(b.decl!))
    .map(([n]) => n);
}

/** Traces one packet; with choose, numgen takes that branch (default: the first). */
export function tracePacket(nft: FakeNftables, pkt: TracePacket, opts: TracerOptions, choose?: (n: number, offset: number) => number): TraceResult {
  const f: NftFamily = pkt.daddr.includes(':') ? 'ip6' : 'ip';
  const t = nft.table(f, TableName);
  const ctx: Ctx = { f, t: t ?? { chains: new Map(), sets: new Map() }, pkt, mark: 0, masquerade: false, updates: [], choose: choose ?? ((_n, o) => o), depth: 0 };
  if (!t) return { verdict: 'accept', masquerade: false, updates: [] };
  for (const hook of [pkt.fromNode ? 'output' : 'prerouting', 'postrouting']) {
    for (const name of hookChains(t, hook)) {
      ctx.depth = 0;
      const r = runChain(name, ctx, opts);
      if (r.kind === 'verdict' && r.v !== 'accept') return { verdict: r.v, masquerade: false, updates: ctx.updates };
    }
  }
  const dnat = ctx.dnat ? joinHostPort(ctx.dnat.ip, ctx.dnat.port) : undefined;
  return { verdict: 'accept', ...(dnat ? { dnat } : {}), masquerade: ctx.masquerade, updates: ctx.updates };
}

/** Every outcome over all numgen branches (sorted, deduplicated by destination and masquerade). */
export function traceAll(nft: FakeNftables, pkt: TracePacket, opts: TracerOptions): TraceResult[] {
  let span: { n: number; offset: number } | undefined;
  const first = tracePacket(nft, pkt, { ...opts, commitUpdates: false }, (n, offset) => {
    span ??= { n, offset };
    return offset;
  });
  if (!span) return [first];
  const out = new Map<string, TraceResult>();
  const s: { n: number; offset: number } = span;
  for (let i = 0; i < s.n; i++) {
    const r = tracePacket(nft, pkt, { ...opts, commitUpdates: false }, (_n, offset) => offset + i);
    out.set(`${r.verdict} ${r.dnat ?? ''} ${r.masquerade}`, r);
  }
  return [...out.values()].sort((a, b) => ((a.dnat ?? '') < (b.dnat ?? '') ? -1 : 1));
}

/** A one-line summary: "DNAT 10.244.2.7:53", "DNAT 10.244.2.7:53 masquerade", "reject", "drop", "accept". */
export function describe(r: TraceResult): string {
  if (r.verdict !== 'accept') return r.verdict;
  if (!r.dnat) return r.masquerade ? 'accept masquerade' : 'accept';
  return `DNAT ${r.dnat}${r.masquerade ? ' masquerade' : ''}`;
}
