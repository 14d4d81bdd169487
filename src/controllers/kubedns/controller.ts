// The kube-dns controller's shell. In netns mode it keeps kube-system/kube-dns (kubeadm's
// Service, at the tenth address of the Service CIDR, without a selector) and writes its
// Endpoints from the Nodes whose cluster DNS serves; the EndpointSlice mirroring controller turns
// those into the slices the proxy programs, so 10.96.0.10:53 reaches the nodes' DNS servers.
// A kube-dns Service with a selector (someone runs DNS pods) is left alone. Host mode has no
// kube-dns Service: pods are host processes and the DNS answers on a loopback port.
import type { Endpoints, Node, Service } from 'kubernetes-types/core/v1.js';
import { Endpoints as EndpointsResource, Nodes, Services, isAlreadyExists, isNotFound } from '../../api/index.ts';
import { ItemExponentialFailureRateLimiter, WorkQueue, runWorkers, type Client, type EventRecorder, type Informer } from '../../client/index.ts';
import { clusterDnsIP } from '../../dns/index.ts';
import type { Logger } from '../../util/index.ts';
import type { Controller, ControllerContext } from '../manager.ts';
import { kubeDnsEndpoints, kubeDnsName, kubeDnsNamespace, kubeDnsService, managesEndpoints } from './core.ts';

const key = `${kubeDnsNamespace}/${kubeDnsName}`;

export class KubeDnsController implements Controller {
  readonly name = 'kubedns';
  readonly #queue = new WorkQueue<string>({ name: 'kubedns', rateLimiter: new ItemExponentialFailureRateLimiter<string>(500, 30_000) });
  #client!: Client;
  #log!: Logger;
  #recorder!: EventRecorder;
  #nodes!: Informer<Node>;
  #services!: Informer<Service>;
  #endpoints!: Informer<Endpoints>;
  #clusterIP = '';
  #active = false;
  #workers: Promise<void> | undefined;

  setup(ctx: ControllerContext): void {
    this.#client = ctx.client;
    this.#log = ctx.log;
    this.#active = ctx.settings.mode === 'netns';
    if (!this.#active) return;
    this.#recorder = ctx.recorder('kubedns-controller');
    this.#clusterIP = clusterDnsIP(ctx.settings.serviceCIDRs[0]);
    this.#nodes = ctx.informers.informerFor<Node>(Nodes);
    this.#services = ctx.informers.informerFor<Service>(Services);
    this.#endpoints = ctx.informers.informerFor<Endpoints>(EndpointsResource);
    const q = this.#queue;
    const mine = (o: { metadata?: { namespace?: string; name?: string } }) => o.metadata?.namespace === kubeDnsNamespace && o.metadata.name === kubeDnsName;
    this.#nodes.addEventHandler({ onAdd: () => q.add(key), onUpdate: () => q.add(key), onDelete: () => q.add(key) });
    for (const inf of [this.#services, this.#endpoints] as Informer<Service | Endpoints>[]) {
      inf.addEventHandler({
        onAdd: (o) => mine(o) && q.add(key),
        onUpdate: (_o, n) => mine(n) && q.add(key),
        onDelete: (o) => mine(o) && q.add(key),
      });
    }
  }

  run(): void {
    if (!this.#active) {
      this.#log.info('host mode: no kube-dns Service (the cluster DNS answers on a loopback port)');
      return;
    }
    this.#queue.add(key);
    this.#workers = runWorkers(this.#queue, 1, () => this.sync(), { log: this.#log });
  }

  async stop(): Promise<void> {
    await this.#queue.shutDown();
    await this.#workers;
  }

  /** One pass: the Service exists, and its Endpoints list the serving nodes. */
  async sync(): Promise<void> {
    let svc = this.#services.get(key);
    if (!svc) {
      try {
        svc = await this.#client.create<Service>(Services, kubeDnsNamespace, kubeDnsService(this.#clusterIP));
        this.#log.info({ clusterIP: this.#clusterIP }, 'created the kube-dns Service');
      } catch (e) {
        if (isAlreadyExists(e)) return; // the informer catches up and queues us again
        this.#log.warn({ err: (e as Error).message, clusterIP: this.#clusterIP }, 'cannot create the kube-dns Service');
        throw e;
      }
    }
    if (!managesEndpoints(svc)) return;
    const current = this.#endpoints.get(key);
    const want = kubeDnsEndpoints(current, this.#nodes.list());
    if (!want) return;
    try {
      if (current) await this.#client.update<Endpoints>(EndpointsResource, want);
      else await this.#client.create<Endpoints>(EndpointsResource, kubeDnsNamespace, want);
    } catch (e) {
      if (isNotFound(e) || isAlreadyExists(e)) {
        this.#queue.addAfter(key, 100);
        return;
      }
      void this.#recorder.event(svc, 'Warning', 'FailedToUpdateEndpoint', `Failed to update endpoint ${key}: ${(e as Error).message}`);
      throw e;
    }
    const ready = want.subsets?.[0]?.addresses?.map((a) => a.ip) ?? [];
    this.#log.info({ ready, notReady: want.subsets?.[0]?.notReadyAddresses?.map((a) => a.ip) ?? [] }, 'kube-dns endpoints updated');
  }
}
