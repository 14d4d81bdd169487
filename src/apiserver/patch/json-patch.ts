// JSON patch (RFC 6902, application/json-patch+json) and JSON merge patch (RFC 7386,
// application/merge-patch+json), with kube-apiserver's answers for bad bodies. kube-apiserver
// decodes the body strictly first (fieldValidation defaults to Warn), so a body that is not a
// list of operations (or not an object, for merge) is a 400 "error decoding patch: json: ...".
// An operation that cannot be applied (a failed test, a missing path) is a 422 whose message
// is the generic one: NewGenericServerResponse drops evanphx/json-patch's own words.
import jsonpatch from 'fast-json-patch';
import { ApiError, badRequest, requestEntityTooLarge } from '../../api/index.ts';
import { GoJsonSyntaxError, hasKey, isJsonObject, jsonKind, parseGoJson, put, type Json, type JsonObject } from './go.ts';

/** maxJSONPatchOperations in kube-apiserver's patch handler. */
export const maxJsonPatchOperations = 10000;

/** 422 as NewGenericServerResponse words it, with no resource named. */
export function genericUnprocessable(): ApiError {
  return new ApiError(422, 'Invalid', 'the server rejected our request due to an error in our request', {});
}

function decodeBody(body: string): Json {
  try {
    return parseGoJson(body);
  } catch (e) {
    if (e instanceof GoJsonSyntaxError) throw badRequest(`error decoding patch: ${e.message}`);
    throw e;
  }
}

/** The operations of a JSON patch body, checked the way kjson.UnmarshalStrict into []jsonPatchOp checks them. */
function decodeOperations(body: string): Json[] {
  const ops = decodeBody(body);
  if (ops === null) return [];
  if (!Array.isArray(ops)) throw badRequest(`error decoding patch: json: cannot unmarshal ${jsonKind(ops)} into Go value of type []handlers.jsonPatchOp`);
  for (const op of ops) {
    if (op === null) continue;
    if (!isJsonObject(op)) throw badRequest(`error decoding patch: json: cannot unmarshal ${jsonKind(op)} into Go value of type handlers.jsonPatchOp`);
    for (const field of Object.keys(op)) {
      const v = op[field];
      if ((field === 'op' || field === 'path' || field === 'from') && v !== null && typeof v !== 'string') {
        throw badRequest(`error decoding patch: json: cannot unmarshal ${jsonKind(v ?? null)} into Go struct field jsonPatchOp.${field} of type string`);
      }
    }
  }
  if (ops.length > maxJsonPatchOperations) {
    throw requestEntityTooLarge(`The allowed maximum operations in a JSON patch is ${maxJsonPatchOperations}, got ${ops.length}`);
  }
  return ops;
}

/** Applies a JSON patch body to a copy of doc; the result may be any JSON value. */
export function applyJsonPatch(doc: JsonObject, body: string): Json {
  const ops = decodeOperations(body);
  if (ops.length === 0) return structuredClone(doc);
  try {
    // validate=true checks each operation against the document; mutate=false leaves doc alone.
    return jsonpatch.applyPatch(doc, ops as unknown as jsonpatch.Operation[], true, false).newDocument;
  } catch (e) {
    if (e instanceof jsonpatch.JsonPatchError) throw genericUnprocessable();
    throw e;
  }
}

/** Applies a merge patch body to a copy of doc, as evanphx/json-patch's MergePatch does. */
export function applyMergePatch(doc: JsonObject, body: string): JsonObject {
  const patch = decodeBody(body);
  if (patch !== null && !isJsonObject(patch)) {
    throw badRequest(`error decoding patch: json: cannot unmarshal ${jsonKind(patch)} into Go value of type map[string]interface {}`);
  }
  // A null document or patch is ErrBadJSONPatch.
  if (patch === null) throw badRequest('Invalid JSON Patch');
  const out = structuredClone(doc);
  mergeDocs(out, patch);
  return out;
}

function mergeDocs(doc: JsonObject, patch: JsonObject): void {
  for (const k of Object.keys(patch)) {
    const v = patch[k] ?? null;
    if (v === null) {
      delete doc[k];
      continue;
    }
    const cur = hasKey(doc, k) ? (doc[k] ?? null) : null;
    if (cur === null) {
      put(doc, k, pruneNulls(structuredClone(v)));
    } else if (isJsonObject(cur) && isJsonObject(v)) {
      mergeDocs(cur, v);
    } else {
      // Only a replacement of a non-object loses its nulls; an object replaced by a list keeps them.
      put(doc, k, isJsonObject(cur) ? structuredClone(v) : pruneNulls(structuredClone(v)));
    }
  }
}

/** Drops null members of objects, also inside lists (list elements themselves stay). */
function pruneNulls(v: Json): Json {
  if (Array.isArray(v)) return v.map((x) => (x === null ? x : pruneNulls(x)));
  if (isJsonObject(v)) {
    for (const k of Object.keys(v)) {
      const x = v[k] ?? null;
      if (x === null) delete v[k];
      else put(v, k, pruneNulls(x));
    }
  }
  return v;
}
