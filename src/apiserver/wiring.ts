// The API modules plugged into the server: strategies (defaulting, preparing, validating),
// strict field checks, Table printing and OpenAPI documents.
import { Endpoints, Events, Leases, findResourceByKind, gvkOf, writableMeta, type AnyObject, type FieldError, type ResourceInfo } from '../api/index.ts';
import { defaultObject } from '../api/defaults/index.ts';
import { prepareForCreate, prepareForUpdate } from '../api/strategy/index.ts';
import { validateCreate, validateUpdate, webhookDenial } from '../api/validation/index.ts';
import { customResourceErrors, isCustomResourceSchema, schemaFor, strictDecodingError, typeErrors, unknownFields, unknownFieldWarnings, type SchemaNode } from '../api/schema/index.ts';
import { toTable } from '../api/printers/index.ts';
import { openapiV3DocumentJson, openapiV3Root } from '../api/openapi/index.ts';
import { badRequest } from '../api/index.ts';
import type { ManagedFieldsUpdater, ResourceStrategy } from './registry/index.ts';
import type { FieldCheck, PatchApplier, PatchPolicy, TableConvertor } from './http/resources.ts';
import { dropUndeclaredFields, patchObject, patchTypeFor, updateManagedFields, validatePatchOptions, type Json } from './patch/index.ts';
import type { OpenApiProvider } from './server.ts';

const createOnUpdate = new Set<ResourceInfo>([Endpoints, Events, Leases]);

/** Custom resources (metallb.io) are checked against their OpenAPI schema, as apiextensions does (422). */
function schemaErrors(r: ResourceInfo, obj: AnyObject) {
  const schema = schemaFor(gvkOf(r));
  return schema && isCustomResourceSchema(schema) ? customResourceErrors(obj, schema) : [];
}

/** The schema and the resource's own validation may report the same field error once each. */
function dedupe(errs: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errs.filter((e) => {
    const k = `${e.type}\u0000${e.field}\u0000${e.detail ?? ''}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export function strategyFor(r: ResourceInfo): ResourceStrategy {
  return {
    defaults: (obj) => void defaultObject(r, obj),
    prepareForCreate: (obj) => prepareForCreate(r, obj),
    prepareForUpdate: (obj, old, sub) => prepareForUpdate(r, obj, old, sub),
    validateCreate: (obj) => {
      const errs = dedupe([...schemaErrors(r, obj), ...validateCreate(r, obj)]);
      if (errs.length === 0) {
        const denial = webhookDenial(r, obj);
        if (denial) throw denial;
      }
      return errs;
    },
    validateUpdate: (obj, old, sub) => {
      const errs = dedupe([...schemaErrors(r, obj), ...validateUpdate(r, obj, old, sub)]);
      if (errs.length === 0 && sub === undefined) {
        const denial = webhookDenial(r, obj);
        if (denial) throw denial;
      }
      return errs;
    },
    allowUnconditionalUpdate: true,
    allowCreateOnUpdate: createOnUpdate.has(r),
  };
}

/**
 * Decode-time checks of a body: type errors (400), then unknown fields per fieldValidation.
 * What decoding into Go types would drop (unknown fields, nulls) is dropped from the object.
 */
export const fieldCheck: FieldCheck = (r, obj, validation) => {
  const gvk = gvkOf(r);
  const schema = schemaFor(gvk);
  if (!schema) return { object: obj, warnings: [] };
  const te = typeErrors(obj, schema, gvk);
  if (te) throw badRequest(te);
  const unknown = validation === 'Ignore' ? [] : unknownFields(obj, schema);
  if (unknown.length && validation === 'Strict') throw strictDecodingError(gvk, unknown);
  const object = dropUndeclaredFields(obj as unknown as Json, schema) as unknown as AnyObject;
  zeroNullMapValues(object, schema);
  return { object, warnings: unknown.length ? unknownFieldWarnings(unknown) : [] };
};

/** Go decodes `null` in a map of strings or numbers (labels, data, ...) as the element's zero value. */
function zeroNullMapValues(v: unknown, node: SchemaNode | undefined, depth = 0): void {
  if (!node || depth > 64 || typeof v !== 'object' || v === null) return;
  if (Array.isArray(v)) {
    for (const x of v) zeroNullMapValues(x, node.items, depth + 1);
    return;
  }
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    const child = node.properties?.[k] ?? node.additionalProperties;
    if (o[k] === null && !node.properties?.[k] && node.additionalProperties) {
      const t = node.additionalProperties.type;
      if (t === 'string') o[k] = '';
      else if (t === 'integer' || t === 'number') o[k] = 0;
      else if (t === 'boolean') o[k] = false;
    } else zeroNullMapValues(o[k], child, depth + 1);
  }
}

export const table: TableConvertor = (r, objs, opts) => toTable(r, objs, opts) as unknown as AnyObject;

export const openapi: OpenApiProvider = {
  root: () => openapiV3Root(),
  document: (path) => openapiV3DocumentJson(path),
};

// ---- patch, apply and managedFields (src/apiserver/patch) ----

/** Fields a write at this endpoint never owns: status on the main resource, spec on /status. */
function resetFieldsFor(r: ResourceInfo, subresource: string | undefined): string[][] | undefined {
  if (!r.subresources.some((s) => s.name === 'status')) return undefined;
  if (subresource === 'status') return [['spec'], ['metadata', 'labels']];
  if (subresource === undefined) return [['status']];
  return undefined;
}

export const managedFields: ManagedFieldsUpdater = (before, after, ctx, subresource) => {
  const r = findResourceByKind(String(after.apiVersion), String(after.kind));
  if (!r) return;
  const out = updateManagedFields(before, after, {
    schema: schemaFor(gvkOf(r)),
    manager: ctx.fieldManager || 'unknown',
    now: ctx.now,
    subresource,
    resetFields: resetFieldsFor(r, subresource),
  });
  writableMeta(after).managedFields = out.metadata?.managedFields;
};

export const patchApplier: PatchApplier = (r, type, live, body, req) =>
  patchObject(type, live, body, {
    target: { group: r.group, version: r.version, kind: r.kind, resource: r.resource, namespace: req.namespace ?? '', name: req.name },
    schema: schemaFor(gvkOf(r)),
    manager: req.fieldManager || 'unknown',
    force: req.force,
    fieldValidation: req.fieldValidation,
    now: req.now,
    subresource: req.subresource,
    resetFields: resetFieldsFor(r, req.subresource),
    defaulter: (obj) => defaultObject(r, obj),
  });

export const patchPolicy: PatchPolicy = {
  typeOf: (contentType, r) => patchTypeFor(contentType ?? '', r.group),
  validate: (type, opts) => validatePatchOptions(type, opts),
};
