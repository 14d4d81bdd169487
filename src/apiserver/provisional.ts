// PROVISIONAL stand-ins used until the real modules land (strategies from src/api/validation,
// Table printers from src/api/printers, patch engines from src/apiserver/patch). Deleted then.
import fjp from 'fast-json-patch';
import { badRequest, isPlainObject, type AnyObject, type ResourceInfo } from '../api/index.ts';
import type { ResourceStrategy } from './registry/strategy.ts';
import type { PatchApplier, TableConvertor } from './http/resources.ts';

export function provisionalStrategy(r: ResourceInfo): ResourceStrategy {
  const hasStatus = r.subresources.some((s) => s.name === 'status');
  return {
    defaults: () => {},
    prepareForCreate: (obj) => {
      if (hasStatus && r.resource !== 'namespaces' && r.resource !== 'pods' && r.resource !== 'nodes') delete obj.status;
    },
    prepareForUpdate: (obj, old, sub) => {
      if (!hasStatus) return;
      if (sub === 'status') {
        for (const k of Object.keys(obj)) if (k !== 'status' && k !== 'metadata' && k !== 'apiVersion' && k !== 'kind') delete obj[k];
        for (const k of Object.keys(old)) if (k !== 'status' && k !== 'metadata' && k !== 'apiVersion' && k !== 'kind') obj[k] = old[k];
      } else if (old.status !== undefined) obj.status = old.status;
      else delete obj.status;
    },
    validateCreate: () => [],
    validateUpdate: () => [],
    allowUnconditionalUpdate: true,
    allowCreateOnUpdate: ['endpoints', 'events', 'leases'].includes(r.resource),
  };
}

export const provisionalTable: TableConvertor = (_r, objs, opts) => ({
  kind: 'Table',
  apiVersion: 'meta.k8s.io/v1',
  metadata: {},
  columnDefinitions: opts.noHeaders
    ? []
    : [
        { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 },
        { name: 'Created At', type: 'date', format: '', description: 'CreationTimestamp', priority: 0 },
      ],
  rows: objs.map((o) => ({
    cells: [o.metadata?.name ?? '', o.metadata?.creationTimestamp ?? ''],
    object: opts.includeObject === 'Object' ? o : opts.includeObject === 'None' ? null : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
  })),
});

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
    return fjp.applyPatch(live ?? {}, p as fjp.Operation[], true, false).newDocument as AnyObject;
  }
  return mergePatch(live ?? {}, p) as AnyObject;
};
