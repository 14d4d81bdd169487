// OpenAPI v3 discovery (GET /openapi/v3) and per-group-version documents
// (GET /openapi/v3/api/v1?hash=...), as kube-apiserver serves them.
export {
  openapiV3Root,
  openapiV3Document,
  openapiV3DocumentJson,
  groupVersionPath,
  openApiKubernetesVersion,
  type OpenApiDocument,
  type Operation,
  type PathItem,
  type KubernetesAction,
} from './document.ts';
