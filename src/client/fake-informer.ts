// An Informer over objects a unit test hands it: add/update/delete call the handlers as a real
// informer would. For pure-logic tests of components that consume informers.
import { namespacedName, type KubeObject } from '../api/index.ts';
import type { IndexFunc, Informer, ResourceEventHandler } from './types.ts';

export class FakeInformer<T extends KubeObject> implements Informer<T> {
  #items = new Map<string, T>();
  #handlers: ResourceEventHandler<T>[] = [];
  #indexes = new Map<string, IndexFunc<T>>();
  #synced = false;
  #rv = 0;

  constructor(initial: readonly T[] = []) {
    for (const o of initial) this.#items.set(namespacedName(o), o);
  }

  addEventHandler(handler: ResourceEventHandler<T>): void {
    this.#handlers.push(handler);
    if (this.#synced) for (const o of this.#items.values()) handler.onAdd?.(o);
  }

  addIndex(name: string, fn: IndexFunc<T>): void {
    this.#indexes.set(name, fn);
  }

  start(): void {
    if (this.#synced) return;
    this.#synced = true;
    for (const h of this.#handlers) for (const o of this.#items.values()) h.onAdd?.(o);
  }

  stop(): void {}

  hasSynced(): boolean {
    return this.#synced;
  }

  async waitForSync(): Promise<void> {}

  get(key: string): T | undefined {
    return this.#items.get(key);
  }

  list(): T[] {
    return [...this.#items.values()];
  }

  byIndex(name: string, value: string): T[] {
    const fn = this.#indexes.get(name);
    if (!fn) throw new Error(`no index named ${JSON.stringify(name)}`);
    return this.list().filter((o) => fn(o).includes(value));
  }

  lastResourceVersion(): string {
    return String(this.#rv);
  }

  /** Adds or replaces an object, calling onAdd or onUpdate. */
  upsert(obj: T): void {
    this.#rv++;
    const key = namespacedName(obj);
    const old = this.#items.get(key);
    this.#items.set(key, obj);
    if (!this.#synced) return;
    for (const h of this.#handlers) {
      if (old) h.onUpdate?.(old, obj);
      else h.onAdd?.(obj);
    }
  }

  /** Removes an object by key ("ns/name"), calling onDelete. */
  remove(key: string): void {
    this.#rv++;
    const old = this.#items.get(key);
    if (!old) return;
    this.#items.delete(key);
    if (!this.#synced) return;
    for (const h of this.#handlers) h.onDelete?.(old);
  }
}
