// The ReplicaSet controller's shell: informers on ReplicaSets and Pods, a work queue of
// ReplicaSet keys, and a sync that claims pods (adopt/release), creates or deletes the
// difference (slow-start batches, expectations so its own writes in flight are not redone),
// and writes the status. Events as kube's replicaset-controller records them.
import type { ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import { Pods, ReplicaSets, isConflict, isNamespaceTerminating, isNotFound, namespacedName } from '../../api/index.ts';
import { labelSelectorAsSelector, type LabelSelector } from '../../api/selectors/index.ts';
import { WorkQueue, runWorkers, type Client, type EventRecorder, type Informer } from '../../client/index.ts';
import type { Logger } from '../../util/index.ts';
import type { Controller, ControllerContext } from '../manager.ts';
import {
  ControllerExpectations,
  retryConflicts,
  asError,
  adoptPatch,
  byControllerUid,
  byNamespace,
  claimAction,
  controllerOf,
  ensureIndex,
  filterActivePods,
  isPodReady,
  newControllerRef,
  releasePatch,
  selects,
  splitKey,
} from '../controllerutil/index.ts';
import { calculateStatus, manageReplicas, nextAvailabilityCheck, podFromTemplate, slowStartBatches, statusNeedsUpdate } from './core.ts';

export interface ReplicaSetControllerOptions {
  workers?: number;
  burstReplicas?: number;
  now?: () => number;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class ReplicaSetController implements Controller {
  readonly name = 'replicaset';
  readonly #opts: ReplicaSetControllerOptions;
  readonly #queue = new WorkQueue<string>({ name: 'replicaset' });
  readonly expectations: ControllerExpectations;
  #client!: Client;
  #recorder!: EventRecorder;
  #log!: Logger;
  #rss!: Informer<ReplicaSet>;
  #pods!: Informer<Pod>;
  #workers: Promise<void> | undefined;

  constructor(opts: ReplicaSetControllerOptions = {}) {
    this.#opts = opts;
    this.expectations = new ControllerExpectations(opts.now);
  }

  #now(): number {
    return (this.#opts.now ?? Date.now)();
  }

  setup(ctx: ControllerContext): void {
    this.#client = ctx.client;
    this.#recorder = ctx.recorder('replicaset-controller');
    this.#log = ctx.log;
    this.#rss = ctx.informers.informerFor<ReplicaSet>(ReplicaSets);
    this.#pods = ctx.informers.informerFor<Pod>(Pods);
    ensureIndex(this.#rss, byNamespace);
    ensureIndex(this.#rss, byControllerUid);
    ensureIndex(this.#pods, byNamespace);
    ensureIndex(this.#pods, byControllerUid);
    this.#rss.addEventHandler({
      onAdd: (rs) => this.#enqueue(rs),
      onUpdate: (_old, cur) => this.#enqueue(cur),
      onDelete: (rs) => {
        this.expectations.delete(namespacedName(rs));
        this.#enqueue(rs);
      },
    });
    this.#pods.addEventHandler({
      onAdd: (p) => this.#addPod(p),
      onUpdate: (o, c) => this.#updatePod(o, c),
      onDelete: (p) => this.#deletePod(p),
    });
  }

  run(ctx: ControllerContext): void {
    this.#workers = runWorkers(this.#queue, this.#opts.workers ?? 5, retryConflicts(this.#queue, (key) => this.sync(key)), { log: ctx.log });
  }

  async stop(): Promise<void> {
    await this.#queue.shutDown();
    await this.#workers;
  }

  #enqueue(rs: ReplicaSet, afterMs = 0): void {
    this.#queue.addAfter(namespacedName(rs), afterMs);
  }

  /** resolveControllerRef: the ReplicaSet a controller reference names, if it is the same object. */
  #resolve(namespace: string | undefined, ref: OwnerReference): ReplicaSet | undefined {
    if (ref.kind !== 'ReplicaSet' || !ref.apiVersion.startsWith('apps/')) return undefined;
    const rs = this.#rss.get(`${namespace ?? ''}/${ref.name}`);
    return rs?.metadata?.uid === ref.uid ? rs : undefined;
  }

  /** getPodReplicaSets: ReplicaSets in the pod's namespace whose selector matches it. */
  #matching(pod: Pod): ReplicaSet[] {
    const out: ReplicaSet[] = [];
    for (const rs of this.#rss.byIndex(byNamespace, pod.metadata?.namespace ?? '')) {
      const sel = rs.spec?.selector;
      if (!sel || (!sel.matchLabels && !sel.matchExpressions)) continue;
      try {
        if (selects(labelSelectorAsSelector(sel), pod)) out.push(rs);
      } catch {
        // An invalid selector selects nothing.
      }
    }
    return out;
  }

  #addPod(pod: Pod): void {
    if (pod.metadata?.deletionTimestamp) {
      // Already terminating (e.g. seen first after a restart): not a creation we wait for.
      this.#deletePod(pod);
      return;
    }
    const ref = controllerOf(pod);
    if (ref) {
      const rs = this.#resolve(pod.metadata?.namespace, ref);
      if (!rs) return;
      const key = namespacedName(rs);
      this.expectations.creationObserved(key);
      this.#queue.add(key);
      return;
    }
    for (const rs of this.#matching(pod)) this.#enqueue(rs);
  }

  #updatePod(old: Pod, cur: Pod): void {
    if (old.metadata?.resourceVersion === cur.metadata?.resourceVersion) return;
    const labelsChanged = JSON.stringify(old.metadata?.labels ?? {}) !== JSON.stringify(cur.metadata?.labels ?? {});
    if (cur.metadata?.deletionTimestamp) {
      // A graceful deletion counts now: replacements need not wait for the kubelet.
      this.#deletePod(cur);
      if (labelsChanged) this.#deletePod(old);
      return;
    }
    const curRef = controllerOf(cur);
    const oldRef = controllerOf(old);
    const refChanged = JSON.stringify(curRef) !== JSON.stringify(oldRef);
    if (refChanged && oldRef) {
      const rs = this.#resolve(old.metadata?.namespace, oldRef);
      if (rs) this.#enqueue(rs);
    }
    if (curRef) {
      const rs = this.#resolve(cur.metadata?.namespace, curRef);
      if (!rs) return;
      this.#enqueue(rs);
      const minReady = rs.spec?.minReadySeconds ?? 0;
      if (!isPodReady(old) && isPodReady(cur) && minReady > 0) this.#enqueue(rs, minReady * 1000 + 1000);
      return;
    }
    if (labelsChanged || refChanged) for (const rs of this.#matching(cur)) this.#enqueue(rs);
  }

  #deletePod(pod: Pod): void {
    const ref = controllerOf(pod);
    if (!ref) return;
    const rs = this.#resolve(pod.metadata?.namespace, ref);
    if (!rs) return;
    const key = namespacedName(rs);
    this.expectations.deletionObserved(key, namespacedName(pod));
    this.#queue.add(key);
  }

  /** syncReplicaSet. */
  async sync(key: string): Promise<void> {
    const rs = this.#rss.get(key);
    if (!rs) {
      this.expectations.delete(key);
      return;
    }
    const needsSync = this.expectations.satisfied(key);
    let selector: LabelSelector;
    try {
      selector = labelSelectorAsSelector(rs.spec?.selector);
    } catch (e) {
      this.#log.warn({ replicaset: key, err: errorMessage(e) }, 'invalid selector');
      return;
    }
    const [ns] = splitKey(key);
    const active = filterActivePods(this.#pods.byIndex(byNamespace, ns ?? ''));
    const owned = await this.#claimPods(rs, selector, active);
    let manageError: unknown;
    if (needsSync && !rs.metadata?.deletionTimestamp) {
      try {
        await this.#manage(key, rs, owned);
      } catch (e) {
        manageError = e;
      }
    }
    const now = this.#now();
    const status = calculateStatus(rs, owned, manageError === undefined ? undefined : errorMessage(manageError), now);
    await this.#writeStatus(rs, status);
    const after = nextAvailabilityCheck(rs, owned, now);
    if (after !== undefined && manageError === undefined) this.#queue.addAfter(key, after + 100);
    if (manageError !== undefined) throw asError(manageError);
  }

  /** ClaimPods: the pods this ReplicaSet owns after adopting matching orphans and releasing strays. */
  async #claimPods(rs: ReplicaSet, selector: LabelSelector, pods: readonly Pod[]): Promise<Pod[]> {
    const uid = rs.metadata?.uid ?? '';
    const controller = { uid, namespace: rs.metadata?.namespace, deleting: !!rs.metadata?.deletionTimestamp };
    const claimed: Pod[] = [];
    const errors: unknown[] = [];
    let canAdopt: Promise<void> | undefined;
    for (const pod of pods) {
      const action = claimAction(pod, controller, selects(selector, pod));
      if (action === 'owned') claimed.push(pod);
      if (action !== 'adopt' && action !== 'release') continue;
      try {
        if (action === 'adopt') {
          // RecheckDeletionTimestamp: adopt only for a live ReplicaSet with this uid (an uncached read).
          canAdopt ??= this.#client.get<ReplicaSet>(ReplicaSets, rs.metadata?.namespace, rs.metadata?.name ?? '').then((fresh) => {
            if (fresh.metadata?.uid !== uid) throw new Error(`original ${key(rs)} is gone: got uid ${fresh.metadata?.uid ?? ''}, wanted ${uid}`);
            if (fresh.metadata?.deletionTimestamp) throw new Error(`${key(rs)} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
          });
          await canAdopt;
          const patched = await this.#client.patch<Pod>(Pods, pod.metadata?.namespace, pod.metadata?.name ?? '', 'json', adoptPatch(pod, newControllerRef(rs, 'apps/v1', 'ReplicaSet')));
          claimed.push(patched);
        } else {
          await this.#client.patch<Pod>(Pods, pod.metadata?.namespace, pod.metadata?.name ?? '', 'json', releasePatch(pod, uid));
        }
      } catch (e) {
        if (!isNotFound(e)) errors.push(e);
      }
    }
    if (errors.length) throw asError(errors[0]);
    return claimed;
  }

  async #manage(key: string, rs: ReplicaSet, active: Pod[]): Promise<void> {
    const related = this.#relatedPods(rs);
    const decision = manageReplicas(rs, active, related, this.#now(), this.#opts.burstReplicas);
    if (decision.kind === 'create') {
      const n = decision.count;
      this.expectations.expectCreations(key, n);
      const ref = newControllerRef(rs, 'apps/v1', 'ReplicaSet');
      let done = 0;
      let failure: unknown;
      for (const size of slowStartBatches(n)) {
        const results = await Promise.allSettled(Array.from({ length: size }, () => this.#createPod(rs, ref)));
        done += size;
        const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        // Each failed creation will never be observed by the informer.
        for (let i = 0; i < failed.length; i++) this.expectations.creationObserved(key);
        if (failed.length) {
          failure = failed[0]?.reason;
          break;
        }
      }
      // Creations never attempted are not expected either; the next sync retries them.
      for (let i = done; i < n; i++) this.expectations.creationObserved(key);
      if (failure !== undefined && !isNamespaceTerminating(failure)) throw asError(failure);
      return;
    }
    if (decision.kind === 'delete') {
      this.expectations.expectDeletions(key, decision.pods.map((p) => namespacedName(p)));
      const results = await Promise.allSettled(decision.pods.map((p) => this.#deletePodNow(rs, p)));
      let failure: unknown;
      results.forEach((r, i) => {
        if (r.status === 'fulfilled') return;
        const p = decision.pods[i];
        if (p) this.expectations.deletionObserved(key, namespacedName(p));
        if (!isNotFound(r.reason)) failure ??= r.reason;
      });
      if (failure !== undefined) throw asError(failure);
    }
  }

  async #createPod(rs: ReplicaSet, ref: OwnerReference): Promise<void> {
    const pod = podFromTemplate(rs, ref);
    try {
      const created = await this.#client.create<Pod>(Pods, rs.metadata?.namespace, pod);
      void this.#recorder.event(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata?.name ?? ''}`);
    } catch (e) {
      if (!isNamespaceTerminating(e)) void this.#recorder.event(rs, 'Warning', 'FailedCreate', `Error creating: ${errorMessage(e)}`);
      throw e;
    }
  }

  async #deletePodNow(rs: ReplicaSet, pod: Pod): Promise<void> {
    const name = pod.metadata?.name ?? '';
    try {
      await this.#client.delete(Pods, pod.metadata?.namespace, name);
      void this.#recorder.event(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${name}`);
    } catch (e) {
      if (!isNotFound(e)) void this.#recorder.event(rs, 'Warning', 'FailedDelete', `Error deleting: ${errorMessage(e)}`);
      throw e;
    }
  }

  /** getIndirectlyRelatedPods: pods of every ReplicaSet with the same controller (the Deployment's family). */
  #relatedPods(rs: ReplicaSet): Pod[] {
    const owner = controllerOf(rs);
    const siblings = owner ? this.#rss.byIndex(byControllerUid, owner.uid) : [rs];
    const out: Pod[] = [];
    const seen = new Set<string>();
    for (const s of siblings) {
      for (const p of this.#pods.byIndex(byControllerUid, s.metadata?.uid ?? '')) {
        const k = namespacedName(p);
        if (seen.has(k)) continue;
        seen.add(k);
        out.push(p);
      }
    }
    return out;
  }

  /** updateReplicaSetStatus: write when changed; on a conflict read the latest and try once more. */
  async #writeStatus(rs: ReplicaSet, status: NonNullable<ReplicaSet['status']>): Promise<void> {
    if (!statusNeedsUpdate(rs, status)) return;
    let cur = rs;
    for (let attempt = 0; ; attempt++) {
      const next: ReplicaSet = { ...structuredClone(cur), status: { ...status } };
      const gen = rs.metadata?.generation ?? 0;
      if (gen) next.status!.observedGeneration = gen;
      try {
        await this.#client.update(ReplicaSets, next, {}, 'status');
        return;
      } catch (e) {
        if (isNotFound(e)) return;
        if (!isConflict(e) || attempt >= 1) throw e;
        cur = await this.#client.get<ReplicaSet>(ReplicaSets, rs.metadata?.namespace, rs.metadata?.name ?? '');
      }
    }
  }
}

function key(o: ReplicaSet): string {
  return namespacedName(o);
}
