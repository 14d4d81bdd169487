// Field selectors: k8s.io/apimachinery/pkg/fields' syntax (=, ==, !=, commas, backslash
// escapes), each resource's supported field labels as kube-apiserver converts them (the
// AddFieldLabelConversionFunc tables of pkg/apis/*/v1), and the values its registries select
// on (the *ToSelectableFields functions of pkg/registry/*/strategy.go).
import { badRequest } from '../errors.ts';
import type { KubeObject } from '../meta.ts';
import type { ResourceInfo } from '../resources.ts';

/** One term. `==` is the same as `=` and prints as `=`, as in Go. */
export interface FieldRequirement {
  readonly field: string;
  readonly operator: '=' | '!=';
  readonly value: string;
}

/** Terms ANDed, in the order Go keeps them (sorted by their text). */
export interface FieldSelector {
  readonly requirements: readonly FieldRequirement[];
}

export class FieldSelectorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FieldSelectorError';
  }
}

export const everyField: FieldSelector = Object.freeze({ requirements: Object.freeze([]) });

// ---- syntax ----

/** fields.EscapeValue: \ , and = get a backslash. */
export function escapeFieldValue(s: string): string {
  return s.replace(/[\\,=]/g, (c) => `\\${c}`);
}

/** fields.UnescapeValue. */
export function unescapeFieldValue(s: string): string {
  if (!/[\\,=]/.test(s)) return s;
  let out = '';
  let inSlash = false;
  for (const c of s) {
    if (inSlash) {
      if (c !== '\\' && c !== ',' && c !== '=') throw new FieldSelectorError(`invalid field selector: invalid escape sequence: \\${c}`);
      out += c;
      inSlash = false;
      continue;
    }
    if (c === '\\') inSlash = true;
    // Go prints the rune with %v: its code point as a number.
    else if (c === ',' || c === '=') throw new FieldSelectorError(`invalid field selector: unescaped character in value: ${c.codePointAt(0)}`);
    else out += c;
  }
  if (inSlash) throw new FieldSelectorError('invalid field selector: invalid escape sequence: \\');
  return out;
}

/** Splits on commas that are not escaped; escapes stay in the terms. */
export function splitTerms(s: string): string[] {
  if (s.length === 0) return [];
  const terms: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inSlash) inSlash = false;
    else if (c === '\\') inSlash = true;
    else if (c === ',') {
      terms.push(s.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(s.slice(start));
  return terms;
}

const termOperators = ['!=', '==', '='] as const;

/** The first operator in the term splits it; the field part has no escapes. */
export function splitTerm(term: string): { lhs: string; op: (typeof termOperators)[number]; rhs: string } | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of termOperators) {
      if (term.startsWith(op, i)) return { lhs: term.slice(0, i), op, rhs: term.slice(i + op.length) };
    }
  }
  return undefined;
}

/** Go's sort.Strings order (bytewise; UTF-16 order agrees for everything but astral characters). */
function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** fields.ParseSelector: syntax only, any field name. Throws FieldSelectorError. */
export function parseFieldSelectorSyntax(s: string): FieldSelector {
  const parts = splitTerms(s).sort(byteOrder);
  const reqs: FieldRequirement[] = [];
  for (const part of parts) {
    if (part === '') continue;
    const t = splitTerm(part);
    if (!t) throw new FieldSelectorError(`invalid selector: '${s}'; can't understand '${part}'`);
    const value = unescapeFieldValue(t.rhs);
    reqs.push({ field: t.lhs, operator: t.op === '!=' ? '!=' : '=', value });
  }
  return reqs.length ? { requirements: reqs } : everyField;
}

// ---- per resource: supported labels and selectable values ----

type Fields = Record<string, string>;
type Obj = KubeObject & Record<string, unknown>;

/** A path into the object as a string ("" when absent), as Go reads typed fields. */
function str(obj: unknown, ...path: string[]): string {
  let v: unknown = obj;
  for (const p of path) {
    if (typeof v !== 'object' || v === null) return '';
    v = (v as Record<string, unknown>)[p];
  }
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return '';
}

function bool(obj: unknown, ...path: string[]): string {
  return str(obj, ...path) === 'true' ? 'true' : 'false';
}

function int(obj: unknown, ...path: string[]): string {
  const v = str(obj, ...path);
  return v === '' ? '0' : v;
}

function metaFields(obj: Obj, namespaced: boolean): Fields {
  const f: Fields = { 'metadata.name': obj.metadata?.name ?? '' };
  if (namespaced) f['metadata.namespace'] = obj.metadata?.namespace ?? '';
  return f;
}

interface FieldTable {
  /** The labels the conversion function accepts; absent: the default (name, namespace). */
  labels?: readonly string[];
  /** Old spellings the conversion function rewrites ("spec.host" → "spec.nodeName"). */
  aliases?: Readonly<Record<string, string>>;
  /** The resource-specific values the registry selects on. */
  values?: (obj: Obj) => Fields;
}

const tables: Readonly<Record<string, FieldTable>> = {
  // pkg/apis/core/v1/conversion.go; pkg/registry/core/pod/strategy.go ToSelectableFields.
  '/pods': {
    labels: [
      'metadata.name',
      'metadata.namespace',
      'spec.nodeName',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.serviceAccountName',
      'spec.hostNetwork',
      'status.phase',
      'status.podIP',
      'status.podIPs',
      'status.nominatedNodeName',
    ],
    aliases: { 'spec.host': 'spec.nodeName' },
    // status.podIPs is accepted but has no value (matches as ""), as in kube-apiserver.
    values: (o) => {
      const ips = (o.status as { podIPs?: { ip?: string }[] } | undefined)?.podIPs;
      return {
        'spec.nodeName': str(o, 'spec', 'nodeName'),
        'spec.restartPolicy': str(o, 'spec', 'restartPolicy'),
        'spec.schedulerName': str(o, 'spec', 'schedulerName'),
        'spec.serviceAccountName': str(o, 'spec', 'serviceAccountName'),
        'spec.hostNetwork': bool(o, 'spec', 'hostNetwork'),
        'status.phase': str(o, 'status', 'phase'),
        'status.podIP': Array.isArray(ips) && ips.length ? (ips[0]?.ip ?? '') : '',
        'status.nominatedNodeName': str(o, 'status', 'nominatedNodeName'),
      };
    },
  },
  '/nodes': {
    labels: ['metadata.name', 'spec.unschedulable'],
    values: (o) => ({ 'spec.unschedulable': bool(o, 'spec', 'unschedulable') }),
  },
  '/events': {
    labels: [
      'involvedObject.kind',
      'involvedObject.namespace',
      'involvedObject.name',
      'involvedObject.uid',
      'involvedObject.apiVersion',
      'involvedObject.resourceVersion',
      'involvedObject.fieldPath',
      'reason',
      'reportingComponent',
      'source',
      'type',
      'metadata.namespace',
      'metadata.name',
    ],
    values: (o) => ({
      'involvedObject.kind': str(o, 'involvedObject', 'kind'),
      'involvedObject.namespace': str(o, 'involvedObject', 'namespace'),
      'involvedObject.name': str(o, 'involvedObject', 'name'),
      'involvedObject.uid': str(o, 'involvedObject', 'uid'),
      'involvedObject.apiVersion': str(o, 'involvedObject', 'apiVersion'),
      'involvedObject.resourceVersion': str(o, 'involvedObject', 'resourceVersion'),
      'involvedObject.fieldPath': str(o, 'involvedObject', 'fieldPath'),
      reason: str(o, 'reason'),
      // v1 calls ReportingController "reportingComponent"; source falls back to it.
      reportingComponent: str(o, 'reportingComponent'),
      source: str(o, 'source', 'component') || str(o, 'reportingComponent'),
      type: str(o, 'type'),
    }),
  },
  '/namespaces': {
    labels: ['status.phase', 'metadata.name'],
    values: (o) => ({ 'status.phase': str(o, 'status', 'phase') }),
  },
  '/secrets': {
    labels: ['type', 'metadata.namespace', 'metadata.name'],
    values: (o) => ({ type: str(o, 'type') }),
  },
  '/services': {
    labels: ['metadata.namespace', 'metadata.name', 'spec.clusterIP', 'spec.type'],
    values: (o) => ({ 'spec.clusterIP': str(o, 'spec', 'clusterIP'), 'spec.type': str(o, 'spec', 'type') }),
  },
  // As the field-selector documentation lists it (pkg/registry/apps/replicaset ToSelectableFields).
  'apps/replicasets': {
    labels: ['metadata.name', 'metadata.namespace', 'status.replicas'],
    values: (o) => ({ 'status.replicas': int(o, 'status', 'replicas') }),
  },
};

const defaultLabels: readonly string[] = ['metadata.name', 'metadata.namespace'];

/** Custom resources (any group that is not Kubernetes' own), e.g. metallb.io. */
function isCustomResource(r: ResourceInfo): boolean {
  return r.group !== '' && r.group.includes('.') && !r.group.endsWith('.k8s.io');
}

function tableFor(r: ResourceInfo): FieldTable | undefined {
  return tables[`${r.group}/${r.resource}`];
}

/** The field labels a resource's field selectors may use. */
export function supportedFieldLabels(r: ResourceInfo): readonly string[] {
  if (isCustomResource(r)) return r.namespaced ? defaultLabels : ['metadata.name'];
  return tableFor(r)?.labels ?? defaultLabels;
}

/** Scheme.ConvertFieldLabel: the label as stored, or the error kube-apiserver gives. */
function convertFieldLabel(r: ResourceInfo, label: string): string {
  if (isCustomResource(r)) {
    // apiextensions' converter: metadata.namespace only for namespaced kinds.
    if (label === 'metadata.name' || (r.namespaced && label === 'metadata.namespace')) return label;
    throw new FieldSelectorError(`field label not supported: ${label}`);
  }
  const t = tableFor(r);
  if (!t?.labels) {
    // runtime.DefaultMetaV1FieldSelectorConversion
    if (label === 'metadata.name' || label === 'metadata.namespace') return label;
    throw new FieldSelectorError(`${JSON.stringify(label)} is not a known field selector: only "metadata.name", "metadata.namespace"`);
  }
  const alias = t.aliases?.[label];
  if (alias) return alias;
  if (t.labels.includes(label)) return label;
  throw new FieldSelectorError(`field label not supported: ${label}`);
}

/**
 * Parses a `fieldSelector` query parameter for a resource: the syntax, then each field label
 * through the resource's conversion. Throws 400 BadRequest with kube-apiserver's message, e.g.
 * "field label not supported: foo".
 */
export function parseFieldSelector(r: ResourceInfo, s: string): FieldSelector {
  try {
    const sel = parseFieldSelectorSyntax(s);
    if (!sel.requirements.length) return sel;
    return { requirements: sel.requirements.map((q) => ({ ...q, field: convertFieldLabel(r, q.field) })) };
  } catch (e) {
    if (e instanceof FieldSelectorError) throw badRequest(e.message);
    throw e;
  }
}

/** The field values a resource's objects are selected on (fields.Set of GetAttrs). */
export function fieldsOf(r: ResourceInfo, obj: KubeObject): Record<string, string> {
  const o = obj as Obj;
  const t = isCustomResource(r) ? undefined : tableFor(r);
  return { ...metaFields(o, r.namespaced), ...(t?.values?.(o) ?? {}) };
}

/** Every term holds: = compares equal, != unequal; a field not in the set reads as "". */
export function matchesFields(sel: FieldSelector, fields: Readonly<Record<string, string>>): boolean {
  return sel.requirements.every((q) => {
    const v = Object.prototype.hasOwnProperty.call(fields, q.field) ? fields[q.field] : '';
    return q.operator === '=' ? v === q.value : v !== q.value;
  });
}

/** fields.Selector.String(): "a=b,c!=d", values escaped. */
export function fieldSelectorToString(sel: FieldSelector): string {
  return sel.requirements.map((q) => `${q.field}${q.operator}${escapeFieldValue(q.value)}`).join(',');
}

/** The value a selector pins a field to, if any (for indexes such as spec.nodeName). */
export function requiresExactFieldMatch(sel: FieldSelector, field: string): string | undefined {
  return sel.requirements.find((q) => q.field === field && q.operator === '=')?.value;
}
