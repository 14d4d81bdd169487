// Type mismatches in a JSON body, as kube-apiserver reports them.
//
// Built-in kinds are decoded into Go structs by sigs.k8s.io/json (Go's encoding/json), so the
// first mismatch reads `json: cannot unmarshal string into Go struct field
// ServicePort.spec.ports.port of type int32` (the innermost struct, the JSON field names from
// the root without list indices or map keys, the Go type). Like Go: a mismatch is remembered
// and decoding goes on (the first one is reported), while an error from a type's own
// UnmarshalJSON (IntOrString, Quantity, Time) ends decoding at once and wins. Numbers are
// accepted for IntOrString and Quantity, null everywhere.
//
// Custom resources are decoded into unstructured JSON and checked against their OpenAPI schema
// instead: `spec.autoAssign: Invalid value: "string": spec.autoAssign in body must be of type
// boolean: "string"` (a 422 Invalid), see customResourceErrors.
import { fieldErrors, type FieldError } from '../errors.ts';
import { isPlainObject, type GroupVersionKind } from '../meta.ts';
import { isCustomResourceSchema } from './nodes.ts';
import { cannotBeHandledMessage } from './strict.ts';
import type { SchemaNode } from './types.ts';

/**
 * Go types of fields whose type is a named string (or list of them) in k8s.io/api, for the
 * "of type v1.ServiceType" part of a message. Other strings are plain `string`.
 */
const namedStringFields: Record<string, string> = {
  'ObjectMeta.uid': 'types.UID',
  'OwnerReference.uid': 'types.UID',
  'ObjectReference.uid': 'types.UID',
  'Preconditions.uid': 'types.UID',
  'ServiceSpec.type': 'v1.ServiceType',
  'ServiceSpec.sessionAffinity': 'v1.ServiceAffinity',
  'ServiceSpec.externalTrafficPolicy': 'v1.ServiceExternalTrafficPolicy',
  'ServiceSpec.internalTrafficPolicy': 'v1.ServiceInternalTrafficPolicy',
  'ServiceSpec.ipFamilyPolicy': 'v1.IPFamilyPolicy',
  'ServiceSpec.ipFamilies': '[]v1.IPFamily',
  'ServicePort.protocol': 'v1.Protocol',
  'ContainerPort.protocol': 'v1.Protocol',
  'EndpointPort.protocol': 'v1.Protocol',
  'PortStatus.protocol': 'v1.Protocol',
  'LoadBalancerIngress.ipMode': 'v1.LoadBalancerIPMode',
  'EndpointSlice.addressType': 'v1.AddressType',
  'PodSpec.restartPolicy': 'v1.RestartPolicy',
  'PodSpec.dnsPolicy': 'v1.DNSPolicy',
  'PodSpec.preemptionPolicy': 'v1.PreemptionPolicy',
  'PodStatus.phase': 'v1.PodPhase',
  'PodStatus.qosClass': 'v1.PodQOSClass',
  'PodStatus.resize': 'v1.PodResizeStatus',
  'PodCondition.type': 'v1.PodConditionType',
  'PodCondition.status': 'v1.ConditionStatus',
  'PodReadinessGate.conditionType': 'v1.PodConditionType',
  'PodOS.name': 'v1.OSName',
  'Container.imagePullPolicy': 'v1.PullPolicy',
  'Container.terminationMessagePolicy': 'v1.TerminationMessagePolicy',
  'Container.restartPolicy': 'v1.ContainerRestartPolicy',
  'EphemeralContainer.imagePullPolicy': 'v1.PullPolicy',
  'EphemeralContainer.terminationMessagePolicy': 'v1.TerminationMessagePolicy',
  'EphemeralContainer.restartPolicy': 'v1.ContainerRestartPolicy',
  'ContainerResizePolicy.resourceName': 'v1.ResourceName',
  'ContainerResizePolicy.restartPolicy': 'v1.ResourceResizeRestartPolicy',
  'Capabilities.add': '[]v1.Capability',
  'Capabilities.drop': '[]v1.Capability',
  'HTTPGetAction.scheme': 'v1.URIScheme',
  'VolumeMount.mountPropagation': 'v1.MountPropagationMode',
  'EmptyDirVolumeSource.medium': 'v1.StorageMedium',
  'HostPathVolumeSource.type': 'v1.HostPathType',
  'Taint.effect': 'v1.TaintEffect',
  'Toleration.effect': 'v1.TaintEffect',
  'Toleration.operator': 'v1.TolerationOperator',
  'NodeSelectorRequirement.operator': 'v1.NodeSelectorOperator',
  'LabelSelectorRequirement.operator': 'v1.LabelSelectorOperator',
  'TopologySpreadConstraint.whenUnsatisfiable': 'v1.UnsatisfiableConstraintAction',
  'TopologySpreadConstraint.nodeAffinityPolicy': 'v1.NodeInclusionPolicy',
  'TopologySpreadConstraint.nodeTaintsPolicy': 'v1.NodeInclusionPolicy',
  'PodSecurityContext.fsGroupChangePolicy': 'v1.PodFSGroupChangePolicy',
  'SecurityContext.procMount': 'v1.ProcMountType',
  'SeccompProfile.type': 'v1.SeccompProfileType',
  'NodeCondition.type': 'v1.NodeConditionType',
  'NodeCondition.status': 'v1.ConditionStatus',
  'NodeAddress.type': 'v1.NodeAddressType',
  'NodeStatus.phase': 'v1.NodePhase',
  'NodeStatus.volumesInUse': '[]v1.UniqueVolumeName',
  'AttachedVolume.name': 'v1.UniqueVolumeName',
  'NamespaceSpec.finalizers': '[]v1.FinalizerName',
  'NamespaceStatus.phase': 'v1.NamespacePhase',
  'NamespaceCondition.type': 'v1.NamespaceConditionType',
  'NamespaceCondition.status': 'v1.ConditionStatus',
  'Secret.type': 'v1.SecretType',
  'Condition.status': 'v1.ConditionStatus',
  'DeploymentStrategy.type': 'v1.DeploymentStrategyType',
  'DeploymentCondition.type': 'v1.DeploymentConditionType',
  'DeploymentCondition.status': 'v1.ConditionStatus',
  'ReplicaSetCondition.type': 'v1.ReplicaSetConditionType',
  'ReplicaSetCondition.status': 'v1.ConditionStatus',
  'DeleteOptions.propagationPolicy': 'v1.DeletionPropagation',
  'Status.reason': 'v1.StatusReason',
  'StatusCause.reason': 'v1.CauseType',
  'ManagedFieldsEntry.operation': 'v1.ManagedFieldsOperationType',
};

/** Go types of custom-unmarshalled and cross-package named types. */
const namedTypes: Record<string, string> = {
  IntOrString: 'intstr.IntOrString',
  Quantity: 'resource.Quantity',
  RawExtension: 'runtime.RawExtension',
};

/** goType by node: every field of every body asks, the answer never changes. */
const goTypes = new WeakMap<SchemaNode, string>();

/** reflect.Type.String() of the Go type behind a schema node. */
function goType(node: SchemaNode): string {
  let t = goTypes.get(node);
  if (t === undefined) {
    t = goTypeOf(node);
    goTypes.set(node, t);
  }
  return t;
}

function goTypeOf(node: SchemaNode): string {
  if (node.format === 'byte') return '[]uint8';
  if (node.typeName) return namedTypes[node.typeName] ?? `v1.${node.typeName}`;
  if (node.items) return `[]${goType(node.items)}`;
  if (node.additionalProperties) {
    // ResourceList is a named map type: map[ResourceName]resource.Quantity.
    if (node.additionalProperties.typeName === 'Quantity') return 'v1.ResourceList';
    return `map[string]${goType(node.additionalProperties)}`;
  }
  switch (node.type) {
    case 'integer':
      return node.format === 'int64' ? 'int64' : 'int32';
    case 'boolean':
      return 'bool';
    case 'number':
      return 'float64';
    case 'object':
      return 'map[string]interface {}';
    default:
      return 'string';
  }
}

/** How Go's decoder names a JSON value that does not fit (UnmarshalTypeError.Value). */
function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return 'number';
  if (typeof value === 'string') return 'string';
  return 'object';
}

interface Context {
  /** The innermost Go struct being decoded ("ServicePort"); empty at the root. */
  struct: string;
  /** The enclosing field's context and this field's JSON name (none at the root). */
  parent?: Context;
  field?: string;
}

/** JSON field names from the root: ["spec", "ports", "port"] (built only for a message). */
function fieldsOf(ctx: Context): string[] {
  const out: string[] = [];
  for (let c: Context | undefined = ctx; c?.field !== undefined; c = c.parent) out.push(c.field);
  return out.reverse();
}

class Fatal extends Error {
  constructor(message: string) {
    super(message);
  }
}

class Decoder {
  saved: string | undefined;

  typeError(what: string, type: string, ctx: Context): string {
    if (ctx.struct || ctx.field !== undefined) return `json: cannot unmarshal ${what} into Go struct field ${ctx.struct}.${fieldsOf(ctx).join('.')} of type ${type}`;
    return `json: cannot unmarshal ${what} into Go value of type ${type}`;
  }

  save(message: string): void {
    this.saved ??= message;
  }

  value(v: unknown, node: SchemaNode, type: string, ctx: Context): void {
    if (v === null || v === undefined) return;
    switch (node.typeName) {
      case 'IntOrString':
        // intstr.IntOrString.UnmarshalJSON: a string, else json.Unmarshal into its int32.
        if (typeof v !== 'string') {
          const err = this.integer(v, 'int32', ctx);
          if (err) throw new Fatal(err);
        }
        return;
      case 'Quantity': {
        const err = quantityError(v);
        if (err) throw new Fatal(err);
        return;
      }
      case 'Time':
      case 'MicroTime': {
        // metav1.Time.UnmarshalJSON: json.Unmarshal into a string, then time.Parse.
        if (typeof v !== 'string') throw new Fatal(this.typeError(jsonKind(v), 'string', ctx));
        const err = timeError(v, node.typeName === 'Time' ? rfc3339 : rfc3339Micro);
        if (err) throw new Fatal(err);
        return;
      }
    }
    if (node.preserveUnknownFields || node.intOrString) return;
    if (node.format === 'byte') return this.bytes(v, ctx);
    if (node.properties) {
      if (!isPlainObject(v)) return this.save(this.typeError(jsonKind(v), type, ctx));
      for (const [k, child] of Object.entries(v)) {
        const field = node.properties[k];
        if (!field) continue; // unknown: strict decoding's business
        const next: Context = { struct: node.typeName ?? ctx.struct, parent: ctx, field: k };
        const named = node.typeName ? namedStringFields[`${node.typeName}.${k}`] : undefined;
        this.value(child, field, named ?? goType(field), next);
      }
      return;
    }
    if (node.additionalProperties) {
      if (!isPlainObject(v)) return this.save(this.typeError(jsonKind(v), type, ctx));
      const elem = type.startsWith('map[string]') ? type.slice('map[string]'.length) : goType(node.additionalProperties);
      for (const child of Object.values(v)) this.value(child, node.additionalProperties, elem, ctx);
      return;
    }
    if (node.items) {
      if (!Array.isArray(v)) return this.save(this.typeError(jsonKind(v), type, ctx));
      const elem = type.startsWith('[]') ? type.slice(2) : goType(node.items);
      for (const child of v) this.value(child, node.items, elem, ctx);
      return;
    }
    switch (node.type) {
      case 'string':
        if (typeof v !== 'string') this.save(this.typeError(jsonKind(v), type, ctx));
        return;
      case 'boolean':
        if (typeof v !== 'boolean') this.save(this.typeError(jsonKind(v), type, ctx));
        return;
      case 'integer': {
        const err = this.integer(v, type, ctx);
        if (err) this.save(err);
        return;
      }
      case 'number':
        if (typeof v !== 'number') this.save(this.typeError(jsonKind(v), type, ctx));
        return;
    }
  }

  /** Go's literalStore for an integer: "number 1.5" when the literal does not fit. */
  integer(v: unknown, type: string, ctx: Context): string | undefined {
    if (typeof v !== 'number') return this.typeError(jsonKind(v), type, ctx);
    const [min, max] = type === 'int64' ? [-(2 ** 63), 2 ** 63 - 1] : [-(2 ** 31), 2 ** 31 - 1];
    if (!Number.isInteger(v) || v < min || v > max) return this.typeError(`number ${String(v)}`, type, ctx);
    return undefined;
  }

  /** []byte: a base64 string (or, as Go allows, an array of bytes). */
  bytes(v: unknown, ctx: Context): void {
    if (typeof v === 'string') {
      const err = base64Error(v);
      if (err) this.save(err);
    } else if (Array.isArray(v)) {
      for (const b of v) {
        const err = this.integer(b, 'uint8', ctx);
        if (err || (typeof b === 'number' && (b < 0 || b > 255))) {
          this.save(err ?? this.typeError(`number ${String(b)}`, 'uint8', ctx));
        }
      }
    } else {
      this.save(this.typeError(jsonKind(v), '[]uint8', ctx));
    }
  }
}

/**
 * The first type mismatch in a JSON body for a built-in kind, worded as Go's encoding/json
 * (`json: cannot unmarshal ...`) or as the failing type's UnmarshalJSON; undefined if it decodes.
 */
export function jsonTypeError(obj: unknown, schema: SchemaNode): string | undefined {
  // Custom resources are decoded as plain JSON; their schema is checked later (customResourceErrors).
  if (isCustomResourceSchema(schema)) return undefined;
  const d = new Decoder();
  try {
    d.value(obj, schema, goType(schema), { struct: '' });
  } catch (e) {
    if (e instanceof Fatal) return e.message;
    throw e;
  }
  return d.saved;
}

/**
 * kube-apiserver's 400 BadRequest message for a body of a built-in kind that does not decode:
 * `Service in version "v1" cannot be handled as a Service: json: cannot unmarshal string into
 * Go struct field ServicePort.spec.ports.port of type int32`. Undefined when it decodes.
 * Check this before unknownFields: a decode error is reported instead of strict errors.
 */
export function typeErrors(obj: unknown, schema: SchemaNode, gvk: GroupVersionKind): string | undefined {
  const err = jsonTypeError(obj, schema);
  return err === undefined ? undefined : cannotBeHandledMessage(gvk, err);
}

// ---- custom resources: OpenAPI schema validation (k8s.io/kube-openapi/pkg/validation) ----

function openApiType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'string') return 'string';
  if (v === null) return 'null';
  return 'object';
}

/**
 * Schema validation of a custom resource (types and required fields, metadata excepted), as
 * field errors for a 422 Invalid: `spec.addresses: Required value`,
 * `spec.autoAssign: Invalid value: "string": spec.autoAssign in body must be of type boolean: "string"`.
 */
export function customResourceErrors(obj: unknown, schema: SchemaNode): FieldError[] {
  const errs: FieldError[] = [];
  const walk = (v: unknown, node: SchemaNode, path: string): void => {
    // Nulls of non-nullable fields are pruned before validation.
    if (v === null || v === undefined || node.preserveUnknownFields || node.typeName === 'ObjectMeta') return;
    const actual = openApiType(v);
    const fits = node.intOrString
      ? actual === 'integer' || actual === 'string'
      : !node.type || node.type === actual || (node.type === 'number' && actual === 'integer');
    if (!fits) {
      const expected = node.intOrString ? 'integer,string' : (node.type ?? '');
      errs.push({ type: 'FieldValueTypeInvalid', field: path, badValue: actual, detail: `${path} in body must be of type ${expected}: ${JSON.stringify(actual)}` });
      return;
    }
    if (Array.isArray(v)) {
      if (node.items) v.forEach((x, i) => walk(x, node.items!, `${path}[${i}]`));
    } else if (isPlainObject(v)) {
      for (const r of node.required ?? []) {
        if (!(r in v)) errs.push(fieldErrors.required(path ? `${path}.${r}` : r, ''));
      }
      for (const [k, x] of Object.entries(v)) {
        const child = node.properties?.[k] ?? node.additionalProperties;
        if (child) walk(x, child, path ? `${path}.${k}` : k);
      }
    }
  };
  walk(obj, schema, '');
  return errs;
}

// ---- the UnmarshalJSON of apimachinery's special types ----

const quantityFormat = `quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`;
const quantitySuffixes = new Set(['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'n', 'u', 'm', 'k', 'M', 'G', 'T', 'P', 'E']);

/** resource.Quantity.UnmarshalJSON: a number, or a string ParseQuantity accepts. */
function quantityError(v: unknown): string | undefined {
  if (typeof v === 'number') return undefined;
  // Anything else is handed to ParseQuantity as its JSON text (quotes removed from a string).
  const text = typeof v === 'string' ? v.trim() : JSON.stringify(v);
  const m = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/.exec(text);
  if (!m) return quantityFormat;
  if ((m[1].match(/\./g) ?? []).length > 1 || m[1] === '.' || /^[+-]?\.$/.test(m[1])) return 'unable to parse numeric part of quantity';
  const suffix = m[2];
  if (!quantitySuffixes.has(suffix) && !/^[eE][-+]?[0-9]+$/.test(suffix)) return "unable to parse quantity's suffix";
  return undefined;
}

const rfc3339 = '2006-01-02T15:04:05Z07:00';
const rfc3339Micro = '2006-01-02T15:04:05.000000Z07:00';

/** time.Parse(layout, s) for the two RFC 3339 layouts metav1 uses, with Go's error wording. */
function timeError(s: string, layout: string): string | undefined {
  const q = (x: string): string => JSON.stringify(x);
  const cannot = (rest: string, elem: string): string => `parsing time ${q(s)} as ${q(layout)}: cannot parse ${q(rest)} as ${q(elem)}`;
  const outOfRange = (what: string): string => `parsing time ${q(s)}: ${what} out of range`;
  let rest = s;
  const num = (digits: number, elem: string): number | string => {
    const m = new RegExp(`^[0-9]{${digits}}`).exec(rest);
    if (!m) return cannot(rest, elem);
    rest = rest.slice(digits);
    return Number(m[0]);
  };
  const lit = (text: string): string | undefined => {
    if (!rest.startsWith(text)) return cannot(rest, text);
    rest = rest.slice(text.length);
    return undefined;
  };
  const steps: [string, number, string?][] = [
    ['2006', 4],
    ['-', 0],
    ['01', 2, 'month'],
    ['-', 0],
    ['02', 2, 'day'],
    ['T', 0],
    ['15', 2, 'hour'],
    [':', 0],
    ['04', 2, 'minute'],
    [':', 0],
    ['05', 2, 'second'],
  ];
  const limits: Record<string, [number, number]> = { month: [1, 12], day: [1, 31], hour: [0, 23], minute: [0, 59], second: [0, 59] };
  const values: Record<string, number> = {};
  for (const [elem, digits, name] of steps) {
    if (digits === 0) {
      const err = lit(elem);
      if (err) return err;
      continue;
    }
    const n = num(digits, elem);
    if (typeof n === 'string') return n;
    if (name) {
      const [lo, hi] = limits[name];
      if (n < lo || n > hi) return outOfRange(name);
      values[name] = n;
    } else {
      values.year = n;
    }
  }
  if (layout === rfc3339Micro) {
    const m = /^\.[0-9]{6}/.exec(rest);
    if (!m) return cannot(rest, '.000000');
    rest = rest.slice(m[0].length);
  } else {
    // A fraction after the seconds is accepted even though the layout has none.
    const m = /^[.,][0-9]+/.exec(rest);
    if (m) rest = rest.slice(m[0].length);
  }
  if (rest.startsWith('Z')) rest = rest.slice(1);
  else {
    const m = /^[+-]([0-9]{2}):([0-9]{2})/.exec(rest);
    if (!m) return cannot(rest, 'Z07:00');
    rest = rest.slice(m[0].length);
  }
  if (rest) return `parsing time ${q(s)}: extra text: ${q(rest)}`;
  const daysIn = new Date(Date.UTC(values.year, values.month, 0)).getUTCDate();
  if (values.day > daysIn) return outOfRange('day');
  return undefined;
}

const base64Alphabet = /[A-Za-z0-9+/]/;

/** encoding/base64 StdEncoding.Decode's CorruptInputError, as Go's []byte decoding reports it. */
function base64Error(s: string): string | undefined {
  const corrupt = (at: number): string => `illegal base64 data at input byte ${at}`;
  let si = 0;
  const skipNewlines = (): void => {
    while (si < s.length && (s[si] === '\n' || s[si] === '\r')) si++;
  };
  while (si < s.length) {
    for (let j = 0; j < 4; j++) {
      skipNewlines();
      if (si === s.length) {
        if (j === 0) return undefined;
        return corrupt(si - j);
      }
      const c = s[si];
      si++;
      if (base64Alphabet.test(c)) continue;
      if (c !== '=') return corrupt(si - 1);
      // Padding: only in the last two places of a quantum, and nothing after it.
      if (j < 2) return corrupt(si - 1);
      if (j === 2) {
        skipNewlines();
        if (si === s.length) return corrupt(s.length);
        if (s[si] !== '=') return corrupt(si - 1);
        si++;
      }
      skipNewlines();
      if (si < s.length) return corrupt(si);
      return undefined;
    }
  }
  return undefined;
}
