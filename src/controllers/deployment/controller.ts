// The Deployment controller's shell: informers on Deployments, ReplicaSets and Pods; a sync that
// claims ReplicaSets, finds or creates the new one (with the revision annotations `kubectl
// rollout history|undo` read), and then scales (a scaling event, a paused Deployment), rolls
// (RollingUpdate) or recreates (Recreate), deletes surplus history and writes the status. Every
// decision comes from core.ts; this file only reads caches and writes through the API.
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import { Deployments, Pods, ReplicaSets, isAlreadyExists, isNamespaceTerminating, isNotFound, namespacedName } from '../../api/index.ts';
import { labelSelectorAsSelector, type LabelSelector } from '../../api/selectors/index.ts';
import { WorkQueue, runWorkers, type Client, type EventRecorder, type Informer } from '../../client/index.ts';
import type { Logger } from '../../util/index.ts';
import type { Controller, ControllerContext } from '../manager.ts';
import { adoptPatch, asError, byControllerUid, byNamespace, claimAction, controllerOf, ensureIndex, newControllerRef, releasePatch, retryConflicts, selects } from '../controllerutil/index.ts';
import {
  calculateStatus,
  isScalingEvent,
  newReplicaSet,
  oldPodsRunning,
  pausedConditionsStatus,
  reconcileNewReplicaSet,
  reconcileOldReplicaSets,
  replicaSetsToCleanUp,
  rolloutStatus,
  scaleDownOldForRecreate,
  scalePlan,
  statusChanged,
  type ScaleAction,
} from './core.ts';
import {
  FailedRSCreateReason,
  FoundNewRSReason,
  NewReplicaSetReason,
  RevisionAnnotation,
  deploymentComplete,
  equalIgnoreHash,
  filterActiveReplicaSets,
  findNewReplicaSet,
  findOldReplicaSets,
  getCondition,
  hasProgressDeadline,
  maxRevision,
  maxSurge,
  newCondition,
  replicasAnnotationsNeedUpdate,
  replicasOf,
  setCondition,
  setDeploymentRevision,
  setNewReplicaSetAnnotations,
  setReplicasAnnotations,
} from './util.ts';

export interface DeploymentControllerOptions {
  workers?: number;
  now?: () => number;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

interface Family {
  newRS: ReplicaSet | undefined;
  oldRSs: ReplicaSet[];
}

export class DeploymentController implements Controller {
  readonly name = 'deployment';
  readonly #opts: DeploymentControllerOptions;
  readonly #queue = new WorkQueue<string>({ name: 'deployment' });
  #client!: Client;
  #recorder!: EventRecorder;
  #log!: Logger;
  #deployments!: Informer<Deployment>;
  #rss!: Informer<ReplicaSet>;
  #pods!: Informer<Pod>;
  #workers: Promise<void> | undefined;

  constructor(opts: DeploymentControllerOptions = {}) {
    this.#opts = opts;
  }

  #now(): number {
    return (this.#opts.now ?? Date.now)();
  }

  setup(ctx: ControllerContext): void {
    this.#client = ctx.client;
    this.#recorder = ctx.recorder('deployment-controller');
    this.#log = ctx.log;
    this.#deployments = ctx.informers.informerFor<Deployment>(Deployments);
    this.#rss = ctx.informers.informerFor<ReplicaSet>(ReplicaSets);
    this.#pods = ctx.informers.informerFor<Pod>(Pods);
    ensureIndex(this.#deployments, byNamespace);
    ensureIndex(this.#rss, byNamespace);
    ensureIndex(this.#rss, byControllerUid);
    ensureIndex(this.#pods, byControllerUid);
    this.#deployments.addEventHandler({
      onAdd: (d) => this.#enqueue(d),
      onUpdate: (_o, d) => this.#enqueue(d),
      onDelete: (d) => this.#enqueue(d),
    });
    this.#rss.addEventHandler({
      onAdd: (rs) => this.#addReplicaSet(rs),
      onUpdate: (o, c) => this.#updateReplicaSet(o, c),
      onDelete: (rs) => this.#enqueueOwner(rs),
    });
    this.#pods.addEventHandler({ onDelete: (p) => this.#deletePod(p) });
  }

  run(ctx: ControllerContext): void {
    this.#workers = runWorkers(this.#queue, this.#opts.workers ?? 5, retryConflicts(this.#queue, (key) => this.sync(key)), { log: ctx.log });
  }

  async stop(): Promise<void> {
    await this.#queue.shutDown();
    await this.#workers;
  }

  #enqueue(d: Deployment, afterMs = 0): void {
    this.#queue.addAfter(namespacedName(d), afterMs);
  }

  #resolve(namespace: string | undefined, ref: OwnerReference): Deployment | undefined {
    if (ref.kind !== 'Deployment' || !ref.apiVersion.startsWith('apps/')) return undefined;
    const d = this.#deployments.get(`${namespace ?? ''}/${ref.name}`);
    return d?.metadata?.uid === ref.uid ? d : undefined;
  }

  #enqueueOwner(rs: ReplicaSet): void {
    const ref = controllerOf(rs);
    const d = ref && this.#resolve(rs.metadata?.namespace, ref);
    if (d) this.#enqueue(d);
  }

  /** getDeploymentsForReplicaSet: Deployments whose selector matches an orphan. */
  #matching(rs: ReplicaSet): Deployment[] {
    return this.#deployments.byIndex(byNamespace, rs.metadata?.namespace ?? '').filter((d) => {
      const sel = d.spec?.selector;
      if (!sel || (!sel.matchLabels && !sel.matchExpressions)) return false;
      try {
        return selects(labelSelectorAsSelector(sel), rs);
      } catch {
        return false;
      }
    });
  }

  #addReplicaSet(rs: ReplicaSet): void {
    if (rs.metadata?.deletionTimestamp || controllerOf(rs)) {
      this.#enqueueOwner(rs);
      return;
    }
    for (const d of this.#matching(rs)) this.#enqueue(d);
  }

  #updateReplicaSet(old: ReplicaSet, cur: ReplicaSet): void {
    if (old.metadata?.resourceVersion === cur.metadata?.resourceVersion) return;
    const curRef = controllerOf(cur);
    const oldRef = controllerOf(old);
    const refChanged = JSON.stringify(curRef) !== JSON.stringify(oldRef);
    if (refChanged && oldRef) this.#enqueueOwner(old);
    if (curRef) {
      this.#enqueueOwner(cur);
      return;
    }
    const labelsChanged = JSON.stringify(old.metadata?.labels ?? {}) !== JSON.stringify(cur.metadata?.labels ?? {});
    if (labelsChanged || refChanged) for (const d of this.#matching(cur)) this.#enqueue(d);
  }

  /** A Recreate rollout waits for old pods to be gone: their deletion wakes it. */
  #deletePod(pod: Pod): void {
    const ref = controllerOf(pod);
    if (!ref || ref.kind !== 'ReplicaSet') return;
    const rs = this.#rss.get(`${pod.metadata?.namespace ?? ''}/${ref.name}`);
    if (!rs || rs.metadata?.uid !== ref.uid) return;
    const dref = controllerOf(rs);
    const d = dref && this.#resolve(rs.metadata?.namespace, dref);
    if (d && d.spec?.strategy?.type === 'Recreate') this.#enqueue(d);
  }

  /** syncDeployment. */
  async sync(key: string): Promise<void> {
    const cached = this.#deployments.get(key);
    if (!cached) return;
    let d: Deployment = structuredClone(cached);
    const sel = d.spec?.selector;
    if (!sel || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0)) {
      void this.#recorder.event(d, 'Warning', 'SelectingAll', 'This deployment is selecting all pods. A non-empty selector is required.');
      if ((d.status?.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) {
        d.status = { ...d.status, observedGeneration: d.metadata?.generation ?? 0 };
        await this.#client.update(Deployments, d, {}, 'status');
      }
      return;
    }
    let selector: LabelSelector;
    try {
      selector = labelSelectorAsSelector(sel);
    } catch (e) {
      this.#log.warn({ deployment: key, err: message(e) }, 'invalid selector');
      return;
    }
    const rsList = await this.#claimReplicaSets(d, selector);
    if (d.metadata?.deletionTimestamp) {
      const fam = await this.#family(d, rsList, false);
      d = fam.d;
      await this.#syncDeploymentStatus(d, [...fam.oldRSs, fam.newRS], fam.newRS);
      return;
    }
    const paused = pausedConditionsStatus(d, this.#now());
    if (paused) d = await this.#updateStatus({ ...d, status: paused });
    if (d.spec?.paused) {
      await this.#syncScale(d, rsList);
      return;
    }
    const probe = this.#split(d, rsList);
    if (isScalingEvent(d, probe.newRS, probe.oldRSs)) {
      await this.#syncScale(d, rsList);
      return;
    }
    if (d.spec?.strategy?.type === 'Recreate') await this.#rolloutRecreate(key, d, rsList);
    else await this.#rolloutRolling(key, d, rsList);
  }

  /** ClaimReplicaSets: adopt matching orphans, release strays; the Deployment's ReplicaSets. */
  async #claimReplicaSets(d: Deployment, selector: LabelSelector): Promise<ReplicaSet[]> {
    const uid = d.metadata?.uid ?? '';
    const controller = { uid, namespace: d.metadata?.namespace, deleting: !!d.metadata?.deletionTimestamp };
    const out: ReplicaSet[] = [];
    const errors: unknown[] = [];
    let canAdopt: Promise<void> | undefined;
    for (const rs of this.#rss.byIndex(byNamespace, d.metadata?.namespace ?? '')) {
      const action = claimAction(rs, controller, selects(selector, rs));
      if (action === 'owned') out.push(rs);
      if (action !== 'adopt' && action !== 'release') continue;
      const ns = rs.metadata?.namespace;
      const name = rs.metadata?.name ?? '';
      try {
        if (action === 'adopt') {
          canAdopt ??= this.#client.get<Deployment>(Deployments, d.metadata?.namespace, d.metadata?.name ?? '').then((fresh) => {
            if (fresh.metadata?.uid !== uid) throw new Error(`original ${namespacedName(d)} is gone: got uid ${fresh.metadata?.uid ?? ''}, wanted ${uid}`);
            if (fresh.metadata?.deletionTimestamp) throw new Error(`${namespacedName(d)} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
          });
          await canAdopt;
          out.push(await this.#client.patch<ReplicaSet>(ReplicaSets, ns, name, 'json', adoptPatch(rs, newControllerRef(d, 'apps/v1', 'Deployment'))));
        } else {
          await this.#client.patch<ReplicaSet>(ReplicaSets, ns, name, 'json', releasePatch(rs, uid));
        }
      } catch (e) {
        if (!isNotFound(e)) errors.push(e);
      }
    }
    if (errors.length) throw asError(errors[0]);
    return out;
  }

  #split(d: Deployment, rsList: readonly ReplicaSet[]): Family {
    return { newRS: findNewReplicaSet(d, rsList), oldRSs: findOldReplicaSets(d, rsList)[1] };
  }

  /**
   * getAllReplicaSetsAndSyncRevision / getNewReplicaSet: the new ReplicaSet (its annotations and
   * minReadySeconds brought in line, or created when asked) and every old one; the Deployment's
   * revision annotation and Progressing condition follow.
   */
  async #family(d: Deployment, rsList: readonly ReplicaSet[], create: boolean): Promise<Family & { d: Deployment }> {
    const { newRS: existing, oldRSs } = this.#split(d, rsList);
    const newRevision = String(maxRevision(oldRSs) + 1);
    if (existing) {
      const copy = structuredClone(existing);
      const annotationsChanged = setNewReplicaSetAnnotations(d, copy, newRevision, true);
      const minReadyChanged = (copy.spec?.minReadySeconds ?? 0) !== (d.spec?.minReadySeconds ?? 0);
      if (annotationsChanged || minReadyChanged) {
        copy.spec = { ...copy.spec!, minReadySeconds: d.spec?.minReadySeconds ?? 0 };
        return { d, newRS: await this.#client.update<ReplicaSet>(ReplicaSets, copy), oldRSs };
      }
      let needsUpdate = setDeploymentRevision(d, copy.metadata?.annotations?.[RevisionAnnotation] ?? newRevision);
      if (hasProgressDeadline(d) && !getCondition(d.status, 'Progressing')) {
        const status = { ...d.status };
        setCondition(status, newCondition('Progressing', 'True', FoundNewRSReason, `Found new replica set "${copy.metadata?.name ?? ''}"`, this.#now()));
        d.status = status;
        needsUpdate = true;
      }
      if (needsUpdate) d = await this.#updateStatus(d);
      return { d, newRS: copy, oldRSs };
    }
    if (!create) return { d, newRS: undefined, oldRSs };
    const rs = newReplicaSet(d, oldRSs, newRevision);
    const name = rs.metadata?.name ?? '';
    let created: ReplicaSet;
    let alreadyExisted = false;
    try {
      created = await this.#client.create<ReplicaSet>(ReplicaSets, d.metadata?.namespace, rs);
    } catch (e) {
      if (isAlreadyExists(e)) {
        alreadyExisted = true;
        const found = this.#rss.get(`${d.metadata?.namespace ?? ''}/${name}`) ?? (await this.#client.get<ReplicaSet>(ReplicaSets, d.metadata?.namespace, name));
        const ref = controllerOf(found);
        if (ref?.uid === d.metadata?.uid && equalIgnoreHash(d.spec?.template, found.spec?.template)) {
          created = found;
        } else {
          // A hash collision: count it so the next sync computes another name.
          const collisionCount = (d.status?.collisionCount ?? 0) + 1;
          await this.#updateStatus({ ...d, status: { ...d.status, collisionCount } });
          this.#log.info({ deployment: namespacedName(d), collisionCount }, 'found a hash collision for the deployment: bumping collisionCount to resolve it');
          throw e;
        }
      } else if (isNamespaceTerminating(e)) {
        throw e;
      } else {
        const msg = `Failed to create new replica set "${name}": ${message(e)}`;
        if (hasProgressDeadline(d)) {
          const status = { ...d.status };
          setCondition(status, newCondition('Progressing', 'False', FailedRSCreateReason, msg, this.#now()));
          await this.#updateStatus({ ...d, status }).catch(() => undefined);
        }
        void this.#recorder.event(d, 'Warning', FailedRSCreateReason, msg);
        throw e;
      }
    }
    const n = replicasOf(rs);
    if (!alreadyExisted && n > 0) void this.#recorder.event(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${created.metadata?.name ?? ''} from 0 to ${n}`);
    let needsUpdate = setDeploymentRevision(d, newRevision);
    if (!alreadyExisted && hasProgressDeadline(d)) {
      const status = { ...d.status };
      setCondition(status, newCondition('Progressing', 'True', NewReplicaSetReason, `Created new replica set "${created.metadata?.name ?? ''}"`, this.#now()));
      d.status = status;
      needsUpdate = true;
    }
    if (needsUpdate) d = await this.#updateStatus(d);
    return { d, newRS: created, oldRSs };
  }

  /** UpdateStatus (annotations travel with it, as the revision does in kube). */
  async #updateStatus(d: Deployment): Promise<Deployment> {
    return this.#client.update<Deployment>(Deployments, d, {}, 'status');
  }

  /**
   * Carries out scale actions in order (scaleReplicaSet): each writes the size and the
   * desired/max-replicas annotations; a size change records ScalingReplicaSet. True when any
   * size changed.
   */
  async #execute(d: Deployment, rss: readonly (ReplicaSet | undefined)[], actions: readonly ScaleAction[]): Promise<boolean> {
    const byName = new Map<string, ReplicaSet>();
    for (const rs of rss) if (rs) byName.set(rs.metadata?.name ?? '', rs);
    let scaled = false;
    const desired = replicasOf(d);
    const max = desired + maxSurge(d);
    for (const a of actions) {
      const rs = byName.get(a.name);
      if (!rs) continue;
      const from = replicasOf(rs);
      const sizeChanged = from !== a.to;
      if (!sizeChanged && !replicasAnnotationsNeedUpdate(rs, desired, max)) continue;
      const copy = structuredClone(rs);
      copy.spec = { ...copy.spec!, replicas: a.to };
      setReplicasAnnotations(copy, desired, max);
      const updated = await this.#client.update<ReplicaSet>(ReplicaSets, copy);
      byName.set(a.name, updated);
      if (sizeChanged) {
        scaled = true;
        void this.#recorder.event(d, 'Normal', 'ScalingReplicaSet', `Scaled ${a.operation} replica set ${a.name} from ${from} to ${a.to}`);
      }
    }
    return scaled;
  }

  /** sync(): a scaling event or a paused Deployment. */
  async #syncScale(d0: Deployment, rsList: readonly ReplicaSet[]): Promise<void> {
    const fam = await this.#family(d0, rsList, false);
    const d = fam.d;
    await this.#execute(d, [...fam.oldRSs, fam.newRS], scalePlan(d, fam.newRS, fam.oldRSs));
    if (d.spec?.paused) await this.#cleanup(d, fam.oldRSs);
    await this.#syncDeploymentStatus(d, [...fam.oldRSs, fam.newRS], fam.newRS);
  }

  async #rolloutRolling(key: string, d0: Deployment, rsList: readonly ReplicaSet[]): Promise<void> {
    const fam = await this.#family(d0, rsList, true);
    const d = fam.d;
    const newRS = fam.newRS!;
    const all = [...fam.oldRSs, newRS];
    if (await this.#execute(d, all, reconcileNewReplicaSet(d, all, newRS))) {
      await this.#syncRolloutStatus(key, d, all, newRS);
      return;
    }
    if (await this.#execute(d, all, reconcileOldReplicaSets(d, all, filterActiveReplicaSets(fam.oldRSs), newRS))) {
      await this.#syncRolloutStatus(key, d, all, newRS);
      return;
    }
    if (deploymentComplete(d, d.status ?? {})) await this.#cleanup(d, fam.oldRSs);
    await this.#syncRolloutStatus(key, d, all, newRS);
  }

  async #rolloutRecreate(key: string, d0: Deployment, rsList: readonly ReplicaSet[]): Promise<void> {
    let fam = await this.#family(d0, rsList, false);
    let d = fam.d;
    const all = [...fam.oldRSs, fam.newRS];
    if (await this.#execute(d, all, scaleDownOldForRecreate(filterActiveReplicaSets(fam.oldRSs)))) {
      await this.#syncRolloutStatus(key, d, all, fam.newRS);
      return;
    }
    const podsByRS = new Map<string, Pod[]>();
    for (const rs of rsList) podsByRS.set(rs.metadata?.uid ?? '', this.#pods.byIndex(byControllerUid, rs.metadata?.uid ?? ''));
    if (oldPodsRunning(fam.newRS, fam.oldRSs, podsByRS)) {
      await this.#syncRolloutStatus(key, d, all, fam.newRS);
      return;
    }
    if (!fam.newRS) {
      fam = await this.#family(d, rsList, true);
      d = fam.d;
    }
    const newRS = fam.newRS!;
    const actions: ScaleAction[] = replicasOf(newRS) === replicasOf(d) ? [] : [{ name: newRS.metadata?.name ?? '', from: replicasOf(newRS), to: replicasOf(d), operation: replicasOf(newRS) < replicasOf(d) ? 'up' : 'down' }];
    await this.#execute(d, [newRS], actions);
    if (deploymentComplete(d, d.status ?? {})) await this.#cleanup(d, fam.oldRSs);
    await this.#syncRolloutStatus(key, d, [...fam.oldRSs, newRS], newRS);
  }

  /** cleanupDeployment: deletes old ReplicaSets beyond revisionHistoryLimit. */
  async #cleanup(d: Deployment, oldRSs: readonly ReplicaSet[]): Promise<void> {
    for (const rs of replicaSetsToCleanUp(d, oldRSs)) {
      try {
        await this.#client.delete(ReplicaSets, rs.metadata?.namespace, rs.metadata?.name ?? '');
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }

  async #syncDeploymentStatus(d: Deployment, all: readonly (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined): Promise<void> {
    const status = calculateStatus(all, newRS, d, this.#now());
    if (!statusChanged(d.status, status)) return;
    await this.#updateStatus({ ...d, status });
  }

  async #syncRolloutStatus(key: string, d: Deployment, all: readonly (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined): Promise<void> {
    const { status, requeueAfterMs } = rolloutStatus(all, newRS, d, this.#now());
    if (requeueAfterMs !== undefined) {
      this.#queue.addAfter(key, requeueAfterMs);
      return;
    }
    if (!statusChanged(d.status, status)) return;
    await this.#updateStatus({ ...d, status });
  }
}
