// The Endpoints controller (kube-controller-manager's "endpoint"): keeps the legacy Endpoints
// object of every Service with a selector (what `kubectl get endpoints` shows), deletes it with
// its Service, and leaves the Endpoints of selector-less Services to their users.
import type { Endpoints, Pod, Service } from 'kubernetes-types/core/v1.js';
import { Endpoints as EndpointsResource, Pods, Services, isNotFound } from '../../api/index.ts';
import { ItemExponentialFailureRateLimiter, WorkQueue, runWorkers, type Client, type EventRecorder, type Informer } from '../../client/index.ts';
import type { Logger } from '../../util/index.ts';
import type { Controller, ControllerContext } from '../manager.ts';
import {
  TriggerTimeTracker,
  addEndpointIndexes,
  annotationLeaderElection,
  keyOf,
  podsForService,
  serviceKeysForPod,
  serviceSelector,
  servicesToUpdateOnPodChange,
  splitKey,
} from '../endpointslice/index.ts';
import { computeSubsets, desiredEndpoints } from './subsets.ts';

export interface EndpointsControllerOptions {
  /** --concurrent-endpoint-syncs (default 5). */
  workers?: number;
  /** --endpoint-updates-batch-period (default 0). */
  batchPeriodMs?: number;
}

export interface EndpointsControllerStats {
  syncs: number;
  creates: number;
  updates: number;
  deletes: number;
  failures: number;
}

// The default controller rate limiter: 5 ms doubling to 1000 s, 15 tries.
const maxRetries = 15;

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class EndpointsController implements Controller {
  readonly name = 'endpoint';
  readonly #opts: Required<EndpointsControllerOptions>;
  readonly #queue = new WorkQueue<string>({ name: 'endpoint', rateLimiter: new ItemExponentialFailureRateLimiter<string>(5, 1_000_000) });
  readonly #triggers = new TriggerTimeTracker();
  /** Own writes the informer has not shown yet: key → the object written and the resourceVersion it replaced. */
  readonly #written = new Map<string, { replaced: string; obj: Endpoints }>();
  readonly #stats: EndpointsControllerStats = { syncs: 0, creates: 0, updates: 0, deletes: 0, failures: 0 };
  #services!: Informer<Service>;
  #pods!: Informer<Pod>;
  #endpoints!: Informer<Endpoints>;
  #client!: Client;
  #recorder!: EventRecorder;
  #log!: Logger;
  #inFlight = 0;
  #workers: Promise<void> | undefined;

  constructor(opts: EndpointsControllerOptions = {}) {
    this.#opts = { workers: opts.workers ?? 5, batchPeriodMs: opts.batchPeriodMs ?? 0 };
  }

  setup(ctx: ControllerContext): void {
    this.#client = ctx.client;
    this.#recorder = ctx.recorder('endpoint-controller');
    this.#log = ctx.log;
    this.#services = ctx.informers.informerFor<Service>(Services);
    this.#pods = ctx.informers.informerFor<Pod>(Pods);
    this.#endpoints = ctx.informers.informerFor<Endpoints>(EndpointsResource);
    addEndpointIndexes(this.#services, this.#pods);
    const q = this.#queue;
    const batch = this.#opts.batchPeriodMs;
    this.#services.addEventHandler({
      onAdd: (s) => q.add(keyOf(s)),
      onUpdate: (_, s) => q.add(keyOf(s)),
      onDelete: (s) => q.add(keyOf(s)),
    });
    const servicesFor = (p: Pod) => serviceKeysForPod(this.#services, p);
    const queueAll = (keys: Iterable<string>) => {
      for (const k of keys) q.addAfter(k, batch);
    };
    this.#pods.addEventHandler({
      onAdd: (p) => queueAll(servicesFor(p)),
      onUpdate: (o, p) => queueAll(servicesToUpdateOnPodChange(servicesFor, o, p)),
      onDelete: (p) => queueAll(servicesFor(p)),
    });
    this.#endpoints.addEventHandler({
      // Leftover Endpoints (checkLeftoverEndpoints): queued once from the first list, so those
      // whose Service went away while the controller was down are deleted.
      onAdd: (e) => {
        if (!this.#workers && !Object.prototype.hasOwnProperty.call(e.metadata?.annotations ?? {}, annotationLeaderElection)) q.add(keyOf(e));
      },
      onUpdate: (_, e) => {
        const w = this.#written.get(keyOf(e));
        if (w && w.replaced !== e.metadata?.resourceVersion) this.#written.delete(keyOf(e));
      },
      onDelete: (e) => {
        this.#written.delete(keyOf(e));
        q.add(keyOf(e));
      },
    });
  }

  run(_ctx: ControllerContext): void {
    this.#workers = runWorkers(this.#queue, this.#opts.workers, (key) => this.#syncCounted(key), { maxRetries, log: this.#log });
  }

  async stop(): Promise<void> {
    await this.#queue.shutDown();
    await this.#workers;
  }

  stats(): EndpointsControllerStats {
    return { ...this.#stats };
  }

  pending(): number {
    return this.#queue.len() + this.#inFlight;
  }

  async #syncCounted(key: string): Promise<void> {
    this.#inFlight++;
    this.#stats.syncs++;
    try {
      await this.#sync(key);
    } catch (e) {
      this.#stats.failures++;
      throw e;
    } finally {
      this.#inFlight--;
    }
  }

  /** The Endpoints as last known: the informer's, or this controller's own newer write. */
  #current(key: string): Endpoints | undefined {
    const inf = this.#endpoints.get(key);
    const w = this.#written.get(key);
    if (!w) return inf;
    if ((inf?.metadata?.resourceVersion ?? '') === w.replaced) return w.obj;
    this.#written.delete(key);
    return inf;
  }

  async #sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const svc = this.#services.get(key);
    if (!svc) {
      // The Service is gone: so are its Endpoints.
      this.#triggers.delete(key);
      const cur = this.#current(key);
      this.#written.delete(key);
      if (!cur) return;
      try {
        await this.#client.delete(EndpointsResource, namespace, name);
        this.#stats.deletes++;
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      return;
    }
    // ExternalName Services have no endpoints; selector-less ones get theirs from their users.
    if (svc.spec?.type === 'ExternalName' || !serviceSelector(svc)) return;

    const pods = podsForService(this.#pods, svc);
    const triggerTime = this.#triggers.compute(key, svc, pods);
    const { subsets } = computeSubsets(svc, pods);
    const current = this.#current(key);
    const next = desiredEndpoints(svc, current, subsets, triggerTime);
    if (!next) return;
    try {
      let written: Endpoints;
      if (!current?.metadata?.resourceVersion) {
        written = await this.#client.create<Endpoints>(EndpointsResource, namespace, next);
        this.#stats.creates++;
      } else {
        written = await this.#client.update<Endpoints>(EndpointsResource, next);
        this.#stats.updates++;
      }
      if (this.#endpoints.get(key)?.metadata?.resourceVersion !== written.metadata?.resourceVersion) {
        this.#written.set(key, { replaced: current?.metadata?.resourceVersion ?? '', obj: written });
      }
    } catch (e) {
      this.#written.delete(key);
      const created = !current?.metadata?.resourceVersion;
      const obj: Endpoints = { ...next, apiVersion: 'v1', kind: 'Endpoints' };
      if (created) await this.#recorder.event(obj, 'Warning', 'FailedToCreateEndpoint', `Failed to create endpoint for service ${key}: ${errorText(e)}`);
      else await this.#recorder.event(obj, 'Warning', 'FailedToUpdateEndpoint', `Failed to update endpoint ${key}: ${errorText(e)}`);
      throw e;
    }
  }
}

export function newEndpointsController(opts: EndpointsControllerOptions = {}): EndpointsController {
  return new EndpointsController(opts);
}
