// The netns runtime's plumbing as data (pure): names of a pod's network namespace and veth, the
// node bridge's addresses, and the `ip` commands that wire a pod to the bridge or take it
// away. The executor (netns.ts) runs them; tests read them.
import { createHash } from 'node:crypto';
import { formatAddress, parseCidr } from '../ipam.ts';

/** The node's pod bridge, as kubenet named it. */
export const bridgeName = 'cbr0';
/** The pod's end of its veth pair, inside its namespace. */
export const podInterface = 'eth0';

function hash(s: string, hexChars: number): string {
  return createHash('sha256').update(s).digest('hex').slice(0, hexChars);
}

/**
 * A pod's namespace name: `<node namespace>-p<hash>` when the agent runs in a named svcnet-
 * namespace (a lab node: whoever made the node finds its pods by that prefix), else
 * `svcnet-pod-<hash>`. Unique per pod uid on the host.
 */
export function podNamespaceName(uid: string, nodeNamespace: string | undefined): string {
  const base = nodeNamespace?.startsWith('svcnet-') ? `${nodeNamespace}-p` : 'svcnet-pod-';
  return `${base}${hash(uid, 12)}`;
}

/** The node's end of the pod's veth pair: "veth" + 11 hex digits (15 characters, IFNAMSIZ-1). */
export function vethName(uid: string): string {
  return `veth${hash(uid, 11)}`;
}

export interface CidrInfo {
  cidr: string;
  family: 4 | 6;
  prefixLength: number;
  /** The first host address: the bridge's, and the pods' default gateway. */
  gateway: string;
}

export function cidrInfo(cidr: string): CidrInfo {
  const c = parseCidr(cidr);
  return { cidr, family: c.family, prefixLength: c.bits, gateway: formatAddress(c.base + 1n, c.family) };
}

export type Argv = readonly string[];

/** A pod's plumbing as two `ip -batch` scripts: one in the node's namespace, one in the pod's. */
export interface PodScripts {
  /** Lines for `ip -batch -` in the node's namespace (the pod's namespace is made first). */
  node: string[];
  /** Lines for `ip -n <pod ns> -batch -`. */
  pod: string[];
}

/** The bridge with the gateway address of each pod CIDR, up. */
export function bridgeBatch(cidrs: readonly CidrInfo[], existingAddresses: readonly string[]): string[] {
  const want = new Set(cidrs.map((c) => `${c.gateway}/${c.prefixLength}`));
  const lines: string[] = [];
  for (const a of existingAddresses) if (!want.has(a)) lines.push(`addr del ${a} dev ${bridgeName}`);
  for (const c of cidrs) if (!existingAddresses.includes(`${c.gateway}/${c.prefixLength}`)) lines.push(`addr add ${c.gateway}/${c.prefixLength} dev ${bridgeName}`);
  lines.push(`link set ${bridgeName} up`);
  return lines;
}

export interface PodPlumbing {
  ns: string;
  veth: string;
  /** The pod's addresses, one per CIDR, in the same order. */
  ips: readonly string[];
  cidrs: readonly CidrInfo[];
}

/** Wires a pod: its namespace, its veth pair (node end on the bridge, hairpin on), addresses, default routes. */
export function podCommands(p: PodPlumbing): PodScripts {
  const node = [
    `netns add ${p.ns}`,
    `link add ${p.veth} type veth peer name ${podInterface} netns ${p.ns}`,
    `link set ${p.veth} master ${bridgeName}`,
    // A pod reaching itself through a Service's address comes back through its own port.
    `link set ${p.veth} type bridge_slave hairpin on`,
    `link set ${p.veth} up`,
  ];
  const pod = ['link set lo up'];
  p.cidrs.forEach((c, i) => {
    const ip = p.ips[i];
    if (ip) pod.push(`addr add ${ip}/${c.prefixLength} dev ${podInterface}${c.family === 6 ? ' nodad' : ''}`);
  });
  pod.push(`link set ${podInterface} up`);
  for (const c of p.cidrs) pod.push(`route add ${c.family === 6 ? '::/0' : 'default'} via ${c.gateway} dev ${podInterface}`);
  return { node, pod };
}

/** Takes a pod away: its veth pair (at once, not when the kernel gets round to the namespace), then the namespace. */
export function podRemovalCommands(ns: string, veth: string): string[] {
  return [`link del ${veth}`, `netns del ${ns}`];
}

/** `ip netns exec <ns>` bind-mounts /etc/netns/<ns>/<file> over /etc/<file>: resolv.conf, hosts. */
export const etcNetns = '/etc/netns';
