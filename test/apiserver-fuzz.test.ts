// Fuzzing a running server: 12,000 mutated requests (methods, paths, query strings, headers,
// content types and bodies: JSON, YAML, protobuf, patches) over 16 concurrent keep-alive
// connections. Afterwards the server is still up, never answered 500 or leaked a stack trace,
// and the objects stored before the run are byte-for-byte what they were.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:https';
import { startSvcnet, type Svcnet } from './lib/svcnet.ts';
import { apiClient, type ApiClient } from './lib/apiserver.ts';

let s: Svcnet;
let api: ApiClient;

before(async () => {
  s = await startSvcnet({ env: { SVCNET_LOG_LEVEL: 'error' } });
  api = apiClient(s);
});

after(async () => {
  api?.close();
  await s?.stop();
  s?.cleanup();
});

/** mulberry32: a small seeded generator, so a failing run can be repeated. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// A fixed seed keeps `npm test` repeatable; SVCNET_FUZZ_SEED=random explores (and prints its seed).
const seedEnv = process.env.SVCNET_FUZZ_SEED ?? '970045';
const seed = seedEnv === 'random' ? Date.now() % 1_000_000 : Number(seedEnv);
const rand = rng(seed);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
const chance = (p: number) => rand() < p;
const int = (n: number) => Math.floor(rand() * n);

const paths = [
  '/api/v1/namespaces/fuzz/configmaps',
  '/api/v1/namespaces/fuzz/configmaps/c1',
  '/api/v1/namespaces/fuzz/services',
  '/api/v1/namespaces/fuzz/services/s1',
  '/api/v1/namespaces/fuzz/services/s1/status',
  '/api/v1/namespaces/fuzz/pods',
  '/api/v1/namespaces/fuzz/pods/p1',
  '/api/v1/namespaces/fuzz/pods/p1/binding',
  '/api/v1/namespaces/fuzz/pods/p1/status',
  '/api/v1/namespaces/fuzz/endpoints/s1',
  '/api/v1/namespaces/fuzz/events',
  '/api/v1/namespaces/fuzz/secrets/x',
  '/api/v1/namespaces/fuzz/serviceaccounts',
  '/api/v1/namespaces/fuzz',
  '/api/v1/namespaces/fuzz/status',
  '/api/v1/namespaces/fuzz/finalize',
  '/api/v1/namespaces',
  '/api/v1/nodes/n1',
  '/api/v1/services',
  '/api/v1/watch/namespaces/fuzz/configmaps',
  '/apis/apps/v1/namespaces/fuzz/deployments',
  '/apis/apps/v1/namespaces/fuzz/deployments/d1',
  '/apis/apps/v1/namespaces/fuzz/deployments/d1/scale',
  '/apis/apps/v1/namespaces/fuzz/replicasets/r1/scale',
  '/apis/discovery.k8s.io/v1/namespaces/fuzz/endpointslices',
  '/apis/coordination.k8s.io/v1/namespaces/fuzz/leases/l1',
  '/apis/metallb.io/v1beta1/namespaces/fuzz/ipaddresspools/p1',
  '/apis/metallb.io/v1beta1/namespaces/fuzz/l2advertisements',
  '/api',
  '/apis',
  '/api/v1',
  '/apis/apps/v1',
  '/version',
  '/openapi/v3',
  '/openapi/v3/api/v1',
  '/openapi/v2',
  '/healthz',
  '/readyz?verbose',
];

const bodies: unknown[] = [
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c1', labels: { a: 'b' } }, data: { k: 'v' } },
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 's1' }, spec: { type: 'NodePort', ports: [{ port: 80, targetPort: 'http' }], selector: { app: 's1' } } },
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p1' }, spec: { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80 }] }] } },
  { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd1' }, spec: { replicas: 1, selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } } },
  { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'd1' }, spec: { replicas: 2 } },
  { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'p1' }, target: { kind: 'Node', name: 'n1' } },
  { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'p1' }, spec: { addresses: ['192.0.2.0/28'] } },
  { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Foreground', gracePeriodSeconds: 0 },
  { metadata: { labels: { x: 'y' } }, spec: { ports: [{ $patch: 'delete', port: 80 }], $setElementOrder: [] } },
  [{ op: 'add', path: '/metadata/labels/z', value: 'q' }, { op: 'test', path: '/spec', value: null }],
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'fuzz' }, spec: { finalizers: ['kubernetes'] } },
];

const contentTypes = [
  'application/json',
  'application/yaml',
  'application/vnd.kubernetes.protobuf',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/json-patch+json',
  'application/apply-patch+yaml',
  'application/apply-patch+cbor',
  'text/plain',
  'application/json; charset=utf-16',
  '',
  ';;;',
];

const accepts = [
  'application/json',
  'application/json;as=Table;v=v1;g=meta.k8s.io,application/json',
  'application/json;as=Table;v=v1beta1;g=meta.k8s.io',
  'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io',
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList',
  'application/vnd.kubernetes.protobuf',
  'application/com.github.proto-openapi.spec.v2@v1.0+protobuf',
  'application/yaml',
  'text/html',
  '*/*',
  ',,;q=x',
];

const queryKeys = ['labelSelector', 'fieldSelector', 'limit', 'continue', 'resourceVersion', 'resourceVersionMatch', 'fieldValidation', 'dryRun', 'fieldManager', 'force', 'propagationPolicy', 'gracePeriodSeconds', 'includeObject', 'watch', 'allowWatchBookmarks', 'sendInitialEvents', 'hash', 'orphanDependents'];
const queryValues = ['', 'a=b', 'a in (b,c),!d', 'metadata.name=c1', 'spec.foo=bar', '-1', '0', '1', '99999999999999999999', 'All', 'Strict', 'Warn', 'true', 'false', 'Object', 'None', 'Exact', 'NotOlderThan', 'eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MSwic3RhcnQiOiIuLi8ifQ', '%', '%zz', '\u0000', 'é', 'x'.repeat(300)];

function mutateString(t: string): string {
  const chars = [...t];
  const n = 1 + int(4);
  for (let i = 0; i < n; i++) {
    const at = int(chars.length + 1);
    switch (int(6)) {
      case 0:
        chars.splice(at, 1);
        break;
      case 1:
        chars.splice(at, 0, pick(['"', '{', '}', '[', ']', ',', ':', '\\', '\u0000', '\n', '\t', '-', '0', 'e', 'é', '\ud800', '%', '/', '.']));
        break;
      case 2:
        chars.splice(at, 0, ...String(pick([-1, 0, 1e309, 2 ** 53, -(2 ** 63), 1.5, 'null', 'true'])));
        break;
      case 3:
        chars.length = at;
        break;
      case 4:
        chars.splice(at, 0, ...chars.slice(int(chars.length), int(chars.length) + 20));
        break;
      default:
        if (chars[at] !== undefined) chars[at] = String.fromCharCode(chars[at].charCodeAt(0) ^ (1 << int(7)));
    }
  }
  return chars.join('');
}

function mutateValue(v: unknown, depth = 0): unknown {
  if (depth > 6) return v;
  if (Array.isArray(v)) {
    const a: unknown[] = (v as unknown[]).map((x: unknown) => (chance(0.3) ? mutateValue(x, depth + 1) : x));
    if (chance(0.2)) a.push(mutateValue(pick(bodies), depth + 1));
    if (chance(0.1)) a.length = 0;
    return a;
  }
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = { ...(v as Record<string, unknown>) };
    for (const k of Object.keys(o)) {
      if (chance(0.25)) o[k] = mutateValue(o[k], depth + 1);
      if (chance(0.05)) delete o[k];
    }
    if (chance(0.15)) o[pick(['__proto__', 'constructor', 'metadata', 'spec', 'status', 'kind', 'apiVersion', 'x'.repeat(int(50)), ''])] = mutateValue(pick([null, 1, 'x', [], {}, true, -0.5]), depth + 1);
    return o;
  }
  return pick([null, 0, -1, 65536, 1e21, 'x', '', 'a'.repeat(int(400)), true, [], {}, v, v, v]);
}

function nested(depth: number): string {
  return chance(0.5) ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

function makeBody(): Buffer | undefined {
  switch (int(10)) {
    case 0:
      return undefined;
    case 1:
      return Buffer.from(nested(1000 + int(20000)));
    case 2: {
      // A protobuf-looking body: the k8s magic, then random bytes.
      const b = Buffer.alloc(4 + int(200));
      for (let i = 4; i < b.length; i++) b[i] = int(256);
      b.write('k8s\u0000', 0, 'latin1');
      return b;
    }
    case 3:
      return Buffer.from(`apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${pick(['c1', '&a', '*a', '!!binary x', '[', "'"])}\ndata: {a: ${pick(['1', '[', '*x', '&x b', '"'])}}\n`);
    case 4:
      return Buffer.from(mutateString(JSON.stringify(pick(bodies))));
    default:
      return Buffer.from(JSON.stringify(mutateValue(pick(bodies))));
  }
}

function makePath(): string {
  let p = pick(paths);
  if (chance(0.3)) p = mutateString(p).replace(/[\r\n\u0000]/g, '');
  if (chance(0.05)) p += '/' + 'x'.repeat(int(5000));
  if (chance(0.05)) p = p.replace('fuzz', pick(['', '..', '%2e%2e', 'FUZZ', 'fu%00zz', 'a'.repeat(300), 'nope']));
  const q: string[] = [];
  const n = int(4);
  for (let i = 0; i < n; i++) {
    const key = pick(queryKeys);
    const value = chance(0.3) ? mutateString(pick(queryValues)) : pick(queryValues);
    q.push(`${chance(0.1) ? mutateString(key) : key}=${chance(0.5) ? encodeURIComponent(value.replace(/[\ud800-\udfff]/g, '\ufffd')) : value.replace(/[^\x21-\x7e]/g, '')}`);
  }
  // Watches are kept short: the run is about requests, not connections held open.
  if (p.includes('/watch/') || q.some((x) => x.startsWith('watch='))) q.push('timeoutSeconds=1');
  const safe = (x: string) => x.replace(/[^\x21-\x7e]/g, (c) => [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''));
  return safe(p.startsWith('/') ? p : `/${p}`) + (q.length ? `?${q.map(safe).join('&')}` : '');
}

interface Outcome {
  status: number;
  body: string;
  what: string;
}

test('12,000 mutated requests over concurrent keep-alive connections: no 500s, no crash, stored objects intact', async (t) => {
  t.diagnostic(`seed ${seed} (SVCNET_FUZZ_SEED to repeat)`);
  // Objects the fuzzer's paths never name: they must come through untouched.
  await api.json('POST', '/api/v1/namespaces', { metadata: { name: 'fuzz' } });
  await api.json('POST', '/api/v1/namespaces', { metadata: { name: 'sentinel' } });
  for (let i = 0; i < 20; i++) {
    await api.json('POST', '/api/v1/namespaces/sentinel/configmaps', { metadata: { name: `keep-${i}`, labels: { i: String(i) } }, data: { value: `v${i}`.repeat(i + 1) } });
    await api.json('POST', '/api/v1/namespaces/sentinel/services', { metadata: { name: `keep-${i}` }, spec: { type: i % 2 ? 'NodePort' : 'ClusterIP', ports: [{ port: 1000 + i }] } });
  }
  const snapshot = async () => ({
    cms: (await api.request('GET', '/api/v1/namespaces/sentinel/configmaps')).body.replace(/"resourceVersion":"\d+"/, ''),
    svcs: (await api.request('GET', '/api/v1/namespaces/sentinel/services')).body.replace(/"resourceVersion":"\d+"/, ''),
  });
  const before = await snapshot();

  const url = new URL(s.url);
  const agent = new Agent({ keepAlive: true, maxSockets: 16, ca: api.ca });
  const total = 12_000;
  let sent = 0;
  const bad: Outcome[] = [];
  let timeouts = 0;
  const errors = new Map<string, number>();
  const counts = new Map<number, number>();
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      let method = chance(0.9) ? pick(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) : pick(['HEAD', 'OPTIONS', 'TRACE', 'FOO', 'get']);
      let path = makePath();
      let body = ['GET', 'HEAD'].includes(method) && chance(0.8) ? undefined : makeBody();
      const headers: Record<string, string> = {};
      // A third of the requests are plausible writes with one thing wrong (or nothing), so
      // that validation, allocation, patching and storage are reached, not only decoding.
      const plausible = chance(0.33);
      if (plausible) {
        const kind = pick(['configmaps', 'services', 'deployments'] as const);
        const base = kind === 'deployments' ? '/apis/apps/v1/namespaces/fuzz/deployments' : `/api/v1/namespaces/fuzz/${kind}`;
        const obj = structuredClone(bodies[kind === 'configmaps' ? 0 : kind === 'services' ? 1 : 3]) as { metadata: { name: string } };
        obj.metadata.name = `f${int(20)}`;
        method = pick(['POST', 'PUT', 'PATCH', 'DELETE', 'GET']);
        path = method === 'POST' ? base : `${base}/${obj.metadata.name}`;
        if (chance(0.3)) path += `?${pick(['dryRun=All', 'fieldValidation=Strict', 'fieldManager=fuzz', 'force=true', 'propagationPolicy=Orphan'])}`;
        const text = JSON.stringify(chance(0.5) ? obj : mutateValue(obj));
        body = Buffer.from(method === 'PATCH' && chance(0.5) ? JSON.stringify({ metadata: { labels: { n: String(int(9)) } } }) : text);
      }
      if (!chance(0.03)) headers.Authorization = chance(0.97) ? `Bearer ${api.token}` : pick(['Bearer', 'Bearer x', 'Basic YTpi', `bearer ${api.token}x`, `Bearer ${api.token}\t`]);
      if (plausible) headers['Content-Type'] = method === 'PATCH' ? pick(['application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml']) : 'application/json';
      else if (!chance(0.1)) headers['Content-Type'] = chance(0.1) ? mutateString(pick(contentTypes)).replace(/[^\x20-\x7e]/g, '') : pick(contentTypes);
      if (!chance(0.2)) headers.Accept = chance(0.1) ? mutateString(pick(accepts)).replace(/[^\x20-\x7e]/g, '') : pick(accepts);
      if (chance(0.05)) headers['Transfer-Encoding'] = 'chunked';
      if (body && !headers['Transfer-Encoding']) headers['Content-Length'] = String(body.length);
      const what = `${method} ${path.slice(0, 200)} ct=${headers['Content-Type']} body=${body?.subarray(0, 120).toString('latin1')}`;
      const req = request({ host: url.hostname, port: url.port, method, path, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          counts.set(status, (counts.get(status) ?? 0) + 1);
          const text = Buffer.concat(chunks).toString('utf8');
          // kube-apiserver itself answers 500 when an apply body does not fit the schema
          // ("failed to create typed patch object"); anything else at 500 is a bug.
          const kubes500 = status === 500 && text.includes('"message":"failed to create typed patch object');
          if (status >= 500 && !kubes500 && !(status === 504 && text.includes('"reason":"Timeout"'))) bad.push({ status, body: text.slice(0, 300), what });
          if (/\bat [\w.<>$]+ \(.*:\d+:\d+\)|node:internal|\/work\/|\.ts:\d+/.test(text)) bad.push({ status, body: `stack trace leaked: ${text.slice(0, 300)}`, what });
          resolve();
        });
        res.on('error', () => resolve());
      });
      req.setTimeout(3000, () => {
        timeouts++;
        req.destroy();
      });
      req.on('error', (e: NodeJS.ErrnoException) => {
        errors.set(e.code ?? e.message, (errors.get(e.code ?? e.message) ?? 0) + 1);
        resolve();
      });
      req.end(body);
    });
  const worker = async () => {
    while (sent < total) {
      sent++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  agent.destroy();
  const answered = [...counts.values()].reduce((a, b) => a + b, 0);
  t.diagnostic(`statuses: ${[...counts.entries()].sort((a, b) => a[0] - b[0]).map(([k, v]) => `${k}×${v}`).join(' ')}; timeouts ${timeouts}; client errors ${JSON.stringify(Object.fromEntries(errors))}`);

  assert.equal(s.proc.exitCode, null, `the server exited:\n${s.logs().slice(-2000)}`);
  assert.equal(s.proc.signalCode, null, `the server was killed:\n${s.logs().slice(-3000)}`);
  assert.deepEqual([...new Set(bad.map((b) => `${b.status} ${b.body.slice(0, 200)} ← ${b.what}`))], [], `${bad.length} bad answers (seed ${seed})`);
  assert.ok(answered >= total * 0.98, `only ${answered} of ${total} requests were answered (${timeouts} timed out)`);
  const health = await api.request('GET', '/readyz');
  assert.equal(health.status, 200);
  assert.deepEqual(await snapshot(), before, 'the sentinel objects are intact');
  // Whatever the fuzzer did create is well formed and listable.
  for (const p of ['/api/v1/namespaces/fuzz/configmaps', '/api/v1/namespaces/fuzz/services', '/apis/apps/v1/deployments', '/api/v1/pods']) {
    const r = await api.request('GET', p);
    assert.equal(r.status, 200, `${p}: ${r.body.slice(0, 300)}`);
    JSON.parse(r.body);
  }
  const k = await api.request('GET', '/api/v1/namespaces/default/services/kubernetes');
  assert.equal(k.status, 200);
});
