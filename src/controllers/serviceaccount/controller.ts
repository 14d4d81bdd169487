// The ServiceAccounts controller's shell: namespaces and ServiceAccounts from informers, a queue
// of namespace names, and a create for each missing default ServiceAccount.
import type { Namespace, ServiceAccount } from 'kubernetes-types/core/v1.js';
import { Namespaces, ServiceAccounts, isAlreadyExists, isNotFound } from '../../api/index.ts';
import { WorkQueue, runWorkers, type Client, type Informer } from '../../client/index.ts';
import type { Controller, ControllerContext } from '../manager.ts';
import { defaultServiceAccounts, missingServiceAccounts } from './core.ts';

function forbidden(e: unknown): boolean {
  return (e as { status?: { code?: number } } | undefined)?.status?.code === 403;
}

export class ServiceAccountsController implements Controller {
  readonly name = 'serviceaccount';
  readonly #queue = new WorkQueue<string>({ name: 'serviceaccount' });
  #client!: Client;
  #namespaces!: Informer<Namespace>;
  #accounts!: Informer<ServiceAccount>;
  #workers: Promise<void> | undefined;

  setup(ctx: ControllerContext): void {
    this.#client = ctx.client;
    this.#namespaces = ctx.informers.informerFor<Namespace>(Namespaces);
    this.#accounts = ctx.informers.informerFor<ServiceAccount>(ServiceAccounts);
    const ns = (n: Namespace) => this.#queue.add(n.metadata?.name ?? '');
    this.#namespaces.addEventHandler({ onAdd: ns, onUpdate: (_o, n) => ns(n) });
    this.#accounts.addEventHandler({
      onDelete: (sa) => {
        if (defaultServiceAccounts.includes(sa.metadata?.name ?? '')) this.#queue.add(sa.metadata?.namespace ?? '');
      },
    });
  }

  run(ctx: ControllerContext): void {
    this.#workers = runWorkers(this.#queue, 3, (name) => this.sync(name), { log: ctx.log });
  }

  async stop(): Promise<void> {
    await this.#queue.shutDown();
    await this.#workers;
  }

  async sync(namespace: string): Promise<void> {
    const missing = missingServiceAccounts(this.#namespaces.get(namespace), (name) => this.#accounts.get(`${namespace}/${name}`) !== undefined);
    for (const sa of missing) {
      try {
        await this.#client.create(ServiceAccounts, namespace, sa);
      } catch (e) {
        // Made meanwhile, or the namespace went (or began terminating): nothing to do.
        if (isAlreadyExists(e) || isNotFound(e) || forbidden(e)) continue;
        throw e;
      }
    }
  }
}
