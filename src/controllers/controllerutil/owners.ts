// Owner references and the ControllerRefManager's claim rules (pkg/controller/controller_ref_manager.go):
// a controller adopts the orphans its selector matches, releases what it owns but no longer
// matches, and leaves alone what another controller owns. Pure decisions plus the JSON patches
// that carry them out (a `test` of uid and ownerReferences makes each patch conditional on the
// state it was computed from, as kube's patches carry the uid).
import type { ObjectMeta, OwnerReference } from 'kubernetes-types/meta/v1.js';
import type { Operation } from 'fast-json-patch';
import type { KubeObject } from '../../api/index.ts';
import { matches, type LabelSelector } from '../../api/selectors/index.ts';

/** metav1.GetControllerOf: the owner reference with controller: true. */
export function controllerOf(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller === true);
}

/** metav1.IsControlledBy. */
export function isControlledBy(obj: KubeObject, owner: KubeObject): boolean {
  const ref = controllerOf(obj);
  return ref !== undefined && ref.uid === owner.metadata?.uid;
}

/** metav1.NewControllerRef: controller and blockOwnerDeletion both true. */
export function newControllerRef(owner: KubeObject, apiVersion: string, kind: string): OwnerReference {
  return { apiVersion, kind, name: owner.metadata?.name ?? '', uid: owner.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true };
}

export type ClaimAction = 'owned' | 'adopt' | 'release' | 'ignore';

/**
 * ClaimObject's decision for one object, given its controller's uid, namespace and deletion
 * state and whether the controller's selector (and any filters) match the object.
 */
export function claimAction(obj: KubeObject, controller: { uid: string; namespace?: string; deleting: boolean }, selected: boolean): ClaimAction {
  const ref = controllerOf(obj);
  if (ref) {
    if (ref.uid !== controller.uid) return 'ignore';
    if (selected) return 'owned';
    // Owned but no longer selected: release, unless the controller is going away anyway.
    return controller.deleting ? 'ignore' : 'release';
  }
  if (controller.deleting || !selected) return 'ignore';
  if (obj.metadata?.deletionTimestamp) return 'ignore';
  if (controller.namespace && controller.namespace !== obj.metadata?.namespace) return 'ignore';
  return 'adopt';
}

/** The label-selector half of a claim. A nil selector selects nothing (labels.Nothing). */
export function selects(selector: LabelSelector, obj: KubeObject): boolean {
  return matches(selector, obj.metadata?.labels);
}

function preconditions(meta: ObjectMeta): Operation[] {
  const ops: Operation[] = [{ op: 'test', path: '/metadata/uid', value: meta.uid ?? '' }];
  if (meta.ownerReferences) ops.push({ op: 'test', path: '/metadata/ownerReferences', value: meta.ownerReferences });
  return ops;
}

/** A JSON patch adding `ref` as the object's controller reference (AdoptPod, AdoptReplicaSet). */
export function adoptPatch(obj: KubeObject, ref: OwnerReference): Operation[] {
  const meta = obj.metadata ?? {};
  const refs = [...(meta.ownerReferences ?? []).filter((r) => r.uid !== ref.uid), ref];
  return [...preconditions(meta), meta.ownerReferences ? { op: 'replace', path: '/metadata/ownerReferences', value: refs } : { op: 'add', path: '/metadata/ownerReferences', value: refs }];
}

/** A JSON patch removing every owner reference to `ownerUid` (ReleasePod, the GC's orphaning). */
export function releasePatch(obj: KubeObject, ownerUid: string): Operation[] {
  const meta = obj.metadata ?? {};
  const refs = (meta.ownerReferences ?? []).filter((r) => r.uid !== ownerUid);
  return [...preconditions(meta), refs.length ? { op: 'replace', path: '/metadata/ownerReferences', value: refs } : { op: 'remove', path: '/metadata/ownerReferences' }];
}
