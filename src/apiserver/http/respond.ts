// Writing responses: JSON bodies, Kubernetes Status errors (never a stack trace), and the
// mapping of unexpected failures to 500 InternalError.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, internalError, serviceUnavailable } from '../../api/index.ts';
import { isStoreError } from '../../store/index.ts';
import { logger } from '../../util/index.ts';

const log = logger('apiserver');

export function writeJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  writeRaw(res, code, typeof body === 'string' ? body : JSON.stringify(body), 'application/json', headers);
}

export function writeRaw(res: ServerResponse, code: number, body: string | Buffer, contentType: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(code, { 'Content-Type': contentType, 'Content-Length': String(buf.length), 'Cache-Control': 'no-cache, private', ...headers });
  res.end(buf);
}

/** Turns any thrown value into the Status kube-apiserver would send. */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (isStoreError(e, 'Unavailable') || isStoreError(e, 'Closed')) return serviceUnavailable(`storage is unavailable: ${e.message}`);
  return internalError(e instanceof Error ? e.message : String(e));
}

export function writeError(req: IncomingMessage, res: ServerResponse, e: unknown): void {
  const err = toApiError(e);
  if (err.code >= 500) log.error({ err: e, method: req.method, url: req.url }, 'request failed');
  else log.debug({ method: req.method, url: req.url, code: err.code, reason: err.reason }, err.message);
  writeJson(res, err.code, err.status);
}
