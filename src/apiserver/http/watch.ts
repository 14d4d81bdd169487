// Watch responses: a chunked stream of newline-delimited JSON events
// ({"type":"ADDED","object":{...}}), flushed per event, ended by timeoutSeconds, the client
// going away, or an error event carrying a Status (410 Expired among them).
import { randomInt } from 'node:crypto';
import { resourceApiVersion, type AnyObject } from '../../api/index.ts';
import type { WatchRequest } from '../registry/index.ts';
import type { AcceptInfo } from './negotiation.ts';
import type { RequestContext } from './resources.ts';
import { toApiError } from './respond.ts';

export interface WatchParams extends WatchRequest {
  timeoutSeconds?: number;
}

// kube-apiserver's --min-request-timeout default; a watch without timeoutSeconds lasts 1-2x this.
const minRequestTimeoutSeconds = 1800;

export async function startWatchStream(ctx: RequestContext, accept: AcceptInfo, params: WatchParams): Promise<void> {
  const { res, storage } = ctx;
  const r = storage.resource;
  let headerSent = false;
  let firstTable = true;
  const writeLine = (line: string | Buffer) => {
    if (!headerSent) {
      headerSent = true;
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    }
    res.write(line);
  };
  const encodeObject = (obj: AnyObject, json: string | undefined): string => {
    if (accept.form === 'table') {
      const t = ctx.deps.table(r, [obj], { includeObject: accept.includeObject, noHeaders: !firstTable, tableVersion: accept.metaVersion });
      firstTable = false;
      return JSON.stringify(t);
    }
    if (accept.form === 'partial') return JSON.stringify({ kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${accept.metaVersion}`, metadata: obj.metadata });
    return json ?? JSON.stringify(obj);
  };
  let stop: (() => void) | undefined;
  const timer: { t?: NodeJS.Timeout } = {};
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    if (timer.t) clearTimeout(timer.t);
    stop?.();
    if (!headerSent) {
      headerSent = true;
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    }
    res.end();
  };
  // res 'close' fires when the client goes away (req 'close' fires too early in Node).
  res.on('close', finish);
  try {
    stop = await storage.watch(ctx.info.namespace, params, {
      event: (e) => {
        // The plain JSON line of a cached object is the same for every watcher: encode it once.
        if (e.encoded && e.json !== undefined && accept.form !== 'table' && accept.form !== 'partial') {
          let line = e.encoded[e.type];
          if (!line) {
            line = Buffer.from(`{"type":"${e.type}","object":${e.json}}\n`);
            e.encoded[e.type] = line;
          }
          writeLine(line);
          return;
        }
        writeLine(`{"type":"${e.type}","object":${encodeObject(e.obj, e.json)}}\n`);
      },
      bookmark: (rv, initialEventsEnd) => {
        const meta: Record<string, unknown> = { resourceVersion: String(rv) };
        if (initialEventsEnd) meta.annotations = { 'k8s.io/initial-events-end': 'true' };
        writeLine(`${JSON.stringify({ type: 'BOOKMARK', object: { kind: r.kind, apiVersion: resourceApiVersion(r), metadata: meta } })}\n`);
      },
      end: (err) => {
        if (err) writeLine(`${JSON.stringify({ type: 'ERROR', object: err.status })}\n`);
        finish();
      },
    });
  } catch (e) {
    // kube's watch cache reports 410 Expired and a too large RV (504 Timeout) as an ERROR event
    // in a 200 stream; anything else (a bad selector or resourceVersion: 400) is the request's
    // answer, as kube's ListResource gives it before it watches.
    const err = toApiError(e);
    if (err.code !== 410 && err.reason !== 'Timeout') {
      // Nothing of the stream was written: the caller answers with the Status, and no stream
      // ending may write headers after it.
      finished = true;
      res.off('close', finish);
      throw e;
    }
    writeLine(`${JSON.stringify({ type: 'ERROR', object: err.status })}\n`);
    finish();
    return;
  }
  if (finished) {
    stop();
    return;
  }
  // Headers go out at once so the client knows the watch is established.
  if (!headerSent) {
    headerSent = true;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
  }
  const seconds = params.timeoutSeconds && params.timeoutSeconds > 0 ? params.timeoutSeconds : minRequestTimeoutSeconds * (1 + randomInt(1000) / 1000);
  timer.t = setTimeout(finish, seconds * 1000);
  timer.t.unref();
}
