// Subresources with their own kinds and rules: deployments|replicasets/scale (autoscaling/v1
// Scale), pods/binding (the scheduler's Binding) and namespaces/finalize.
import {
  badRequest,
  conflict,
  invalid,
  isPlainObject,
  notFound,
  writableMeta,
  type AnyObject,
  type ResourceInfo,
} from '../api/index.ts';
import { labelSelectorAsSelector, selectorToString } from '../api/selectors/index.ts';
import { validatePodBinding, validateScale } from '../api/validation/index.ts';
import { managerFromUserAgent } from './patch/index.ts';
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import type { ResourceStorage } from './registry/storage.ts';
import { readBody, decodeObjectBody } from './http/body.ts';
import { bodyTypeOf, negotiate } from './http/negotiation.ts';
import { writeJson } from './http/respond.ts';
import type { SubresourceHandler } from './http/resources.ts';

/** The Scale kind as a patch target (autoscaling/v1, namespaced). */
export const scaleResource: ResourceInfo = {
  group: 'autoscaling',
  version: 'v1',
  kind: 'Scale',
  listKind: 'ScaleList',
  resource: 'scale',
  singular: 'scale',
  namespaced: true,
  shortNames: [],
  categories: [],
  verbs: [],
  subresources: [],
};

interface Scalable {
  spec?: { replicas?: number; selector?: LabelSelector };
  status?: { replicas?: number };
}

/** The Scale of a Deployment or ReplicaSet, as the apps registries build it. */
export function scaleOf(obj: AnyObject): AnyObject {
  const o = obj as AnyObject & Scalable;
  const m = obj.metadata ?? {};
  let selector = '';
  try {
    selector = selectorToString(labelSelectorAsSelector(o.spec?.selector));
  } catch {
    selector = '';
  }
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
    spec: { replicas: o.spec?.replicas ?? 0 },
    status: { replicas: o.status?.replicas ?? 0, selector },
  };
}

function checkScale(scale: AnyObject): number {
  if (scale.kind !== undefined && scale.kind !== 'Scale') throw badRequest(`the kind in the data (${String(scale.kind)}) does not match the expected kind (Scale)`);
  const spec = scale.spec as { replicas?: unknown } | undefined;
  const replicas = spec?.replicas ?? 0;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas)) {
    throw badRequest(`Scale in version "v1" cannot be handled as a Scale: json: cannot unmarshal ${typeof replicas} into Go struct field ScaleSpec.spec.replicas of type int32`);
  }
  return replicas;
}

/**
 * Writes spec.replicas from a Scale (validated as kube's ValidateScale); its resourceVersion,
 * when set, is a precondition. managedFields record the write against the scale subresource.
 */
export async function updateScale(storage: ResourceStorage, namespace: string | undefined, name: string, scale: AnyObject, user: string, fieldManager = ''): Promise<AnyObject> {
  const replicas = checkScale(scale);
  const meta = writableMeta(scale);
  if (meta.name !== undefined && meta.name !== name) throw badRequest(`the name of the object (${meta.name}) does not match the name on the URL (${name})`);
  meta.name = name;
  meta.namespace ??= namespace;
  const errs = validateScale(scale);
  if (errs.length) throw invalid({ group: 'autoscaling', kind: 'Scale' }, name, errs);
  const rv = scale.metadata?.resourceVersion;
  const updated = await storage.updateWith(
    namespace,
    name,
    (live) => {
      if (rv && rv !== live.metadata?.resourceVersion) throw conflict(storage.gr, name);
      const o = live as AnyObject & Scalable;
      o.spec = { ...o.spec, replicas };
      return live;
    },
    { user, fieldManager },
    'scale',
  );
  return scaleOf(updated);
}

export async function getScale(storage: ResourceStorage, namespace: string | undefined, name: string): Promise<AnyObject> {
  return scaleOf(await storage.get(namespace, name));
}

/** The fieldManager parameter, else the one kube-apiserver derives from the user agent. */
function fieldManagerOf(ctx: Parameters<SubresourceHandler>[0]): string {
  return ctx.query.get('fieldManager') || managerFromUserAgent(ctx.req.headers['user-agent']);
}

const scaleHandler: SubresourceHandler = async (ctx) => {
  const { storage, info } = ctx;
  const name = info.name;
  if (!name) throw notFound(storage.gr, '');
  negotiate(ctx.req.headers.accept, null);
  if (info.verb === 'get') {
    writeJson(ctx.res, 200, await getScale(storage, info.namespace, name));
    return;
  }
  if (info.verb === 'update') {
    const body = await decodeObjectBody(await readBody(ctx.req), bodyTypeOf(ctx.req.headers['content-type']), undefined, storage.resource);
    writeJson(ctx.res, 200, await updateScale(storage, info.namespace, name, body, ctx.user.name, fieldManagerOf(ctx)));
    return;
  }
  if (info.verb === 'patch') {
    const type = ctx.deps.patchPolicy.typeOf(ctx.req.headers['content-type'], storage.resource);
    const buf = await readBody(ctx.req);
    const cur = await getScale(storage, info.namespace, name);
    const next = ctx.deps.patch(scaleResource, type, cur, buf.toString('utf8'), {
      namespace: info.namespace,
      name,
      fieldManager: ctx.query.get('fieldManager') ?? '',
      force: false,
      fieldValidation: 'Ignore',
      subresource: undefined,
      now: new Date(),
    }).object;
    // A patch computed against the current Scale carries its resourceVersion; it is not a precondition.
    if (next.metadata?.resourceVersion === cur.metadata?.resourceVersion) writableMeta(next).resourceVersion = undefined;
    writeJson(ctx.res, 200, await updateScale(storage, info.namespace, name, next, ctx.user.name, fieldManagerOf(ctx)));
    return;
  }
  writeJson(ctx.res, 405, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'method not allowed', reason: 'MethodNotAllowed', code: 405 });
};

/** pods/binding: assigns a pod to a node, once (kube's BindingREST). */
export async function bindPod(storage: ResourceStorage, namespace: string | undefined, name: string, binding: AnyObject, user: string): Promise<AnyObject> {
  const target = binding.target as { kind?: string; name?: string } | undefined;
  if (binding.metadata?.name && binding.metadata.name !== name) {
    throw badRequest(`the name of the object (${binding.metadata.name}) does not match the name on the URL (${name})`);
  }
  const errs = validatePodBinding(binding as { target?: { kind?: string; name?: string } });
  if (errs.length) throw invalid({ group: '', kind: 'Binding' }, name, errs);
  await storage.updateWith(
    namespace,
    name,
    (live) => {
      const spec = (live.spec ?? {}) as { nodeName?: string };
      if (live.metadata?.deletionTimestamp) throw conflict({ group: '', resource: 'pods/binding' }, name, `pod ${name} is being deleted, cannot be assigned to a host`);
      if (spec.nodeName) throw conflict({ group: '', resource: 'pods/binding' }, name, `pod ${name} is already assigned to node "${spec.nodeName}"`);
      live.spec = { ...spec, nodeName: target?.name };
      const status = ((live.status ?? {}) as { conditions?: { type: string; status: string; lastTransitionTime?: string }[] });
      const conds = (status.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
      conds.push({ type: 'PodScheduled', status: 'True', lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') });
      live.status = { ...status, conditions: conds };
      return live;
    },
    { user, fieldManager: '' },
    undefined,
    true,
  );
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };
}

const bindingHandler: SubresourceHandler = async (ctx) => {
  const { storage, info } = ctx;
  if (info.verb !== 'create' || !info.name) throw badRequest('pods/binding only takes POST');
  const body = await decodeObjectBody(await readBody(ctx.req), bodyTypeOf(ctx.req.headers['content-type']), undefined, storage.resource);
  writeJson(ctx.res, 201, await bindPod(storage, info.namespace, info.name, body, ctx.user.name));
};

/** namespaces/finalize: replaces spec.finalizers only (the namespace controller's last step). */
export async function finalizeNamespace(storage: ResourceStorage, name: string, ns: AnyObject, user: string): Promise<AnyObject> {
  const spec = ns.spec as { finalizers?: unknown } | undefined;
  const fins = Array.isArray(spec?.finalizers) ? (spec.finalizers as string[]) : [];
  return storage.updateWith(
    undefined,
    name,
    (live) => {
      live.spec = { ...(live.spec as object), finalizers: fins };
      if (!fins.length) delete (live.spec as { finalizers?: string[] }).finalizers;
      return live;
    },
    { user, fieldManager: '' },
    'finalize',
  );
}

const finalizeHandler: SubresourceHandler = async (ctx) => {
  const { storage, info } = ctx;
  if (info.verb !== 'update' || !info.name) throw badRequest('namespaces/finalize only takes PUT');
  const body = await decodeObjectBody(await readBody(ctx.req), bodyTypeOf(ctx.req.headers['content-type']), undefined, storage.resource);
  if (!isPlainObject(body)) throw badRequest('the body is not a Namespace');
  const out = await finalizeNamespace(storage, info.name, body, ctx.user.name);
  writeJson(ctx.res, 200, out);
};

export function subresourceHandlers(): Map<string, SubresourceHandler> {
  return new Map<string, SubresourceHandler>([
    ['deployments/scale', scaleHandler],
    ['replicasets/scale', scaleHandler],
    ['pods/binding', bindingHandler],
    ['namespaces/finalize', finalizeHandler],
  ]);
}

