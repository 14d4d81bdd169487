// Content negotiation as kube-apiserver does it: which response form the client accepts
// (plain JSON, a Table, PartialObjectMetadata) and which request body types a verb takes.
import { notAcceptable, unsupportedMediaType } from '../../api/index.ts';

export type ResponseForm = 'object' | 'table' | 'partial';

export interface AcceptInfo {
  form: ResponseForm;
  /** Table: include rows[].object as None, Metadata (default) or Object; anything else is a 400 from the printer. */
  includeObject: string;
  /** The meta.k8s.io version the client asked the Table or PartialObjectMetadata in. */
  metaVersion: 'v1' | 'v1beta1';
  yaml: boolean;
}

interface MediaRange {
  type: string;
  params: Map<string, string>;
}

function parseAccept(accept: string): MediaRange[] {
  return accept
    .split(',')
    .map((part) => {
      const [t, ...ps] = part.split(';').map((s) => s.trim());
      const params = new Map<string, string>();
      for (const p of ps) {
        const i = p.indexOf('=');
        if (i > 0) params.set(p.slice(0, i).trim(), p.slice(i + 1).trim());
      }
      return { type: (t ?? '').toLowerCase(), params };
    })
    .filter((m) => m.type !== '');
}

const jsonish = new Set(['application/json', '*/*', 'application/*', 'application/yaml']);

/** Picks the response form from Accept; throws 406 when nothing acceptable is offered. */
export function negotiate(acceptHeader: string | undefined, includeObjectParam: string | null): AcceptInfo {
  const includeObject = includeObjectParam === null || includeObjectParam === '' ? 'Metadata' : includeObjectParam;
  if (!acceptHeader) return { form: 'object', includeObject, metaVersion: 'v1', yaml: false };
  const ranges = parseAccept(acceptHeader);
  for (const r of ranges) {
    const as = r.params.get('as');
    const g = r.params.get('g');
    const v = r.params.get('v');
    // kube-apiserver serves these conversions in meta.k8s.io v1 and v1beta1 only.
    const metaVersion = v === 'v1beta1' ? 'v1beta1' : 'v1';
    const knownVersion = v === 'v1' || v === 'v1beta1';
    if (r.type === 'application/json' && as === 'Table' && g === 'meta.k8s.io' && knownVersion) return { form: 'table', includeObject, metaVersion, yaml: false };
    if (r.type === 'application/json' && (as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList') && g === 'meta.k8s.io' && knownVersion) {
      return { form: 'partial', includeObject, metaVersion, yaml: false };
    }
    if (as) continue;
    if (jsonish.has(r.type)) return { form: 'object', includeObject, metaVersion: 'v1', yaml: r.type === 'application/yaml' };
  }
  // Protobuf-only clients still get JSON when they also list JSON; otherwise 406.
  if (ranges.some((r) => r.type === 'application/vnd.kubernetes.protobuf')) {
    throw notAcceptable(['application/json', 'application/yaml']);
  }
  throw notAcceptable(['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf']);
}

export type BodyType = 'json' | 'yaml' | 'protobuf';
export type PatchContentType = 'json' | 'merge' | 'strategic' | 'apply';

const bodyTypes: Record<string, BodyType> = {
  'application/json': 'json',
  'application/yaml': 'yaml',
  'application/vnd.kubernetes.protobuf': 'protobuf',
};

const patchTypes: Record<string, PatchContentType> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
  'application/apply-patch+cbor': 'apply',
};

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

export function bodyTypeOf(contentType: string | undefined): BodyType {
  const t = bodyTypes[mediaType(contentType) || 'application/json'];
  if (!t) throw unsupportedMediaType(Object.keys(bodyTypes));
  return t;
}

export function patchTypeOf(contentType: string | undefined, strategicAllowed: boolean): PatchContentType {
  const t = patchTypes[mediaType(contentType)];
  const accepted = Object.keys(patchTypes).filter((k) => k !== 'application/apply-patch+cbor' && (strategicAllowed || patchTypes[k] !== 'strategic'));
  if (!t || (t === 'strategic' && !strategicAllowed)) throw unsupportedMediaType(accepted);
  return t;
}
