// A structural schema of a served type: what OpenAPI v3 publishes, what strict field
// validation checks, and what strategic merge patch and server-side apply need to know about
// lists and maps (the +listType, +listMapKey, +patchMergeKey, +patchStrategy markers of
// Kubernetes' Go types).

export interface SchemaNode {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  description?: string;
  /** Fields of an object (a struct). */
  properties?: Record<string, SchemaNode>;
  required?: string[];
  /** Values of a map (map[string]T). */
  additionalProperties?: SchemaNode;
  /** Elements of an array. */
  items?: SchemaNode;
  enum?: string[];
  default?: unknown;
  /** x-kubernetes-int-or-string: an integer or a string (IntOrString). */
  intOrString?: boolean;
  /** x-kubernetes-preserve-unknown-fields: any JSON (e.g. RawExtension). */
  preserveUnknownFields?: boolean;
  /** x-kubernetes-list-type */
  listType?: 'atomic' | 'set' | 'map';
  /** x-kubernetes-list-map-keys (listType map) */
  listMapKeys?: string[];
  /** x-kubernetes-map-type */
  mapType?: 'atomic' | 'granular';
  /** x-kubernetes-patch-strategy: "merge", "replace", "retainKeys", "merge,retainKeys" */
  patchStrategy?: string;
  /** x-kubernetes-patch-merge-key */
  patchMergeKey?: string;
  /** The Go type name this node came from ("ServicePort"), for messages and $ref names. */
  typeName?: string;
}
