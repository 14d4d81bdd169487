// Errors as kube-apiserver reports them: a metav1.Status with its code, reason, message and
// details, so kubectl prints what users know ("Error from server (NotFound): ..."). Messages
// follow k8s.io/apimachinery/pkg/api/errors and pkg/util/validation/field word for word.
import type { Status, StatusCause } from 'kubernetes-types/meta/v1.js';

export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Expired'
  | 'Invalid'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'TooManyRequests'
  | 'InternalError'
  | 'Timeout'
  | 'ServiceUnavailable'
  | '';

/** A qualified resource: plural resource name and API group ("" for core), as errors name it. */
export interface GroupResource {
  group: string;
  resource: string;
}

/** "services" or "deployments.apps": how apimachinery prints a schema.GroupResource. */
export function groupResourceString(gr: GroupResource): string {
  return gr.group ? `${gr.resource}.${gr.group}` : gr.resource;
}

/** An error that is answered as a Kubernetes Status. */
export class ApiError extends Error {
  readonly status: Status & { code: number; reason: StatusReason };

  constructor(code: number, reason: StatusReason, message: string, details?: Status['details']) {
    super(message);
    this.name = 'ApiError';
    this.status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
    if (details) this.status.details = details;
  }

  get code(): number {
    return this.status.code;
  }

  get reason(): StatusReason {
    return this.status.reason;
  }
}

export function isApiError(e: unknown): e is ApiError {
  return e instanceof ApiError;
}

export function isNotFound(e: unknown): boolean {
  return isApiError(e) && e.reason === 'NotFound';
}

export function isAlreadyExists(e: unknown): boolean {
  return isApiError(e) && e.reason === 'AlreadyExists';
}

export function isConflict(e: unknown): boolean {
  return isApiError(e) && e.reason === 'Conflict';
}

export function isExpired(e: unknown): boolean {
  return isApiError(e) && (e.reason === 'Expired' || e.reason === 'Gone');
}

function details(gr: GroupResource, name: string): Status['details'] {
  const d: NonNullable<Status['details']> = { name, kind: gr.resource };
  if (gr.group) d.group = gr.group;
  return d;
}

export function notFound(gr: GroupResource, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${groupResourceString(gr)} "${name}" not found`, details(gr, name));
}

export function alreadyExists(gr: GroupResource, name: string): ApiError {
  return new ApiError(409, 'AlreadyExists', `${groupResourceString(gr)} "${name}" already exists`, details(gr, name));
}

export const optimisticLockMessage = 'the object has been modified; please apply your changes to the latest version and try again';

/** 409 Conflict: "Operation cannot be fulfilled on services "foo": <why>". */
export function conflict(gr: GroupResource, name: string, why: string = optimisticLockMessage): ApiError {
  return new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${groupResourceString(gr)} "${name}": ${why}`, details(gr, name));
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

export function unauthorized(message = 'Unauthorized'): ApiError {
  return new ApiError(401, 'Unauthorized', message);
}

export function forbidden(gr: GroupResource, name: string, why: string): ApiError {
  const what = name ? `${groupResourceString(gr)} "${name}"` : groupResourceString(gr);
  return new ApiError(403, 'Forbidden', `${what} is forbidden: ${why}`, details(gr, name));
}

/** A create in a namespace being deleted (NamespaceLifecycle admission), with kube's NamespaceTerminating cause. */
export function namespaceTerminating(gr: GroupResource, name: string, namespace: string): ApiError {
  const e = forbidden(gr, name, `unable to create new content in namespace ${namespace} because it is being terminated`);
  e.status.details = { ...e.status.details, causes: [{ reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' }] };
  return e;
}

/** Whether an API error carries a cause of this reason (apimachinery's HasStatusCause). */
export function hasStatusCause(e: unknown, reason: string): boolean {
  const causes = (e as { status?: Status } | null | undefined)?.status?.details?.causes ?? [];
  return causes.some((c) => c.reason === reason);
}

/** A create refused because its namespace is being deleted: controllers stop retrying it. */
export function isNamespaceTerminating(e: unknown): boolean {
  return hasStatusCause(e, 'NamespaceTerminating');
}

export function methodNotSupported(gr: GroupResource, action: string): ApiError {
  return new ApiError(405, 'MethodNotAllowed', `${action} is not supported on resources of kind "${groupResourceString(gr)}"`, details(gr, ''));
}

/** 410 Expired, as the watch cache reports a resourceVersion older than it keeps. */
export function resourceExpired(message: string): ApiError {
  return new ApiError(410, 'Expired', message);
}

export function gone(message: string): ApiError {
  return new ApiError(410, 'Gone', message);
}

export function requestEntityTooLarge(message: string): ApiError {
  return new ApiError(413, 'RequestEntityTooLarge', `Request entity too large: ${message}`);
}

export function unsupportedMediaType(accepted: readonly string[]): ApiError {
  return new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`);
}

export function notAcceptable(accepted: readonly string[]): ApiError {
  return new ApiError(406, 'NotAcceptable', `only the following media types are accepted: ${accepted.join(', ')}`);
}

export function internalError(message: string): ApiError {
  return new ApiError(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] });
}

export function serviceUnavailable(message: string): ApiError {
  return new ApiError(503, 'ServiceUnavailable', message);
}

export function timeoutError(message: string): ApiError {
  return new ApiError(504, 'Timeout', message);
}

// ---- field errors (k8s.io/apimachinery/pkg/util/validation/field) ----

export type FieldErrorType =
  | 'FieldValueNotFound'
  | 'FieldValueRequired'
  | 'FieldValueDuplicate'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'InternalError'
  | 'FieldValueTypeInvalid';

const typeText: Record<FieldErrorType, string> = {
  FieldValueNotFound: 'Not found',
  FieldValueRequired: 'Required value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  InternalError: 'Internal error',
  FieldValueTypeInvalid: 'Invalid value',
};

/** Marks a field error whose bad value must not be printed (field.OmitValueType). */
export const omitValue: unique symbol = Symbol('omitValue');

/** One validation failure at a field path such as "spec.ports[0].port". */
export interface FieldError {
  type: FieldErrorType;
  field: string;
  badValue?: unknown;
  detail?: string;
}

/** The value as Go's %v / %q would print it inside a field error. */
function formatBadValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) {
    // Go prints []string{"a", "b"} for a slice of strings.
    if (value.every((v) => typeof v === 'string')) return `[]string{${value.map((v) => JSON.stringify(v)).join(', ')}}`;
    return JSON.stringify(value);
  }
  return JSON.stringify(value);
}

/** field.Error.ErrorBody(): the message without the field path. */
export function fieldErrorBody(e: FieldError): string {
  let s: string;
  if (
    e.type === 'FieldValueRequired' ||
    e.type === 'FieldValueForbidden' ||
    e.type === 'FieldValueTooLong' ||
    e.type === 'InternalError' ||
    e.badValue === omitValue ||
    !('badValue' in e)
  ) {
    s = typeText[e.type];
  } else {
    s = `${typeText[e.type]}: ${formatBadValue(e.badValue)}`;
  }
  if (e.detail) s += `: ${e.detail}`;
  return s;
}

/** field.Error.Error(): "spec.ports[0].port: Invalid value: 0: must be ...". */
export function fieldErrorString(e: FieldError): string {
  return e.field ? `${e.field}: ${fieldErrorBody(e)}` : fieldErrorBody(e);
}

export const fieldErrors = {
  required: (field: string, detail = ''): FieldError => ({ type: 'FieldValueRequired', field, detail }),
  invalid: (field: string, badValue: unknown, detail: string): FieldError => ({ type: 'FieldValueInvalid', field, badValue, detail }),
  duplicate: (field: string, badValue: unknown): FieldError => ({ type: 'FieldValueDuplicate', field, badValue }),
  notFound: (field: string, badValue: unknown): FieldError => ({ type: 'FieldValueNotFound', field, badValue }),
  forbidden: (field: string, detail: string): FieldError => ({ type: 'FieldValueForbidden', field, detail }),
  tooLong: (field: string, badValue: unknown, maxLength: number): FieldError => ({
    type: 'FieldValueTooLong',
    field,
    badValue,
    detail: maxLength >= 0 ? `may not be more than ${maxLength} bytes` : 'value is too long',
  }),
  tooMany: (field: string, actual: number, max: number): FieldError => ({
    type: 'FieldValueTooMany',
    field,
    badValue: actual,
    detail: `must have at most ${max} items`,
  }),
  /** Unsupported value; detail lists the supported values as Go quotes them. */
  notSupported: (field: string, badValue: unknown, supported: readonly string[]): FieldError => ({
    type: 'FieldValueNotSupported',
    field,
    badValue,
    detail: supported.length ? `supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}` : '',
  }),
  internal: (field: string, message: string): FieldError => ({ type: 'InternalError', field, detail: message }),
};

/** The printable kind of a Status: "Service", "Deployment.apps". */
export interface GroupKind {
  group: string;
  kind: string;
}

/** 422 Invalid: "<Kind> "<name>" is invalid: <errors>", with one cause per field error. */
export function invalid(gk: GroupKind, name: string, errs: readonly FieldError[]): ApiError {
  const causes: StatusCause[] = errs.map((e) => ({ reason: e.type, message: fieldErrorBody(e), field: e.field }));
  const qualified = gk.group ? `${gk.kind}.${gk.group}` : gk.kind;
  // utilerrors.NewAggregate drops repeated messages; one error prints bare, several as [a, b].
  const msgs = [...new Set(errs.map(fieldErrorString))];
  let message = `${qualified} "${name}" is invalid`;
  if (msgs.length === 1) message += `: ${msgs[0]}`;
  else if (msgs.length > 1) message += `: [${msgs.join(', ')}]`;
  const d: NonNullable<Status['details']> = { name, kind: gk.kind, causes };
  if (gk.group) d.group = gk.group;
  return new ApiError(422, 'Invalid', message, d);
}
