// Bad input gets the status code, reason and message kube-apiserver gives, and the server keeps
// serving after each: malformed JSON and YAML, unknown fields under Strict, wrong types,
// invalid names, a missing namespace, a body over 3 MiB, an unknown resource, a wrong or
// missing token, and plain HTTP on the HTTPS port.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSvcnet, kubectl, type Svcnet } from './lib/svcnet.ts';
import { apiClient, type ApiClient, type ApiResponse } from './lib/apiserver.ts';

let s: Svcnet;
let api: ApiClient;

before(async () => {
  s = await startSvcnet();
  api = apiClient(s);
});

after(async () => {
  api?.close();
  await s?.stop();
  s?.cleanup();
});

interface Status {
  kind: string;
  apiVersion: string;
  status: string;
  message: string;
  reason: string;
  code: number;
  details?: { name?: string; kind?: string; group?: string; causes?: { reason: string; message: string; field?: string }[] };
}

function status(res: ApiResponse): Status {
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const st = JSON.parse(res.body) as Status;
  assert.equal(st.kind, 'Status');
  assert.equal(st.apiVersion, 'v1');
  assert.equal(st.status, 'Failure');
  assert.equal(st.code, res.status);
  assert.doesNotMatch(res.body, /\bat [\w.<>]+ \(.*:\d+:\d+\)/, 'no stack trace in a response');
  return st;
}

async function stillServing(): Promise<void> {
  const res = await api.request('GET', '/api/v1/namespaces/default');
  assert.equal(res.status, 200, 'the server still answers');
}

const services = '/api/v1/namespaces/default/services';

function post(path: string, body: string | Buffer, contentType = 'application/json'): Promise<ApiResponse> {
  return api.request('POST', path, { body, headers: { 'Content-Type': contentType, Accept: 'application/json' } });
}

test('malformed JSON is a 400 whose message quotes encoding/json and a summary of the body', async () => {
  let st = status(await post(services, '{"apiVersion":"v1","kind":"Service","metadata":{"name":"x"},'));
  assert.equal(st.code, 400);
  assert.equal(st.reason, 'BadRequest');
  assert.equal(
    st.message,
    'the object provided is unrecognized (must be of type Service): couldn\'t get version/kind; json parse error: unexpected end of JSON input ({"apiVersion":"v1","kind":"Ser ...)',
  );
  st = status(await post(services, '{"apiVersion":"v1",kind:"Service"}'));
  assert.equal(
    st.message,
    'the object provided is unrecognized (must be of type Service): couldn\'t get version/kind; json parse error: invalid character \'k\' looking for beginning of object key string ({"apiVersion":"v1",kind:"Servi ...)',
  );
  st = status(await post(services, '[1]'));
  assert.equal(
    st.message,
    'the object provided is unrecognized (must be of type Service): couldn\'t get version/kind; json parse error: json: cannot unmarshal array into Go value of type struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" } (5b315d)',
  );
  st = status(await post(services, ''));
  assert.equal(st.message, "the object provided is unrecognized (must be of type Service): couldn't get version/kind; json parse error: unexpected end of JSON input (<empty>)");
  await stillServing();
});

test('malformed YAML is a 400 worded as go-yaml, with the body summarized in hex', async () => {
  const body = 'apiVersion: v1\nkind: Service\nmetadata: name: x\n';
  const st = status(await post(services, body, 'application/yaml'));
  assert.equal(st.code, 400);
  assert.equal(st.reason, 'BadRequest');
  const hex = Buffer.from(body).subarray(0, 30).toString('hex');
  assert.equal(
    st.message,
    `the object provided is unrecognized (must be of type Service): error converting YAML to JSON: yaml: line 3: mapping values are not allowed in this context (${hex} ...)`,
  );
  const tab = status(await post(services, 'kind: Service\n\tmetadata: {}\n', 'application/yaml'));
  assert.match(tab.message, /error converting YAML to JSON: yaml: line 2: found character that cannot start any token \(/);
  await stillServing();
});

test('a YAML body that is well formed creates the object', async () => {
  const res = await post(services, 'apiVersion: v1\nkind: Service\nmetadata:\n  name: from-yaml\nspec:\n  ports:\n  - port: 80\n', 'application/yaml');
  assert.equal(res.status, 201, res.body);
  assert.equal((JSON.parse(res.body) as { metadata: { name: string } }).metadata.name, 'from-yaml');
});

test('an unknown field is a 400 under Strict, a warning under Warn, and silently dropped under Ignore', async () => {
  const body = (name: string) => JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { foo: 1, ports: [{ port: 80, bar: true }] } });
  const st = status(await post(`${services}?fieldValidation=Strict`, body('strict')));
  assert.equal(st.code, 400);
  assert.equal(st.reason, 'BadRequest');
  assert.equal(st.message, 'Service in version "v1" cannot be handled as a Service: strict decoding error: unknown field "spec.foo", unknown field "spec.ports[0].bar"');

  const warn = await post(`${services}?fieldValidation=Warn`, body('warn'));
  assert.equal(warn.status, 201);
  assert.equal(warn.headers.warning, '299 - "unknown field \\"spec.foo\\"", 299 - "unknown field \\"spec.ports[0].bar\\""');
  assert.ok(!('foo' in (JSON.parse(warn.body) as { spec: object }).spec));

  const ignore = await post(`${services}?fieldValidation=Ignore`, body('ignore'));
  assert.equal(ignore.status, 201);
  assert.equal(ignore.headers.warning, undefined);

  const bad = status(await post(`${services}?fieldValidation=Loose`, body('loose')));
  assert.equal(bad.code, 400);
  await stillServing();
});

test('kubectl apply of a manifest with an unknown field fails as against kube-apiserver, and nothing is created', async () => {
  const file = join(s.dataDir, 'unknown-field.yaml');
  writeFileSync(file, 'apiVersion: v1\nkind: Service\nmetadata:\n  name: typo\nspec:\n  prots:\n  - port: 80\n  ports:\n  - port: 80\n');
  const r = await kubectl(s, ['apply', '-f', file]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `Error from server (BadRequest): error when creating "${file}": Service in version "v1" cannot be handled as a Service: strict decoding error: unknown field "spec.prots"\n`);
  const get = await kubectl(s, ['get', 'svc', 'typo']);
  assert.equal(get.code, 1);
  assert.equal(get.stderr, 'Error from server (NotFound): services "typo" not found\n');
});

test('a value of the wrong type is a 400 naming the Go field and type', async () => {
  const st = status(await post(services, JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'typed' }, spec: { ports: [{ port: 'eighty' }] } })));
  assert.equal(st.code, 400);
  assert.equal(st.reason, 'BadRequest');
  assert.equal(st.message, 'Service in version "v1" cannot be handled as a Service: json: cannot unmarshal string into Go struct field ServicePort.spec.ports.port of type int32');
  const kind = status(await post(services, JSON.stringify({ apiVersion: 'apps/v1', kind: 'Service', metadata: { name: 'x' } })));
  assert.equal(kind.code, 400);
  await stillServing();
});

test('an invalid name is a 422 Invalid with the field cause, and kubectl prints it as against a real cluster', async () => {
  const res = await post(services, JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'Bad_Name' }, spec: { ports: [{ port: 80 }] } }));
  const st = status(res);
  const msg =
    'Invalid value: "Bad_Name": a DNS-1035 label must consist of lower case alphanumeric characters or \'-\', start with an alphabetic character, and end with an alphanumeric character (e.g. \'my-name\',  or \'abc-123\', regex used for validation is \'[a-z]([-a-z0-9]*[a-z0-9])?\')';
  assert.equal(st.code, 422);
  assert.equal(st.reason, 'Invalid');
  assert.equal(st.message, `Service "Bad_Name" is invalid: metadata.name: ${msg}`);
  assert.deepEqual(st.details, { name: 'Bad_Name', kind: 'Service', causes: [{ reason: 'FieldValueInvalid', message: msg, field: 'metadata.name' }] });
  const r = await kubectl(s, ['create', 'configmap', 'Bad_Name']);
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    'error: failed to create configmap: ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \'-\' or \'.\', and must start and end with an alphanumeric character (e.g. \'example.com\', regex used for validation is \'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\')\n',
  );
  await stillServing();
});

test('a MetalLB resource that breaks its schema is a 422 Invalid, as the CRD\'s validation says', async () => {
  const path = '/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools';
  let st = status(await post(path, JSON.stringify({ metadata: { name: 'p' }, spec: { addresses: ['192.0.2.0/28'], autoAssign: 'yes' } })));
  assert.equal(st.code, 422);
  assert.equal(st.reason, 'Invalid');
  assert.equal(st.message, 'IPAddressPool.metallb.io "p" is invalid: spec.autoAssign: Invalid value: "string": spec.autoAssign in body must be of type boolean: "string"');
  st = status(await post(path, JSON.stringify({ metadata: { name: 'p' }, spec: {} })));
  assert.equal(st.message, 'IPAddressPool.metallb.io "p" is invalid: spec.addresses: Required value');
  assert.deepEqual(st.details?.causes, [{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.addresses' }]);
  await stillServing();
});

test('a create in a namespace that does not exist is a 404 for the namespace', async () => {
  const st = status(await post('/api/v1/namespaces/nope/services', JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' }, spec: { ports: [{ port: 80 }] } })));
  assert.equal(st.code, 404);
  assert.equal(st.reason, 'NotFound');
  assert.equal(st.message, 'namespaces "nope" not found');
  assert.deepEqual(st.details, { name: 'nope', kind: 'namespaces' });
  const r = await kubectl(s, ['create', 'configmap', 'x', '-n', 'nope']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'error: failed to create configmap: namespaces "nope" not found\n');
  await stillServing();
});

test('a body over 3 MiB is a 413, whether announced by Content-Length or streamed', async () => {
  const big = Buffer.alloc(3 * 1024 * 1024 + 1, 0x20);
  let st = status(await post('/api/v1/namespaces/default/configmaps', big));
  assert.equal(st.code, 413);
  assert.equal(st.reason, 'RequestEntityTooLarge');
  assert.equal(st.message, 'Request entity too large: limit is 3145728');
  // A body of exactly 3 MiB is read (and here fails to decode, as a 400).
  const exact = Buffer.concat([Buffer.from('{"metadata":{"name":"big"},"data":{"a":"'), Buffer.alloc(3 * 1024 * 1024 - 45, 0x61), Buffer.from('"}}')]);
  assert.ok(exact.length <= 3 * 1024 * 1024);
  const ok = await post('/api/v1/namespaces/default/configmaps', exact);
  assert.notEqual(ok.status, 413);
  st = status(await api.request('PATCH', '/api/v1/namespaces/default/configmaps/big', { body: big, headers: { 'Content-Type': 'application/merge-patch+json' } }));
  assert.equal(st.code, 413);
  await stillServing();
});

test('an unknown resource or group is a 404, and kubectl says it has no such resource type', async () => {
  let res = await api.request('GET', '/api/v1/namespaces/default/widgets');
  let st = status(res);
  assert.equal(st.code, 404);
  assert.equal(st.reason, 'NotFound');
  assert.equal(st.message, 'the server could not find the requested resource');
  res = await api.request('GET', '/apis/example.com/v1/widgets');
  assert.equal(res.status, 404);
  assert.equal(res.body, '404 page not found\n');
  st = status(await api.request('GET', '/api/v1/namespaces/default/services/nope'));
  assert.equal(st.message, 'services "nope" not found');
  assert.deepEqual(st.details, { name: 'nope', kind: 'services' });
  st = status(await api.request('GET', '/apis/apps/v1/namespaces/default/deployments/nope'));
  assert.equal(st.message, 'deployments.apps "nope" not found');
  assert.deepEqual(st.details, { name: 'nope', group: 'apps', kind: 'deployments' });
  const r = await kubectl(s, ['get', 'widgets']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'error: the server doesn\'t have a resource type "widgets"\n');
  await stillServing();
});

test('a wrong or missing token is a 401 Unauthorized, and kubectl asks for credentials', async () => {
  for (const token of ['wrong', null, '']) {
    const st = status(await api.request('GET', '/api/v1/namespaces/default/services', { token }));
    assert.equal(st.code, 401);
    assert.equal(st.reason, 'Unauthorized');
    assert.equal(st.message, 'Unauthorized');
  }
  const health = await api.request('GET', '/readyz', { token: null });
  assert.equal(health.status, 200);
  assert.equal(health.body, 'ok');
  const bad = join(s.dataDir, 'bad-kubeconfig');
  const { readFileSync } = await import('node:fs');
  writeFileSync(bad, readFileSync(s.kubeconfig, 'utf8').replace(/token: \S+/, 'token: wrong'));
  const r = await kubectl({ kubeconfig: bad, dataDir: s.dataDir }, ['get', 'svc']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /error: You must be logged in to the server \(Unauthorized\)\n$/);
  await stillServing();
});

test('plain HTTP on the HTTPS port gets Go\'s 400 answer, and the server keeps serving TLS', async () => {
  const url = new URL(s.url);
  const raw = await new Promise<string>((resolve, reject) => {
    const sock = connect({ host: url.hostname, port: Number(url.port) }, () => sock.write('GET /api/v1/services HTTP/1.1\r\nHost: x\r\n\r\n'));
    let out = '';
    sock.on('data', (d) => (out += d.toString()));
    sock.on('end', () => resolve(out));
    sock.on('error', reject);
  });
  assert.equal(raw, 'HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n');
  await stillServing();
});

test('garbage on a TLS connection and half-sent requests leave the server serving', async () => {
  const url = new URL(s.url);
  await new Promise<void>((resolve) => {
    // A TLS record header announcing more than ever comes, then the client gives up.
    const sock = connect({ host: url.hostname, port: Number(url.port) }, () => {
      sock.write(Buffer.from([0x16, 0x03, 0x01, 0xff, 0xff, 1, 2, 3]));
      setTimeout(() => sock.destroy(), 200);
    });
    sock.on('close', () => resolve());
    sock.on('error', () => resolve());
  });
  await new Promise<void>((resolve) => {
    const sock = connect({ host: url.hostname, port: Number(url.port) }, () => sock.destroy());
    sock.on('close', () => resolve());
  });
  // Random bytes that are not TLS at all get the plain-HTTP answer and a closed connection.
  const reply = await new Promise<string>((resolve) => {
    const sock = connect({ host: url.hostname, port: Number(url.port) }, () => sock.write(Buffer.from([0x00, 0xff, 0x13, 0x37])));
    let out = '';
    sock.on('data', (d) => (out += d.toString()));
    sock.on('close', () => resolve(out));
    sock.on('error', () => resolve(out));
  });
  assert.match(reply, /^HTTP\/1\.0 400 Bad Request/);
  await stillServing();
});

test('Tables come in the meta.k8s.io version asked for, and a bad includeObject is a 400', async () => {
  const table = (v: string) => api.request('GET', '/api/v1/namespaces/default/services', { headers: { Accept: `application/json;as=Table;v=${v};g=meta.k8s.io` } });
  let res = await table('v1beta1');
  assert.equal(res.status, 200);
  assert.equal((JSON.parse(res.body) as { apiVersion: string }).apiVersion, 'meta.k8s.io/v1beta1');
  res = await table('v1');
  assert.equal((JSON.parse(res.body) as { apiVersion: string }).apiVersion, 'meta.k8s.io/v1');
  // An unknown version is not acceptable: the next media range (plain JSON) wins.
  res = await api.request('GET', '/api/v1/namespaces/default/services', { headers: { Accept: 'application/json;as=Table;v=v2;g=meta.k8s.io,application/json' } });
  assert.equal((JSON.parse(res.body) as { kind: string }).kind, 'ServiceList');
  const st = status(await api.request('GET', '/api/v1/namespaces/default/services?includeObject=Everything', { headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' } }));
  assert.equal(st.code, 400);
  assert.equal(st.message, 'unrecognized includeObject value: "Everything"');
  await stillServing();
});

test('null in a map of strings decodes as an empty string, as Go decodes it', async () => {
  const res = await post('/api/v1/namespaces/default/configmaps', JSON.stringify({ metadata: { name: 'nulls', labels: { a: null } }, data: { k: null } }));
  assert.equal(res.status, 201, res.body);
  const cm = JSON.parse(res.body) as { metadata: { labels: Record<string, string> }; data: Record<string, string> };
  assert.deepEqual(cm.metadata.labels, { a: '' });
  assert.deepEqual(cm.data, { k: '' });
});
