// Kubernetes' protobuf envelope (k8s.io/apimachinery/pkg/runtime/serializer/protobuf): the
// four bytes "k8s\0", then a runtime.Unknown {1 typeMeta {1 apiVersion, 2 kind}, 2 raw,
// 3 contentEncoding, 4 contentType} whose raw bytes are the object's own message.
import { ApiError, badRequest, parseApiVersion, unsupportedMediaType, type GroupVersionKind, type KubeObject } from '../../api/index.ts';
import { decodeMessage } from './decode.ts';
import { kindTable } from './schema.ts';
import { ProtoReader, ProtobufDecodeError, WireType, stringOf, type WireField } from './wire.ts';

export const protobufMediaType = 'application/vnd.kubernetes.protobuf';

/** What a resource without protobuf support accepts (kube-apiserver's list for custom resources). */
export const jsonOnlyMediaTypes: readonly string[] = ['application/json', 'application/yaml'];

const magic = Uint8Array.of(0x6b, 0x38, 0x73, 0x00);

/** True when svcnet can decode protobuf bodies of this group, version and kind. */
export function supportsProtobuf(gvk: GroupVersionKind): boolean {
  const apiVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
  return `${apiVersion}/${gvk.kind}` in kindTable;
}

interface Unknown {
  apiVersion: string;
  kind: string;
  raw: Uint8Array;
  contentEncoding: string;
  contentType: string;
}

function text(f: WireField, name: string): string {
  if (f.wire !== WireType.Bytes) throw new ProtobufDecodeError(`proto: wrong wireType = ${f.wire} for field ${name}`);
  return stringOf(f.value);
}

function readUnknown(b: Uint8Array): Unknown {
  const u: Unknown = { apiVersion: '', kind: '', raw: new Uint8Array(), contentEncoding: '', contentType: '' };
  const r = new ProtoReader(b);
  for (let f = r.next(); f; f = r.next()) {
    if (f.field === 1) {
      if (f.wire !== WireType.Bytes) throw new ProtobufDecodeError(`proto: wrong wireType = ${f.wire} for field TypeMeta`);
      const t = new ProtoReader(f.value);
      for (let g = t.next(); g; g = t.next()) {
        if (g.field === 1) u.apiVersion = text(g, 'APIVersion');
        else if (g.field === 2) u.kind = text(g, 'Kind');
      }
    } else if (f.field === 2) {
      if (f.wire !== WireType.Bytes) throw new ProtobufDecodeError(`proto: wrong wireType = ${f.wire} for field Raw`);
      u.raw = f.value;
    } else if (f.field === 3) u.contentEncoding = text(f, 'ContentEncoding');
    else if (f.field === 4) u.contentType = text(f, 'ContentType');
  }
  return u;
}

/** apiserver's summarizeData: the start of the body, as text if JSON-looking, else hex. */
function summarize(data: Uint8Array, max = 30): string {
  if (data.length === 0) return '<empty>';
  const part = data.subarray(0, Math.min(max, data.length));
  const more = data.length > max ? ' ...' : '';
  if (data[0] === 0x7b) return `${Buffer.from(part).toString('utf8')}${more}`;
  return `${Buffer.from(part).toString('hex')}${more}`;
}

function goTypeMeta(u: Pick<Unknown, 'apiVersion' | 'kind'>): string {
  return `runtime.TypeMeta{APIVersion:${JSON.stringify(u.apiVersion)}, Kind:${JSON.stringify(u.kind)}}`;
}

/**
 * Decodes a `application/vnd.kubernetes.protobuf` request body into the JSON object that the
 * same client would have sent as JSON (apiVersion and kind first, Go's omitempty rules).
 *
 * `into` is the kind the endpoint serves (as kube-apiserver's decoder gets it): it fills an
 * empty apiVersion or kind in the envelope and words the errors. Throws ApiError: 400
 * BadRequest for a malformed body, 415 UnsupportedMediaType for a kind (or, with `into`, a
 * resource) that has no protobuf form here.
 */
export function decodeProtobufObject(body: Uint8Array, into?: GroupVersionKind): KubeObject {
  if (into && !supportsProtobuf(into)) throw unsupportedMediaType(jsonOnlyMediaTypes);
  const want = into?.kind;
  let actual: { apiVersion: string; kind: string } | undefined;
  try {
    if (body.length === 0) throw new ProtobufDecodeError('empty data');
    if (body.length < magic.length || !magic.every((b, i) => body[i] === b)) {
      throw new ProtobufDecodeError(`provided data does not appear to be a protobuf message, expected prefix [${magic.join(' ')}]`);
    }
    if (body.length === magic.length) throw new ProtobufDecodeError('empty body');
    const u = readUnknown(body.subarray(magic.length));
    // copyKindDefaults: the endpoint's kind and version fill what the envelope leaves out.
    let { apiVersion, kind } = u;
    if (into) {
      if (!kind) kind = into.kind;
      if (!parseApiVersion(apiVersion).version && into.version) apiVersion = into.group ? `${into.group}/${into.version}` : into.version;
    }
    if (!kind) throw new ProtobufDecodeError(`Object 'Kind' is missing in '${goTypeMeta(u)}'`);
    actual = { apiVersion, kind };
    if (!parseApiVersion(apiVersion).version) throw new ProtobufDecodeError(`Object 'apiVersion' is missing in '${goTypeMeta(u)}'`);
    if (u.contentEncoding !== '') throw new ProtobufDecodeError(`unsupported content encoding ${JSON.stringify(u.contentEncoding)}`);
    if (u.contentType !== '' && u.contentType !== protobufMediaType) {
      throw new ProtobufDecodeError(`unsupported content type ${JSON.stringify(u.contentType)} inside the protobuf envelope`);
    }
    const message = kindTable[`${apiVersion}/${kind}`];
    if (!message) {
      if (!into) throw unsupportedMediaType(jsonOnlyMediaTypes);
      const { group, version } = parseApiVersion(apiVersion);
      const gv = group ? `${group}/${version}` : version;
      throw new ProtobufDecodeError(`no kind ${JSON.stringify(kind)} is registered for version ${JSON.stringify(gv)}`);
    }
    return { kind, apiVersion, ...decodeMessage(message, u.raw) };
  } catch (e) {
    if (e instanceof ApiError) throw e;
    if (!(e instanceof ProtobufDecodeError)) throw e;
    // apiserver's transformDecodeError wording.
    if (actual?.kind) {
      const { version } = parseApiVersion(actual.apiVersion);
      throw badRequest(`${actual.kind} in version ${JSON.stringify(version)} cannot be handled as a ${want ?? actual.kind}: ${e.message}`);
    }
    const mustBe = want ? ` (must be of type ${want})` : '';
    throw badRequest(`the object provided is unrecognized${mustBe}: ${e.message} (${summarize(body)})`);
  }
}
