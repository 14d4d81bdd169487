// The root CA certificate publisher's shell: namespaces and ConfigMaps from informers, a queue
// of namespace names, and a create or update of `kube-root-ca.crt` where it is missing or off.
// The bundle is the CA that signed the API server's serving certificate (ClusterSettings.rootCA,
// as kube-controller-manager's --root-ca-file or its client's CA data).
import type { ConfigMap, Namespace } from 'kubernetes-types/core/v1.js';
import { ConfigMaps, Namespaces, isAlreadyExists, isNamespaceTerminating, isNotFound } from '../../api/index.ts';
import { WorkQueue, runWorkers, type Client, type Informer } from '../../client/index.ts';
import type { Logger } from '../../util/index.ts';
import type { Controller, ControllerContext } from '../manager.ts';
import { rootCACertConfigMapName, rootCAConfigMapAction } from './core.ts';

export class RootCACertPublisher implements Controller {
  readonly name = 'root-ca-cert-publisher';
  readonly #queue = new WorkQueue<string>({ name: 'root_ca_cert_publisher' });
  #client!: Client;
  #log!: Logger;
  #rootCA = '';
  #namespaces!: Informer<Namespace>;
  #configMaps!: Informer<ConfigMap>;
  #workers: Promise<void> | undefined;

  setup(ctx: ControllerContext): void {
    this.#client = ctx.client;
    this.#log = ctx.log;
    this.#rootCA = ctx.settings.rootCA ?? '';
    this.#namespaces = ctx.informers.informerFor<Namespace>(Namespaces);
    this.#configMaps = ctx.informers.informerFor<ConfigMap>(ConfigMaps);
    const ns = (n: Namespace) => this.#queue.add(n.metadata?.name ?? '');
    this.#namespaces.addEventHandler({ onAdd: ns, onUpdate: (_o, n) => ns(n) });
    const cm = (c: ConfigMap) => {
      if (c.metadata?.name === rootCACertConfigMapName && c.metadata.namespace) this.#queue.add(c.metadata.namespace);
    };
    this.#configMaps.addEventHandler({ onAdd: cm, onUpdate: (_o, c) => cm(c), onDelete: cm });
  }

  run(ctx: ControllerContext): void {
    if (!this.#rootCA) {
      ctx.log.warn('no root CA bundle configured; not publishing kube-root-ca.crt');
      void this.#queue.shutDown();
      return;
    }
    this.#workers = runWorkers(this.#queue, 3, (name) => this.sync(name), { log: ctx.log });
  }

  async stop(): Promise<void> {
    await this.#queue.shutDown();
    await this.#workers;
  }

  async sync(namespace: string): Promise<void> {
    const existing = this.#configMaps.get(`${namespace}/${rootCACertConfigMapName}`);
    const todo = rootCAConfigMapAction(this.#namespaces.get(namespace), existing, this.#rootCA);
    if (todo.action === 'create') {
      try {
        await this.#client.create(ConfigMaps, namespace, todo.configMap);
        this.#log.debug({ namespace, configmap: rootCACertConfigMapName }, 'created the root CA ConfigMap');
      } catch (e) {
        // The namespace went or began terminating: nothing to do. Made meanwhile: its add event
        // brings the namespace back to the queue if it needs fixing.
        if (isNotFound(e) || isNamespaceTerminating(e) || isAlreadyExists(e)) return;
        throw e;
      }
    } else if (todo.action === 'update') {
      // A conflict (changed meanwhile) is retried from the queue, with the cache then current.
      await this.#client.update(ConfigMaps, todo.configMap);
      this.#log.info({ namespace, configmap: rootCACertConfigMapName }, 'restored the root CA ConfigMap\'s data and description');
    }
  }
}
