// The pod garbage collector's shell: every check period, pods bound to nodes that are gone (a
// live read confirms it, after the node was missing for a quarantine period) are marked Failed
// with a DisruptionTarget condition and deleted with grace 0, as are terminating pods that
// were never scheduled.
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { Nodes, Pods, isNotFound, namespacedName } from '../../api/index.ts';
import type { Client, Informer } from '../../client/index.ts';
import type { Logger } from '../../util/index.ts';
import type { Controller, ControllerContext } from '../manager.ts';
import { rfc3339 } from '../controllerutil/index.ts';
import { podGCReason } from './core.ts';

export interface PodGCOptions {
  /** gcCheckPeriod; default 20 s. */
  checkPeriodMs?: number;
  /** How long a node must be missing before its pods go (kube: 40 s). */
  quarantineMs?: number;
  now?: () => number;
}

export class PodGCController implements Controller {
  readonly name = 'podgc';
  readonly #opts: PodGCOptions;
  #client!: Client;
  #log!: Logger;
  #pods!: Informer<Pod>;
  #nodes!: Informer<Node>;
  /** Node name → when it was first found missing. */
  readonly #missingSince = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(opts: PodGCOptions = {}) {
    this.#opts = opts;
  }

  #now(): number {
    return (this.#opts.now ?? Date.now)();
  }

  setup(ctx: ControllerContext): void {
    this.#client = ctx.client;
    this.#log = ctx.log;
    this.#pods = ctx.informers.informerFor<Pod>(Pods);
    this.#nodes = ctx.informers.informerFor<Node>(Nodes);
  }

  run(): void {
    this.#timer = setInterval(() => {
      this.#running ??= this.gc()
        .catch((e: unknown) => this.#log.warn({ err: e instanceof Error ? e.message : String(e) }, 'pod garbage collection failed'))
        .finally(() => (this.#running = undefined));
    }, this.#opts.checkPeriodMs ?? 20_000);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#running;
  }

  /** One pass: gcOrphaned and gcUnscheduledTerminating. */
  async gc(): Promise<void> {
    const now = this.#now();
    const quarantine = this.#opts.quarantineMs ?? 40_000;
    const missing = new Set<string>();
    const exists = (name: string) => {
      if (this.#nodes.get(name)) return true;
      missing.add(name);
      return false;
    };
    const candidates = this.#pods.list().map((p) => [p, podGCReason(p, exists)] as const);
    for (const name of [...this.#missingSince.keys()]) if (!missing.has(name)) this.#missingSince.delete(name);
    for (const name of missing) if (!this.#missingSince.has(name)) this.#missingSince.set(name, now);
    for (const [pod, reason] of candidates) {
      if (!reason) continue;
      if (reason === 'orphaned') {
        const node = pod.spec?.nodeName ?? '';
        if (now - (this.#missingSince.get(node) ?? now) < quarantine) continue;
        // The cache may lag: only a live NotFound counts.
        try {
          await this.#client.get(Nodes, undefined, node);
          continue;
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
        this.#log.info({ pod: namespacedName(pod), node }, 'found orphaned pod assigned to a node that no longer exists, deleting');
        await this.#markFailed(pod);
      }
      try {
        await this.#client.delete(Pods, pod.metadata?.namespace, pod.metadata?.name ?? '', { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata?.uid } });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }

  /** markFailedAndDeletePodWithCondition's status half: Failed (unless finished) and DisruptionTarget. */
  async #markFailed(pod: Pod): Promise<void> {
    const phase = pod.status?.phase;
    const conditions = [
      ...(pod.status?.conditions ?? []).filter((c) => c.type !== 'DisruptionTarget'),
      { type: 'DisruptionTarget', status: 'True', lastTransitionTime: rfc3339(new Date(this.#now())), reason: 'DeletionByPodGC', message: 'PodGC: node no longer exists' },
    ];
    const status: NonNullable<Pod['status']> = { conditions };
    if (phase !== 'Succeeded' && phase !== 'Failed') status.phase = 'Failed';
    try {
      await this.#client.patch(Pods, pod.metadata?.namespace, pod.metadata?.name ?? '', 'merge', { status }, {}, 'status');
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}
