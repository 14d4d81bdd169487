// Deployment and ReplicaSet validation (pkg/apis/apps/validation, Kubernetes 1.33) and the
// selector immutability that the apps/v1 registry strategies add on update.
import type { Deployment, DeploymentStrategy, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { LabelSelector, ObjectMeta } from 'kubernetes-types/meta/v1.js';
import type { PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import { fe, goStringMap, goValueError, path, type FieldError } from './field.ts';
import { isValidPercent, nameIsDNSSubdomain } from './format.ts';
import {
  fieldImmutableErrorMsg,
  goLabelSelector,
  isEmptySelector,
  selectorMatches,
  validateLabelSelector,
  validateNonnegativeField,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from './objectmeta.ts';
import { semanticEqual } from './equality.ts';
import { validatePodTemplateSpec } from './pod.ts';

type IntOrString = number | string;

function goIntOrString(v: IntOrString | undefined): string {
  if (typeof v === 'string') return `intstr.IntOrString{Type:1, IntVal:0, StrVal:${JSON.stringify(v)}}`;
  return `intstr.IntOrString{Type:0, IntVal:${v ?? 0}, StrVal:""}`;
}

function validatePositiveIntOrPercent(v: IntOrString | undefined, field: string): FieldError[] {
  if (typeof v === 'string') return isValidPercent(v).map((m) => goValueError('FieldValueInvalid', field, goIntOrString(v), m));
  return validateNonnegativeField(v ?? 0, field);
}

function intOrPercentValue(v: IntOrString | undefined): number {
  // Not a percent: IntValue() reads the string as a number, or 0.
  if (typeof v === 'string') return isValidPercent(v).length ? (/^[-+]?[0-9]+$/.test(v) ? Number.parseInt(v, 10) : 0) : Number.parseInt(v.slice(0, -1), 10);
  return v ?? 0;
}

function isNotMoreThan100Percent(v: IntOrString | undefined, field: string): FieldError[] {
  if (typeof v !== 'string' || isValidPercent(v).length) return [];
  return intOrPercentValue(v) > 100 ? [goValueError('FieldValueInvalid', field, goIntOrString(v), 'must not be greater than 100%')] : [];
}

function validateDeploymentStrategy(strategy: DeploymentStrategy | undefined, field: string): FieldError[] {
  const s = strategy ?? {};
  switch (s.type) {
    case 'Recreate':
      return s.rollingUpdate ? [fe.forbidden(path.child(field, 'rollingUpdate'), "may not be specified when strategy `type` is 'Recreate'")] : [];
    case 'RollingUpdate': {
      if (!s.rollingUpdate) return [fe.required(path.child(field, 'rollingUpdate'), 'this should be defaulted and never be nil')];
      const ru = s.rollingUpdate;
      const p = path.child(field, 'rollingUpdate');
      const errs = validatePositiveIntOrPercent(ru.maxUnavailable, path.child(p, 'maxUnavailable'));
      errs.push(...validatePositiveIntOrPercent(ru.maxSurge, path.child(p, 'maxSurge')));
      if (intOrPercentValue(ru.maxUnavailable) === 0 && intOrPercentValue(ru.maxSurge) === 0) {
        errs.push(goValueError('FieldValueInvalid', path.child(p, 'maxUnavailable'), goIntOrString(ru.maxUnavailable), 'may not be 0 when `maxSurge` is 0'));
      }
      errs.push(...isNotMoreThan100Percent(ru.maxUnavailable, path.child(p, 'maxUnavailable')));
      return errs;
    }
    default:
      return [
        goValueError(
          'FieldValueNotSupported',
          field,
          `apps.DeploymentStrategy{Type:${JSON.stringify(s.type ?? '')}, RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}`,
          'supported values: "Recreate", "RollingUpdate"',
        ),
      ];
  }
}

/** ValidatePodTemplateSpecForReplicaSet: selector must match the labels; RestartPolicy Always. */
function validatePodTemplateSpecForReplicaSet(template: PodTemplateSpec | undefined, selector: LabelSelector | undefined, field: string): FieldError[] {
  if (!template) return [fe.required(field, '')];
  const errs: FieldError[] = [];
  // A missing selector converts to labels.Nothing(), which is not empty and matches nothing.
  if ((selector === undefined || !isEmptySelector(selector)) && !selectorMatches(selector, template.metadata?.labels)) {
    errs.push(goValueError('FieldValueInvalid', path.child(field, 'metadata', 'labels'), goStringMap(template.metadata?.labels), '`selector` does not match template `labels`'));
  }
  errs.push(...validatePodTemplateSpec(template, field));
  const rp = template.spec?.restartPolicy ?? '';
  if (rp !== 'Always') errs.push(fe.notSupported(path.child(field, 'spec', 'restartPolicy'), rp, ['Always']));
  if (template.spec?.activeDeadlineSeconds !== undefined && template.spec.activeDeadlineSeconds !== null) {
    errs.push(fe.forbidden(path.child(field, 'spec', 'activeDeadlineSeconds'), 'activeDeadlineSeconds in ReplicaSet is not Supported'));
  }
  return errs;
}

function validateSelector(selector: LabelSelector | undefined, field: string): FieldError[] {
  if (!selector) return [fe.required(field, '')];
  const errs = validateLabelSelector(selector, field);
  if (isEmptySelector(selector)) errs.push(goValueError('FieldValueInvalid', field, goLabelSelector(selector), 'empty selector is invalid for deployment'));
  return errs;
}

export function validateDeployment(d: Deployment): FieldError[] {
  return [...validateObjectMeta(d.metadata, true, nameIsDNSSubdomain), ...validateDeploymentSpec(d)];
}

function validateDeploymentSpec(d: Deployment): FieldError[] {
  const s = d.spec;
  const errs = validateNonnegativeField(s?.replicas, 'spec.replicas');
  errs.push(...validateSelector(s?.selector, 'spec.selector'));
  errs.push(...validatePodTemplateSpecForReplicaSet(s?.template, s?.selector, 'spec.template'));
  errs.push(...validateDeploymentStrategy(s?.strategy, 'spec.strategy'));
  errs.push(...validateNonnegativeField(s?.minReadySeconds, 'spec.minReadySeconds'));
  if (s?.revisionHistoryLimit !== undefined && s.revisionHistoryLimit !== null) errs.push(...validateNonnegativeField(s.revisionHistoryLimit, 'spec.revisionHistoryLimit'));
  if (s?.progressDeadlineSeconds !== undefined && s.progressDeadlineSeconds !== null) {
    errs.push(...validateNonnegativeField(s.progressDeadlineSeconds, 'spec.progressDeadlineSeconds'));
    if (s.progressDeadlineSeconds <= (s.minReadySeconds ?? 0)) errs.push(fe.invalid('spec.progressDeadlineSeconds', s.progressDeadlineSeconds, 'must be greater than minReadySeconds'));
  }
  return errs;
}

function selectorImmutable(newSel: LabelSelector | undefined, oldSel: LabelSelector | undefined): FieldError[] {
  if (semanticEqual(newSel, oldSel)) return [];
  return [goValueError('FieldValueInvalid', 'spec.selector', goLabelSelector(newSel), fieldImmutableErrorMsg)];
}

/** ValidateDeploymentUpdate plus the apps/v1 strategy's selector immutability. */
export function validateDeploymentUpdate(d: Deployment, old: Deployment): FieldError[] {
  const errs = validateObjectMetaUpdate(d.metadata, old.metadata);
  errs.push(...validateDeploymentSpec(d));
  errs.push(...selectorImmutable(d.spec?.selector, old.spec?.selector));
  return errs;
}

function statusNonNegative(status: Record<string, unknown> | undefined, fields: readonly string[]): FieldError[] {
  return fields.flatMap((f) => validateNonnegativeField(typeof status?.[f] === 'number' ? status[f] : 0, `status.${f}`));
}

export function validateDeploymentStatusUpdate(d: Deployment, old: Deployment): FieldError[] {
  const errs = validateObjectMetaUpdate(d.metadata, old.metadata);
  const st = d.status ?? {};
  errs.push(...statusNonNegative(st as Record<string, unknown>, ['observedGeneration', 'replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas']));
  if (st.collisionCount !== undefined) errs.push(...validateNonnegativeField(st.collisionCount, 'status.collisionCount'));
  const replicas = st.replicas ?? 0;
  const msg = 'cannot be greater than status.replicas';
  if ((st.updatedReplicas ?? 0) > replicas) errs.push(fe.invalid('status.updatedReplicas', st.updatedReplicas, msg));
  if ((st.readyReplicas ?? 0) > replicas) errs.push(fe.invalid('status.readyReplicas', st.readyReplicas, msg));
  if ((st.availableReplicas ?? 0) > replicas) errs.push(fe.invalid('status.availableReplicas', st.availableReplicas, msg));
  if ((st.availableReplicas ?? 0) > (st.readyReplicas ?? 0)) errs.push(fe.invalid('status.availableReplicas', st.availableReplicas, 'cannot be greater than readyReplicas'));
  const oc = old.status?.collisionCount;
  if (oc !== undefined && (st.collisionCount === undefined || st.collisionCount < oc)) errs.push(fe.invalid('status.collisionCount', st.collisionCount ?? 0, 'cannot be decremented'));
  return errs;
}

export function validateReplicaSet(rs: ReplicaSet): FieldError[] {
  return [...validateObjectMeta(rs.metadata, true, nameIsDNSSubdomain), ...validateReplicaSetSpec(rs)];
}

function validateReplicaSetSpec(rs: ReplicaSet): FieldError[] {
  const s = rs.spec;
  const errs = validateNonnegativeField(s?.replicas, 'spec.replicas');
  errs.push(...validateNonnegativeField(s?.minReadySeconds, 'spec.minReadySeconds'));
  errs.push(...validateSelector(s?.selector, 'spec.selector'));
  errs.push(...validatePodTemplateSpecForReplicaSet(s?.template, s?.selector, 'spec.template'));
  return errs;
}

export function validateReplicaSetUpdate(rs: ReplicaSet, old: ReplicaSet): FieldError[] {
  const errs = validateObjectMetaUpdate(rs.metadata, old.metadata);
  errs.push(...validateReplicaSetSpec(rs));
  errs.push(...selectorImmutable(rs.spec?.selector, old.spec?.selector));
  return errs;
}

export function validateReplicaSetStatusUpdate(rs: ReplicaSet, old: ReplicaSet): FieldError[] {
  const errs = validateObjectMetaUpdate(rs.metadata, old.metadata);
  const st = rs.status ?? { replicas: 0 };
  errs.push(...statusNonNegative(st as unknown as Record<string, unknown>, ['replicas', 'fullyLabeledReplicas', 'readyReplicas', 'availableReplicas', 'observedGeneration']));
  const msg = 'cannot be greater than status.replicas';
  if ((st.fullyLabeledReplicas ?? 0) > st.replicas) errs.push(fe.invalid('status.fullyLabeledReplicas', st.fullyLabeledReplicas, msg));
  if ((st.readyReplicas ?? 0) > st.replicas) errs.push(fe.invalid('status.readyReplicas', st.readyReplicas, msg));
  if ((st.availableReplicas ?? 0) > st.replicas) errs.push(fe.invalid('status.availableReplicas', st.availableReplicas, msg));
  if ((st.availableReplicas ?? 0) > (st.readyReplicas ?? 0)) errs.push(fe.invalid('status.availableReplicas', st.availableReplicas, 'cannot be greater than readyReplicas'));
  return errs;
}


/** ValidateScale: the body of PUT deployments|replicasets/{name}/scale (autoscaling/v1 Scale). */
export function validateScale(scale: { metadata?: ObjectMeta; spec?: { replicas?: number } }): FieldError[] {
  const errs = validateObjectMeta(scale.metadata, true, nameIsDNSSubdomain);
  const r = scale.spec?.replicas ?? 0;
  if (r < 0) errs.push(fe.invalid('spec.replicas', r, 'must be greater than or equal to 0'));
  return errs;
}
