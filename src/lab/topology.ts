// The lab's layout as data (pure): which network namespaces exist, which addresses each holds,
// which links join them, and the `ip` commands that build it. Everything is derived from the
// lab's name and node count, so `up`, `down` and `status` agree without asking the kernel.
//
//   svcnet-<lab>-lan            bridge br0 (the seed's 192.168.1.0/24 segment), one veth per member
//   svcnet-<lab>-master-node    eth0 192.168.1.100/24, the API server (its in-process agent)
//   svcnet-<lab>-worker1        eth0 192.168.1.101/24, an agent
//   svcnet-<lab>-worker2        eth0 192.168.1.102/24, an agent
//   svcnet-<lab>-workstation    eth0 192.168.1.10/24, "your workstation"
//
// No namespace has a default route and none is linked to the host's namespace: every command
// below names a lab namespace (`ip -n <ns>`, `ip netns add|exec <ns>`), which `closedCommands`
// checks.

export const labNamePattern = /^[a-z0-9]{1,16}$/;
export const lanCIDR = '192.168.1.0/24';
export const lanPrefixLength = 24;
export const workstationIP = '192.168.1.10';
export const masterIP = '192.168.1.100';
export const apiServerPort = 6443;
/** The seed's MetalLB pool, on the same segment (addresses a LoadBalancer test may announce). */
export const loadBalancerPool = '192.168.1.200-192.168.1.250';
/** Node addresses run .100 (master-node) to .199, below the pool. */
export const maxNodes = 100;
export const bridgeName = 'br0';
export const memberInterface = 'eth0';

export type MemberRole = 'control-plane' | 'worker' | 'workstation';

export interface Member {
  /** master-node, worker1, ..., workstation */
  name: string;
  role: MemberRole;
  /** The network namespace, svcnet-<lab>-<name>. */
  ns: string;
  /** Its address on the LAN. */
  ip: string;
  /** The LAN-side end of its veth pair, inside the lan namespace (unique there, <= 15 chars). */
  lanIf: string;
}

export interface Topology {
  name: string;
  /** Every namespace (and /etc/netns entry) of this lab starts with this. */
  prefix: string;
  lanNs: string;
  nodes: Member[];
  workstation: Member;
  /** The API server inside master-node, as the agents reach it. */
  apiServer: string;
}

export function validateLabName(name: string): void {
  if (!labNamePattern.test(name)) {
    // No dashes: the lab's namespaces are found by the prefix svcnet-<lab>-, which must not
    // also be the prefix of another lab's.
    throw new Error(`lab name ${JSON.stringify(name)}: use 1-16 lowercase letters and digits (no dashes)`);
  }
}

export function nodeNames(count: number): string[] {
  if (!Number.isInteger(count) || count < 1 || count > maxNodes) throw new Error(`--nodes ${count}: expected 1 to ${maxNodes}`);
  return ['master-node', ...Array.from({ length: count - 1 }, (_, i) => `worker${i + 1}`)];
}

export function labPrefix(name: string): string {
  return `svcnet-${name}-`;
}

export function labTopology(name: string, nodeCount = 3): Topology {
  validateLabName(name);
  const prefix = labPrefix(name);
  const member = (n: string, role: MemberRole, ip: string, ifName: string): Member => ({ name: n, role, ns: prefix + n, ip, lanIf: ifName });
  const nodes = nodeNames(nodeCount).map((n, i) => member(n, i === 0 ? 'control-plane' : 'worker', `192.168.1.${100 + i}`, i === 0 ? 'v-master' : `v-w${i}`));
  return {
    name,
    prefix,
    lanNs: `${prefix}lan`,
    nodes,
    workstation: member('workstation', 'workstation', workstationIP, 'v-ws'),
    apiServer: `${masterIP}:${apiServerPort}`,
  };
}

export function members(t: Topology): Member[] {
  return [...t.nodes, t.workstation];
}

/** The namespace of a node, the workstation or the LAN, by the name a user types. */
export function namespaceOf(t: Topology, who: string): string | undefined {
  if (who === 'lan') return t.lanNs;
  return members(t).find((m) => m.name === who)?.ns;
}

export type Argv = readonly string[];

/** The `ip` (and in-namespace sysctl) commands that build the topology, in order. */
export function buildCommands(t: Topology): Argv[] {
  const cmds: Argv[] = [];
  for (const ns of [t.lanNs, ...members(t).map((m) => m.ns)]) cmds.push(['ip', 'netns', 'add', ns]);
  cmds.push(['ip', '-n', t.lanNs, 'link', 'set', 'lo', 'up']);
  cmds.push(['ip', '-n', t.lanNs, 'link', 'add', bridgeName, 'type', 'bridge']);
  cmds.push(['ip', '-n', t.lanNs, 'link', 'set', bridgeName, 'up']);
  for (const m of members(t)) {
    // Created in the lan namespace with its peer placed straight into the member's: neither
    // end ever exists in the host's namespace.
    cmds.push(['ip', '-n', t.lanNs, 'link', 'add', m.lanIf, 'type', 'veth', 'peer', 'name', memberInterface, 'netns', m.ns]);
    cmds.push(['ip', '-n', t.lanNs, 'link', 'set', m.lanIf, 'master', bridgeName, 'up']);
    cmds.push(['ip', '-n', m.ns, 'link', 'set', 'lo', 'up']);
    cmds.push(['ip', '-n', m.ns, 'addr', 'add', `${m.ip}/${lanPrefixLength}`, 'dev', memberInterface]);
    cmds.push(['ip', '-n', m.ns, 'link', 'set', memberInterface, 'up']);
  }
  // Nodes route pod traffic (between cbr0 and eth0); sysctls under net/ are per namespace.
  for (const n of t.nodes) cmds.push(['ip', 'netns', 'exec', n.ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  return cmds;
}

/**
 * Throws unless every command acts inside one of the lab's namespaces: `ip -n <lab ns> ...`,
 * `ip netns add|del|pids <lab ns>` or `ip netns exec <lab ns> ...`. A guard against a command
 * that would touch the host's namespace.
 */
export function assertClosed(t: Topology, cmds: readonly Argv[]): void {
  const ours = (ns: string | undefined) => ns !== undefined && ns.startsWith(t.prefix);
  for (const c of cmds) {
    const ok = c[0] === 'ip' && ((c[1] === '-n' && ours(c[2])) || (c[1] === 'netns' && ['add', 'del', 'delete', 'exec', 'pids'].includes(c[2] ?? '') && ours(c[3])));
    if (!ok) throw new Error(`lab: refusing a command outside the lab's namespaces: ${c.join(' ')}`);
  }
}

/** Lines of /etc/hosts for the lab's members (bind-mounted by `ip netns exec` into each). */
export function hostsFile(t: Topology): string {
  return ['127.0.0.1 localhost', '::1 localhost ip6-localhost ip6-loopback', ...members(t).map((m) => `${m.ip} ${m.name}`), ''].join('\n');
}

// ---- routes between nodes' pod CIDRs (the lab's route controller, as a cloud's) ----

export interface Route {
  dst: string;
  via: string;
}

/** Each node's routes: every other node's podCIDR via that node's LAN address. */
export function desiredRoutes(t: Topology, podCIDRs: ReadonlyMap<string, string>): Map<string, Route[]> {
  const out = new Map<string, Route[]>();
  for (const self of t.nodes) {
    const routes: Route[] = [];
    for (const peer of t.nodes) {
      const cidr = podCIDRs.get(peer.name);
      if (peer === self || !cidr) continue;
      routes.push({ dst: cidr, via: peer.ip });
    }
    out.set(self.ns, routes);
  }
  return out;
}

/** The commands that turn `current` (the lab's static routes found in ns) into `desired`. */
export function routeCommands(ns: string, current: readonly Route[], desired: readonly Route[]): Argv[] {
  const key = (r: Route) => `${r.dst} ${r.via}`;
  const want = new Set(desired.map(key));
  const have = new Set(current.map(key));
  const cmds: Argv[] = [];
  for (const r of current) if (!want.has(key(r))) cmds.push(['ip', '-n', ns, 'route', 'del', r.dst, 'via', r.via, 'proto', 'static']);
  for (const r of desired) {
    if (!have.has(key(r))) cmds.push(['ip', '-n', ns, 'route', 'replace', r.dst, 'via', r.via, 'dev', memberInterface, 'proto', 'static']);
  }
  return cmds;
}

/** Parses `ip -j route show proto static` output. */
export function parseRoutes(json: string): Route[] {
  if (!json.trim()) return [];
  const rows = JSON.parse(json) as { dst?: string; gateway?: string }[];
  const out: Route[] = [];
  for (const r of rows) if (r.dst && r.gateway) out.push({ dst: r.dst, via: r.gateway });
  return out;
}
