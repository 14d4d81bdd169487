// SchemaNode trees from the OpenAPI definitions. A named type becomes one shared node; a field
// that refers to it gets a shallow copy carrying the field's own description and default, so
// a walk sees what `kubectl explain` shows at that field. Nodes are frozen: never mutate them.
import type { GroupVersionKind } from '../meta.ts';
import { definitionNameFor, openApiDefinitions, schemaRefPrefix, type OpenApiSchema } from './definitions.ts';
import type { SchemaNode } from './types.ts';

const typeNodes = new Map<string, SchemaNode>();
const building = new Set<string>();
/** Root nodes of custom resources, whose bodies kube-apiserver decodes without Go types. */
const customResourceRoots = new WeakSet<SchemaNode>();

/** True for the schema of a custom resource kind (MetalLB's), false for a built-in type. */
export function isCustomResourceSchema(node: SchemaNode): boolean {
  return customResourceRoots.has(node);
}

/** The Go type name of a definition: "io.k8s.api.core.v1.ServicePort" → "ServicePort". */
export function goTypeName(definitionName: string): string {
  return definitionName.slice(definitionName.lastIndexOf('.') + 1);
}

function refOf(s: OpenApiSchema): string | undefined {
  const ref = s.$ref ?? (s.allOf?.length === 1 && !s.properties ? s.allOf[0].$ref : undefined);
  return ref?.startsWith(schemaRefPrefix) ? ref.slice(schemaRefPrefix.length) : undefined;
}

/** The shared node of a named type. */
export function typeNode(name: string): SchemaNode {
  const cached = typeNodes.get(name);
  if (cached) return cached;
  // Served types have no cycles; a shallow copy of a half-built node would silently lose fields.
  if (building.has(name)) throw new Error(`cyclic schema at ${name}`);
  const def = openApiDefinitions()[name];
  if (!def) throw new Error(`no definition ${name}`);
  building.add(name);
  const node = convert(def, goTypeName(name));
  building.delete(name);
  Object.freeze(node);
  typeNodes.set(name, node);
  if (!name.startsWith('io.k8s.')) customResourceRoots.add(node);
  return node;
}

const scalarTypes = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);

function isIntOrString(s: OpenApiSchema): boolean {
  if (s['x-kubernetes-int-or-string']) return true;
  const alts = (s.oneOf ?? s.anyOf ?? []).map((a) => a.type).sort();
  return alts.length === 2 && alts[1] === 'string' && (alts[0] === 'integer' || alts[0] === 'number');
}

function convert(s: OpenApiSchema, typeName?: string): SchemaNode {
  const ref = refOf(s);
  if (ref) {
    const base = typeNode(ref);
    const node: SchemaNode = { ...base };
    if (s.description !== undefined) node.description = s.description;
    if (s.default !== undefined) node.default = s.default;
    markers(s, node);
    return Object.freeze(node);
  }
  const node: SchemaNode = {};
  if (s.type && scalarTypes.has(s.type)) node.type = s.type as NonNullable<SchemaNode['type']>;
  if (s.format) node.format = s.format;
  if (s.description !== undefined) node.description = s.description;
  if (isIntOrString(s)) node.intOrString = true;
  if (s.properties) {
    node.properties = Object.freeze(Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, convert(v)])));
    node.type = 'object';
  }
  if (s.required?.length) node.required = [...s.required];
  if (s.additionalProperties && typeof s.additionalProperties === 'object') {
    node.additionalProperties = convert(s.additionalProperties);
    node.type = 'object';
  }
  if (s.items) {
    node.items = convert(s.items);
    node.type = 'array';
  }
  if (s.enum) node.enum = s.enum.filter((v): v is string => typeof v === 'string');
  if (s.default !== undefined) node.default = s.default;
  // Opaque JSON: RawExtension, FieldsV1, Patch, and x-kubernetes-preserve-unknown-fields.
  if (s['x-kubernetes-preserve-unknown-fields'] || (node.type === 'object' && !node.properties && !node.additionalProperties)) {
    node.preserveUnknownFields = true;
  }
  markers(s, node);
  if (typeName) node.typeName = typeName;
  return Object.freeze(node);
}

/** The list, map and patch markers; a field's own markers win over its type's. */
function markers(s: OpenApiSchema, node: SchemaNode): void {
  if (s['x-kubernetes-list-type']) node.listType = s['x-kubernetes-list-type'];
  if (s['x-kubernetes-list-map-keys']) node.listMapKeys = [...s['x-kubernetes-list-map-keys']];
  if (s['x-kubernetes-map-type']) node.mapType = s['x-kubernetes-map-type'];
  if (s['x-kubernetes-patch-strategy']) node.patchStrategy = s['x-kubernetes-patch-strategy'];
  if (s['x-kubernetes-patch-merge-key']) node.patchMergeKey = s['x-kubernetes-patch-merge-key'];
}

/**
 * The structural schema of a served kind (including list kinds, autoscaling/v1 Scale,
 * meta/v1 Status and DeleteOptions), or undefined for a kind svcnet does not know.
 */
export function schemaFor(gvk: GroupVersionKind): SchemaNode | undefined {
  const name = definitionNameFor(gvk);
  return name ? typeNode(name) : undefined;
}
