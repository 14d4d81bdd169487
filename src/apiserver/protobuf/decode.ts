// A protobuf message → the JSON that Go's encoding/json would write for the same Go object.
//
// gogo-protobuf writes every non-pointer field, zero or not, and pointer fields only when set;
// Go then marshals the object to JSON by its struct tags. So a zero scalar comes out only when
// its field is a pointer or lacks omitempty, a struct always comes out (omitempty does not
// apply to structs: hence "status":{} and "creationTimestamp":null), and an empty slice or map
// is nil, which omitempty drops and plain tags write as null. Doing the same here makes a
// protobuf body decode to exactly the object a JSON body from the same client would carry.
import { messageTable, kindTable, type FieldRow } from './schema.ts';
import {
  ProtoReader,
  ProtobufDecodeError,
  WireType,
  type WireField,
  doubleOf,
  fixed32Of,
  fixed64Of,
  floatOf,
  int32Of,
  int64Of,
  stringOf,
  uint32Of,
  uint64Of,
  zigzag,
} from './wire.ts';

type Scalar =
  | 'string'
  | 'bytes'
  | 'bool'
  | 'int32'
  | 'int64'
  | 'uint32'
  | 'uint64'
  | 'sint32'
  | 'sint64'
  | 'fixed32'
  | 'fixed64'
  | 'sfixed32'
  | 'sfixed64'
  | 'float'
  | 'double';

const scalars: ReadonlySet<string> = new Set<Scalar>([
  'string', 'bytes', 'bool', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64',
  'fixed32', 'fixed64', 'sfixed32', 'sfixed64', 'float', 'double',
]);

/** Messages whose Go types marshal to JSON by hand-written MarshalJSON methods. */
const specialMessages: ReadonlySet<string> = new Set(['meta.Time', 'meta.MicroTime', 'meta.FieldsV1', 'resource.Quantity', 'intstr.IntOrString']);

type ValueType = { scalar: Scalar } | { message: string };

interface FieldDef {
  no: number;
  json: string;
  value: ValueType;
  mapKey?: Scalar;
  repeated: boolean;
  pointer: boolean;
  omitempty: boolean;
  inline: boolean;
}

interface MessageDef {
  name: string;
  fields: readonly FieldDef[];
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

function valueType(t: string, where: string): ValueType {
  if (scalars.has(t)) return { scalar: t as Scalar };
  if (specialMessages.has(t) || t in messageTable) return { message: t };
  throw new Error(`protobuf schema: ${where} refers to unknown type ${t}`);
}

function compileField(msg: string, [no, json, type, flags = '']: FieldRow): FieldDef {
  const where = `${msg} field ${no}`;
  const def: FieldDef = {
    no,
    json,
    value: { scalar: 'string' },
    repeated: flags.includes('R'),
    pointer: flags.includes('P'),
    omitempty: flags.includes('O'),
    inline: flags.includes('I'),
  };
  const m = /^map<(\w+),([\w.]+)>$/.exec(type);
  if (m) {
    const key = valueType(m[1], where);
    if (!('scalar' in key)) throw new Error(`protobuf schema: ${where} has a message map key`);
    def.mapKey = key.scalar;
    def.value = valueType(m[2], where);
  } else {
    def.value = valueType(type, where);
  }
  return def;
}

const compiled = new Map<string, MessageDef>();

function messageDef(name: string): MessageDef {
  let def = compiled.get(name);
  if (!def) {
    const rows = messageTable[name];
    if (!rows) throw new Error(`protobuf schema: no message ${name}`);
    def = { name, fields: rows.map((r) => compileField(name, r)) };
    compiled.set(name, def);
  }
  return def;
}

/** Every message the tables name, compiled: a check that the tables are consistent. */
export function checkSchema(): number {
  for (const name of Object.keys(messageTable)) messageDef(name);
  for (const msg of Object.values(kindTable)) messageDef(msg);
  return compiled.size;
}

// ---- reading ----

function wrongWire(f: WireField, path: string): ProtobufDecodeError {
  return new ProtobufDecodeError(`proto: wrong wireType = ${f.wire} for field ${path}`);
}

function bytesOf(f: WireField, path: string): Uint8Array {
  if (f.wire !== WireType.Bytes) throw wrongWire(f, path);
  return f.value;
}

/** The bytes of a singular message field: repeated occurrences merge, as proto says. */
function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function scalarOf(t: Scalar, f: WireField, path: string): Json {
  switch (t) {
    case 'string':
      return stringOf(bytesOf(f, path));
    case 'bytes':
      return Buffer.from(bytesOf(f, path)).toString('base64');
    case 'bool':
    case 'int32':
    case 'int64':
    case 'uint32':
    case 'uint64':
    case 'sint32':
    case 'sint64': {
      if (f.wire !== WireType.Varint) throw wrongWire(f, path);
      const v = f.value;
      if (t === 'bool') return v !== 0n;
      if (t === 'int32') return int32Of(v);
      if (t === 'int64') return int64Of(v);
      if (t === 'uint32') return uint32Of(v);
      if (t === 'uint64') return uint64Of(v);
      return zigzag(t === 'sint32' ? BigInt.asUintN(32, v) : v);
    }
    case 'fixed32':
    case 'sfixed32':
    case 'float':
      if (f.wire !== WireType.Fixed32) throw wrongWire(f, path);
      return t === 'float' ? floatOf(f.value) : fixed32Of(f.value, t === 'sfixed32');
    case 'fixed64':
    case 'sfixed64':
    case 'double':
      if (f.wire !== WireType.Fixed64) throw wrongWire(f, path);
      return t === 'double' ? doubleOf(f.value) : fixed64Of(f.value, t === 'sfixed64');
  }
}

function zeroScalar(t: Scalar): Json {
  if (t === 'string' || t === 'bytes') return '';
  if (t === 'bool') return false;
  return 0;
}

function isZero(v: Json): boolean {
  return v === '' || v === 0 || v === false || v === null;
}

/** A packed run of varints or fixed-width values (repeated numeric fields may come packed). */
function unpack(t: Scalar, f: WireField, path: string): WireField[] {
  if (f.wire !== WireType.Bytes || t === 'string' || t === 'bytes') return [f];
  const out: WireField[] = [];
  const b = f.value;
  if (t === 'fixed32' || t === 'sfixed32' || t === 'float' || t === 'fixed64' || t === 'sfixed64' || t === 'double') {
    const size = t === 'fixed64' || t === 'sfixed64' || t === 'double' ? 8 : 4;
    if (b.length % size !== 0) throw new ProtobufDecodeError(`proto: packed field ${path} has a partial element`);
    for (let i = 0; i < b.length; i += size) {
      const value = b.subarray(i, i + size);
      out.push(size === 8 ? { field: f.field, wire: WireType.Fixed64, value } : { field: f.field, wire: WireType.Fixed32, value });
    }
    return out;
  }
  // Varints: read them with a reader over a synthetic "field 1, varint" stream would cost a
  // copy; reading the varints directly is simpler.
  let pos = 0;
  while (pos < b.length) {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (shift >= 70n) throw new ProtobufDecodeError('proto: integer overflow');
      if (pos >= b.length) throw new ProtobufDecodeError('unexpected EOF');
      const c = b[pos++];
      v |= BigInt(c & 0x7f) << shift;
      if ((c & 0x80) === 0) break;
    }
    out.push({ field: f.field, wire: WireType.Varint, value: BigInt.asUintN(64, v) });
  }
  return out;
}

// ---- the hand-marshalled types ----

function rfc3339(seconds: bigint, nanos: number, micro: boolean, path: string): string {
  const ms = Number(seconds) * 1000;
  const d = new Date(ms);
  // RFC 3339 has four-digit years; Kubernetes never writes others.
  if (Number.isNaN(d.getTime()) || d.getUTCFullYear() < 0 || d.getUTCFullYear() > 9999) {
    throw new ProtobufDecodeError(`timestamp ${seconds}s is out of range for field ${path}`);
  }
  const iso = d.toISOString(); // 2024-01-02T03:04:05.000Z
  const base = iso.slice(0, 19);
  if (!micro) return `${base}Z`;
  const us = Math.floor(Math.max(0, Math.min(nanos, 999_999_999)) / 1000);
  return `${base}.${String(us).padStart(6, '0')}Z`;
}

/** meta.Time / meta.MicroTime: {1 seconds, 2 nanos}; empty → the zero time, which is null. */
function decodeTime(b: Uint8Array, micro: boolean, path: string): Json {
  // Time.Unmarshal treats an empty message as the zero time and keeps only whole seconds
  // (nanos are dropped because JSON carries seconds only); MicroTime keeps microseconds.
  if (b.length === 0) return null;
  let seconds = 0n;
  let nanos = 0;
  const r = new ProtoReader(b);
  for (let f = r.next(); f; f = r.next()) {
    if (f.field === 1) {
      if (f.wire !== WireType.Varint) throw wrongWire(f, `${path}.seconds`);
      seconds = BigInt.asIntN(64, f.value);
    } else if (f.field === 2) {
      if (f.wire !== WireType.Varint) throw wrongWire(f, `${path}.nanos`);
      nanos = int32Of(f.value);
    }
  }
  return rfc3339(seconds, nanos, micro, path);
}

// resource.ParseQuantity's grammar. The value is kept as written, not canonicalized as Go's
// Quantity would ("0.5" stays "0.5", not "500m"); clients send canonical forms anyway.
const quantityPattern = /^[+-]?[0-9.]+[eEinumkKMGTP]*[-+]?[0-9]*$/;

function decodeQuantity(b: Uint8Array, path: string): Json {
  let s: string | undefined;
  const r = new ProtoReader(b);
  for (let f = r.next(); f; f = r.next()) if (f.field === 1) s = stringOf(bytesOf(f, `${path}.string`));
  if (s === undefined) return '0';
  if (!quantityPattern.test(s)) {
    throw new ProtobufDecodeError(`quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$' (field ${path}: ${JSON.stringify(s)})`);
  }
  return s;
}

function decodeIntOrString(b: Uint8Array, path: string): Json {
  let type = 0n;
  let intVal = 0;
  let strVal = '';
  const r = new ProtoReader(b);
  for (let f = r.next(); f; f = r.next()) {
    if (f.field === 1) {
      if (f.wire !== WireType.Varint) throw wrongWire(f, `${path}.type`);
      type = BigInt.asIntN(64, f.value);
    } else if (f.field === 2) {
      if (f.wire !== WireType.Varint) throw wrongWire(f, `${path}.intVal`);
      intVal = int32Of(f.value);
    } else if (f.field === 3) {
      strVal = stringOf(bytesOf(f, `${path}.strVal`));
    }
  }
  if (type === 0n) return intVal;
  if (type === 1n) return strVal;
  throw new ProtobufDecodeError(`impossible IntOrString.Type ${type} for field ${path}`);
}

function decodeFieldsV1(b: Uint8Array, path: string): Json {
  let raw: Uint8Array | undefined;
  const r = new ProtoReader(b);
  for (let f = r.next(); f; f = r.next()) if (f.field === 1) raw = bytesOf(f, `${path}.Raw`);
  if (raw === undefined) return null;
  try {
    return JSON.parse(stringOf(raw)) as Json;
  } catch (e) {
    throw new ProtobufDecodeError(`field ${path} is not JSON: ${(e as Error).message}`);
  }
}

// ---- messages ----

function decodeValue(t: ValueType, b: Uint8Array, path: string): Json {
  if ('scalar' in t) throw new Error('decodeValue takes messages');
  switch (t.message) {
    case 'meta.Time':
      return decodeTime(b, false, path);
    case 'meta.MicroTime':
      return decodeTime(b, true, path);
    case 'resource.Quantity':
      return decodeQuantity(b, path);
    case 'intstr.IntOrString':
      return decodeIntOrString(b, path);
    case 'meta.FieldsV1':
      return decodeFieldsV1(b, path);
    default:
      return decodeMessage(t.message, b, path);
  }
}

function join(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

function mapEntry(def: FieldDef, b: Uint8Array, path: string): [string, Json] {
  let key: Json = zeroScalar(def.mapKey!);
  let value: Json | undefined;
  const valueParts: Uint8Array[] = [];
  const r = new ProtoReader(b);
  for (let f = r.next(); f; f = r.next()) {
    if (f.field === 1) key = scalarOf(def.mapKey!, f, `${path} key`);
    else if (f.field === 2) {
      if ('scalar' in def.value) value = scalarOf(def.value.scalar, f, `${path} value`);
      else valueParts.push(bytesOf(f, `${path} value`));
    }
  }
  const k = typeof key === 'string' ? key : JSON.stringify(key);
  if ('scalar' in def.value) return [k, value ?? zeroScalar(def.value.scalar)];
  return [k, decodeValue(def.value, concat(valueParts), `${path}[${JSON.stringify(k)}]`)];
}

/** The JSON of one field, or undefined when Go's encoding/json would leave it out. */
function fieldJson(def: FieldDef, wire: readonly WireField[], path: string): Json | undefined {
  const absent = (): Json | undefined => (def.omitempty ? undefined : null);
  if (def.mapKey) {
    if (wire.length === 0) return absent();
    const entries = new Map<string, Json>();
    for (const f of wire) {
      const [k, v] = mapEntry(def, bytesOf(f, path), path);
      entries.set(k, v); // a repeated key: the last one wins
    }
    // encoding/json writes map keys sorted.
    const obj: JsonObject = {};
    // defineProperty, not assignment: a key such as "__proto__" must stay a plain key.
    for (const k of [...entries.keys()].sort()) {
      Object.defineProperty(obj, k, { value: entries.get(k)!, enumerable: true, writable: true, configurable: true });
    }
    return obj;
  }
  if (def.repeated) {
    const items: Json[] = [];
    for (const f of wire) {
      const at = `${path}[${items.length}]`;
      if ('scalar' in def.value) {
        for (const one of unpack(def.value.scalar, f, path)) items.push(scalarOf(def.value.scalar, one, at));
      } else {
        items.push(decodeValue(def.value, bytesOf(f, at), at));
      }
    }
    return items.length === 0 ? absent() : items;
  }
  if ('message' in def.value) {
    // A nil pointer is left out; a struct is always written, from its zero value if absent.
    if (wire.length === 0 && def.pointer) return absent();
    return decodeValue(def.value, concat(wire.map((f) => bytesOf(f, path))), path);
  }
  const t = def.value.scalar;
  if (wire.length === 0) {
    if (def.pointer) return absent();
    // A nil []byte marshals as null; other zero scalars as their zero.
    if (t === 'bytes') return absent();
    return def.omitempty ? undefined : zeroScalar(t);
  }
  const v = scalarOf(t, wire[wire.length - 1], path);
  if (!def.pointer && def.omitempty && isZero(v)) return undefined;
  return v;
}

/** Decodes a message of the named type (e.g. "core.Service") into Go's JSON for it. */
export function decodeMessage(name: string, bytes: Uint8Array, path = ''): JsonObject {
  const def = messageDef(name);
  const byField = new Map<number, WireField[]>();
  const r = new ProtoReader(bytes);
  for (let f = r.next(); f; f = r.next()) {
    // Fields this version does not know are skipped, as gogo's generated Unmarshal does.
    const list = byField.get(f.field);
    if (list) list.push(f);
    else byField.set(f.field, [f]);
  }
  const out: JsonObject = {};
  for (const field of def.fields) {
    const wire = byField.get(field.no) ?? [];
    if (field.inline) {
      const inner = fieldJson(field, wire, path);
      if (inner && typeof inner === 'object' && !Array.isArray(inner)) Object.assign(out, inner);
      continue;
    }
    const v = fieldJson(field, wire, join(path, field.json));
    if (v !== undefined) out[field.json] = v;
  }
  return out;
}
