// The node IPAM controller (kube-controller-manager's "nodeipam" with the RangeAllocator):
// gives every Node a spec.podCIDR / podCIDRs from the cluster CIDR(s) (--cluster-cidr, one per
// family), /24 per node for IPv4 and /64 for IPv6, and takes them back when the Node goes.
import type { Node } from 'kubernetes-types/core/v1.js';
import { Nodes, isNotFound } from '../../api/index.ts';
import { WorkQueue, runWorkers, type Client, type EventRecorder, type Informer } from '../../client/index.ts';
import type { Logger } from '../../util/index.ts';
import type { Controller, ControllerContext } from '../manager.ts';
import { CidrSet, defaultNodeMask } from './cidrset.ts';

/** --cluster-cidr defaults: a loopback range in host mode, kubeadm-like in netns mode. */
export const defaultClusterCIDR: Record<'host' | 'netns', string> = { host: '127.244.0.0/16', netns: '10.244.0.0/16' };

export interface NodeIpamOptions {
  /** Overrides the cluster settings' CIDRs. */
  clusterCIDRs?: string[];
  /** --node-cidr-mask-size per family. */
  nodeMaskV4?: number;
  nodeMaskV6?: number;
}

function podCIDRsOf(n: Node): string[] {
  if (n.spec?.podCIDRs?.length) return n.spec.podCIDRs;
  return n.spec?.podCIDR ? [n.spec.podCIDR] : [];
}

export class NodeIpamController implements Controller {
  readonly name = 'nodeipam';
  readonly #opts: NodeIpamOptions;
  readonly #queue = new WorkQueue<string>({ name: 'nodeipam' });
  /** Subnets given but not yet seen on the Node through the informer. */
  readonly #pending = new Map<string, string[]>();
  #sets: CidrSet[] = [];
  #nodes!: Informer<Node>;
  #client!: Client;
  #recorder!: EventRecorder;
  #log!: Logger;
  #workers: Promise<void> | undefined;

  constructor(opts: NodeIpamOptions = {}) {
    this.#opts = opts;
  }

  setup(ctx: ControllerContext): void {
    this.#client = ctx.client;
    this.#recorder = ctx.recorder('cidrAllocator');
    this.#log = ctx.log;
    const cidrs = this.#opts.clusterCIDRs ?? ctx.settings.clusterCIDRs ?? [defaultClusterCIDR[ctx.settings.mode]];
    this.#sets = cidrs.map((c) => new CidrSet(c, (c.includes(':') ? this.#opts.nodeMaskV6 : this.#opts.nodeMaskV4) ?? defaultNodeMask(c)));
    this.#nodes = ctx.informers.informerFor<Node>(Nodes);
    this.#nodes.addEventHandler({
      onAdd: (n) => this.#queue.add(n.metadata?.name ?? ''),
      onUpdate: (_o, n) => this.#queue.add(n.metadata?.name ?? ''),
      onDelete: (n) => {
        for (const c of podCIDRsOf(n)) for (const s of this.#sets) s.release(c);
        const name = n.metadata?.name ?? '';
        for (const c of this.#pending.get(name) ?? []) for (const s of this.#sets) s.release(c);
        this.#pending.delete(name);
      },
    });
  }

  run(_ctx: ControllerContext): void {
    // Occupy what nodes already have before giving anything out.
    for (const n of this.#nodes.list()) this.#occupy(n);
    this.#workers = runWorkers(this.#queue, 1, (name) => this.#sync(name), { log: this.#log });
  }

  async stop(): Promise<void> {
    await this.#queue.shutDown();
    await this.#workers;
  }

  #occupy(n: Node): void {
    for (const c of podCIDRsOf(n)) {
      if (!this.#sets.some((s) => s.occupy(c))) this.#log.warn({ node: n.metadata?.name, cidr: c }, 'node pod CIDR is outside the cluster CIDRs');
    }
  }

  async #sync(name: string): Promise<void> {
    const node = this.#nodes.get(name);
    if (!node) return;
    const have = podCIDRsOf(node);
    if (have.length) {
      this.#occupy(node);
      this.#pending.delete(name);
      return;
    }
    let cidrs = this.#pending.get(name);
    if (!cidrs) {
      cidrs = [];
      for (const s of this.#sets) {
        const c = s.allocateNext();
        if (!c) {
          for (const given of cidrs) for (const t of this.#sets) t.release(given);
          void this.#recorder.event(node, 'Warning', 'CIDRNotAvailable', `Node ${name} status is now: CIDRNotAvailable`);
          this.#log.warn({ node: name, clusterCIDR: s.clusterCIDR }, 'no pod CIDR left for the node');
          return;
        }
        cidrs.push(c);
      }
      this.#pending.set(name, cidrs);
    }
    try {
      await this.#client.patch<Node>(Nodes, undefined, name, 'merge', { spec: { podCIDR: cidrs[0], podCIDRs: cidrs } });
      this.#log.info({ node: name, podCIDRs: cidrs }, 'pod CIDRs assigned');
    } catch (e) {
      if (isNotFound(e)) {
        for (const c of cidrs) for (const s of this.#sets) s.release(c);
        this.#pending.delete(name);
        return;
      }
      throw e;
    }
  }
}
