// The OpenAPI v3 component schemas of every served type, as kube-apiserver names and shapes
// them: the built-in ones generated from kubernetes-types by scripts/gen-schemas.ts (committed
// JSON, so runtime needs no compiler), plus MetalLB's custom resources (metallb.ts).
import { readFileSync } from 'node:fs';
import type { GroupVersionKind } from '../meta.ts';
import { metallbDefinitions } from './metallb.ts';

/** An OpenAPI v3 schema object, with the x-kubernetes-* extensions Kubernetes publishes. */
export interface OpenApiSchema {
  $ref?: string;
  allOf?: OpenApiSchema[];
  oneOf?: OpenApiSchema[];
  anyOf?: OpenApiSchema[];
  type?: string;
  format?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  items?: OpenApiSchema;
  additionalProperties?: OpenApiSchema | boolean;
  properties?: Record<string, OpenApiSchema>;
  required?: string[];
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-patch-strategy'?: string;
  'x-kubernetes-patch-merge-key'?: string;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-group-version-kind'?: GroupVersionKindExtension[];
}

/** x-kubernetes-group-version-kind entries spell their keys in this order. */
export interface GroupVersionKindExtension {
  group: string;
  kind: string;
  version: string;
}

export const schemaRefPrefix = '#/components/schemas/';

let cached: Readonly<Record<string, OpenApiSchema>> | undefined;

/** Every definition by its OpenAPI name ("io.k8s.api.core.v1.Service"). Do not mutate. */
export function openApiDefinitions(): Readonly<Record<string, OpenApiSchema>> {
  if (!cached) {
    const file = new URL('./generated/definitions.json', import.meta.url);
    const builtIn = JSON.parse(readFileSync(file, 'utf8')) as Record<string, OpenApiSchema>;
    cached = deepFreeze({ ...builtIn, ...metallbDefinitions(builtIn) });
  }
  return cached;
}

let byGvk: Map<string, string> | undefined;

function gvkKey(gvk: GroupVersionKind): string {
  return `${gvk.group}/${gvk.version}/${gvk.kind}`;
}

/** The OpenAPI name of the definition that carries this group, version and kind. */
export function definitionNameFor(gvk: GroupVersionKind): string | undefined {
  if (!byGvk) {
    byGvk = new Map();
    for (const [name, def] of Object.entries(openApiDefinitions())) {
      for (const g of def['x-kubernetes-group-version-kind'] ?? []) {
        const key = gvkKey({ group: g.group, version: g.version, kind: g.kind });
        if (!byGvk.has(key)) byGvk.set(key, name);
      }
    }
  }
  return byGvk.get(gvkKey(gvk));
}

/** The definition a $ref ("#/components/schemas/<name>") points at. */
export function resolveRef(ref: string): OpenApiSchema | undefined {
  if (!ref.startsWith(schemaRefPrefix)) return undefined;
  return openApiDefinitions()[ref.slice(schemaRefPrefix.length)];
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
