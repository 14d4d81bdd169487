// Request bodies: read with kube-apiserver's 3 MiB limit (413 beyond it) and decode JSON,
// YAML or protobuf into an object, with kube's messages for what cannot be decoded.
import type { IncomingMessage } from 'node:http';
import { badRequest, isPlainObject, requestEntityTooLarge, type AnyObject, type ResourceInfo } from '../../api/index.ts';
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
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (e) {
    throw badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`);
  }
}

/** The yaml package, loaded on first use (~0.3 s; most clients send JSON). */
export async function yamlModule(): Promise<typeof import('yaml')> {
  return import('yaml');
}

export async function parseYamlBody(buf: Buffer): Promise<unknown> {
  const { parse } = await yamlModule();
  try {
    return parse(buf.toString('utf8'), { maxAliasCount: 100 });
  } catch (e) {
    throw badRequest(`error converting YAML to JSON: ${(e as Error).message.split('\n')[0] ?? ''}`);
  }
}

export type ProtobufDecoder = (body: Uint8Array, r: ResourceInfo) => AnyObject;

/** Decodes an object body; the result is always a plain object (else 400). */
export async function decodeObjectBody(buf: Buffer, type: BodyType, protobuf: ProtobufDecoder | undefined, r: ResourceInfo): Promise<AnyObject> {
  let v: unknown;
  if (type === 'json') v = parseJson(buf);
  else if (type === 'yaml') v = await parseYamlBody(buf);
  else {
    if (!protobuf) throw badRequest('protobuf bodies are not supported');
    v = protobuf(buf, r);
  }
  if (!isPlainObject(v)) {
    throw badRequest(`couldn't get version/kind; json parse error: json: cannot unmarshal ${jsonTypeName(v)} into Go value of type struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }`);
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
