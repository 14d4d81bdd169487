// Request bodies: read with kube-apiserver's 3 MiB limit (413 beyond it) and decode JSON,
// YAML or protobuf into an object, with kube's messages for what cannot be decoded.
import type { IncomingMessage } from 'node:http';
import { badRequest, isPlainObject, requestEntityTooLarge, type ApiError, type AnyObject, type ResourceInfo } from '../../api/index.ts';
import { GoJsonSyntaxError, parseGoJson } from '../patch/index.ts';
import type { BodyType } from './negotiation.ts';

export const maxRequestBodyBytes = 3 * 1024 * 1024;

export function readBody(req: IncomingMessage, limit = maxRequestBodyBytes): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > limit) {
      // Drain without buffering so the connection can answer.
      req.resume();
      reject(requestEntityTooLarge(`limit is ${limit}`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        reject(requestEntityTooLarge(`limit is ${limit}`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks));
    });
    req.on('error', (e) => {
      if (!failed) reject(e);
    });
  });
}

/** Parses JSON the way a client error should be reported (kube: "couldn't get version/kind; json parse error: ..."). */
export function parseJson(buf: Buffer): unknown {
  const text = buf.toString('utf8');
  const deep = tooDeep(text);
  if (deep) throw badRequest(`couldn't get version/kind; json parse error: ${nestingError(deep)}`);
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest(`couldn't get version/kind; json parse error: ${goJsonError(text)}`);
  }
}

/** encoding/json's words for what is wrong with `text` (JSON.parse already failed on it). */
function goJsonError(text: string): string {
  try {
    parseGoJson(text);
  } catch (e) {
    if (e instanceof GoJsonSyntaxError) return e.message;
  }
  return 'unexpected end of JSON input';
}

/** The yaml package, loaded on first use (~0.3 s; most clients send JSON). */
export async function yamlModule(): Promise<typeof import('yaml')> {
  return import('yaml');
}

export class BodyDecodeError extends Error {}

/**
 * go-yaml's words for the common syntax errors (sigs.k8s.io/yaml wraps them as "error converting
 * YAML to JSON: yaml: line N: ..."). go-yaml numbers lines from 1 for scanner errors and leaves
 * the number out on the first line; other problems keep the yaml package's own description.
 */
function goYamlError(text: string, e: { code?: string; message: string; pos?: [number, number] }): string {
  const offset = e.pos?.[0] ?? 0;
  const lineOf = (at: number) => text.slice(0, Math.max(0, at)).split('\n').length;
  const where = (line: number) => (line > 1 ? `line ${line}: ` : '');
  switch (e.code) {
    case 'BLOCK_AS_IMPLICIT_KEY': {
      // go-yaml stops at the ':' that may not start a mapping value here.
      const re = /:(\s|$)/g;
      re.lastIndex = offset;
      const m = re.exec(text);
      return `${where(lineOf(m ? m.index : offset))}mapping values are not allowed in this context`;
    }
    case 'TAB_AS_INDENT':
      return `${where(lineOf(offset))}found character that cannot start any token`;
    case 'MISSING_CHAR':
      if (/quote/i.test(e.message)) return `${where(lineOf(text.length))}found unexpected end of stream`;
      break;
    default:
      break;
  }
  const first = e.message.split('\n')[0] ?? '';
  return `${where(lineOf(offset))}${first.replace(/ at line \d+, column \d+:?$/, '')}`;
}

export async function parseYamlBody(buf: Buffer): Promise<unknown> {
  const { parse } = await yamlModule();
  const text = buf.toString('utf8');
  try {
    return parse(text, { maxAliasCount: 100 });
  } catch (e) {
    throw new BodyDecodeError(`error converting YAML to JSON: yaml: ${goYamlError(text, e as { code?: string; message: string; pos?: [number, number] })}`);
  }
}

export type ProtobufDecoder = (body: Uint8Array, r: ResourceInfo) => AnyObject;

/** kube's summarizeData: a JSON-looking body as text, anything else in hex, at most 30 bytes. */
function summarize(buf: Buffer): string {
  if (buf.length === 0) return '<empty>';
  const head = buf.subarray(0, 30);
  const shown = buf[0] === 0x7b ? head.toString('latin1') : head.toString('hex');
  return buf.length > 30 ? `${shown} ...` : shown;
}

/** kube's transformDecodeError for a body whose kind could not even be read. */
function unrecognized(r: ResourceInfo, message: string, buf: Buffer): ApiError {
  return badRequest(`the object provided is unrecognized (must be of type ${r.kind}): ${message} (${summarize(buf)})`);
}

const typeMetaGoType = 'struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }';

/**
 * How deep a request body may nest. Go's decoder stops at 10000 levels; svcnet stops at 1000
 * (no Kubernetes object comes near it) so that nothing downstream recurses out of stack.
 */
export const maxNestingDepth = 1000;

/** The first bracket past maxNestingDepth in JSON (or YAML flow) text, or undefined. */
export function tooDeep(text: string): string | undefined {
  // Deeper than the limit takes more brackets than a short text has: most bodies skip the scan.
  if (text.length <= maxNestingDepth) return undefined;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxNestingDepth) return text[i];
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return undefined;
}

/** encoding/json's words for nesting that goes too deep. */
export function nestingError(bracket: string): string {
  return `invalid character '${bracket}' exceeded max nesting depth`;
}

/** Decodes an object body; the result is always a plain object (else 400, worded as kube-apiserver). */
export async function decodeObjectBody(buf: Buffer, type: BodyType, protobuf: ProtobufDecoder | undefined, r: ResourceInfo): Promise<AnyObject> {
  let v: unknown;
  const text = type === 'json' || type === 'yaml' ? buf.toString('utf8') : '';
  if (type === 'json' || type === 'yaml') {
    const deep = tooDeep(text);
    if (deep) throw unrecognized(r, `couldn't get version/kind; json parse error: ${nestingError(deep)}`, buf);
  }
  if (type === 'json') {
    try {
      v = JSON.parse(text);
    } catch {
      throw unrecognized(r, `couldn't get version/kind; json parse error: ${goJsonError(text)}`, buf);
    }
  } else if (type === 'yaml') {
    try {
      v = await parseYamlBody(buf);
    } catch (e) {
      if (e instanceof BodyDecodeError) throw unrecognized(r, e.message, buf);
      throw e;
    }
  } else {
    if (!protobuf) throw badRequest('protobuf bodies are not supported');
    v = protobuf(buf, r);
  }
  // `null` (or an empty YAML document) decodes into an empty object, kind taken from the URL.
  if (v === null || v === undefined) v = {};
  if (!isPlainObject(v)) {
    throw unrecognized(r, `couldn't get version/kind; json parse error: json: cannot unmarshal ${jsonTypeName(v)} into Go value of type ${typeMetaGoType}`, buf);
  }
  return v;
}

export function jsonTypeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'bool';
  return 'object';
}
