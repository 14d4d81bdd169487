// /openapi/v2: the Swagger 2.0 document kube-apiserver still serves, in gnostic's protobuf form
// (what kubectl asks for) or JSON. kubectl up to 1.29 needs it: `apply`, `create -f` and `edit`
// read it to learn whether the server checks fields itself (the PATCH operation's
// fieldValidation parameter) and for patch markers; `explain` reads its definitions. It is made
// from the same definitions as the OpenAPI v3 documents, once, on first request.
import { createHash } from 'node:crypto';
import { allResources, type ResourceInfo } from '../api/index.ts';
import { supportedPatchTypes, patchContentTypes } from './patch/index.ts';
import { definitionNameFor, openApiDefinitions, schemaRefPrefix, type OpenApiSchema } from '../api/schema/index.ts';

/** A protobuf message under construction (proto3: zero values are left out). */
class Msg {
  #parts: Buffer[] = [];

  #tag(field: number, wire: number): void {
    this.#varint(field * 8 + wire);
  }

  #varint(n: number): void {
    const out: number[] = [];
    let v = n;
    while (v > 0x7f) {
      out.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(v);
    this.#parts.push(Buffer.from(out));
  }

  str(field: number, s: string | undefined): this {
    if (!s) return this;
    const b = Buffer.from(s, 'utf8');
    this.#tag(field, 2);
    this.#varint(b.length);
    this.#parts.push(b);
    return this;
  }

  strs(field: number, list: readonly string[] | undefined): this {
    for (const s of list ?? []) {
      const b = Buffer.from(s, 'utf8');
      this.#tag(field, 2);
      this.#varint(b.length);
      this.#parts.push(b);
    }
    return this;
  }

  msg(field: number, m: Msg | undefined): this {
    if (!m) return this;
    const b = m.bytes();
    this.#tag(field, 2);
    this.#varint(b.length);
    this.#parts.push(b);
    return this;
  }

  bool(field: number, v: boolean | undefined): this {
    if (!v) return this;
    this.#tag(field, 0);
    this.#varint(1);
    return this;
  }

  bytes(): Buffer {
    return Buffer.concat(this.#parts);
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** gnostic's Any: a value as YAML text (JSON is YAML). */
function anyOf(value: unknown): Msg {
  return new Msg().str(2, `${JSON.stringify(value)}\n`);
}

function namedAny(name: string, value: unknown): Msg {
  return new Msg().str(1, name).msg(2, anyOf(value));
}

const definitionsPrefix = '#/definitions/';

/** A v3 component schema in v2's shape: refs under #/definitions/, allOf-wrapped refs unwrapped, oneOf (int-or-string) as a string. */
export function toV2Schema(s: OpenApiSchema): Record<string, Json> {
  const out: Record<string, Json> = {};
  let src = s;
  if (s.allOf?.length === 1 && s.allOf[0]?.$ref) src = { ...s, $ref: s.allOf[0].$ref, allOf: undefined };
  if (src.$ref) out.$ref = definitionsPrefix + src.$ref.slice(schemaRefPrefix.length);
  if (src.description) out.description = src.description;
  if (src.oneOf) out.type = 'string';
  else if (src.type && !src.$ref) out.type = src.type;
  if (src.format) out.format = src.format;
  if (src.required?.length) out.required = [...src.required];
  if (src.enum) out.enum = src.enum as Json[];
  if (src.items) out.items = toV2Schema(src.items);
  if (src.properties) {
    const props: Record<string, Json> = {};
    for (const [k, v] of Object.entries(src.properties)) props[k] = toV2Schema(v);
    out.properties = props;
  }
  if (src.additionalProperties !== undefined) {
    out.additionalProperties = typeof src.additionalProperties === 'boolean' ? src.additionalProperties : toV2Schema(src.additionalProperties);
  }
  for (const [k, v] of Object.entries(src)) if (k.startsWith('x-kubernetes-') && v !== undefined) out[k] = v as Json;
  return out;
}

function schemaMsg(s: Record<string, Json>): Msg {
  const m = new Msg();
  m.str(1, s.$ref as string | undefined);
  m.str(2, s.format as string | undefined);
  m.str(4, s.description as string | undefined);
  m.strs(19, s.required as string[] | undefined);
  for (const e of (s.enum as Json[] | undefined) ?? []) m.msg(20, anyOf(e));
  const ap = s.additionalProperties;
  if (ap !== undefined) m.msg(21, typeof ap === 'boolean' ? new Msg().bool(2, ap) : new Msg().msg(1, schemaMsg(ap as Record<string, Json>)));
  if (s.type) m.msg(22, new Msg().strs(1, [s.type as string]));
  if (s.items) m.msg(23, new Msg().msg(1, schemaMsg(s.items as Record<string, Json>)));
  if (s.properties) {
    const props = new Msg();
    for (const [k, v] of Object.entries(s.properties as Record<string, Record<string, Json>>)) props.msg(1, new Msg().str(1, k).msg(2, schemaMsg(v)));
    m.msg(25, props);
  }
  for (const [k, v] of Object.entries(s)) if (k.startsWith('x-kubernetes-')) m.msg(31, namedAny(k, v));
  return m;
}

function resourcePath(r: ResourceInfo): string {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  return r.namespaced ? `${base}/namespaces/{namespace}/${r.resource}/{name}` : `${base}/${r.resource}/{name}`;
}

/** What a PATCH takes: strategic merge only for built-in groups (kubectl picks its patch type from this). */
function patchConsumes(r: ResourceInfo): string[] {
  return supportedPatchTypes(r.group).map((t) => patchContentTypes[t]);
}

interface V2Document {
  json: Record<string, Json>;
  proto: Buffer;
  etag: string;
}

let cached: V2Document | undefined;

function build(version: string): V2Document {
  const definitions: Record<string, Json> = {};
  for (const [name, def] of Object.entries(openApiDefinitions())) definitions[name] = toV2Schema(def);
  const paths: Record<string, Json> = {};
  const queryParams = ['dryRun', 'fieldManager', 'fieldValidation', 'force', 'pretty'];
  for (const r of allResources) {
    if (!r.verbs.includes('patch')) continue;
    const gvk = { group: r.group, kind: r.kind, version: r.version };
    paths[resourcePath(r)] = {
      patch: {
        description: `partially update the specified ${r.kind}`,
        consumes: patchConsumes(r),
        produces: ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'],
        operationId: `patch${r.kind}`,
        parameters: queryParams.map((n) => ({ in: 'query', name: n, type: n === 'force' ? 'boolean' : 'string', uniqueItems: true })),
        responses: { '200': { description: 'OK', schema: { $ref: `${definitionsPrefix}${definitionNameFor(gvk) ?? ''}` } } },
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': gvk,
      },
    };
  }
  const json: Record<string, Json> = { swagger: '2.0', info: { title: 'Kubernetes', version }, paths, definitions };

  const doc = new Msg().str(1, '2.0').msg(2, new Msg().str(1, 'Kubernetes').str(2, version));
  const pathsMsg = new Msg();
  for (const [p, item] of Object.entries(paths)) {
    const op = (item as { patch: Record<string, Json> }).patch;
    const opMsg = new Msg()
      .str(3, op.description as string)
      .str(5, op.operationId as string)
      .strs(6, op.produces as string[])
      .strs(7, op.consumes as string[]);
    for (const prm of op.parameters as { name: string; type: string }[]) {
      const query = new Msg().str(2, 'query').str(4, prm.name).str(6, prm.type).bool(20, true);
      opMsg.msg(8, new Msg().msg(1, new Msg().msg(2, new Msg().msg(3, query))));
    }
    const ok = new Msg().msg(1, new Msg().str(1, 'OK'));
    opMsg.msg(9, new Msg().msg(1, new Msg().str(1, '200').msg(2, ok)));
    opMsg.msg(13, namedAny('x-kubernetes-action', 'patch'));
    opMsg.msg(13, namedAny('x-kubernetes-group-version-kind', op['x-kubernetes-group-version-kind']));
    pathsMsg.msg(2, new Msg().str(1, p).msg(2, new Msg().msg(8, opMsg)));
  }
  doc.msg(8, pathsMsg);
  const defs = new Msg();
  for (const name of Object.keys(definitions).sort()) defs.msg(1, new Msg().str(1, name).msg(2, schemaMsg(definitions[name] as Record<string, Json>)));
  doc.msg(9, defs);
  const proto = doc.bytes();
  const etag = `"${createHash('sha512').update(proto).digest('hex').slice(0, 128).toUpperCase()}"`;
  return { json, proto, etag };
}

/** The v2 document (built on first use and kept). */
export function openApiV2(version: string): V2Document {
  cached ??= build(version);
  return cached;
}

export const openApiV2ProtoType = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

/** Whether an Accept header asks for the protobuf form (kubectl: application/com.github.proto-openapi.spec.v2@v1.0+protobuf). */
export function wantsV2Protobuf(accept: string | undefined): boolean {
  return /application\/com\.github\.proto-openapi\.spec\.v2[@.]v1\.0\+protobuf/.test(accept ?? '');
}
