// The EndpointSlice controller (kube-controller-manager's "endpointslice"): keeps the slices of
// every Service with a selector equal to what the reconciler computes from its pods. Informer
// handlers only queue Service keys (deduplicated by the work queue, looked up through indexes);
// workers read the caches, reconcile (pure) and write the differences; a restart rewrites
// nothing that is already right.
import type { Node, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { EndpointSlices, Nodes, Pods, Services, isNotFound } from '../../api/index.ts';
import { ItemExponentialFailureRateLimiter, WorkQueue, runWorkers, type Client, type EventRecorder, type Informer } from '../../client/index.ts';
import type { Logger } from '../../util/index.ts';
import type { Controller, ControllerContext } from '../manager.ts';
import { addEndpointIndexes, ensureIndex, podsForService, podsOnNode, serviceKeysForPod, sliceServiceIndexFunc } from './indexes.ts';
import { keyOf, labelManagedBy, labelServiceName, labelTopologyZone, serviceSelector, servicesToUpdateOnPodChange, splitKey } from './pods.ts';
import { controllerName, defaultMaxEndpointsPerSlice, reconcile, type SliceChanges } from './reconciler.ts';
import { SliceTracker } from './tracker.ts';
import { TriggerTimeTracker } from './triggertime.ts';

export interface EndpointSliceControllerOptions {
  /** --max-endpoints-per-slice (default 100). */
  maxEndpointsPerSlice?: number;
  /** --concurrent-service-endpoint-syncs (default 5). */
  workers?: number;
  /** --endpoint-updates-batch-period: delay of syncs caused by pod changes (default 0). */
  batchPeriodMs?: number;
  /** Delay of a sync caused by someone else's change to a managed slice (default 1 s, as Kubernetes). */
  sliceChangeDelayMs?: number;
}

/** Counters for benchmarks and tests. */
export interface EndpointSliceControllerStats {
  syncs: number;
  creates: number;
  updates: number;
  deletes: number;
  failures: number;
}

const sliceIndex = 'svcnet.io/endpointslices-by-service';
// kube-controller-manager's retry budget and backoff for this controller: 1 s doubling to 1000 s, 15 tries.
const maxRetries = 15;

/** The Service as an Event's involved object (informer objects may lack apiVersion and kind). */
function asService(svc: Service): Service {
  return { ...svc, apiVersion: 'v1', kind: 'Service' };
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class EndpointSliceController implements Controller {
  readonly name = 'endpointslice';
  readonly #opts: Required<EndpointSliceControllerOptions>;
  readonly #queue = new WorkQueue<string>({ name: 'endpoint_slice', rateLimiter: new ItemExponentialFailureRateLimiter<string>(1000, 1_000_000) });
  readonly #tracker = new SliceTracker();
  readonly #triggers = new TriggerTimeTracker();
  readonly #stats: EndpointSliceControllerStats = { syncs: 0, creates: 0, updates: 0, deletes: 0, failures: 0 };
  #services!: Informer<Service>;
  #pods!: Informer<Pod>;
  #nodes!: Informer<Node>;
  #slices!: Informer<EndpointSlice>;
  #client!: Client;
  #recorder!: EventRecorder;
  #log!: Logger;
  #running = false;
  #inFlight = 0;
  #workers: Promise<void> | undefined;

  constructor(opts: EndpointSliceControllerOptions = {}) {
    this.#opts = {
      maxEndpointsPerSlice: opts.maxEndpointsPerSlice ?? defaultMaxEndpointsPerSlice,
      workers: opts.workers ?? 5,
      batchPeriodMs: opts.batchPeriodMs ?? 0,
      sliceChangeDelayMs: opts.sliceChangeDelayMs ?? 1000,
    };
  }

  setup(ctx: ControllerContext): void {
    this.#client = ctx.client;
    this.#recorder = ctx.recorder('endpoint-slice-controller');
    this.#log = ctx.log;
    this.#services = ctx.informers.informerFor<Service>(Services);
    this.#pods = ctx.informers.informerFor<Pod>(Pods);
    this.#nodes = ctx.informers.informerFor<Node>(Nodes);
    this.#slices = ctx.informers.informerFor<EndpointSlice>(EndpointSlices);
    addEndpointIndexes(this.#services, this.#pods);
    ensureIndex(this.#slices, sliceIndex, sliceServiceIndexFunc(controllerName));

    const q = this.#queue;
    const batch = this.#opts.batchPeriodMs;
    this.#services.addEventHandler({
      onAdd: (s) => q.add(keyOf(s)),
      onUpdate: (_, s) => q.add(keyOf(s)),
      onDelete: (s) => q.add(keyOf(s)),
    });
    const servicesFor = (p: Pod) => serviceKeysForPod(this.#services, p);
    this.#pods.addEventHandler({
      onAdd: (p) => this.#queueAll(servicesFor(p), batch),
      onUpdate: (o, p) => this.#queueAll(servicesToUpdateOnPodChange(servicesFor, o, p), batch),
      onDelete: (p) => this.#queueAll(servicesFor(p), batch),
    });
    // A pod's endpoint shows its Node's zone, and waits for its Node to exist.
    const nodeChanged = (n: Node) => {
      for (const p of podsOnNode(this.#pods, n)) this.#queueAll(servicesFor(p), batch);
    };
    this.#nodes.addEventHandler({
      onAdd: (n) => {
        if (this.#running) nodeChanged(n);
      },
      onUpdate: (o, n) => {
        if (o.metadata?.labels?.[labelTopologyZone] !== n.metadata?.labels?.[labelTopologyZone]) nodeChanged(n);
      },
      onDelete: nodeChanged,
    });
    this.#slices.addEventHandler({
      onAdd: (s) => {
        if (!this.#managed(s)) return;
        const owner = this.#ownerOf(s);
        // Before the first sync every Service is queued anyway; a slice queues its Service
        // at once so that the slices of Services that are gone are found too.
        if (!this.#running) q.add(owner);
        else if (!this.#tracker.expected(owner, s)) this.#queueSliceOwner(owner);
      },
      onUpdate: (o, s) => {
        const before = o.metadata?.labels?.[labelServiceName];
        const after = s.metadata?.labels?.[labelServiceName];
        if (before !== after) {
          if (this.#managed(o)) this.#queueSliceOwner(this.#ownerOf(o));
          if (this.#managed(s)) this.#queueSliceOwner(this.#ownerOf(s));
          return;
        }
        if (this.#managed(o) !== this.#managed(s)) this.#queueSliceOwner(this.#ownerOf(s));
        else if (this.#managed(s) && !this.#tracker.expected(this.#ownerOf(s), s)) this.#queueSliceOwner(this.#ownerOf(s));
      },
      onDelete: (s) => {
        if (!this.#managed(s)) return;
        const owner = this.#ownerOf(s);
        if (!this.#tracker.deleted(owner, s)) this.#queueSliceOwner(owner);
      },
    });
  }

  run(_ctx: ControllerContext): void {
    this.#running = true;
    this.#workers = runWorkers(this.#queue, this.#opts.workers, (key) => this.#syncCounted(key), { maxRetries, log: this.#log });
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#queue.shutDown();
    await this.#workers;
  }

  stats(): EndpointSliceControllerStats {
    return { ...this.#stats };
  }

  /** Keys waiting or being synced (not those delayed). */
  pending(): number {
    return this.#queue.len() + this.#inFlight;
  }

  #managed(s: EndpointSlice): boolean {
    return s.metadata?.labels?.[labelManagedBy] === controllerName && !!s.metadata.labels[labelServiceName];
  }

  #ownerOf(s: EndpointSlice): string {
    return `${s.metadata?.namespace ?? ''}/${s.metadata?.labels?.[labelServiceName] ?? ''}`;
  }

  #queueAll(keys: Iterable<string>, delayMs: number): void {
    for (const k of keys) this.#queue.addAfter(k, delayMs);
  }

  #queueSliceOwner(owner: string): void {
    this.#queue.addAfter(owner, Math.max(this.#opts.sliceChangeDelayMs, this.#opts.batchPeriodMs));
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

  async #sync(key: string): Promise<void> {
    const { namespace } = splitKey(key);
    const svc = this.#services.get(key);
    const existing = this.#tracker.current(key, this.#slices.byIndex(sliceIndex, key)).filter((s) => !s.metadata?.deletionTimestamp);
    if (!svc || svc.spec?.type === 'ExternalName' || !serviceSelector(svc)) {
      // Gone (the garbage collector would follow the owner references; this does not wait for
      // it), or without a selector: its slices come from elsewhere (mirroring, the user).
      if (!svc) this.#triggers.delete(key);
      if (existing.length) await this.#apply(key, namespace, { create: [], update: [], delete: existing, errors: [] }, svc);
      return;
    }
    const pods = podsForService(this.#pods, svc);
    const triggerTime = this.#triggers.compute(key, svc, pods);
    const changes = reconcile({
      service: svc,
      pods,
      existingSlices: existing,
      nodeByName: (n) => this.#nodes.get(n),
      maxEndpointsPerSlice: this.#opts.maxEndpointsPerSlice,
      triggerTime,
    });
    await this.#apply(key, namespace, changes, svc);
    if (changes.errors.length) {
      const msg = changes.errors.length === 1 ? changes.errors[0] : `[${changes.errors.join(', ')}]`;
      await this.#recorder.event(asService(svc), 'Warning', 'FailedToUpdateEndpointSlices', `Error updating Endpoint Slices for Service ${key}: ${msg}`);
      throw new Error(msg);
    }
  }

  /** Writes the changes: creates and updates together, then deletes (finalize). */
  async #apply(key: string, namespace: string, ch: SliceChanges, svc: Service | undefined): Promise<void> {
    const errs: string[] = [];
    await Promise.all([
      ...ch.create.map(async (s) => {
        try {
          const created = await this.#client.create<EndpointSlice>(EndpointSlices, namespace, s);
          this.#tracker.wrote(key, created);
          this.#stats.creates++;
        } catch (e) {
          errs.push(`failed to create EndpointSlice for Service ${key}: ${errorText(e)}`);
        }
      }),
      ...ch.update.map(async (s) => {
        try {
          const updated = await this.#client.update<EndpointSlice>(EndpointSlices, s);
          this.#tracker.wrote(key, updated);
          this.#stats.updates++;
        } catch (e) {
          errs.push(`failed to update ${s.metadata?.name ?? ''} EndpointSlice for Service ${key}: ${errorText(e)}`);
        }
      }),
    ]);
    if (!errs.length) {
      await Promise.all(
        ch.delete.map(async (s) => {
          try {
            await this.#client.delete(EndpointSlices, namespace, s.metadata?.name ?? '');
            this.#stats.deletes++;
          } catch (e) {
            if (!isNotFound(e)) {
              errs.push(`failed to delete ${s.metadata?.name ?? ''} EndpointSlice for Service ${key}: ${errorText(e)}`);
              return;
            }
          }
          this.#tracker.expectDeletion(key, s);
        }),
      );
    }
    if (!errs.length) return;
    // What was written is unknown now: read the informer's view on the retry.
    this.#tracker.forget(key);
    const msg = errs.length === 1 ? errs[0] : `[${errs.join(', ')}]`;
    if (svc) await this.#recorder.event(asService(svc), 'Warning', 'FailedToUpdateEndpointSlices', `Error updating Endpoint Slices for Service ${key}: ${msg}`);
    throw new Error(msg);
  }
}

export function newEndpointSliceController(opts: EndpointSliceControllerOptions = {}): EndpointSliceController {
  return new EndpointSliceController(opts);
}
