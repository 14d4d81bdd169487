// The request-level flows: a PATCH of each content type against the live object, and the
// managedFields bookkeeping of every other write. kube-apiserver's patch handler
// (k8s.io/apiserver/pkg/endpoints/handlers/patch.go) and field manager chain are the model.
import { createRequire } from 'node:module';
import {
  ApiError,
  badRequest,
  conflict,
  fieldErrors,
  invalid,
  notFound,
  unsupportedMediaType,
  type AnyObject,
  type FieldError,
} from '../../api/index.ts';
import { jsonTypeError, strictDecodingMessage, unknownFields, unknownFieldWarnings, type SchemaNode } from '../../api/schema/index.ts';
import { FieldSet, pathString, type Path } from './fieldpath.ts';
import { GoJsonSyntaxError, goFormat, goJson, isJsonObject, jsonKind, parseGoJson, put, type Json, type JsonObject } from './go.ts';
import { applyJsonPatch, applyMergePatch, genericUnprocessable } from './json-patch.ts';
import {
  ApplyConflicts,
  conflictMessage,
  decodeManagedFields,
  encodeManagedFields,
  ManagedFieldsError,
  printManager,
  recordApply,
  recordUpdate,
  type FieldManagerContext,
  type Managed,
} from './managed-fields.ts';
import { SmpError, strategicMergePatch } from './strategic.ts';
import { compareValues, dropUndeclared, toFieldSet, validateConfig, validationErrorsString, zeroObject } from './typed.ts';

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

/** The Content-Type of each patch type. */
export const patchContentTypes: Readonly<Record<PatchType, string>> = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

/** Built-in API groups ("", apps, *.k8s.io); any other served group comes from a CRD (metallb.io). */
export function isBuiltInGroup(group: string): boolean {
  return group === '' || !group.includes('.') || group.endsWith('.k8s.io');
}

/**
 * The patch types a resource of the group accepts, in the order kube-apiserver lists them.
 * Custom resources have no Go struct tags to merge by, so strategic merge is not among them.
 */
export function supportedPatchTypes(group: string): PatchType[] {
  return isBuiltInGroup(group) ? ['json', 'merge', 'strategic', 'apply'] : ['json', 'merge', 'apply'];
}

/**
 * The patch type of a PATCH request's Content-Type (parameters after ";" ignored), or 415
 * UnsupportedMediaType naming the accepted types: this is what refuses strategic merge patch
 * for metallb.io resources, as kube-apiserver refuses it for every CRD.
 */
export function patchTypeFor(contentType: string | undefined, group: string): PatchType {
  let base = contentType ?? '';
  const i = base.indexOf(';');
  if (i > 0) base = base.slice(0, i);
  const types = supportedPatchTypes(group);
  const t = types.find((p) => patchContentTypes[p] === base);
  if (!t) throw unsupportedMediaType(types.map((p) => patchContentTypes[p]));
  return t;
}

const fieldManagerMaxLength = 128;
const printable = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/**
 * kube-apiserver's default field manager: the User-Agent up to its first "/", without
 * unprintable characters, at most 128 bytes ("kubectl/v1.32.4 (linux/amd64) ..." → "kubectl").
 */
export function managerFromUserAgent(userAgent: string | undefined): string {
  const prefix = (userAgent ?? '').split('/')[0] ?? '';
  let out = '';
  for (const ch of prefix) {
    if (!printable.test(ch)) continue;
    if (Buffer.byteLength(out + ch) > fieldManagerMaxLength) break;
    out += ch;
  }
  return out;
}

/** The field errors of a fieldManager query parameter (ValidateFieldManager). */
export function fieldManagerErrors(fieldManager: string): FieldError[] {
  const errs: FieldError[] = [];
  if (Buffer.byteLength(fieldManager) > fieldManagerMaxLength) errs.push(fieldErrors.tooLong('fieldManager', fieldManager, fieldManagerMaxLength));
  let pos = 0;
  for (const ch of fieldManager) {
    if (!printable.test(ch)) {
      const cp = (ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
      errs.push(fieldErrors.invalid('fieldManager', fieldManager, `invalid character U+${cp} (at position ${pos})`));
    }
    pos += Buffer.byteLength(ch);
  }
  return errs;
}

/** PATCH query options as kube-apiserver reads them; force is undefined when absent. */
export interface PatchOptions {
  fieldManager?: string;
  force?: boolean;
  dryRun?: readonly string[];
  fieldValidation?: string;
}

/**
 * ValidatePatchOptions: 422 `PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required
 * value: is required for apply patch` (and force only with apply, dryRun=All, fieldValidation).
 */
export function validatePatchOptions(type: PatchType, opts: PatchOptions): void {
  const errs: FieldError[] = [];
  if (type !== 'apply') {
    if (opts.force !== undefined) errs.push(fieldErrors.forbidden('force', 'may not be specified for non-apply patch'));
  } else if (!opts.fieldManager) {
    errs.push(fieldErrors.required('fieldManager', 'is required for apply patch'));
  }
  errs.push(...fieldManagerErrors(opts.fieldManager ?? ''));
  for (const d of opts.dryRun ?? []) if (d !== 'All') errs.push(fieldErrors.notSupported('dryRun', d, ['All']));
  const fv = opts.fieldValidation ?? '';
  if (!['', 'Ignore', 'Warn', 'Strict'].includes(fv)) errs.push(fieldErrors.notSupported('fieldValidation', fv, ['Ignore', 'Strict', 'Warn']));
  if (errs.length) throw invalid({ group: 'meta.k8s.io', kind: 'PatchOptions' }, '', errs);
}

/** Where a write goes, from the request URL. */
export interface WriteTarget {
  group: string;
  version: string;
  kind: string;
  /** Plural resource, as errors name it ("services"). */
  resource: string;
  /** "" for cluster-scoped resources. */
  namespace: string;
  name: string;
}

/** What every write's managedFields bookkeeping needs. */
export interface ManagedFieldsContext {
  /** The kind's structural schema (schemaFor(gvk)); without it, types are deduced from values. */
  schema?: SchemaNode;
  /** The request's fieldManager, else managerFromUserAgent(User-Agent). */
  manager: string;
  /** The clock of managedFields timestamps. */
  now: Date;
  /** "status", "scale", ... for a write to a subresource. */
  subresource?: string;
  /** Fields nobody owns at this endpoint (the strategy's reset fields), e.g. [['status']] on the main resource. */
  resetFields?: ReadonlyArray<ReadonlyArray<string>>;
}

export interface PatchContext extends ManagedFieldsContext {
  target: WriteTarget;
  /** Apply only: take over fields other managers own instead of failing with 409. */
  force?: boolean;
  /** The request's fieldValidation: Strict fails on unknown fields, Warn (the default) reports them. */
  fieldValidation?: string;
  /**
   * Defaulting of the patched object, as kube-apiserver decodes with defaults: for JSON, merge
   * and strategic patches before managedFields are recorded, for apply after the merge.
   */
  defaulter?: (obj: AnyObject) => AnyObject;
}

export interface PatchResult {
  object: AnyObject;
  /** Warning headers for the response (unknown fields under fieldValidation=Warn). */
  warnings: string[];
}

const lastAppliedAnnotation = 'kubectl.kubernetes.io/last-applied-configuration';

function toJson(o: AnyObject): JsonObject {
  return structuredClone(o) as unknown as JsonObject;
}

function toObject(o: JsonObject): AnyObject {
  return o;
}

function metadataOf(o: JsonObject): JsonObject {
  const m = o['metadata'];
  if (isJsonObject(m)) return m;
  const fresh: JsonObject = {};
  put(o, 'metadata', fresh);
  return fresh;
}

function withoutManagedFields(o: JsonObject): JsonObject {
  const c = structuredClone(o);
  const m = c['metadata'];
  if (isJsonObject(m)) delete m['managedFields'];
  return c;
}

/**
 * o without metadata.managedFields, copying only the top level and metadata: the comparisons
 * read the rest, and setManagedFields writes only into metadata, so nothing deeper is shared
 * with a writer.
 */
function shallowWithoutManagedFields(o: JsonObject): JsonObject {
  const c: JsonObject = { ...o };
  const m = c['metadata'];
  if (isJsonObject(m)) {
    const mc: JsonObject = { ...m };
    delete mc['managedFields'];
    put(c, 'metadata', mc);
  }
  return c;
}

function setManagedFields(o: JsonObject, managed: Managed): JsonObject {
  const m = metadataOf(o);
  delete m['managedFields'];
  if (managed.size > 0) put(m, 'managedFields', encodeManagedFields(managed));
  return o;
}

function apiVersionOfTarget(t: Pick<WriteTarget, 'group' | 'version'>): string {
  return t.group ? `${t.group}/${t.version}` : t.version;
}

function resetSet(paths: ReadonlyArray<ReadonlyArray<string>> | undefined): FieldSet | undefined {
  if (!paths?.length) return undefined;
  return FieldSet.of(...paths.map((p): Path => p.map((field) => ({ field }))));
}

/** Zero objects by schema: building one walks the whole schema, once per kind is enough. */
const zeroCache = new WeakMap<SchemaNode, JsonObject>();
const noSchemaZero: JsonObject = deepFreeze({});

/** The kind's zero object, shared and frozen: copy it before changing it. */
function zeroOf(schema: SchemaNode | undefined): JsonObject {
  if (!schema) return noSchemaZero;
  let z = zeroCache.get(schema);
  if (!z) {
    z = deepFreeze(zeroObject(schema));
    zeroCache.set(schema, z);
  }
  return z;
}

function deepFreeze<T extends Json>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

function fieldManagerContext(ctx: ManagedFieldsContext, apiVersion: string): FieldManagerContext {
  const fm: FieldManagerContext = { schema: ctx.schema, apiVersion, now: ctx.now, zero: zeroOf(ctx.schema) };
  if (ctx.subresource) fm.subresource = ctx.subresource;
  const reset = resetSet(ctx.resetFields);
  if (reset) fm.resetFields = reset;
  return fm;
}

function decodeOrEmpty(list: Json | undefined): Managed {
  try {
    return decodeManagedFields(list);
  } catch (e) {
    if (e instanceof ManagedFieldsError) return new Map();
    throw e;
  }
}

/** An explicit [] or [{}] asks to clear managedFields (isResetManagedFields). */
function isReset(list: Json | undefined): boolean {
  if (!Array.isArray(list)) return false;
  if (list.length === 0) return true;
  const [only] = list;
  return list.length === 1 && isJsonObject(only) && Object.values(only).every((v) => v === null || v === '' || (isJsonObject(v) && Object.keys(v).length === 0));
}

/**
 * The managedFields of a create (live undefined), update or patch: next with metadata.managedFields
 * recording manager's changes as an Update entry. next is the object about to be stored (after
 * defaulting); a managedFields list in next (as kubectl's client-side-apply migration patches it
 * in) is taken as the starting point when it decodes, [] or [{}] clears it. An existing object
 * without managedFields stays untracked, as in Kubernetes.
 */
export function updateManagedFields(live: AnyObject | undefined, next: AnyObject, ctx: ManagedFieldsContext): AnyObject {
  // Read only (the result copies what it changes): no deep copies on every write.
  const liveJ = live ? (live as unknown as JsonObject) : undefined;
  const nextJ = next as unknown as JsonObject;
  const liveMeta = liveJ && isJsonObject(liveJ['metadata']) ? liveJ['metadata'] : {};
  const nextMeta = isJsonObject(nextJ['metadata']) ? nextJ['metadata'] : {};
  let managed: Managed;
  if (ctx.subresource) {
    managed = decodeOrEmpty(liveMeta['managedFields']);
  } else if (isReset(nextMeta['managedFields'])) {
    managed = new Map();
  } else {
    let fromNext: Managed | undefined;
    try {
      fromNext = decodeManagedFields(nextMeta['managedFields']);
    } catch (e) {
      if (!(e instanceof ManagedFieldsError)) throw e;
    }
    managed = fromNext && fromNext.size > 0 ? fromNext : decodeOrEmpty(liveMeta['managedFields']);
  }
  const after = shallowWithoutManagedFields(nextJ);
  if (managed.size === 0 && liveJ) return toObject(after);
  const apiVersion = typeof nextJ['apiVersion'] === 'string' ? nextJ['apiVersion'] : typeof liveJ?.['apiVersion'] === 'string' ? liveJ['apiVersion'] : '';
  const fm = fieldManagerContext(ctx, apiVersion);
  const before = liveJ ? shallowWithoutManagedFields(liveJ) : fm.zero;
  return toObject(setManagedFields(after, recordUpdate(before, after, managed, ctx.manager, fm)));
}

/**
 * Applies a PATCH body of the given type to live and records it in managedFields. live is the
 * stored object (undefined when there is none: apply creates, the others answer 404). Throws
 * ApiError with kube-apiserver's status and message for bad bodies, failed operations, apply
 * conflicts, and changes to the object's kind, name or namespace.
 */
export function patchObject(type: PatchType, live: AnyObject | undefined, body: string, ctx: PatchContext): PatchResult {
  if (type === 'apply') return serverSideApply(live, body, ctx);
  if (!live) throw notFound({ group: ctx.target.group, resource: ctx.target.resource }, ctx.target.name);
  const liveJ = toJson(live);
  let patched: Json;
  let badValue: () => string;
  if (type === 'json' || type === 'merge') {
    patched = type === 'json' ? applyJsonPatch(liveJ, body) : applyMergePatch(liveJ, body);
    badValue = () => goJson(patched);
  } else {
    const patch = decodeStrategicPatch(body);
    try {
      patched = strategicMergePatch(liveJ, patch, ctx.schema);
    } catch (e) {
      throw e instanceof SmpError ? smpApiError(e) : e;
    }
    // Decoding into the typed object ignores the map's apiVersion and kind.
    if (isJsonObject(patched)) {
      put(patched, 'apiVersion', apiVersionOfTarget(ctx.target));
      put(patched, 'kind', ctx.target.kind);
    }
    badValue = () => goFormat(patch);
  }
  const { object, warnings } = decodePatched(patched, ctx, badValue);
  const defaulted = ctx.defaulter ? toJson(ctx.defaulter(toObject(object))) : object;
  checkIdentity(defaulted, ctx.target);
  return { object: updateManagedFields(live, toObject(defaulted), ctx), warnings };
}

function decodeStrategicPatch(body: string): JsonObject {
  let v: Json;
  try {
    v = parseGoJson(body);
  } catch (e) {
    if (e instanceof GoJsonSyntaxError) throw badRequest(e.message);
    throw e;
  }
  if (v === null) return {};
  if (!isJsonObject(v)) throw badRequest(`json: cannot unmarshal ${jsonKind(v)} into Go value of type map[string]interface {}`);
  return v;
}

function smpApiError(e: SmpError): ApiError {
  if (e.kind === 'BadRequest') return badRequest(e.message);
  if (e.kind === 'Unprocessable') return genericUnprocessable();
  // Not a Status error in Go: the handler answers 500 with the bare message and no reason.
  return new ApiError(500, '', e.message);
}

/** 422 ` "" is invalid: patch: Invalid value: "<patched object>": <why>`. */
function patchInvalid(badValue: string, why: string): ApiError {
  return invalid({ group: '', kind: '' }, '', [fieldErrors.invalid('patch', badValue, why)]);
}

const typeMetaStruct = 'struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }';

/** What decoding the patched JSON into the kind's Go type reports (DecodeInto in jsonPatcher). */
function decodePatched(patched: Json, ctx: PatchContext, badValue: () => string): { object: JsonObject; warnings: string[] } {
  if (!isJsonObject(patched)) {
    throw patchInvalid(badValue(), `couldn't get version/kind; json parse error: json: cannot unmarshal ${jsonKind(patched)} into Go value of type ${typeMetaStruct}`);
  }
  const obj = patched;
  const wantVersion = apiVersionOfTarget(ctx.target);
  // A missing apiVersion or kind is taken from the type; another one names an unknown kind.
  const typeMeta: Record<string, string> = { apiVersion: wantVersion, kind: ctx.target.kind };
  for (const [k, want] of Object.entries(typeMeta)) {
    const v = obj[k];
    if (v === undefined || v === null || v === '') put(obj, k, want);
  }
  if (obj['apiVersion'] !== wantVersion || obj['kind'] !== ctx.target.kind) {
    const kind = typeof obj['kind'] === 'string' ? obj['kind'] : goFormat(obj['kind']);
    const version = typeof obj['apiVersion'] === 'string' ? obj['apiVersion'] : goFormat(obj['apiVersion']);
    throw patchInvalid(badValue(), `no kind ${JSON.stringify(kind)} is registered for version ${JSON.stringify(version)} in scheme "k8s.io/kubernetes/pkg/api/legacyscheme/scheme.go:30"`);
  }
  const warnings: string[] = [];
  if (!ctx.schema) return { object: obj, warnings };
  if (isBuiltInGroup(ctx.target.group)) {
    const typeError = jsonTypeError(obj, ctx.schema);
    if (typeError !== undefined) throw patchInvalid(badValue(), typeError);
  }
  const unknown = unknownFields(obj, ctx.schema);
  if (unknown.length > 0) {
    if (ctx.fieldValidation === 'Strict') throw patchInvalid(badValue(), strictDecodingMessage(unknown));
    if (ctx.fieldValidation !== 'Ignore') warnings.push(...unknownFieldWarnings(unknown));
  }
  return { object: dropUndeclared(obj, ctx.schema) as JsonObject, warnings };
}

/** EnsureObjectNamespaceMatchesRequestNamespace, then checkName. */
function checkIdentity(obj: JsonObject, target: WriteTarget): void {
  const meta = metadataOf(obj);
  const ns = typeof meta['namespace'] === 'string' ? meta['namespace'] : '';
  if (ns !== target.namespace) {
    if (ns === '') put(meta, 'namespace', target.namespace);
    else if (target.namespace === '') delete meta['namespace'];
    else throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  const name = typeof meta['name'] === 'string' ? meta['name'] : '';
  if (name !== target.name) throw badRequest(`the name of the object (${name}) does not match the name on the URL (${target.name})`);
}

// The yaml package costs ~0.3 s to load and kubectl sends apply bodies as JSON: load it on first use.
const requireModule = createRequire(import.meta.url);
let yamlModule: typeof import('yaml') | undefined;

/** The body of an apply patch: YAML (JSON is YAML), its first document, as sigs.k8s.io/yaml reads it. */
function decodeApplyBody(body: string): JsonObject {
  let v: Json;
  try {
    v = JSON.parse(body) as Json;
  } catch {
    yamlModule ??= requireModule('yaml') as typeof import('yaml');
    const docs = yamlModule.parseAllDocuments(body, { version: '1.1' });
    const first = Array.isArray(docs) ? docs[0] : docs;
    const err = first?.errors[0];
    if (err) throw badRequest(`error decoding YAML: error converting YAML to JSON: yaml: ${err.message.split('\n')[0] ?? ''}`);
    try {
      v = (first?.toJS({ maxAliasCount: 100 }) ?? null) as Json;
    } catch (e) {
      throw badRequest(`error decoding YAML: error converting YAML to JSON: yaml: ${(e as Error).message}`);
    }
  }
  if (v === null) return {};
  if (!isJsonObject(v)) {
    throw badRequest(`error decoding YAML: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ${jsonKind(v)} into Go value of type map[string]interface {}`);
  }
  return v;
}

/** schema.GroupVersionKind.String() of an object's apiVersion and kind: "/v1, Kind=Service". */
function gvkString(apiVersion: Json | undefined, kind: Json | undefined): string {
  const av = typeof apiVersion === 'string' ? apiVersion : '';
  const k = typeof kind === 'string' ? kind : '';
  const parts = av.split('/');
  if (av === '' || parts.length > 2) return `/, Kind=${k}`;
  const [group, version] = parts.length === 2 ? parts : ['', parts[0]];
  return `${group ?? ''}/${version ?? ''}, Kind=${k}`;
}

function conflictError(conflicts: ReadonlyArray<{ manager: string; path: Path }>): ApiError {
  return new ApiError(409, 'Conflict', conflictMessage(conflicts), {
    causes: conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${printManager(c.manager)}`, field: pathString(c.path) })),
  });
}

/**
 * Fields the client-side apply annotation claims and the live object still has as it says:
 * kubectl's first server-side apply may take them over without a conflict (lastAppliedManager).
 */
function allowedByLastApplied(live: JsonObject, fm: FieldManagerContext): FieldSet | undefined {
  const ann = isJsonObject(live['metadata']) ? live['metadata']['annotations'] : undefined;
  const text = isJsonObject(ann) ? ann[lastAppliedAnnotation] : undefined;
  if (typeof text !== 'string' || text === '') return undefined;
  let last: Json;
  try {
    last = JSON.parse(text) as Json;
  } catch {
    return undefined;
  }
  if (!isJsonObject(last) || last['apiVersion'] !== fm.apiVersion) return undefined;
  if (validateConfig(last, fm.schema).length > 0) return undefined;
  const c = compareValues(last, withoutManagedFields(live), fm.schema);
  return toFieldSet(last, fm.schema).difference(c.modified).difference(c.added).difference(c.removed);
}

/** What kubectl records as last applied: the configuration without the annotation, as Go encodes it. */
function lastAppliedOf(config: JsonObject): string {
  const c = structuredClone(config);
  const meta = c['metadata'];
  if (isJsonObject(meta) && isJsonObject(meta['annotations'])) delete meta['annotations'][lastAppliedAnnotation];
  return `${goJson(c)}\n`;
}

function serverSideApply(live: AnyObject | undefined, body: string, ctx: PatchContext): PatchResult {
  const config = decodeApplyBody(body);
  const target = ctx.target;
  const apiVersion = apiVersionOfTarget(target);
  if (config['apiVersion'] !== apiVersion || config['kind'] !== target.kind) {
    throw badRequest(`invalid object type: ${gvkString(config['apiVersion'], config['kind'])}`);
  }
  const configMeta = isJsonObject(config['metadata']) ? config['metadata'] : {};
  if (Array.isArray(configMeta['managedFields'])) throw badRequest('metadata.managedFields must be nil');
  const errs = validateConfig(config, ctx.schema);
  if (errs.length > 0) {
    const ns = typeof configMeta['namespace'] === 'string' ? configMeta['namespace'] : '';
    const name = typeof configMeta['name'] === 'string' ? configMeta['name'] : '';
    throw new ApiError(500, '', `failed to create typed patch object (${ns}/${name}; ${gvkString(apiVersion, target.kind)}): ${validationErrorsString(errs)}`);
  }

  const fm = fieldManagerContext(ctx, apiVersion);
  const liveJ = live ? toJson(live) : undefined;
  let managed: Managed = new Map();
  if (liveJ) {
    try {
      managed = decodeManagedFields(isJsonObject(liveJ['metadata']) ? liveJ['metadata']['managedFields'] : undefined);
    } catch (e) {
      if (e instanceof ManagedFieldsError) throw new ApiError(500, '', `failed to decode managed fields: ${e.message}`);
      throw e;
    }
  }
  const base = liveJ ? withoutManagedFields(liveJ) : structuredClone(fm.zero);
  let outcome;
  try {
    outcome = recordApply(base, config, managed, ctx.manager, ctx.force === true, fm);
  } catch (e) {
    if (!(e instanceof ApplyConflicts)) throw e;
    // kubectl's first server-side apply of an object it applied client-side.
    const allowed = ctx.manager === 'kubectl' && liveJ ? allowedByLastApplied(liveJ, fm) : undefined;
    if (!allowed) throw conflictError(e.conflicts);
    const remaining = e.conflicts.filter((c) => !allowed.has(c.path));
    if (remaining.length > 0) throw conflictError(remaining);
    outcome = recordApply(base, config, managed, ctx.manager, true, fm);
  }

  let object = outcome.object ? (dropUndeclared(outcome.object, ctx.schema) as JsonObject) : structuredClone(base);
  if (outcome.object && ctx.defaulter) object = toJson(ctx.defaulter(toObject(object)));
  const meta = metadataOf(object);
  if (ctx.manager === 'kubectl' && isJsonObject(meta['annotations']) && meta['annotations'][lastAppliedAnnotation]) {
    put(meta['annotations'], lastAppliedAnnotation, lastAppliedOf(config));
  }
  if (!liveJ) {
    const uid = metadataOf(object)['uid'];
    if (typeof uid === 'string' && uid !== '') {
      throw conflict({ group: target.group, resource: target.resource }, target.name, `uid mismatch: the provided object specified uid ${uid}, and no existing object was found`);
    }
    // WipeObjectMetaSystemFields: a created object gets these from the server.
    for (const k of ['creationTimestamp', 'uid', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'selfLink']) delete metadataOf(object)[k];
  }
  checkIdentity(object, target);
  setManagedFields(object, outcome.managed);
  return { object: toObject(object), warnings: [] };
}
