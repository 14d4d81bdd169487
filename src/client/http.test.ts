// Unit tests of the HTTP client's wire handling against a throw-away server on 127.0.0.1 that
// records requests and answers as a test scripts it (not svcnet's API server).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import forge from 'node-forge';
import type { Service } from 'kubernetes-types/core/v1.js';
import { Deployments, Nodes, Pods, Services, isAlreadyExists, isApiError, isConflict, isExpired, isNotFound, type ApiError, type KubeObject } from '../api/index.ts';
import { HttpClient, LineSplitter, decodeErrorResponse, defaultUserAgent, queryString } from './http.ts';
import type { WatchEvent } from './types.ts';

interface Seen {
  method: string;
  url: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: string;
}

type Handler = (req: Seen, res: http.ServerResponse) => void | Promise<void>;

interface FakeServer {
  url: string;
  seen: Seen[];
  connections: number;
  handle(h: Handler): void;
}

const statusNotFound = {
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message: 'services "foo" not found',
  reason: 'NotFound',
  details: { name: 'foo', kind: 'services' },
  code: 404,
};

function json(res: http.ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Echoes the request back: {method, path, query, contentType, body}. */
const echo: Handler = (req, res) => {
  json(res, 200, {
    kind: 'Echo',
    metadata: { name: 'echo' },
    method: req.method,
    path: req.path,
    query: Object.fromEntries(req.query),
    contentType: req.headers['content-type'] ?? null,
    body: req.body ? (JSON.parse(req.body) as unknown) : null,
  });
};

async function listen(t: TestContext, server: http.Server | https.Server, scheme: 'http' | 'https'): Promise<FakeServer> {
  let handler: Handler = echo;
  const fake: FakeServer = {
    url: '',
    seen: [],
    connections: 0,
    handle: (h) => {
      handler = h;
    },
  };
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    fake.connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://x');
      const seen: Seen = { method: req.method ?? '', url: req.url ?? '', path: u.pathname, query: u.searchParams, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      fake.seen.push(seen);
      void Promise.resolve(handler(seen, res)).catch((e: unknown) => {
        res.destroy(e as Error);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return fake;
}

async function fakeServer(t: TestContext): Promise<{ server: FakeServer; client: HttpClient }> {
  const server = await listen(t, http.createServer(), 'http');
  const client = new HttpClient({ server: server.url, token: 'secret-token' });
  t.after(() => client.close());
  return { server, client };
}

type Echo = KubeObject & { method: string; path: string; query: Record<string, string>; contentType: string | null; body: unknown };

// ---- URLs, query strings, bodies ----

test('paths address core and group resources, namespaced, cluster-scoped and across namespaces', async (t) => {
  const { client } = await fakeServer(t);
  const paths = [
    (await client.get<Echo>(Services, 'default', 'web')).path,
    (await client.get<Echo>(Nodes, undefined, 'n1')).path,
    (await client.get<Echo>(Deployments, 'prod', 'api')).path,
    (await client.list(Services, undefined)) as unknown as Echo,
    (await client.list(Deployments, 'prod')) as unknown as Echo,
  ].map((p) => (typeof p === 'string' ? p : p.path));
  assert.deepEqual(paths, [
    '/api/v1/namespaces/default/services/web',
    '/api/v1/nodes/n1',
    '/apis/apps/v1/namespaces/prod/deployments/api',
    '/api/v1/services',
    '/apis/apps/v1/namespaces/prod/deployments',
  ]);
  await assert.rejects(client.get(Services, undefined, 'web'), /namespaced/);
});

test('list options travel as query parameters', async (t) => {
  const { server, client } = await fakeServer(t);
  await client.list(Services, 'default', { labelSelector: 'app=web,tier in (a,b)', fieldSelector: 'metadata.name=foo', limit: 500, continue: 'abc', resourceVersion: '0' });
  const q = server.seen[0].query;
  assert.equal(q.get('labelSelector'), 'app=web,tier in (a,b)');
  assert.equal(q.get('fieldSelector'), 'metadata.name=foo');
  assert.equal(q.get('limit'), '500');
  assert.equal(q.get('continue'), 'abc');
  assert.equal(q.get('resourceVersion'), '0');
  assert.match(server.seen[0].url, /labelSelector=app%3Dweb%2Ctier/);
  assert.equal(queryString({ a: undefined, b: ['x', 'y'], c: true }), '?b=x&b=y&c=true');
});

test('writes send JSON with dryRun=All, fieldManager and fieldValidation; update addresses the object and its subresource', async (t) => {
  const { server, client } = await fakeServer(t);
  const s: Service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default', resourceVersion: '7' }, spec: { ports: [{ port: 80 }] } };
  const created = await client.create<Echo>(Services, undefined, s as Echo, { dryRun: true, fieldManager: 'svcnet-test', fieldValidation: 'Strict' });
  assert.equal(created.method, 'POST');
  assert.equal(created.path, '/api/v1/namespaces/default/services');
  assert.deepEqual(created.query, { dryRun: 'All', fieldManager: 'svcnet-test', fieldValidation: 'Strict' });
  assert.equal(created.contentType, 'application/json');
  assert.deepEqual(created.body, s);

  const updated = await client.update<Echo>(Services, s as Echo, {}, 'status');
  assert.equal(updated.method, 'PUT');
  assert.equal(updated.path, '/api/v1/namespaces/default/services/web/status');
  assert.deepEqual(updated.query, {});

  const bound = await client.createSubresource<Echo>(Pods, 'default', 'p', 'binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'p' } });
  assert.equal(bound.path, '/api/v1/namespaces/default/pods/p/binding');
  assert.equal(server.seen[0].headers['user-agent'], defaultUserAgent);
  assert.match(defaultUserAgent, /^svcnet\/v\d+\.\d+\.\d+ \(\w+\/\w+\)$/);
  assert.equal(server.seen[0].headers.authorization, 'Bearer secret-token');
  await assert.rejects(client.create(Services, undefined, { metadata: { name: 'x' } }), /namespaced/);
});

test('each patch type has its content type; apply needs a fieldManager and sends force', async (t) => {
  const { client } = await fakeServer(t);
  const types = {
    json: 'application/json-patch+json',
    merge: 'application/merge-patch+json',
    strategic: 'application/strategic-merge-patch+json',
    apply: 'application/apply-patch+yaml',
  } as const;
  for (const [type, ct] of Object.entries(types) as [keyof typeof types, string][]) {
    const patch = type === 'json' ? [{ op: 'replace', path: '/spec/replicas', value: 3 }] : { spec: { replicas: 3 } };
    const e = await client.patch<Echo>(Deployments, 'default', 'web', type, patch, { fieldManager: 'mgr', force: type === 'apply' ? true : undefined }, 'scale');
    assert.equal(e.method, 'PATCH');
    assert.equal(e.contentType, ct, type);
    assert.equal(e.path, '/apis/apps/v1/namespaces/default/deployments/web/scale');
    assert.deepEqual(e.body, patch);
    assert.equal(e.query.fieldManager, 'mgr');
    assert.equal(e.query.force, type === 'apply' ? 'true' : undefined);
  }
  await assert.rejects(client.patch(Services, 'default', 'web', 'apply', {}), /requires a fieldManager/);
});

test('delete sends DeleteOptions in the body', async (t) => {
  const { client } = await fakeServer(t);
  const e = (await client.delete(Services, 'default', 'web', {
    propagationPolicy: 'Foreground',
    gracePeriodSeconds: 0,
    preconditions: { uid: 'u1' },
    dryRun: true,
  })) as Echo;
  assert.equal(e.method, 'DELETE');
  assert.equal(e.path, '/api/v1/namespaces/default/services/web');
  assert.deepEqual(e.body, { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Foreground', gracePeriodSeconds: 0, preconditions: { uid: 'u1' }, dryRun: ['All'] });
});

// ---- errors ----

test('a Status error answer becomes an ApiError with its code, reason, message and details', async (t) => {
  const { server, client } = await fakeServer(t);
  server.handle((_req, res) => json(res, 404, statusNotFound));
  const err = await client.get(Services, 'default', 'foo').catch((e: unknown) => e);
  assert.ok(isApiError(err));
  assert.ok(isNotFound(err));
  assert.equal(err.code, 404);
  assert.equal(err.message, 'services "foo" not found');
  assert.deepEqual(err.status.details, { name: 'foo', kind: 'services' });

  server.handle((_req, res) =>
    json(res, 409, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Conflict', code: 409, message: 'Operation cannot be fulfilled on services "foo": the object has been modified; please apply your changes to the latest version and try again' }),
  );
  await assert.rejects(client.update(Services, { metadata: { name: 'foo', namespace: 'default' } }), (e: unknown) => isConflict(e));
});

test('an error answer that is not a Status becomes an ApiError in Kubernetes words', async (t) => {
  const { server, client } = await fakeServer(t);
  server.handle((_req, res) => {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('404 page not found\n');
  });
  const nf = (await client.get(Services, 'default', 'x').catch((e: unknown) => e)) as ApiError;
  assert.ok(isNotFound(nf));
  assert.equal(nf.message, 'the server could not find the requested resource');
  assert.deepEqual(nf.status.details?.causes, [{ reason: 'UnexpectedServerResponse', message: '404 page not found' }]);

  server.handle((_req, res) => {
    res.writeHead(502, { 'Content-Type': 'text/html' });
    res.end('<html>bad gateway</html>');
  });
  const bad = (await client.list(Services, undefined).catch((e: unknown) => e)) as ApiError;
  assert.equal(bad.code, 502);
  assert.equal(bad.reason, 'InternalError');
  assert.equal(bad.message, 'an error on the server ("<html>bad gateway</html>") has prevented the request from succeeding');

  assert.ok(isAlreadyExists(decodeErrorResponse(409, '', 'POST')));
  assert.ok(isConflict(decodeErrorResponse(409, '', 'PUT')));
  assert.equal(decodeErrorResponse(418, '').message, 'the server responded with the status code 418 but did not return more information');
});

test('a request the server does not answer in time fails with a clear error', async (t) => {
  const server = await listen(t, http.createServer(), 'http');
  server.handle(() => {}); // never answers
  const client = new HttpClient({ server: server.url, timeoutMs: 50 });
  t.after(() => client.close());
  await assert.rejects(client.get(Services, 'default', 'x'), /GET http:\/\/127\.0\.0\.1:\d+\/api\/v1\/namespaces\/default\/services\/x: no answer within 50 ms/);
});

test('a server that is not there fails with the address in the message', async () => {
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const client = new HttpClient({ server: `http://127.0.0.1:${port}` });
  await assert.rejects(client.list(Services, undefined), (e: Error) => e.message.includes(`127.0.0.1:${port}`) && /ECONNREFUSED/.test(e.message));
  client.close();
});

// ---- watch ----

/** Starts a watch and collects its events. */
function collect(client: HttpClient, opts = {}): { events: WatchEvent[]; handle: ReturnType<HttpClient['watch']> } {
  const events: WatchEvent[] = [];
  const handle = client.watch(Services, 'default', opts, (e) => events.push(e));
  return { events, handle };
}

function ev(type: string, name: string, rv: string): string {
  return JSON.stringify({ type, object: { kind: 'Service', apiVersion: 'v1', metadata: { name, namespace: 'default', resourceVersion: rv } } }) + '\n';
}

test('a watch reads events split across chunks and several in one chunk, and resolves when the server ends it', async (t) => {
  const { server, client } = await fakeServer(t);
  server.handle(async (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    const a = ev('ADDED', 'a', '1');
    res.write(a.slice(0, 10));
    await sleep(10);
    res.write(a.slice(10, 30));
    await sleep(10);
    res.write(a.slice(30) + ev('MODIFIED', 'a', '2') + ev('BOOKMARK', '', '3').slice(0, 5));
    await sleep(10);
    // a multi-byte character split between chunks
    const b = Buffer.from(ev('ADDED', 'ü', '4'));
    const cut = b.indexOf(0xc3) + 1;
    res.write(Buffer.concat([Buffer.from(ev('BOOKMARK', '', '3').slice(5)), b.subarray(0, cut)]));
    await sleep(10);
    res.write(b.subarray(cut));
    res.end(ev('DELETED', 'a', '5').trimEnd()); // the last line without its newline
  });
  const { events, handle } = collect(client, { resourceVersion: '0', allowWatchBookmarks: true, timeoutSeconds: 30, labelSelector: 'a=b' });
  await handle.done;
  assert.deepEqual(
    events.map((e) => `${e.type} ${e.object.metadata?.name ?? ''}@${e.object.metadata?.resourceVersion ?? ''}`),
    ['ADDED a@1', 'MODIFIED a@2', 'BOOKMARK @3', 'ADDED ü@4', 'DELETED a@5'],
  );
  const q = server.seen[0].query;
  assert.equal(server.seen[0].path, '/api/v1/namespaces/default/services');
  assert.equal(q.get('watch'), 'true');
  assert.equal(q.get('resourceVersion'), '0');
  assert.equal(q.get('allowWatchBookmarks'), 'true');
  assert.equal(q.get('timeoutSeconds'), '30');
  assert.equal(q.get('labelSelector'), 'a=b');
  // The connection of a watch the server ended serves the next request.
  server.handle(echo);
  await client.get(Services, 'default', 'next');
  assert.equal(server.connections, 1);
});

test('an ERROR event rejects the watch with its Status, e.g. 410 Expired', async (t) => {
  const { server, client } = await fakeServer(t);
  server.handle((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write(ev('ADDED', 'a', '1'));
    res.write(
      JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'too old resource version: 109 (150)', reason: 'Expired', code: 410 } }) + '\n',
    );
    res.write(ev('ADDED', 'after-error', '2'));
    // The server keeps the stream open; the client ends it.
  });
  const { events, handle } = collect(client, { resourceVersion: '109' });
  const err = await handle.done.catch((e: unknown) => e);
  assert.ok(isExpired(err), String(err));
  assert.equal((err as ApiError).code, 410);
  assert.equal((err as ApiError).message, 'too old resource version: 109 (150)');
  assert.deepEqual(
    events.map((e) => e.object.metadata?.name),
    ['a'],
  );
});

test('a watch refused with an error answer rejects with the decoded ApiError', async (t) => {
  const { server, client } = await fakeServer(t);
  server.handle((_req, res) => json(res, 410, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'too old resource version: 1 (5)', reason: 'Gone', code: 410 }));
  const { handle } = collect(client, { resourceVersion: '1' });
  await assert.rejects(handle.done, (e: unknown) => isExpired(e) && (e as ApiError).message === 'too old resource version: 1 (5)');
});

test('stop() ends a watch cleanly and closes its connection', async (t) => {
  const { server, client } = await fakeServer(t);
  let closed = false;
  server.handle((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write(ev('ADDED', 'a', '1'));
    res.on('close', () => (closed = true));
  });
  const { events, handle } = collect(client);
  while (events.length === 0) await sleep(2);
  handle.stop();
  await handle.done;
  while (!closed) await sleep(2);
  assert.equal(events.length, 1);
});

test('a watch ends cleanly after timeoutSeconds even if the server keeps it open', async (t) => {
  const { server, client } = await fakeServer(t);
  server.handle((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write(ev('ADDED', 'a', '1'));
  });
  const t0 = Date.now();
  const { handle } = collect(client, { timeoutSeconds: 1 });
  await handle.done;
  const took = Date.now() - t0;
  assert.ok(took >= 950 && took < 3000, `ended after ${took} ms`);
});

test('a watch whose connection breaks mid-stream rejects', async (t) => {
  const { server, client } = await fakeServer(t);
  server.handle(async (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write(ev('ADDED', 'a', '1'));
    await sleep(20);
    res.socket?.destroy();
  });
  const { events, handle } = collect(client);
  await assert.rejects(handle.done, /stream broke/);
  assert.equal(events.length, 1);
});

test('a watch line that is not JSON rejects the watch', async (t) => {
  const { server, client } = await fakeServer(t);
  server.handle((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write('{"type":"ADDED","object":\n');
  });
  const { handle } = collect(client);
  await assert.rejects(handle.done, /cannot decode an event/);
});

test('the line splitter keeps partial lines until their newline', () => {
  const s = new LineSplitter();
  assert.deepEqual(s.push('ab'), []);
  assert.deepEqual(s.push('c\nde'), ['abc']);
  assert.deepEqual(s.push('\n\n f \ng'), ['de', 'f']);
  assert.equal(s.end(), 'g');
  assert.equal(s.end(), undefined);
});

// ---- streams, raw requests, connections ----

test('streamGet hands over the body as it arrives and decodes an error answer', async (t) => {
  const { server, client } = await fakeServer(t);
  server.handle(async (req, res) => {
    if (req.path === '/version') return echo(req, res);
    if (req.query.get('container') === 'missing') {
      json(res, 400, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'container missing is not valid for pod p', reason: 'BadRequest', code: 400 });
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.write('line 1\n');
    await sleep(20);
    res.end('line 2\n');
  });
  const res = await client.streamGet('/api/v1/namespaces/default/pods/p/log', { follow: true, container: 'c' });
  const chunks: string[] = [];
  for await (const c of res) chunks.push(String(c));
  assert.equal(chunks.join(''), 'line 1\nline 2\n');
  assert.ok(chunks.length >= 2, 'streamed, not buffered');
  assert.equal(server.seen[0].url, '/api/v1/namespaces/default/pods/p/log?follow=true&container=c');
  await assert.rejects(client.streamGet('/api/v1/namespaces/default/pods/p/log', { container: 'missing' }), /container missing is not valid/);

  const raw = await client.request({ path: '/version' });
  assert.equal(raw.statusCode, 200);
  assert.equal((JSON.parse(raw.body.toString()) as Echo).path, '/version');
});

test('requests reuse kept-alive connections, and many run at once', async (t) => {
  const { server, client } = await fakeServer(t);
  for (let i = 0; i < 20; i++) await client.get(Services, 'default', `s${i}`);
  assert.equal(server.connections, 1, 'sequential requests share one connection');
  const many = await Promise.all(Array.from({ length: 64 }, (_, i) => client.get<Echo>(Services, 'default', `c${i}`)));
  assert.equal(many.length, 64);
  assert.ok(server.connections <= 65);
  const before = server.connections;
  for (let i = 0; i < 20; i++) await client.get(Services, 'default', `again${i}`);
  assert.equal(server.connections, before, 'then reused again');
});

test('a server path prefix is kept and a token file is read for the bearer token', async (t) => {
  const server = await listen(t, http.createServer(), 'http');
  const dir = mkdtempSync(join(tmpdir(), 'svcnet-client-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'token'), 'from-file\n');
  const client = new HttpClient({ server: `${server.url}/prefix/`, tokenFile: join(dir, 'token'), userAgent: 'my-controller/v1' });
  t.after(() => client.close());
  const e = await client.get<Echo>(Nodes, undefined, 'n1');
  assert.equal(e.path, '/prefix/api/v1/nodes/n1');
  assert.equal(server.seen[0].headers.authorization, 'Bearer from-file');
  assert.equal(server.seen[0].headers['user-agent'], 'my-controller/v1');

  const basic = new HttpClient({ server: server.url, username: 'admin', password: 'pw' });
  t.after(() => basic.close());
  await basic.get(Nodes, undefined, 'n1');
  assert.equal(server.seen[1].headers.authorization, `Basic ${Buffer.from('admin:pw').toString('base64')}`);
});

// ---- TLS ----

interface TestPki {
  caPem: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

function keyPair(): { priv: string; pub: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { priv: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(), pub: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

function certificate(cn: string, pub: string, signer: { key: string; cert?: forge.pki.Certificate }, ext: object[]): forge.pki.Certificate {
  const c = forge.pki.createCertificate();
  c.publicKey = forge.pki.publicKeyFromPem(pub);
  c.serialNumber = '01' + randomBytes(8).toString('hex');
  c.validity.notBefore = new Date(Date.now() - 60_000);
  c.validity.notAfter = new Date(Date.now() + 86_400_000);
  c.setSubject([{ name: 'commonName', value: cn }]);
  c.setIssuer(signer.cert ? signer.cert.subject.attributes : [{ name: 'commonName', value: cn }]);
  c.setExtensions(ext);
  c.sign(forge.pki.privateKeyFromPem(signer.key), forge.md.sha256.create());
  return c;
}

function testPki(): TestPki {
  const ca = keyPair();
  const caCert = certificate('svcnet-test-ca', ca.pub, { key: ca.priv }, [
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, digitalSignature: true, critical: true },
  ]);
  const srv = keyPair();
  const srvCert = certificate('127.0.0.1', srv.pub, { key: ca.priv, cert: caCert }, [
    { name: 'basicConstraints', cA: false },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'svcnet.test' }] },
  ]);
  const cli = keyPair();
  const cliCert = certificate('test-user', cli.pub, { key: ca.priv, cert: caCert }, [
    { name: 'basicConstraints', cA: false },
    { name: 'extKeyUsage', clientAuth: true },
  ]);
  return {
    caPem: forge.pki.certificateToPem(caCert),
    serverCert: forge.pki.certificateToPem(srvCert),
    serverKey: srv.priv,
    clientCert: forge.pki.certificateToPem(cliCert),
    clientKey: cli.priv,
  };
}

test('over HTTPS the client trusts the kubeconfig CA and presents its client certificate', async (t) => {
  const pki = testPki();
  const server = await listen(t, https.createServer({ cert: pki.serverCert, key: pki.serverKey, ca: pki.caPem, requestCert: true, rejectUnauthorized: false }), 'https');
  server.handle((req, res) => {
    const sock = res.socket as TLSSocket;
    json(res, 200, { kind: 'Who', metadata: { name: sock.authorized ? String(sock.getPeerCertificate().subject.CN) : 'anonymous' }, auth: req.headers.authorization ?? null });
  });
  const dir = mkdtempSync(join(tmpdir(), 'svcnet-client-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  const kubeconfig = join(dir, 'config');
  writeFileSync(
    kubeconfig,
    `apiVersion: v1
kind: Config
current-context: test
clusters:
- name: c
  cluster:
    server: ${server.url}
    certificate-authority-data: ${b64(pki.caPem)}
users:
- name: u
  user:
    client-certificate-data: ${b64(pki.clientCert)}
    client-key-data: ${b64(pki.clientKey)}
contexts:
- name: test
  context: {cluster: c, user: u}
`,
  );
  const client = HttpClient.fromKubeconfig(kubeconfig);
  t.after(() => client.close());
  const who = await client.get<KubeObject & { auth: string | null }>(Nodes, undefined, 'x');
  assert.equal(who.metadata?.name, 'test-user');
  assert.equal(who.auth, null);

  // Without the CA the server's certificate is refused; skipping verification is explicit.
  const untrusting = new HttpClient({ server: server.url });
  t.after(() => untrusting.close());
  await assert.rejects(untrusting.get(Nodes, undefined, 'x'), /certificate/);
  const insecure = new HttpClient({ server: server.url, insecureSkipTLSVerify: true, token: 't' });
  t.after(() => insecure.close());
  const anon = await insecure.get<KubeObject & { auth: string | null }>(Nodes, undefined, 'x');
  assert.equal(anon.metadata?.name, 'anonymous');
  assert.equal(anon.auth, 'Bearer t');

  // A name other than the URL's host is checked against the certificate.
  const sni = new HttpClient({ server: server.url, ca: Buffer.from(pki.caPem), tlsServerName: 'svcnet.test' });
  t.after(() => sni.close());
  assert.equal((await sni.get(Nodes, undefined, 'x')).kind, 'Who');
});
