// PROVISIONAL stand-in used until the patch engines land (src/apiserver/patch). Deleted then.
import fjp from 'fast-json-patch';
import { badRequest, isPlainObject, type AnyObject } from '../api/index.ts';
import type { PatchApplier } from './http/resources.ts';

function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export const provisionalPatch: PatchApplier = (_r, type, live, body) => {
  let p: unknown;
  try {
    p = JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw badRequest(`error decoding patch: ${(e as Error).message}`);
  }
  if (type === 'json') {
    if (!Array.isArray(p)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
    return fjp.applyPatch(live ?? {}, p as fjp.Operation[], true, false).newDocument;
  }
  return mergePatch(live ?? {}, p) as AnyObject;
};
