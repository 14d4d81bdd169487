// The LoadBalancer address controller (MetalLB's controller, in svcnet's controller manager):
// informers on Services, the IPAddressPools and the legacy ConfigMap of metallb-system and
// Namespaces; one worker, so that allocations never race; writes through the API.
import type { ConfigMap, Namespace, Service } from 'kubernetes-types/core/v1.js';
import { ConfigMaps, IPAddressPools, Namespaces, Services, namespacedName, type KubeObject } from '../../api/index.ts';
import type { IPAddressPool } from '../../api/validation/index.ts';
import { WorkQueue, runWorkers, type Client, type EventRecorder } from '../../client/index.ts';
import type { Logger } from '../../util/index.ts';
import type { Controller, ControllerContext } from '../manager.ts';
import { legacyConfigMapName, metallbNamespace } from './config.ts';
import { LoadBalancerReconciler, type Executor } from './reconciler.ts';

/** MetalLB's controller names itself so in Events ("From" in kubectl describe). */
export const eventComponent = 'metallb-controller';

const configItem = '\u0000config';
const pendingItem = '\u0000pending';
const poolStatusItem = '\u0000poolstatus';
/** Pool status writes are batched: one per pool at most this often. */
const poolStatusDelayMs = 200;

/** The executor over the API. */
export function apiExecutor(client: Client, recorder: EventRecorder): Executor {
  return {
    updateServiceStatus: async (svc) => {
      await client.update(Services, svc, {}, 'status');
    },
    event: (obj, type, reason, message) => recorder.event(obj, type, reason, message),
    updatePoolStatus: async (pool, status) => {
      await client.patch(IPAddressPools, pool.metadata?.namespace, pool.metadata?.name ?? '', 'merge', { status }, {}, 'status');
    },
  };
}

function sameJSON(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class LoadBalancerController implements Controller {
  readonly name = 'loadbalancer';
  readonly #queue = new WorkQueue<string>({ name: 'loadbalancer' });
  #reconciler: LoadBalancerReconciler | undefined;
  #log: Logger | undefined;
  #done: Promise<void> | undefined;

  /** For tests: the controller's logic and allocator. */
  get reconciler(): LoadBalancerReconciler | undefined {
    return this.#reconciler;
  }

  setup(ctx: ControllerContext): void {
    this.#log = ctx.log;
    const services = ctx.informers.informerFor<Service>(Services);
    const pools = ctx.informers.informerFor<IPAddressPool>(IPAddressPools, { namespace: metallbNamespace });
    const configMaps = ctx.informers.informerFor<ConfigMap>(ConfigMaps, { namespace: metallbNamespace });
    const namespaces = ctx.informers.informerFor<Namespace>(Namespaces);
    const q = this.#queue;
    const byKey = (o: KubeObject) => q.add(namespacedName(o));
    services.addEventHandler({ onAdd: byKey, onUpdate: (_o, n) => byKey(n), onDelete: byKey });
    const config = () => q.add(configItem);
    // A pool's own status writes are no configuration change.
    pools.addEventHandler({ onAdd: config, onUpdate: (o, n) => (!sameJSON(o.spec, n.spec) || !sameJSON(o.metadata?.labels, n.metadata?.labels)) && config(), onDelete: config });
    const isConfig = (o: ConfigMap) => o.metadata?.name === legacyConfigMapName;
    configMaps.addEventHandler({ onAdd: (o) => isConfig(o) && config(), onUpdate: (o, n) => isConfig(n) && !sameJSON(o.data, n.data) && config(), onDelete: (o) => isConfig(o) && config() });
    // Namespace labels feed serviceAllocation.namespaceSelectors.
    namespaces.addEventHandler({ onAdd: config, onUpdate: (o, n) => !sameJSON(o.metadata?.labels, n.metadata?.labels) && config(), onDelete: config });
    this.#reconciler = new LoadBalancerReconciler(
      {
        service: (key) => services.get(key),
        services: () => services.list(),
        ipAddressPools: () => pools.list(),
        configMap: () => configMaps.get(`${metallbNamespace}/${legacyConfigMapName}`),
        namespaces: () => namespaces.list(),
      },
      apiExecutor(ctx.client, ctx.recorder(eventComponent)),
      ctx.settings.mode,
      ctx.log,
      ctx.settings.loopbackLoadBalancerPool,
    );
  }

  run(_ctx: ControllerContext): void {
    const r = this.#reconciler;
    if (!r) throw new Error('loadbalancer controller: run() before setup()');
    const log = this.#log!;
    const q = this.#queue;
    this.#done = (async () => {
      // Before any single Service: the pools, then every Service, those holding addresses first.
      await r.syncConfig();
      await this.#reprocess(false);
      await runWorkers(q, 1, (item) => this.#handle(item), { log });
    })().catch((e: unknown) => log.error({ err: e }, 'loadbalancer controller stopped'));
  }

  async #reprocess(pendingOnly: boolean): Promise<void> {
    const r = this.#reconciler!;
    const { failed, freed } = await r.reprocess(pendingOnly);
    for (const k of failed) this.#queue.addRateLimited(k);
    if (freed) this.#queue.add(pendingItem);
    this.#poolStatusLater();
  }

  #poolStatusLater(): void {
    if (this.#reconciler?.hasDirtyPools()) this.#queue.addAfter(poolStatusItem, poolStatusDelayMs);
  }

  async #handle(item: string): Promise<void> {
    const r = this.#reconciler!;
    switch (item) {
      case configItem:
        if (await r.syncConfig()) await this.#reprocess(false);
        return;
      case pendingItem:
        await this.#reprocess(true);
        return;
      case poolStatusItem:
        await r.syncPoolStatus();
        return;
      default: {
        const { freed } = await r.syncService(item);
        if (freed) this.#queue.add(pendingItem);
        this.#poolStatusLater();
      }
    }
  }

  async stop(): Promise<void> {
    await this.#queue.shutDown();
    await this.#done;
  }
}

export function newLoadBalancerController(): Controller {
  return new LoadBalancerController();
}
