// ObjectMeta, labels, annotations and label selectors, as apimachinery's
// api/validation/objectmeta.go and apis/meta/v1/validation check them.
import type { LabelSelector, ObjectMeta, OwnerReference } from 'kubernetes-types/meta/v1.js';
import { fe, goQuote, goStringMap, goStringSlice, goValueError, invalidEach, path, type FieldError } from './field.ts';
import { byteLength, isDNS1123Label, isQualifiedName, isValidLabelValue, standardFinalizers, type NameValidator } from './format.ts';
import { semanticEqual } from './equality.ts';

export const fieldImmutableErrorMsg = 'field is immutable';
export const isNegativeErrorMsg = 'must be greater than or equal to 0';
export const totalAnnotationSizeLimitB = 256 * (1 << 10);

export function validateNonnegativeField(value: number | undefined, field: string): FieldError[] {
  return (value ?? 0) < 0 ? [fe.invalid(field, value, isNegativeErrorMsg)] : [];
}

export function validateLabelName(name: string, field: string): FieldError[] {
  return invalidEach(field, name, isQualifiedName(name));
}

/** ValidateLabels: every key a qualified name, every value a label value; errors at the map's path. */
export function validateLabels(labels: Readonly<Record<string, string>> | undefined, field: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(labels ?? {})) {
    errs.push(...validateLabelName(k, field));
    errs.push(...invalidEach(field, v, isValidLabelValue(v)));
  }
  return errs;
}

/** ValidateAnnotations: keys are qualified names (case-insensitive), total size at most 256 KiB. */
export function validateAnnotations(annotations: Readonly<Record<string, string>> | undefined, field: string): FieldError[] {
  const errs: FieldError[] = [];
  let total = 0;
  for (const [k, v] of Object.entries(annotations ?? {})) {
    errs.push(...invalidEach(field, k, isQualifiedName(k.toLowerCase())));
    total += byteLength(k) + byteLength(v);
  }
  if (total > totalAnnotationSizeLimitB) errs.push(fe.tooLong(field, '', totalAnnotationSizeLimitB));
  return errs;
}

export interface LabelSelectorValidationOptions {
  allowInvalidLabelValueInSelector?: boolean;
}

export function validateLabelSelector(sel: LabelSelector | undefined, field: string, opts: LabelSelectorValidationOptions = {}): FieldError[] {
  if (!sel) return [];
  const errs = validateLabels(sel.matchLabels, path.child(field, 'matchLabels'));
  (sel.matchExpressions ?? []).forEach((expr, i) => {
    const p = path.index(path.child(field, 'matchExpressions'), i);
    const values = expr.values ?? [];
    switch (expr.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) errs.push(fe.required(path.child(p, 'values'), "must be specified when `operator` is 'In' or 'NotIn'"));
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) errs.push(fe.forbidden(path.child(p, 'values'), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
        break;
      default:
        errs.push(fe.invalid(path.child(p, 'operator'), expr.operator, 'not a valid selector operator'));
    }
    errs.push(...validateLabelName(expr.key, path.child(p, 'key')));
    if (!opts.allowInvalidLabelValueInSelector) {
      values.forEach((v, j) => errs.push(...invalidEach(path.index(path.child(p, 'values'), j), v, isValidLabelValue(v))));
    }
  });
  return errs;
}

/** The selector as Go's %#v prints a metav1.LabelSelector (in "field is immutable" errors). */
export function goLabelSelector(sel: LabelSelector | undefined): string {
  if (!sel) return '(*v1.LabelSelector)(nil)';
  const exprs = sel.matchExpressions;
  const exprText =
    exprs === undefined
      ? '[]v1.LabelSelectorRequirement(nil)'
      : `[]v1.LabelSelectorRequirement{${exprs
          .map((e) => `v1.LabelSelectorRequirement{Key:${goQuote(e.key)}, Operator:${goQuote(e.operator)}, Values:${goStringSlice(e.values)}}`)
          .join(', ')}}`;
  return `v1.LabelSelector{MatchLabels:${goStringMap(sel.matchLabels)}, MatchExpressions:${exprText}}`;
}

/** Whether a label selector selects the given labels (metav1.LabelSelectorAsSelector + Matches). */
export function selectorMatches(sel: LabelSelector | undefined, labels: Readonly<Record<string, string>> | undefined): boolean {
  if (!sel) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(l, e.key);
    const vals = e.values ?? [];
    switch (e.operator) {
      case 'In':
        if (!has || !vals.includes(l[e.key] ?? '')) return false;
        break;
      case 'NotIn':
        if (has && vals.includes(l[e.key] ?? '')) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

export function isEmptySelector(sel: LabelSelector | undefined): boolean {
  return !sel || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0);
}

function parseGroupVersion(apiVersion: string): { group: string; version: string } | undefined {
  if (apiVersion === '') return { group: '', version: '' };
  const parts = apiVersion.split('/');
  if (parts.length === 1) return { group: '', version: parts[0] ?? '' };
  if (parts.length === 2) return { group: parts[0] ?? '', version: parts[1] ?? '' };
  return undefined;
}

function goOwnerReference(r: OwnerReference): string {
  const b = (v: boolean | undefined): string => (v === undefined ? '(*bool)(nil)' : `(*bool)(${String(v)})`);
  return `v1.OwnerReference{APIVersion:${goQuote(r.apiVersion)}, Kind:${goQuote(r.kind)}, Name:${goQuote(r.name)}, UID:${goQuote(r.uid)}, Controller:${b(r.controller)}, BlockOwnerDeletion:${b(r.blockOwnerDeletion)}}`;
}

export function validateOwnerReferences(refs: readonly OwnerReference[] | undefined, field: string): FieldError[] {
  const errs: FieldError[] = [];
  let firstController = '';
  for (const ref of refs ?? []) {
    const gv = parseGroupVersion(ref.apiVersion) ?? { group: '', version: '' };
    if (gv.version === '') errs.push(fe.invalid(path.child(field, 'apiVersion'), ref.apiVersion, 'version must not be empty'));
    if (!ref.kind) errs.push(fe.invalid(path.child(field, 'kind'), ref.kind ?? '', 'must not be empty'));
    if (!ref.name) errs.push(fe.invalid(path.child(field, 'name'), ref.name ?? '', 'must not be empty'));
    if (!ref.uid) errs.push(fe.invalid(path.child(field, 'uid'), ref.uid ?? '', 'must not be empty'));
    if (gv.group === '' && gv.version === 'v1' && ref.kind === 'Event') {
      errs.push(goValueError('FieldValueInvalid', field, goOwnerReference(ref), '/v1, Kind=Event is disallowed from being an owner'));
    }
    if (ref.controller) {
      const cur = `${ref.kind}/${ref.name}`;
      if (firstController) {
        errs.push(
          goValueError(
            'FieldValueInvalid',
            field,
            `[]v1.OwnerReference{${(refs ?? []).map(goOwnerReference).join(', ')}}`,
            `Only one reference can have Controller set to true. Found "true" in references for ${firstController} and ${cur}`,
          ),
        );
      } else {
        firstController = cur;
      }
    }
  }
  return errs;
}

export function validateFinalizers(finalizers: readonly string[] | undefined, field: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const f of finalizers ?? []) errs.push(...invalidEach(field, f, isQualifiedName(f)));
  const list = finalizers ?? [];
  if (list.includes('orphan') && list.includes('foregroundDeletion')) {
    errs.push(goValueError('FieldValueInvalid', field, goStringSlice(list), 'finalizer orphan and foregroundDeletion cannot be both set'));
  }
  return errs;
}

/** validateKubeFinalizerName: a finalizer without a domain must be one of Kubernetes' own. */
export function validateKubeFinalizerName(name: string, field: string): FieldError[] {
  if (!name.includes('/') && !standardFinalizers.has(name)) {
    return [fe.invalid(field, name, 'name is neither a standard finalizer name nor is it fully qualified')];
  }
  return [];
}

export interface ObjectMetaOptions {
  /** Core and apps types also check legacy finalizer names (core's ValidateObjectMeta wrapper). */
  kubeFinalizers?: boolean;
}

/**
 * ValidateObjectMeta for a create. Name generation has already happened, so an empty name is
 * "Required value: name or generateName is required".
 */
export function validateObjectMeta(
  meta: ObjectMeta | undefined,
  requiresNamespace: boolean,
  nameFn: NameValidator,
  fldPath = 'metadata',
  opts: ObjectMetaOptions = { kubeFinalizers: true },
): FieldError[] {
  const m = meta ?? {};
  const errs: FieldError[] = [];
  if (m.generateName) errs.push(...invalidEach(path.child(fldPath, 'generateName'), m.generateName, nameFn(m.generateName, true)));
  if (!m.name) errs.push(fe.required(path.child(fldPath, 'name'), 'name or generateName is required'));
  else errs.push(...invalidEach(path.child(fldPath, 'name'), m.name, nameFn(m.name, false)));
  errs.push(...validateMetaCommon(m, requiresNamespace, fldPath));
  if (opts.kubeFinalizers) {
    (m.finalizers ?? []).forEach((f, i) => errs.push(...validateKubeFinalizerName(f, path.index(path.child(fldPath, 'finalizers'), i))));
  }
  return errs;
}

function validateMetaCommon(m: ObjectMeta, requiresNamespace: boolean, fldPath: string): FieldError[] {
  const errs: FieldError[] = [];
  if (requiresNamespace) {
    if (!m.namespace) errs.push(fe.required(path.child(fldPath, 'namespace'), ''));
    else errs.push(...invalidEach(path.child(fldPath, 'namespace'), m.namespace, isDNS1123Label(m.namespace)));
  } else if (m.namespace) {
    errs.push(fe.forbidden(path.child(fldPath, 'namespace'), 'not allowed on this type'));
  }
  errs.push(...validateNonnegativeField(m.generation, path.child(fldPath, 'generation')));
  errs.push(...validateLabels(m.labels, path.child(fldPath, 'labels')));
  errs.push(...validateAnnotations(m.annotations, path.child(fldPath, 'annotations')));
  errs.push(...validateOwnerReferences(m.ownerReferences, path.child(fldPath, 'ownerReferences')));
  errs.push(...validateFinalizers(m.finalizers, path.child(fldPath, 'finalizers')));
  return errs;
}

function immutable(newVal: unknown, oldVal: unknown, field: string): FieldError[] {
  if (semanticEqual(newVal, oldVal)) return [];
  if (newVal === undefined || newVal === null) return [fe.invalid(field, 'null', fieldImmutableErrorMsg)];
  return [fe.invalid(field, newVal, fieldImmutableErrorMsg)];
}

/** ValidateImmutableField: "Invalid value: <new>: field is immutable". */
export function validateImmutableField(newVal: unknown, oldVal: unknown, field: string): FieldError[] {
  return immutable(newVal, oldVal, field);
}

/**
 * ValidateObjectMetaUpdate. The API server must have filled resourceVersion (from the stored
 * object, for an unconditional update) and the system fields before calling this.
 */
export function validateObjectMetaUpdate(
  newMeta: ObjectMeta | undefined,
  oldMeta: ObjectMeta | undefined,
  fldPath = 'metadata',
  opts: ObjectMetaOptions = { kubeFinalizers: true },
): FieldError[] {
  const n = newMeta ?? {};
  const o = oldMeta ?? {};
  const errs: FieldError[] = [];
  if (o.deletionTimestamp) {
    const extra = [...new Set(n.finalizers ?? [])].filter((f) => !(o.finalizers ?? []).includes(f)).sort();
    if (extra.length) {
      errs.push(
        fe.forbidden(
          path.child(fldPath, 'finalizers'),
          `no new finalizers can be added if the object is being deleted, found new finalizers ${goStringSlice(extra)}`,
        ),
      );
    }
  }
  if (!n.resourceVersion) errs.push(fe.invalid(path.child(fldPath, 'resourceVersion'), n.resourceVersion ?? '', 'must be specified for an update'));
  if ((n.generation ?? 0) < (o.generation ?? 0)) errs.push(fe.invalid(path.child(fldPath, 'generation'), n.generation ?? 0, 'must not be decremented'));
  errs.push(...immutable(n.name ?? '', o.name ?? '', path.child(fldPath, 'name')));
  errs.push(...immutable(n.namespace ?? '', o.namespace ?? '', path.child(fldPath, 'namespace')));
  errs.push(...immutable(n.uid ?? '', o.uid ?? '', path.child(fldPath, 'uid')));
  errs.push(...immutable(n.creationTimestamp, o.creationTimestamp, path.child(fldPath, 'creationTimestamp')));
  errs.push(...immutable(n.deletionTimestamp, o.deletionTimestamp, path.child(fldPath, 'deletionTimestamp')));
  errs.push(...immutable(n.deletionGracePeriodSeconds, o.deletionGracePeriodSeconds, path.child(fldPath, 'deletionGracePeriodSeconds')));
  errs.push(...validateLabels(n.labels, path.child(fldPath, 'labels')));
  errs.push(...validateAnnotations(n.annotations, path.child(fldPath, 'annotations')));
  errs.push(...validateOwnerReferences(n.ownerReferences, path.child(fldPath, 'ownerReferences')));
  errs.push(...validateFinalizers(n.finalizers, path.child(fldPath, 'finalizers')));
  if (opts.kubeFinalizers) {
    (n.finalizers ?? []).forEach((f, i) => errs.push(...validateKubeFinalizerName(f, path.index(path.child(fldPath, 'finalizers'), i))));
  }
  return errs;
}
