// The other way to make the LAN find a LoadBalancer address (kube-vip's, and what the issue first
// described): the announcing node adds the address to its interface, so that its kernel answers
// ARP for it, and sends gratuitous ARP when it takes it over. `--l2-announce-mode address`;
// svcnet's default is MetalLB's ARP responder (executor.ts), for the reasons in docs/proxy.md.
//
// The addresses carry the label "<iface>:lb", which is how an agent knows its own: at start it
// removes every address so labelled (a crashed predecessor's, which would otherwise keep
// attracting traffic), and at stop it removes what it added.
import type { Logger } from '../../util/index.ts';
import { NodeCommands, type IpLink, type L2Executor, type RunCommand } from './executor.ts';

export interface AddressExecutorOptions {
  /** Run in this named namespace (`ip netns exec`); default: the agent's own. */
  netns?: string;
  log: Logger;
  /** For tests: how commands run. */
  run?: RunCommand;
  /** Gratuitous ARPs sent per takeover, a second apart (default 2). */
  garpCount?: number;
}

/** The label of the addresses this executor adds on `iface` (IFNAMSIZ: at most 15 characters). */
export function announceLabel(iface: string): string {
  return `${iface}:lb`;
}

/** The addresses carrying our label, per interface. */
export function labelledAddresses(links: readonly IpLink[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const l of links) {
    if (!l.ifname) continue;
    const mine = (l.addr_info ?? []).filter((a) => a.family === 'inet' && a.label === announceLabel(l.ifname ?? '') && a.local).map((a) => a.local as string);
    if (mine.length) out.set(l.ifname, mine);
  }
  return out;
}

export class AddressExecutor implements L2Executor {
  readonly #o: AddressExecutorOptions;
  readonly #cmd: NodeCommands;
  /** Every operation waits for the removal of a predecessor's addresses, started at construction. */
  #queue: Promise<void>;
  #closed = false;

  constructor(o: AddressExecutorOptions) {
    this.#o = o;
    this.#cmd = new NodeCommands(o.run, o.netns);
    this.#queue = this.#removeAll('left by an earlier agent').catch((e: unknown) => o.log.warn({ err: e }, 'could not remove the LoadBalancer addresses an earlier agent added'));
  }

  async #ip(verb: 'add' | 'del', iface: string, address: string): Promise<void> {
    const argv = ['ip', 'addr', verb, `${address}/32`, 'dev', iface, ...(verb === 'add' ? ['label', announceLabel(iface)] : [])];
    const r = await this.#cmd.exec(argv);
    if (r.code !== 0) throw new Error(`ip addr ${verb} ${address}/32 dev ${iface}: ${r.stderr.trim() || `exit ${r.code}`}`);
  }

  async #removeAll(why: string): Promise<void> {
    for (const [iface, list] of labelledAddresses(await this.#cmd.links())) {
      for (const a of list) await this.#ip('del', iface, a);
      this.#o.log.info({ iface, addresses: list }, `removed LoadBalancer addresses ${why}`);
    }
  }

  #enqueue(fn: () => Promise<void>): Promise<void> {
    const p = this.#queue.then(fn);
    this.#queue = p.catch(() => {});
    return p;
  }

  interfaceOf(ip: string): Promise<string | undefined> {
    return this.#cmd.interfaceOf(ip);
  }

  setAddresses(iface: string, addresses: readonly string[]): Promise<void> {
    return this.#enqueue(async () => {
      if (this.#closed) throw new Error('executor closed');
      if (addresses.length && announceLabel(iface).length > 15) throw new Error(`cannot label addresses on ${iface}: "${announceLabel(iface)}" is longer than 15 characters`);
      const have = labelledAddresses(await this.#cmd.links()).get(iface) ?? [];
      for (const a of have) if (!addresses.includes(a)) await this.#ip('del', iface, a);
      for (const a of addresses) if (!have.includes(a)) await this.#ip('add', iface, a);
    });
  }

  gratuitousARP(iface: string, address: string): Promise<void> {
    return this.#cmd.gratuitousARP(iface, address, this.#o.garpCount);
  }

  close(): Promise<void> {
    const p = this.#enqueue(() => this.#removeAll('at stop'));
    this.#closed = true;
    return p;
  }
}
