// The handler for resource requests (/api/v1/..., /apis/<group>/<version>/...): verbs,
// query options, response forms (object, Table, PartialObjectMetadata), and watch streams.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  ApiError,
  badRequest,
  fieldErrors,
  invalid,
  isPlainObject,
  methodNotSupported,
  resourceApiVersion,
  type AnyObject,
  type ResourceInfo,
} from '../../api/index.ts';
import type { DeleteOptions, FieldValidation } from '../../client/index.ts';
import type { Registry } from '../registry/index.ts';
import type { ListItem, ResourceStorage, WriteRequest } from '../registry/index.ts';
import type { ResourceRequestInfo } from '../request-info.ts';
import { decodeObjectBody, nestingError, parseJson, readBody, tooDeep, yamlModule, type ProtobufDecoder } from './body.ts';
import { bodyTypeOf, negotiate, type AcceptInfo, type PatchContentType } from './negotiation.ts';
import { writeError, writeJson, writeRaw } from './respond.ts';
import { startWatchStream } from './watch.ts';

export interface UserInfo {
  name: string;
  groups: string[];
}

export interface TableOptions {
  /** None, Metadata or Object; anything else is a 400. */
  includeObject: string;
  noHeaders?: boolean;
  tableVersion?: 'v1' | 'v1beta1';
}

/** Converts objects to a meta.k8s.io/v1 Table (server-side printing). */
export type TableConvertor = (r: ResourceInfo, objs: AnyObject[], opts: TableOptions) => AnyObject;

export interface PatchRequest {
  namespace: string | undefined;
  name: string;
  fieldManager: string;
  force: boolean;
  fieldValidation: FieldValidation;
  subresource: string | undefined;
  now: Date;
}

/**
 * Applies a PATCH body of the given type to the live object (undefined: apply creates it), with
 * decode-time checks and managedFields bookkeeping. Returns the object and warnings to send.
 */
export type PatchApplier = (r: ResourceInfo, type: PatchContentType, live: AnyObject | undefined, body: string, req: PatchRequest) => { object: AnyObject; warnings: string[] };

/** Checks a PATCH's content type (415) and options (422) before anything is read. */
export interface PatchPolicy {
  typeOf(contentType: string | undefined, r: ResourceInfo): PatchContentType;
  validate(type: PatchContentType, opts: { fieldManager?: string; force?: boolean; dryRun?: string[]; fieldValidation?: string }): void;
}

/**
 * Decode-time checks of a body against its type: throws 400 for type errors and, under
 * fieldValidation=Strict, for unknown fields; returns the warnings to send under Warn.
 */
export type FieldCheck = (r: ResourceInfo, obj: AnyObject, validation: FieldValidation) => { object: AnyObject; warnings: string[] };

/** A handler for a subresource other than status (scale, binding, log, exec, finalize...). */
export type SubresourceHandler = (ctx: RequestContext) => Promise<void>;

export interface HandlerDeps {
  registry: Registry;
  table: TableConvertor;
  patch: PatchApplier;
  patchPolicy: PatchPolicy;
  fields?: FieldCheck;
  protobuf?: ProtobufDecoder;
  /** Keyed "<resource>/<subresource>", e.g. "deployments/scale", "pods/log". */
  subresources: Map<string, SubresourceHandler>;
}

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  info: ResourceRequestInfo;
  query: URLSearchParams;
  user: UserInfo;
  storage: ResourceStorage;
  deps: HandlerDeps;
}

const notFoundStatus = {
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message: 'the server could not find the requested resource',
  reason: 'NotFound',
  details: {},
  code: 404,
};

export async function handleResourceRequest(deps: HandlerDeps, req: IncomingMessage, res: ServerResponse, info: ResourceRequestInfo, query: URLSearchParams, user: UserInfo): Promise<void> {
  try {
    const storage = deps.registry.find(info.group, info.version, info.resource);
    if (!storage) {
      writeJson(res, 404, notFoundStatus);
      return;
    }
    const r = storage.resource;
    // A namespaced resource asked by name needs a namespace; a cluster-scoped one must not have one.
    if ((r.namespaced && info.name !== undefined && info.namespace === undefined) || (!r.namespaced && info.namespace !== undefined)) {
      writeJson(res, 404, notFoundStatus);
      return;
    }
    const ctx: RequestContext = { req, res, info, query, user, storage, deps };
    if (info.subresource && info.subresource !== 'status') {
      const h = deps.subresources.get(`${r.resource}/${info.subresource}`);
      if (!h || !r.subresources.some((s) => s.name === info.subresource)) {
        writeJson(res, 404, notFoundStatus);
        return;
      }
      await h(ctx);
      return;
    }
    if (info.subresource === 'status' && !r.subresources.some((s) => s.name === 'status')) {
      writeJson(res, 404, notFoundStatus);
      return;
    }
    await dispatch(ctx);
  } catch (e) {
    writeError(req, res, e);
  }
}

/** go-restful's 405 for a method no route of the path takes (kube's installer registers only the verbs a storage has). */
function routeNotAllowed(): ApiError {
  const e = new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
  e.status.details = {};
  return e;
}

async function dispatch(ctx: RequestContext): Promise<void> {
  const { info, storage } = ctx;
  const r = storage.resource;
  const sub = info.subresource;
  if (sub === 'status' && !['get', 'update', 'patch'].includes(info.verb)) throw routeNotAllowed();
  if (!r.verbs.includes(info.verb as never) && info.verb !== 'connect') throw routeNotAllowed();
  // The all-namespaces path of a namespaced resource (/api/v1/services) only lists and watches.
  if (r.namespaced && info.namespace === undefined && info.verb !== 'list' && info.verb !== 'watch') throw routeNotAllowed();
  switch (info.verb) {
    case 'get':
      return handleGet(ctx);
    case 'list':
      return handleList(ctx);
    case 'watch':
      return handleWatch(ctx);
    case 'create':
      return handleCreate(ctx);
    case 'update':
      return handleUpdate(ctx);
    case 'patch':
      return handlePatch(ctx);
    case 'delete':
      return handleDelete(ctx);
    case 'deletecollection':
      return handleDeleteCollection(ctx);
    default:
      throw methodNotSupported(storage.gr, info.verb);
  }
}

// ---------------------------------------------------------------- reading

function acceptOf(ctx: RequestContext): AcceptInfo {
  const accept = negotiate(ctx.req.headers.accept, ctx.query.get('includeObject'));
  if (accept.form === 'table' && !['None', 'Metadata', 'Object'].includes(accept.includeObject)) {
    throw badRequest(`unrecognized includeObject value: ${JSON.stringify(accept.includeObject)}`);
  }
  return accept;
}

/** Writes one object in the form the client asked for. */
export async function writeObject(ctx: RequestContext, code: number, obj: AnyObject, accept: AcceptInfo = acceptOf(ctx), json?: string): Promise<void> {
  const r = ctx.storage.resource;
  if (accept.form === 'table') {
    writeJson(ctx.res, code, ctx.deps.table(r, [obj], { includeObject: accept.includeObject, tableVersion: accept.metaVersion }));
  } else if (accept.form === 'partial') {
    writeJson(ctx.res, code, { kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${accept.metaVersion}`, metadata: obj.metadata });
  } else if (accept.yaml) {
    writeRaw(ctx.res, code, (await yamlModule()).stringify(obj), 'application/yaml');
  } else {
    writeRaw(ctx.res, code, json ?? JSON.stringify(obj), 'application/json');
  }
}

async function handleGet(ctx: RequestContext): Promise<void> {
  const accept = acceptOf(ctx);
  const obj = await ctx.storage.get(ctx.info.namespace, ctx.info.name!);
  await writeObject(ctx, 200, obj, accept);
}

function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw badRequest(`invalid value for ${name}: ${JSON.stringify(v)}`);
  return Number(v);
}

async function handleList(ctx: RequestContext): Promise<void> {
  const q = ctx.query;
  const accept = acceptOf(ctx);
  const r = ctx.storage.resource;
  const out = await ctx.storage.list(ctx.info.namespace, {
    labelSelector: q.get('labelSelector') ?? undefined,
    fieldSelector: q.get('fieldSelector') ?? undefined,
    limit: intParam(q, 'limit'),
    continue: q.get('continue') ?? undefined,
    resourceVersion: q.get('resourceVersion') ?? undefined,
    resourceVersionMatch: q.get('resourceVersionMatch') ?? undefined,
  });
  const listMeta: Record<string, unknown> = { resourceVersion: out.resourceVersion };
  if (out.continue) listMeta.continue = out.continue;
  if (out.remainingItemCount !== undefined) listMeta.remainingItemCount = out.remainingItemCount;
  if (accept.form === 'table') {
    const table = ctx.deps.table(
      r,
      out.items.map((i) => i.obj),
      { includeObject: accept.includeObject, tableVersion: accept.metaVersion },
    );
    table.metadata = listMeta;
    writeJson(ctx.res, 200, table);
    return;
  }
  if (accept.form === 'partial') {
    writeJson(ctx.res, 200, {
      kind: 'PartialObjectMetadataList',
      apiVersion: `meta.k8s.io/${accept.metaVersion}`,
      metadata: listMeta,
      items: out.items.map((i) => ({ kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${accept.metaVersion}`, metadata: i.obj.metadata })),
    });
    return;
  }
  const head = { kind: r.listKind, apiVersion: resourceApiVersion(r), metadata: listMeta };
  if (accept.yaml) {
    writeRaw(ctx.res, 200, (await yamlModule()).stringify({ ...head, items: out.items.map((i) => i.obj) }), 'application/yaml');
    return;
  }
  // Splice the cached JSON of each item instead of serializing everything again, and send it
  // in pieces as the client takes them: one string and one Buffer of the whole list (9 MiB for
  // 10,000 Services) would be garbage after every list.
  await writeListBody(ctx.res, `${JSON.stringify(head).slice(0, -1)},"items":[`, out.items.map(itemJson), ']}');
}

/** About how much of a list body goes to the socket per write. */
const listPieceBytes = 64 * 1024;

/** Resolves when the response can take more, or is gone. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Writes open + items joined by commas + close, with Content-Length, honouring backpressure. */
async function writeListBody(res: ServerResponse, open: string, items: readonly string[], close: string): Promise<void> {
  let length = Buffer.byteLength(open) + Buffer.byteLength(close) + Math.max(0, items.length - 1);
  for (const j of items) length += Buffer.byteLength(j);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(length), 'Cache-Control': 'no-cache, private' });
  let closed = false;
  const onClose = () => {
    closed = true;
  };
  res.once('close', onClose);
  try {
    let piece = open;
    for (let i = 0; i < items.length; i++) {
      piece += i === 0 ? items[i] : `,${items[i]}`;
      if (piece.length < listPieceBytes) continue;
      const more = res.write(piece);
      piece = '';
      if (!more && !closed) await drained(res);
      if (closed) return;
    }
    res.end(piece + close);
  } finally {
    res.off('close', onClose);
  }
}

function itemJson(i: ListItem): string {
  return i.json ?? JSON.stringify(i.obj);
}

async function handleWatch(ctx: RequestContext): Promise<void> {
  const accept = acceptOf(ctx);
  const q = ctx.query;
  let fieldSelector = q.get('fieldSelector') ?? undefined;
  if (ctx.info.name !== undefined) {
    // The legacy /watch/.../{name} form: a watch of one object.
    const byName = `metadata.name=${ctx.info.name}`;
    fieldSelector = fieldSelector ? `${fieldSelector},${byName}` : byName;
  }
  const sendInitial = q.get('sendInitialEvents');
  await startWatchStream(ctx, accept, {
    labelSelector: q.get('labelSelector') ?? undefined,
    fieldSelector,
    resourceVersion: q.get('resourceVersion') ?? undefined,
    resourceVersionMatch: q.get('resourceVersionMatch') ?? undefined,
    allowWatchBookmarks: q.get('allowWatchBookmarks') === 'true',
    sendInitialEvents: sendInitial === null ? undefined : sendInitial === 'true',
    timeoutSeconds: intParam(q, 'timeoutSeconds'),
  });
}

// ---------------------------------------------------------------- writing

interface WriteParams extends WriteRequest {
  fieldValidation: FieldValidation;
}

/** kube-apiserver derives a default field manager from the user agent ("kubectl/v1.33..." → "kubectl"). */
function defaultManager(userAgent: string | undefined): string {
  const ua = (userAgent ?? '').split('/')[0]?.trim() ?? '';
  return ua.slice(0, 128) || 'unknown';
}

function writeParams(ctx: RequestContext): WriteParams {
  const q = ctx.query;
  const dryRuns = q.getAll('dryRun');
  for (const d of dryRuns) {
    if (d !== 'All') throw badRequest(`Invalid dryRun value: ${JSON.stringify(d)}: supported values: "All"`);
  }
  const fv = q.get('fieldValidation') ?? 'Warn';
  if (fv !== 'Strict' && fv !== 'Warn' && fv !== 'Ignore') {
    throw badRequest(`fieldValidation parameter must be one of: Strict, Warn, Ignore; got ${JSON.stringify(fv)}`);
  }
  const fm = q.get('fieldManager');
  if (fm !== null && (fm.length > 128 || !/^[\x20-\x7e]*$/.test(fm))) {
    throw badRequest('fieldManager: Invalid value: must be no more than 128 printable characters');
  }
  return { dryRun: dryRuns.length > 0, fieldManager: fm ?? defaultManager(ctx.req.headers['user-agent']), user: ctx.user.name, fieldValidation: fv };
}

/** Strict/Warn field validation and type checks on a decoded body: the object as decoded and the warnings to send. */
function checkFields(ctx: RequestContext, obj: AnyObject, fv: FieldValidation): { object: AnyObject; warnings: string[] } {
  return ctx.deps.fields?.(ctx.storage.resource, obj, fv) ?? { object: obj, warnings: [] };
}

function warningHeaders(warnings: string[]): Record<string, string> {
  if (!warnings.length) return {};
  return { Warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', ') };
}

/** Checks apiVersion/kind of a body against the resource the URL names, and fills them when absent. */
function checkTypeMeta(r: ResourceInfo, obj: AnyObject, expectKind = r.kind, expectApiVersion = resourceApiVersion(r)): void {
  if (obj.apiVersion !== undefined && obj.apiVersion !== expectApiVersion) {
    throw badRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${expectApiVersion})`);
  }
  if (obj.kind !== undefined && obj.kind !== expectKind) {
    throw badRequest(`the kind in the data (${String(obj.kind)}) does not match the expected kind (${expectKind})`);
  }
}

async function readObject(ctx: RequestContext): Promise<AnyObject> {
  const type = bodyTypeOf(ctx.req.headers['content-type']);
  const buf = await readBody(ctx.req);
  return await decodeObjectBody(buf, type, ctx.deps.protobuf, ctx.storage.resource);
}

async function handleCreate(ctx: RequestContext): Promise<void> {
  const r = ctx.storage.resource;
  const params = writeParams(ctx);
  const decoded = await readObject(ctx);
  checkTypeMeta(r, decoded);
  const { object: obj, warnings } = checkFields(ctx, decoded, params.fieldValidation);
  const accept = acceptOf(ctx);
  if (ctx.info.name !== undefined) throw routeNotAllowed();
  const created = await ctx.storage.create(ctx.info.namespace, obj, params);
  if (warnings.length) ctx.res.setHeader('Warning', warningHeaders(warnings).Warning);
  await writeObject(ctx, 201, created, accept);
}

async function handleUpdate(ctx: RequestContext): Promise<void> {
  const r = ctx.storage.resource;
  const params = writeParams(ctx);
  const decoded = await readObject(ctx);
  checkTypeMeta(r, decoded);
  const { object: obj, warnings } = checkFields(ctx, decoded, params.fieldValidation);
  const accept = acceptOf(ctx);
  const out = await ctx.storage.update(ctx.info.namespace, ctx.info.name!, obj, params, ctx.info.subresource);
  if (warnings.length) ctx.res.setHeader('Warning', warningHeaders(warnings).Warning);
  await writeObject(ctx, out.created ? 201 : 200, out.obj, accept);
}

async function handlePatch(ctx: RequestContext): Promise<void> {
  const r = ctx.storage.resource;
  const params = writeParams(ctx);
  const q = ctx.query;
  const type = ctx.deps.patchPolicy.typeOf(ctx.req.headers['content-type'], r);
  const forceParam = q.get('force');
  ctx.deps.patchPolicy.validate(type, {
    fieldManager: q.get('fieldManager') ?? undefined,
    force: forceParam === null ? undefined : forceParam === 'true',
    dryRun: q.getAll('dryRun'),
    fieldValidation: q.get('fieldValidation') ?? undefined,
  });
  const buf = await readBody(ctx.req);
  if (buf.length === 0) throw badRequest('the body of the request is empty');
  const body = buf.toString('utf8');
  const deep = tooDeep(body);
  if (deep) throw badRequest(nestingError(deep));
  const accept = acceptOf(ctx);
  let warnings: string[] = [];
  const out = await ctx.storage.patch(
    ctx.info.namespace,
    ctx.info.name!,
    (live) => {
      const res = ctx.deps.patch(r, type, live, body, {
        namespace: ctx.info.namespace,
        name: ctx.info.name!,
        fieldManager: params.fieldManager ?? '',
        force: forceParam === 'true',
        fieldValidation: params.fieldValidation,
        subresource: ctx.info.subresource,
        now: new Date(),
      });
      if (!isPlainObject(res.object)) throw badRequest('the patch produced something that is not an object');
      if (type !== 'apply') checkPatchedTypes(ctx, res.object);
      warnings = res.warnings;
      return res.object;
    },
    params,
    ctx.info.subresource,
    type === 'apply',
  );
  if (warnings.length) ctx.res.setHeader('Warning', warningHeaders(warnings).Warning);
  await writeObject(ctx, out.created ? 201 : 200, out.obj, accept);
}

/**
 * kube-apiserver decodes a patched object into its Go type; a value of the wrong type there is
 * a 422 on the field "patch" ("json: cannot unmarshal number into Go struct field ...").
 */
function checkPatchedTypes(ctx: RequestContext, obj: AnyObject): void {
  try {
    ctx.deps.fields?.(ctx.storage.resource, obj, 'Ignore');
  } catch (e) {
    if (!(e instanceof ApiError) || e.code !== 400) throw e;
    const detail = e.message.replace(/^.*? cannot be handled as a [^:]*: /, '');
    throw invalid({ group: '', kind: '' }, '', [fieldErrors.invalid('patch', JSON.stringify(obj), detail)]);
  }
}

async function readDeleteOptions(ctx: RequestContext): Promise<DeleteOptions & WriteRequest> {
  const q = ctx.query;
  const buf = await readBody(ctx.req);
  let body: Record<string, unknown> = {};
  if (buf.length) {
    const v = parseJson(buf);
    if (!isPlainObject(v)) throw badRequest('the body of the request was not a DeleteOptions object');
    body = v;
    if (body.kind !== undefined && body.kind !== 'DeleteOptions') {
      throw badRequest(`the kind in the data (${JSON.stringify(body.kind)}) does not match the expected kind (DeleteOptions)`);
    }
  }
  const opts: DeleteOptions & WriteRequest = {};
  const grace = intParam(q, 'gracePeriodSeconds') ?? (typeof body.gracePeriodSeconds === 'number' ? body.gracePeriodSeconds : undefined);
  if (grace !== undefined) opts.gracePeriodSeconds = grace;
  const pp = q.get('propagationPolicy') ?? (typeof body.propagationPolicy === 'string' ? body.propagationPolicy : undefined);
  if (pp !== undefined && pp !== null) {
    if (pp !== 'Foreground' && pp !== 'Background' && pp !== 'Orphan') {
      throw ApiErrorInvalidPropagation(pp);
    }
    opts.propagationPolicy = pp;
  } else if (body.orphanDependents === true || q.get('orphanDependents') === 'true') {
    opts.propagationPolicy = 'Orphan';
  }
  if (isPlainObject(body.preconditions)) opts.preconditions = body.preconditions;
  const dry = q.getAll('dryRun');
  const bodyDry = Array.isArray(body.dryRun) ? (body.dryRun as unknown[]) : [];
  for (const d of [...dry, ...bodyDry]) if (d !== 'All') throw badRequest(`Invalid dryRun value: ${JSON.stringify(d)}: supported values: "All"`);
  opts.dryRun = dry.length + bodyDry.length > 0;
  opts.user = ctx.user.name;
  return opts;
}

function ApiErrorInvalidPropagation(pp: string): ApiError {
  return new ApiError(422, 'Invalid', `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: ${JSON.stringify(pp)}: supported values: "Foreground", "Background", "Orphan", "nil"`, {
    kind: 'DeleteOptions',
    group: 'meta.k8s.io',
    causes: [{ reason: 'FieldValueNotSupported', field: 'propagationPolicy', message: `Unsupported value: ${JSON.stringify(pp)}: supported values: "Foreground", "Background", "Orphan", "nil"` }],
  });
}

const returnsDeletedObject = new Set(['pods', 'services', 'serviceaccounts']);

async function handleDelete(ctx: RequestContext): Promise<void> {
  const opts = await readDeleteOptions(ctx);
  const accept = acceptOf(ctx);
  const { obj, deleted } = await ctx.storage.delete(ctx.info.namespace, ctx.info.name!, opts);
  const r = ctx.storage.resource;
  if (deleted && !returnsDeletedObject.has(r.resource)) {
    // Most registries answer an immediate delete with a Success Status; pods, services and
    // serviceaccounts return the deleted object (their registries set ReturnDeletedObject).
    const details: Record<string, string> = { name: obj.metadata?.name ?? '', kind: r.resource };
    if (r.group) details.group = r.group;
    if (obj.metadata?.uid) details.uid = obj.metadata.uid;
    writeJson(ctx.res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details });
    return;
  }
  await writeObject(ctx, 200, obj, accept);
}

async function handleDeleteCollection(ctx: RequestContext): Promise<void> {
  const opts = await readDeleteOptions(ctx);
  const q = ctx.query;
  const r = ctx.storage.resource;
  const { items, resourceVersion } = await ctx.storage.deleteCollection(
    ctx.info.namespace,
    { labelSelector: q.get('labelSelector') ?? undefined, fieldSelector: q.get('fieldSelector') ?? undefined },
    opts,
  );
  writeJson(ctx.res, 200, { kind: r.listKind, apiVersion: resourceApiVersion(r), metadata: { resourceVersion }, items });
}

