// What a request URL asks for, as kube-apiserver's RequestInfoFactory reads it:
// /api/v1/namespaces/{ns}/{resource}/{name}/{subresource}, /apis/{group}/{version}/...,
// the all-namespaces form /api/v1/{resource}, the legacy /watch/ prefix, and the verb.

export type RequestVerb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection' | 'connect';

export interface ResourceRequestInfo {
  isResourceRequest: true;
  group: string;
  version: string;
  namespace: string | undefined;
  resource: string;
  name: string | undefined;
  subresource: string | undefined;
  verb: RequestVerb;
}

export interface NonResourceRequestInfo {
  isResourceRequest: false;
  path: string;
  /** The path has an invalid %-escape. */
  malformed?: boolean;
}

export type RequestInfo = ResourceRequestInfo | NonResourceRequestInfo;

function verbFor(method: string, hasName: boolean, watch: boolean): RequestVerb | undefined {
  switch (method) {
    case 'GET':
    case 'HEAD':
      if (watch) return 'watch';
      return hasName ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return hasName ? 'delete' : 'deletecollection';
    default:
      return undefined;
  }
}

/** Parses a request path and method. Paths that are not resource paths are non-resource requests. */
export function parseRequestInfo(method: string, path: string, query: URLSearchParams): RequestInfo {
  const parts = path.split('/').filter((p) => p !== '');
  let i = 0;
  let group: string;
  let version: string;
  if (parts[0] === 'api' && parts.length >= 3) {
    group = '';
    version = parts[1]!;
    i = 2;
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1]!;
    version = parts[2]!;
    i = 3;
  } else {
    return { isResourceRequest: false, path };
  }
  let watch = query.get('watch') === 'true' || query.get('watch') === '1';
  if (parts[i] === 'watch') {
    watch = true;
    i++;
  }
  let rest: string[];
  try {
    rest = parts.slice(i).map(decodeURIComponent);
  } catch {
    // Go's server refuses a request line with a bad %-escape before any handler runs.
    return { isResourceRequest: false, path, malformed: true };
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces') {
    if (rest.length >= 3) {
      namespace = rest[1];
      rest = rest.slice(2);
    } else {
      // /api/v1/namespaces or /api/v1/namespaces/{name}: the namespace resource itself.
    }
  }
  // /api/v1/namespaces/{name}/{subresource} (status, finalize) is the namespace object, not a scope.
  if (namespace !== undefined && rest[0] !== undefined && (rest[0] === 'status' || rest[0] === 'finalize') && rest.length === 1 && group === '') {
    const ns = namespace;
    namespace = undefined;
    rest = ['namespaces', ns, rest[0]];
  }
  const [resource, name, subresource, ...extra] = rest;
  if (!resource || extra.length > 0) return { isResourceRequest: false, path };
  const verb = verbFor(method, name !== undefined, watch);
  if (!verb) return { isResourceRequest: false, path };
  let v = verb;
  if (subresource === 'exec' || subresource === 'attach' || subresource === 'portforward' || subresource === 'proxy') v = 'connect';
  // A watch on a named object is a list+watch with a name field selector.
  return { isResourceRequest: true, group, version, namespace, resource, name, subresource, verb: v };
}
