// OpenAPI v3 documents, one per group-version, shaped as kube-apiserver serves them at
// /openapi/v3/<api/v1|apis/<group>/<version>>: every operation of every served resource (with
// operationId, x-kubernetes-action, x-kubernetes-group-version-kind, query parameters and the
// patch content types) and the component schemas those operations reach. kubectl reads them
// for `apply` and `create -f` (it asks the PATCH operation whether fieldValidation exists),
// `apply` patch computation (x-kubernetes-patch-* markers) and `explain` (paths → GVK →
// schema). Documents are built once and kept; their hash changes whenever their text does.
import { createHash } from 'node:crypto';
import { allResources, type GroupVersionKind, type ResourceInfo, type SubresourceInfo } from '../index.ts';
import { definitionNameFor, openApiDefinitions, schemaRefPrefix, type GroupVersionKindExtension, type OpenApiSchema } from '../schema/index.ts';
import {
  createParameters,
  deleteCollectionParameters,
  deleteParameters,
  execParameters,
  listParameters,
  logParameters,
  namespaceParameter,
  patchParameters,
  pathParameter,
  pretty,
  updateParameters,
  type Parameter,
} from './parameters.ts';

const returnsDeletedObject = new Set(['pods', 'services', 'serviceaccounts']);

/** The Kubernetes version the documents describe (info.version). */
export const openApiKubernetesVersion = 'v1.33.0';

export type KubernetesAction = 'get' | 'list' | 'put' | 'patch' | 'post' | 'delete' | 'deletecollection' | 'watch' | 'watchlist' | 'connect';

interface MediaType {
  schema: OpenApiSchema;
}

interface Response {
  description: string;
  content?: Record<string, MediaType>;
}

export interface Operation {
  description: string;
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { content: Record<string, MediaType>; required?: boolean };
  responses: Record<string, Response>;
  tags: string[];
  'x-kubernetes-action'?: KubernetesAction;
  'x-kubernetes-group-version-kind'?: GroupVersionKindExtension;
}

export type Method = 'get' | 'put' | 'post' | 'delete' | 'patch';

export type PathItem = Partial<Record<Method, Operation>> & { parameters?: Parameter[] };

export interface OpenApiDocument {
  openapi: '3.0.0';
  info: { title: string; version: string };
  paths: Record<string, PathItem>;
  components: {
    schemas: Record<string, OpenApiSchema>;
    securitySchemes: Record<string, { description: string; in: string; name: string; type: string }>;
  };
  security: Record<string, string[]>[];
}

const meta = 'io.k8s.apimachinery.pkg.apis.meta.v1';

function ref(name: string): OpenApiSchema {
  return { $ref: schemaRefPrefix + name };
}

function gvkExtension(gvk: GroupVersionKind): GroupVersionKindExtension {
  return { group: gvk.group, kind: gvk.kind, version: gvk.version };
}

/** "" → "Core", "discovery.k8s.io" → "Discovery", "metallb.io" → "MetallbIo" (kube-openapi's friendly names). */
function friendlyGroup(group: string): string {
  if (group === '') return 'Core';
  const parts = group.replace(/\.k8s\.io$/, '').split('.');
  return parts.map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join('');
}

/** The path of a group-version's document: "api/v1", "apis/apps/v1". */
export function groupVersionPath(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

function isBuiltIn(group: string): boolean {
  return group === '' || group.endsWith('.k8s.io') || !group.includes('.');
}

interface GroupVersionContext {
  group: string;
  version: string;
  /** "CoreV1", "AppsV1", "MetallbIoV1beta1" */
  name: string;
  tag: string;
  builtIn: boolean;
}

function contextFor(group: string, version: string): GroupVersionContext {
  const friendly = friendlyGroup(group);
  const v = version.charAt(0).toUpperCase() + version.slice(1);
  return {
    group,
    version,
    name: `${friendly}${v}`,
    tag: `${friendly.charAt(0).toLowerCase()}${friendly.slice(1)}_${version}`,
    builtIn: isBuiltIn(group),
  };
}

function content(types: readonly string[], schema: OpenApiSchema): Record<string, MediaType> {
  return Object.fromEntries(types.map((t) => [t, { schema }]));
}

function objectTypes(gv: GroupVersionContext): string[] {
  return gv.builtIn ? ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'] : ['application/json', 'application/yaml'];
}

function streamTypes(gv: GroupVersionContext): string[] {
  return gv.builtIn
    ? ['application/json', 'application/json;stream=watch', 'application/vnd.kubernetes.protobuf', 'application/vnd.kubernetes.protobuf;stream=watch', 'application/yaml']
    : ['application/json', 'application/json;stream=watch', 'application/yaml'];
}

const unauthorized: Response = { description: 'Unauthorized' };

function ok(types: readonly string[], schema: OpenApiSchema, description = 'OK'): Response {
  return { content: content(types, schema), description };
}

function bodyOf(schema: OpenApiSchema): Operation['requestBody'] {
  return { content: { '*/*': { schema } }, required: true };
}

function patchBody(gv: GroupVersionContext): Operation['requestBody'] {
  const types = ['application/apply-patch+yaml', 'application/json-patch+json', 'application/merge-patch+json'];
  if (gv.builtIn) types.push('application/strategic-merge-patch+json');
  return { content: content(types, ref(`${meta}.Patch`)), required: true };
}

function definitionRef(gvk: GroupVersionKind): OpenApiSchema {
  const name = definitionNameFor(gvk);
  if (!name) throw new Error(`no OpenAPI definition for ${gvk.group}/${gvk.version} ${gvk.kind}`);
  return ref(name);
}

function sortByName(params: Parameter[]): Parameter[] {
  return [...params].sort((a, b) => a.name.localeCompare(b.name));
}

/** Adds the paths of one served resource to a document's paths. */
function addResource(paths: Record<string, PathItem>, r: ResourceInfo, gv: GroupVersionContext): void {
  const gvk: GroupVersionKind = { group: r.group, version: r.version, kind: r.kind };
  const kindRef = definitionRef(gvk);
  const listRef = definitionRef({ ...gvk, kind: r.listKind });
  const statusRef = ref(`${meta}.Status`);
  const prefix = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  const ns = r.namespaced ? 'Namespaced' : '';
  const collection = r.namespaced ? `${prefix}/namespaces/{namespace}/${r.resource}` : `${prefix}/${r.resource}`;
  const item = `${collection}/{name}`;
  const scope = r.namespaced ? [namespaceParameter] : [];
  const verbs = new Set(r.verbs);
  const types = objectTypes(gv);
  const op = (action: KubernetesAction, operationId: string, description: string, rest: Partial<Operation>, kind: GroupVersionKind = gvk): Operation => ({
    description,
    operationId,
    ...rest,
    responses: rest.responses ?? {},
    tags: [gv.tag],
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvkExtension(kind),
  });

  const coll: PathItem = {};
  if (verbs.has('list')) {
    coll.get = op('list', `list${gv.name}${ns}${r.kind}`, `list or watch objects of kind ${r.kind}`, {
      parameters: listParameters,
      responses: { '200': ok(streamTypes(gv), listRef), '401': unauthorized },
    });
  }
  if (verbs.has('create')) {
    coll.post = op('post', `create${gv.name}${ns}${r.kind}`, `create a ${r.kind}`, {
      parameters: createParameters,
      requestBody: bodyOf(kindRef),
      responses: { '200': ok(types, kindRef), '201': ok(types, kindRef, 'Created'), '202': ok(types, kindRef, 'Accepted'), '401': unauthorized },
    });
  }
  if (verbs.has('deletecollection')) {
    coll.delete = op('deletecollection', `delete${gv.name}Collection${ns}${r.kind}`, `delete collection of ${r.kind}`, {
      parameters: deleteCollectionParameters,
      requestBody: { content: { '*/*': { schema: ref(`${meta}.DeleteOptions`) } } },
      responses: { '200': ok(types, statusRef), '401': unauthorized },
    });
  }
  if (Object.keys(coll).length) paths[collection] = { ...coll, parameters: [...scope, pretty] };

  const one: PathItem = {};
  if (verbs.has('get')) {
    one.get = op('get', `read${gv.name}${ns}${r.kind}`, `read the specified ${r.kind}`, { responses: { '200': ok(types, kindRef), '401': unauthorized } });
  }
  if (verbs.has('update')) {
    one.put = op('put', `replace${gv.name}${ns}${r.kind}`, `replace the specified ${r.kind}`, {
      parameters: updateParameters,
      requestBody: bodyOf(kindRef),
      responses: { '200': ok(types, kindRef), '201': ok(types, kindRef, 'Created'), '401': unauthorized },
    });
  }
  if (verbs.has('patch')) {
    one.patch = op('patch', `patch${gv.name}${ns}${r.kind}`, `partially update the specified ${r.kind}`, {
      parameters: patchParameters,
      requestBody: patchBody(gv),
      responses: { '200': ok(types, kindRef), '201': ok(types, kindRef, 'Created'), '401': unauthorized },
    });
  }
  if (verbs.has('delete')) {
    one.delete = op('delete', `delete${gv.name}${ns}${r.kind}`, `delete a ${r.kind}`, {
      parameters: deleteParameters,
      requestBody: { content: { '*/*': { schema: ref(`${meta}.DeleteOptions`) } } },
      // Pods, Services and ServiceAccounts answer a delete with the object (ReturnDeletedObject).
      responses: returnsDeletedObject.has(r.resource)
        ? { '200': ok(types, kindRef), '202': ok(types, kindRef, 'Accepted'), '401': unauthorized }
        : { '200': ok(types, statusRef), '202': ok(types, statusRef, 'Accepted'), '401': unauthorized },
    });
  }
  if (Object.keys(one).length) paths[item] = { ...one, parameters: [pathParameter('name', `name of the ${r.kind}`), ...scope, pretty] };

  if (r.namespaced && verbs.has('list')) {
    paths[`${prefix}/${r.resource}`] = {
      get: op('list', `list${gv.name}${r.kind}ForAllNamespaces`, `list or watch objects of kind ${r.kind}`, {
        responses: { '200': ok(streamTypes(gv), listRef), '401': unauthorized },
      }),
      parameters: sortByName([...listParameters, pretty]),
    };
  }
  if (verbs.has('watch')) {
    const watchRef = ref(`${meta}.WatchEvent`);
    const watchResponses = { '200': ok(streamTypes(gv), watchRef), '401': unauthorized };
    const watchList = (path: string, operationId: string, extra: Parameter[]): void => {
      paths[path] = {
        get: op('watchlist', operationId, `watch individual changes to a list of ${r.kind}. deprecated: use the 'watch' parameter with a list operation instead.`, {
          responses: watchResponses,
        }),
        parameters: [...extra, ...sortByName([...listParameters, pretty])],
      };
    };
    const watchCollection = r.namespaced ? `${prefix}/watch/namespaces/{namespace}/${r.resource}` : `${prefix}/watch/${r.resource}`;
    watchList(watchCollection, `watch${gv.name}${ns}${r.kind}List`, scope);
    paths[`${watchCollection}/{name}`] = {
      get: op(
        'watch',
        `watch${gv.name}${ns}${r.kind}`,
        `watch changes to an object of kind ${r.kind}. deprecated: use the 'watch' parameter with a list operation instead, filtered to a single item with the 'fieldSelector' parameter.`,
        { responses: watchResponses },
      ),
      parameters: [pathParameter('name', `name of the ${r.kind}`), ...scope, ...sortByName([...listParameters, pretty])],
    };
    if (r.namespaced) watchList(`${prefix}/watch/${r.resource}`, `watch${gv.name}${r.kind}ListForAllNamespaces`, []);
  }

  for (const sub of r.subresources) addSubresource(paths, r, sub, gv, item, scope, op);
}

type OpFactory = (action: KubernetesAction, operationId: string, description: string, rest: Partial<Operation>, kind?: GroupVersionKind) => Operation;

function addSubresource(
  paths: Record<string, PathItem>,
  r: ResourceInfo,
  sub: SubresourceInfo,
  gv: GroupVersionContext,
  item: string,
  scope: Parameter[],
  op: OpFactory,
): void {
  const ns = r.namespaced ? 'Namespaced' : '';
  const Sub = sub.name.charAt(0).toUpperCase() + sub.name.slice(1);
  const types = objectTypes(gv);
  const path = `${item}/${sub.name}`;
  const verbs = new Set(sub.verbs);
  const out: PathItem = {};
  const id = (verb: string): string => `${verb}${gv.name}${ns}${r.kind}${Sub}`;
  switch (sub.name) {
    case 'status':
    case 'scale': {
      const kindRef = definitionRef(sub.kind);
      const what = `${sub.name} of the specified ${r.kind}`;
      if (verbs.has('get')) out.get = op('get', id('read'), `read ${what}`, { responses: { '200': ok(types, kindRef), '401': unauthorized } }, sub.kind);
      if (verbs.has('update')) {
        out.put = op(
          'put',
          id('replace'),
          `replace ${what}`,
          {
            parameters: updateParameters,
            requestBody: bodyOf(kindRef),
            responses: { '200': ok(types, kindRef), '201': ok(types, kindRef, 'Created'), '401': unauthorized },
          },
          sub.kind,
        );
      }
      if (verbs.has('patch')) {
        out.patch = op(
          'patch',
          id('patch'),
          `partially update ${what}`,
          {
            parameters: patchParameters,
            requestBody: patchBody(gv),
            responses: { '200': ok(types, kindRef), '201': ok(types, kindRef, 'Created'), '401': unauthorized },
          },
          sub.kind,
        );
      }
      break;
    }
    case 'binding': {
      const kindRef = definitionRef(sub.kind);
      out.post = op(
        'post',
        id('create'),
        `create binding of a ${r.kind}`,
        {
          parameters: createParameters,
          requestBody: bodyOf(kindRef),
          responses: { '200': ok(types, kindRef), '201': ok(types, kindRef, 'Created'), '202': ok(types, kindRef, 'Accepted'), '401': unauthorized },
        },
        sub.kind,
      );
      break;
    }
    case 'finalize': {
      const kindRef = definitionRef(sub.kind);
      out.put = op(
        'put',
        id('replace'),
        `replace finalize of the specified ${r.kind}`,
        {
          parameters: [...updateParameters],
          requestBody: bodyOf(kindRef),
          responses: { '200': ok(types, kindRef), '201': ok(types, kindRef, 'Created'), '401': unauthorized },
        },
        sub.kind,
      );
      break;
    }
    case 'exec': {
      const text: Response = { content: { '*/*': { schema: { type: 'string' } } }, description: 'OK' };
      for (const method of ['get', 'post'] as const) {
        if (!verbs.has(method === 'get' ? 'get' : 'create')) continue;
        const Method = method === 'get' ? 'Get' : 'Post';
        out[method] = op(
          'connect',
          `connect${gv.name}${Method}${ns}${r.kind}Exec`,
          `connect ${method.toUpperCase()} requests to exec of ${r.kind}`,
          { responses: { '200': text, '401': unauthorized } },
          sub.kind,
        );
      }
      paths[path] = { ...out, parameters: [...execParameters, pathParameter('name', `name of the ${sub.kind.kind}`), ...scope] };
      return;
    }
    case 'log': {
      out.get = op(
        'get',
        id('read'),
        `read log of the specified ${r.kind}`,
        { responses: { '200': ok(['text/plain', 'application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'], { type: 'string' }), '401': unauthorized } },
        sub.kind,
      );
      paths[path] = { ...out, parameters: [...logParameters, pathParameter('name', `name of the ${r.kind}`), ...scope, pretty] };
      return;
    }
    default:
      return;
  }
  if (Object.keys(out).length) paths[path] = { ...out, parameters: [pathParameter('name', `name of the ${sub.kind.kind}`), ...scope, pretty] };
}

/** The definitions a document's operations reach, following $refs. */
function reachable(paths: Record<string, PathItem>): Record<string, OpenApiSchema> {
  const defs = openApiDefinitions();
  const found = new Set<string>();
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === '$ref' && typeof x === 'string' && x.startsWith(schemaRefPrefix)) {
          const name = x.slice(schemaRefPrefix.length);
          if (!found.has(name)) {
            found.add(name);
            if (!defs[name]) throw new Error(`dangling $ref ${x}`);
            visit(defs[name]);
          }
        } else visit(x);
      }
    }
  };
  visit(paths);
  return Object.fromEntries([...found].sort().map((n) => [n, defs[n]]));
}

function buildDocument(group: string, version: string, resources: readonly ResourceInfo[]): OpenApiDocument {
  const gv = contextFor(group, version);
  const prefix = group ? `/apis/${group}/${version}` : `/api/${version}`;
  const paths: Record<string, PathItem> = {
    [`${prefix}/`]: {
      get: {
        description: 'get available resources',
        operationId: `get${gv.name}APIResources`,
        responses: { '200': ok(objectTypes(gv), ref(`${meta}.APIResourceList`)), '401': unauthorized },
        tags: [gv.tag],
      },
    },
  };
  for (const r of resources) addResource(paths, r, gv);
  const sortedPaths = Object.fromEntries(Object.keys(paths).sort().map((k) => [k, paths[k]]));
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: openApiKubernetesVersion },
    paths: sortedPaths,
    components: {
      schemas: reachable(sortedPaths),
      securitySchemes: { BearerToken: { description: 'Bearer Token authentication', in: 'header', name: 'authorization', type: 'apiKey' } },
    },
    security: [{ BearerToken: [] }],
  };
}

interface Built {
  document: OpenApiDocument;
  json: string;
  hash: string;
}

let built: Map<string, Built> | undefined;

function documents(): Map<string, Built> {
  if (!built) {
    const byGv = new Map<string, ResourceInfo[]>();
    for (const r of allResources) {
      const key = groupVersionPath(r.group, r.version);
      byGv.set(key, [...(byGv.get(key) ?? []), r]);
    }
    built = new Map();
    for (const [path, resources] of byGv) {
      const document = deepFreeze(buildDocument(resources[0].group, resources[0].version, resources));
      const json = JSON.stringify(document);
      // kube-apiserver's ETag and ?hash=: the SHA-512 of the document, upper-case hex.
      const hash = createHash('sha512').update(json).digest('hex').toUpperCase();
      built.set(path, { document, json, hash });
    }
  }
  return built;
}

function normalize(groupVersionPath: string): string {
  return groupVersionPath.replace(/^\/?(openapi\/v3\/)?/, '').replace(/\/$/, '');
}

/** GET /openapi/v3: where each group-version's document is, with its content hash. */
export function openapiV3Root(): { paths: Record<string, { serverRelativeURL: string }> } {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const [path, b] of documents()) paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${b.hash}` };
  return { paths };
}

/** GET /openapi/v3/<path> ("api/v1", "apis/apps/v1"): the document, or undefined. Frozen. */
export function openapiV3Document(groupVersionPath: string): OpenApiDocument | undefined {
  return documents().get(normalize(groupVersionPath))?.document;
}

/** The serialized document and its hash (for the ETag and to compare with ?hash=). */
export function openapiV3DocumentJson(groupVersionPath: string): { json: string; hash: string } | undefined {
  const b = documents().get(normalize(groupVersionPath));
  return b ? { json: b.json, hash: b.hash } : undefined;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
