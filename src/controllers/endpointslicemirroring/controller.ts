// The EndpointSlice mirroring controller (kube-controller-manager's "endpointslicemirroring"):
// the Endpoints a user writes for a Service without a selector (the classic way to point a
// Service at an outside database) are mirrored to EndpointSlices, which the proxy and DNS read.
// Endpoints labelled endpointslice.kubernetes.io/skip-mirror=true (the API server's own
// `kubernetes` Endpoints) and leader-election records are left alone.
import type { Endpoints, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { EndpointSlices, Endpoints as EndpointsResource, Services, isNotFound } from '../../api/index.ts';
import { ItemExponentialFailureRateLimiter, WorkQueue, runWorkers, type Client, type EventRecorder, type Informer } from '../../client/index.ts';
import type { Logger } from '../../util/index.ts';
import type { Controller, ControllerContext } from '../manager.ts';
import { SliceTracker, annotationLeaderElection, ensureIndex, keyOf, labelManagedBy, labelServiceName, labelSkipMirror, serviceSelector, sliceServiceIndexFunc, splitKey } from '../endpointslice/index.ts';
import { defaultMaxEndpointsPerSubset, mirroringControllerName, reconcileMirror, type MirrorChanges } from './reconciler.ts';

export interface MirroringControllerOptions {
  /** --mirroring-max-endpoints-per-subset (default 1000). */
  maxEndpointsPerSubset?: number;
  /** --mirroring-concurrent-service-endpoint-syncs (default 5). */
  workers?: number;
  /** --mirroring-endpointslice-updates-batch-period (default 0). */
  batchPeriodMs?: number;
}

const sliceIndex = 'svcnet.io/mirrored-endpointslices-by-service';
// 1 s doubling to 100 s, 15 tries, as kube-controller-manager.
const maxRetries = 15;

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** shouldMirror: not labelled skip-mirror, not a leader-election record. */
export function shouldMirror(e: Endpoints | undefined): boolean {
  if (!e) return false;
  if (e.metadata?.labels?.[labelSkipMirror] === 'true') return false;
  return !Object.prototype.hasOwnProperty.call(e.metadata?.annotations ?? {}, annotationLeaderElection);
}

export class EndpointSliceMirroringController implements Controller {
  readonly name = 'endpointslicemirroring';
  readonly #opts: Required<MirroringControllerOptions>;
  readonly #queue = new WorkQueue<string>({ name: 'endpoint_slice_mirroring', rateLimiter: new ItemExponentialFailureRateLimiter<string>(1000, 100_000) });
  readonly #tracker = new SliceTracker();
  #endpoints!: Informer<Endpoints>;
  #services!: Informer<Service>;
  #slices!: Informer<EndpointSlice>;
  #client!: Client;
  #recorder!: EventRecorder;
  #log!: Logger;
  #workers: Promise<void> | undefined;

  constructor(opts: MirroringControllerOptions = {}) {
    this.#opts = {
      maxEndpointsPerSubset: opts.maxEndpointsPerSubset ?? defaultMaxEndpointsPerSubset,
      workers: opts.workers ?? 5,
      batchPeriodMs: opts.batchPeriodMs ?? 0,
    };
  }

  setup(ctx: ControllerContext): void {
    this.#client = ctx.client;
    this.#recorder = ctx.recorder('endpoint-slice-mirroring-controller');
    this.#log = ctx.log;
    this.#endpoints = ctx.informers.informerFor<Endpoints>(EndpointsResource);
    this.#services = ctx.informers.informerFor<Service>(Services);
    this.#slices = ctx.informers.informerFor<EndpointSlice>(EndpointSlices);
    ensureIndex(this.#slices, sliceIndex, sliceServiceIndexFunc(mirroringControllerName));
    const q = this.#queue;
    // Endpoints of Services with a selector are the Endpoints controller's: nothing to mirror
    // (Kubernetes queues them and finds so in the sync; skipping them here saves the work).
    const queueEndpoints = (e: Endpoints) => {
      const svc = this.#services.get(keyOf(e));
      if (svc && serviceSelector(svc) && !this.#slices.byIndex(sliceIndex, keyOf(e)).length) return;
      q.add(keyOf(e));
    };
    this.#endpoints.addEventHandler({
      onAdd: (e) => {
        if (shouldMirror(e)) queueEndpoints(e);
      },
      onUpdate: (o, e) => {
        if (shouldMirror(o) || shouldMirror(e)) q.add(keyOf(e));
      },
      onDelete: (e) => {
        if (shouldMirror(e)) q.add(keyOf(e));
      },
    });
    this.#services.addEventHandler({
      onAdd: (s) => {
        if (!serviceSelector(s)) q.add(keyOf(s));
      },
      onUpdate: (o, s) => {
        if (!serviceSelector(o) !== !serviceSelector(s)) q.add(keyOf(s));
      },
      onDelete: (s) => {
        if (!serviceSelector(s)) q.add(keyOf(s));
      },
    });
    const managed = (s: EndpointSlice) => s.metadata?.labels?.[labelManagedBy] === mirroringControllerName && !!s.metadata.labels[labelServiceName];
    const owner = (s: EndpointSlice) => `${s.metadata?.namespace ?? ''}/${s.metadata?.labels?.[labelServiceName] ?? ''}`;
    const later = (s: EndpointSlice) => q.addAfter(owner(s), this.#opts.batchPeriodMs);
    this.#slices.addEventHandler({
      onAdd: (s) => {
        if (managed(s) && !this.#tracker.expected(owner(s), s)) later(s);
      },
      onUpdate: (o, s) => {
        if (o.metadata?.labels?.[labelServiceName] !== s.metadata?.labels?.[labelServiceName]) {
          later(o);
          later(s);
          return;
        }
        if (managed(o) !== managed(s) || (managed(s) && !this.#tracker.expected(owner(s), s))) later(s);
      },
      onDelete: (s) => {
        if (managed(s) && !this.#tracker.deleted(owner(s), s)) later(s);
      },
    });
  }

  run(_ctx: ControllerContext): void {
    this.#workers = runWorkers(this.#queue, this.#opts.workers, (key) => this.#sync(key), { maxRetries, log: this.#log });
  }

  async stop(): Promise<void> {
    await this.#queue.shutDown();
    await this.#workers;
  }

  async #sync(key: string): Promise<void> {
    const { namespace } = splitKey(key);
    const existing = this.#tracker.current(key, this.#slices.byIndex(sliceIndex, key));
    const endpoints = this.#endpoints.get(key);
    const svc = this.#services.get(key);
    // Nothing to mirror: no Endpoints, told not to, no Service, or a Service with a selector.
    if (!endpoints || !shouldMirror(endpoints) || !svc || serviceSelector(svc)) {
      if (existing.length) await this.#apply(key, namespace, { create: [], update: [], delete: existing, invalidAddresses: 0, skippedAddresses: 0 }, endpoints);
      return;
    }
    const changes = reconcileMirror({ endpoints, existingSlices: existing, maxEndpointsPerSubset: this.#opts.maxEndpointsPerSubset });
    const ref: Endpoints = { ...endpoints, apiVersion: 'v1', kind: 'Endpoints' };
    if (changes.invalidAddresses > 0) {
      await this.#recorder.event(ref, 'Warning', 'InvalidIPAddress', `Skipped ${changes.invalidAddresses} invalid IP addresses when mirroring to EndpointSlices`);
    }
    if (changes.skippedAddresses > changes.invalidAddresses) {
      await this.#recorder.event(
        ref,
        'Warning',
        'TooManyAddressesToMirror',
        `A max of ${this.#opts.maxEndpointsPerSubset} addresses can be mirrored to EndpointSlices per Endpoints subset. ${changes.skippedAddresses} addresses were skipped`,
      );
    }
    await this.#apply(key, namespace, changes, endpoints);
  }

  async #apply(key: string, namespace: string, ch: MirrorChanges, endpoints: Endpoints | undefined): Promise<void> {
    const errs: string[] = [];
    // No new slices for Endpoints being deleted.
    const creates = endpoints?.metadata?.deletionTimestamp ? [] : ch.create;
    await Promise.all([
      ...creates.map(async (s) => {
        try {
          this.#tracker.wrote(key, await this.#client.create<EndpointSlice>(EndpointSlices, namespace, s));
        } catch (e) {
          errs.push(`failed to create EndpointSlice for Endpoints ${key}: ${errorText(e)}`);
        }
      }),
      ...ch.update.map(async (s) => {
        try {
          this.#tracker.wrote(key, await this.#client.update<EndpointSlice>(EndpointSlices, s));
        } catch (e) {
          errs.push(`failed to update ${s.metadata?.name ?? ''} EndpointSlice for Endpoints ${key}: ${errorText(e)}`);
        }
      }),
    ]);
    if (!errs.length) {
      await Promise.all(
        ch.delete.map(async (s) => {
          try {
            await this.#client.delete(EndpointSlices, namespace, s.metadata?.name ?? '');
          } catch (e) {
            if (!isNotFound(e)) {
              errs.push(`failed to delete ${s.metadata?.name ?? ''} EndpointSlice for Endpoints ${key}: ${errorText(e)}`);
              return;
            }
          }
          this.#tracker.expectDeletion(key, s);
        }),
      );
    }
    if (!errs.length) return;
    this.#tracker.forget(key);
    const msg = errs.length === 1 ? errs[0] : `[${errs.join(', ')}]`;
    if (endpoints) await this.#recorder.event({ ...endpoints, apiVersion: 'v1', kind: 'Endpoints' }, 'Warning', 'FailedToUpdateEndpointSlices', `Error updating Endpoint Slices for Endpoints ${key}: ${msg}`);
    throw new Error(msg);
  }
}

export function newEndpointSliceMirroringController(opts: MirroringControllerOptions = {}): EndpointSliceMirroringController {
  return new EndpointSliceMirroringController(opts);
}
