// Layer 2 announcement choices for the node agent (MetalLB's speaker, layer2_controller.go):
// which node answers ARP/NDP for an address, and which L2Advertisements cover a pool. Pure.
import { createHash } from 'node:crypto';
import { labelSelectorAsSelector, matches } from '../../api/selectors/index.ts';
import type { IPAddressPool, L2Advertisement } from '../../api/validation/index.ts';
import { canonicalAddr } from './ip.ts';

export interface L2Node {
  name: string;
  /** Eligible to announce: its speaker is alive (and, for ETP Local, it has a ready endpoint). */
  ready: boolean;
}

/**
 * MetalLB's stateless leader choice: the eligible nodes sorted by sha256(node name + "#" +
 * address), the first wins. Every node computes the same answer without talking to the others;
 * removing a node that is not the leader never moves the address. For a dual-stack Service pass
 * its first address (MetalLB uses toAnnounce[0]). Undefined when no node is ready.
 */
export function l2Leader(address: string, nodes: readonly L2Node[]): string | undefined {
  const ip = canonicalAddr(address) ?? address;
  let best: { name: string; hash: Buffer } | undefined;
  for (const n of nodes) {
    if (!n.ready) continue;
    const hash = createHash('sha256').update(`${n.name}#${ip}`).digest();
    if (!best || Buffer.compare(hash, best.hash) < 0) best = { name: n.name, hash };
  }
  return best?.name;
}

/**
 * The L2Advertisements that announce a pool (setL2AdvertisementsToPools): one naming no pool
 * and no pool selector covers every pool; otherwise by name or by pool label selector. A pool
 * that none covers is allocated from but never announced.
 */
export function l2AdvertisementsForPool(pool: IPAddressPool, ads: readonly L2Advertisement[]): L2Advertisement[] {
  const name = pool.metadata?.name ?? '';
  return ads.filter((ad) => {
    const names = ad.spec?.ipAddressPools ?? [];
    const selectors = ad.spec?.ipAddressPoolSelectors ?? [];
    if (names.length === 0 && selectors.length === 0) return true;
    if (names.includes(name)) return true;
    return selectors.some((s) => matches(labelSelectorAsSelector(s), pool.metadata?.labels));
  });
}
