// Unknown fields, as kube-apiserver reports them under fieldValidation=Strict (a 400) or Warn
// (one Warning header per field). The paths and wording follow sigs.k8s.io/json's strict
// decoder and apimachinery's runtime.strictDecodingError: `unknown field "spec.ports[0].foo"`,
// several joined by ", " after "strict decoding error: ".
import { badRequest, type ApiError } from '../errors.ts';
import { isPlainObject, type GroupVersionKind } from '../meta.ts';
import type { SchemaNode } from './types.ts';

/**
 * The paths of the fields in obj that its schema does not declare, in document order:
 * "spec.foo", "spec.ports[0].bar", "metadata.labelz", "spec.template.spec.containers[1].imagee".
 * Values of the wrong type are not looked into (they are a type error, see typeErrors).
 */
export function unknownFields(obj: unknown, schema: SchemaNode): string[] {
  const out: string[] = [];
  walk(obj, schema, '', out);
  return out;
}

function join(path: string, field: string): string {
  return path ? `${path}.${field}` : field;
}

function walk(value: unknown, node: SchemaNode, path: string, out: string[]): void {
  if (node.preserveUnknownFields || node.intOrString) return;
  if (Array.isArray(value)) {
    if (node.items) value.forEach((v, i) => walk(v, node.items!, `${path}[${i}]`, out));
    return;
  }
  if (!isPlainObject(value)) return;
  if (node.properties) {
    for (const [k, v] of Object.entries(value)) {
      const child = node.properties[k];
      if (child) walk(v, child, join(path, k), out);
      else out.push(join(path, k));
    }
  } else if (node.additionalProperties) {
    for (const [k, v] of Object.entries(value)) walk(v, node.additionalProperties, join(path, k), out);
  }
}

/** `unknown field "spec.foo"`: one strict decoding error, also the text of a Warn warning. */
export function unknownFieldMessage(path: string): string {
  return `unknown field ${JSON.stringify(path)}`;
}

/** The Warning texts fieldValidation=Warn sends, one per unknown field. */
export function unknownFieldWarnings(paths: readonly string[]): string[] {
  return paths.map(unknownFieldMessage);
}

/** `strict decoding error: unknown field "a", unknown field "b"` */
export function strictDecodingMessage(paths: readonly string[]): string {
  return `strict decoding error: ${paths.map(unknownFieldMessage).join(', ')}`;
}

/**
 * How kube-apiserver's handlers wrap a body that fails to decode (transformDecodeError):
 * `Service in version "v1" cannot be handled as a Service: <reason>`.
 */
export function cannotBeHandledMessage(gvk: GroupVersionKind, reason: string): string {
  return `${gvk.kind} in version ${JSON.stringify(gvk.version)} cannot be handled as a ${gvk.kind}: ${reason}`;
}

/** The 400 BadRequest for unknown fields under fieldValidation=Strict. */
export function strictDecodingError(gvk: GroupVersionKind, paths: readonly string[]): ApiError {
  return badRequest(cannotBeHandledMessage(gvk, strictDecodingMessage(paths)));
}
