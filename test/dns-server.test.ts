// The cluster DNS server over real sockets, queried with the real `dig` and `kdig`: the seed's
// Services, UDP and TCP, EDNS0, truncation, forwarding to a fake upstream on loopback, informer
// changes answered at once, health and metrics.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import type { Namespace, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { FakeInformer } from '../src/client/index.ts';
import { startDnsServer, type DnsServer } from '../src/dns/index.ts';
import { startFakeUpstream, type FakeUpstream } from '../src/dns/testing.ts';

const run = promisify(execFile);
const examples = '/work/shared/examples';

function load<T>(file: string, kind: string): T[] {
  return parseAllDocuments(readFileSync(`${examples}/${file}`, 'utf8'))
    .map((d) => d.toJSON() as { kind?: string } | null)
    .filter((o): o is { kind: string } => o?.kind === kind) as T[];
}

// The seed's objects, with the ClusterIPs the API server would have allocated.
const seedServices: Service[] = [
  ...load<Service>('01-mlflow-clusterip.yaml', 'Service').map((s) => ({ ...s, spec: { ...s.spec, clusterIP: '10.96.12.34', clusterIPs: ['10.96.12.34'] } })),
  ...load<Service>('04-external-db-externalname.yaml', 'Service'),
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubernetes', namespace: 'default' },
    spec: { type: 'ClusterIP', clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1'], ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }] },
  },
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'many', namespace: 'default' }, spec: { clusterIP: 'None', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } },
];
const seedNamespaces: Namespace[] = [...load<Namespace>('00-namespaces.yaml', 'Namespace'), { metadata: { name: 'default' } }, { metadata: { name: 'kube-system' } }];
const manyEndpoints = Array.from({ length: 100 }, (_, i) => ({ addresses: [`10.244.1.${i + 1}`], conditions: { ready: true } }));
const seedSlices: EndpointSlice[] = [
  {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'many-abcde', namespace: 'default', labels: { 'kubernetes.io/service-name': 'many' } },
    addressType: 'IPv4',
    endpoints: manyEndpoints,
    ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
  },
];

let server: DnsServer;
let upstream: FakeUpstream;
let services: FakeInformer<Service>;
let port = 0;

before(async () => {
  upstream = await startFakeUpstream({
    host: '127.0.0.2',
    records: {
      'db.example.com': [{ name: 'db.example.com', type: 'A', ttl: 300, data: '192.0.2.50' }],
      'outside.example.test': [{ name: 'outside.example.test', type: 'A', ttl: 60, data: '192.0.2.60' }],
    },
  });
  services = new FakeInformer<Service>(seedServices);
  server = await startDnsServer({
    services,
    endpointSlices: new FakeInformer<EndpointSlice>(seedSlices),
    namespaces: new FakeInformer<Namespace>(seedNamespaces),
    listen: [{ host: '127.0.0.1', port: 0 }],
    upstreams: [upstream.address],
  });
  await server.synced;
  port = server.addresses[0].port;
});

after(async () => {
  await server?.stop();
  await upstream?.stop();
});

async function dig(...args: string[]): Promise<string> {
  const { stdout } = await run('dig', [`@127.0.0.1`, '-p', String(port), '+time=2', '+tries=1', ...args], { timeout: 10_000 });
  return stdout;
}

async function kdig(...args: string[]): Promise<string> {
  const { stdout } = await run('kdig', [`@127.0.0.1`, '-p', String(port), '+time=2', '+retry=0', ...args], { timeout: 10_000 });
  return stdout;
}

function answerLines(out: string): string[] {
  return out
    .split('\n')
    .filter((l) => l && !l.startsWith(';'))
    .map((l) => l.split(/\s+/).join(' '));
}

test('the seed ClusterIP service resolves to its ClusterIP over UDP and TCP (dig)', async () => {
  assert.equal((await dig('+short', 'mlflow-service.mlflow.svc.cluster.local')).trim(), '10.96.12.34');
  assert.equal((await dig('+short', '+tcp', 'mlflow-service.mlflow.svc.cluster.local')).trim(), '10.96.12.34');
  assert.deepEqual(answerLines(await dig('+noall', '+answer', 'mlflow-service.mlflow.svc.cluster.local')), ['mlflow-service.mlflow.svc.cluster.local. 5 IN A 10.96.12.34']);
});

test('the seed ClusterIP service resolves over UDP and TCP with kdig', async () => {
  assert.equal((await kdig('+short', 'mlflow-service.mlflow.svc.cluster.local')).trim(), '10.96.12.34');
  assert.equal((await kdig('+short', '+tcp', 'mlflow-service.mlflow.svc.cluster.local')).trim(), '10.96.12.34');
});

test('the seed ExternalName service is a CNAME to db.example.com., followed to its address', async () => {
  assert.equal((await dig('+short', 'external-db.default.svc.cluster.local', 'CNAME')).trim(), 'db.example.com.');
  assert.equal((await kdig('+short', '+tcp', 'external-db.default.svc.cluster.local', 'CNAME')).trim(), 'db.example.com.');
  assert.deepEqual(answerLines(await dig('+noall', '+answer', 'external-db.default.svc.cluster.local')), [
    'external-db.default.svc.cluster.local. 5 IN CNAME db.example.com.',
    'db.example.com. 300 IN A 192.0.2.50',
  ]);
});

test('the kubernetes service has its A record and an SRV record for its https port', async () => {
  assert.equal((await dig('+short', 'kubernetes.default.svc.cluster.local')).trim(), '10.96.0.1');
  assert.equal((await kdig('+short', '+tcp', 'kubernetes.default.svc.cluster.local')).trim(), '10.96.0.1');
  const srv = await dig('+noall', '+answer', '+additional', '_https._tcp.kubernetes.default.svc.cluster.local', 'SRV');
  assert.deepEqual(answerLines(srv), [
    '_https._tcp.kubernetes.default.svc.cluster.local. 5 IN SRV 0 100 443 kubernetes.default.svc.cluster.local.',
    'kubernetes.default.svc.cluster.local. 5 IN A 10.96.0.1',
  ]);
  assert.equal((await dig('+short', '-x', '10.96.0.1')).trim(), 'kubernetes.default.svc.cluster.local.');
});

test('an unknown service is NXDOMAIN with the zone SOA, authoritative', async () => {
  const out = await dig('+noall', '+comments', '+authority', 'nope.default.svc.cluster.local');
  assert.match(out, /status: NXDOMAIN/);
  assert.match(out, /flags: qr aa rd ra;/);
  assert.match(out, /cluster\.local\.\s+5\s+IN\s+SOA\s+ns\.dns\.cluster\.local\. hostmaster\.cluster\.local\. \d+ 7200 1800 86400 5/);
  const nodata = await dig('+noall', '+comments', 'mlflow-service.mlflow.svc.cluster.local', 'AAAA');
  assert.match(nodata, /status: NOERROR/);
  assert.match(nodata, /ANSWER: 0, AUTHORITY: 1/);
});

test('names are matched whatever their case, and answered in the case asked', async () => {
  assert.deepEqual(answerLines(await dig('+noall', '+answer', 'MLflow-Service.MLFLOW.svc.Cluster.Local')), ['MLflow-Service.MLFLOW.svc.Cluster.Local. 5 IN A 10.96.12.34']);
});

test('EDNS0: the answer carries an OPT record; without EDNS none; unknown EDNS versions get BADVERS', async () => {
  assert.match(await dig('+comments', 'mlflow-service.mlflow.svc.cluster.local'), /; EDNS: version: 0, flags:; udp: 1232/);
  const plain = await dig('+noedns', '+comments', 'mlflow-service.mlflow.svc.cluster.local');
  assert.doesNotMatch(plain, /OPT PSEUDOSECTION/);
  assert.match(plain, /status: NOERROR/);
  assert.match(await dig('+edns=1', '+noednsnegotiation', '+comments', 'mlflow-service.mlflow.svc.cluster.local'), /status: BADVERS/);
});

test('an answer larger than 512 bytes is truncated with TC over UDP and whole over TCP', async () => {
  const udp = await dig('+noedns', '+notcp', '+ignore', '+comments', 'many.default.svc.cluster.local');
  assert.match(udp, /flags: qr aa tc rd ra;/);
  const size = Number(/MSG SIZE\s+rcvd: (\d+)/.exec(udp)?.[1]);
  assert.ok(size > 0 && size <= 512, `UDP answer of ${size} bytes`);
  const small = await dig('+bufsize=800', '+notcp', '+ignore', '+comments', 'many.default.svc.cluster.local');
  const smallSize = Number(/MSG SIZE\s+rcvd: (\d+)/.exec(small)?.[1]);
  assert.match(small, /flags: qr aa tc rd ra;/);
  assert.ok(smallSize > 512 && smallSize <= 800, `EDNS 800 answer of ${smallSize} bytes`);
  // dig retries over TCP on TC by itself and gets every record.
  assert.equal((await dig('+short', '+noedns', 'many.default.svc.cluster.local')).trim().split('\n').length, 100);
  assert.equal((await kdig('+short', '+tcp', 'many.default.svc.cluster.local')).trim().split('\n').length, 100);
});

test('names outside the cluster are forwarded to the upstream and cached', async () => {
  const before = upstream.queries.length;
  assert.equal((await dig('+short', 'outside.example.test')).trim(), '192.0.2.60');
  assert.equal((await kdig('+short', '+tcp', 'outside.example.test')).trim(), '192.0.2.60');
  assert.equal(upstream.queries.filter((q, i) => i >= before && q.name === 'outside.example.test').length, 1);
  const nx = await dig('+noall', '+comments', 'missing.example.test');
  assert.match(nx, /status: NXDOMAIN/);
  assert.match(nx, /flags: qr rd ra;/, 'forwarded answers are not authoritative');
});

test('a service added or removed through the informer is answered right after', async () => {
  const svc: Service = { metadata: { name: 'late', namespace: 'mlflow' }, spec: { clusterIP: '10.96.77.7', ports: [{ port: 80 }] } };
  assert.match(await dig('+noall', '+comments', 'late.mlflow.svc.cluster.local'), /status: NXDOMAIN/);
  services.upsert(svc);
  assert.equal((await dig('+short', 'late.mlflow.svc.cluster.local')).trim(), '10.96.77.7');
  services.upsert({ ...svc, spec: { ...svc.spec, clusterIP: '10.96.77.8' } });
  assert.equal((await dig('+short', 'late.mlflow.svc.cluster.local')).trim(), '10.96.77.8');
  services.remove('mlflow/late');
  assert.match(await dig('+noall', '+comments', 'late.mlflow.svc.cluster.local'), /status: NXDOMAIN/);
});

test('zone transfers are refused', async () => {
  for (const type of ['AXFR', 'IXFR=1']) {
    const err = await run('kdig', ['@127.0.0.1', '-p', String(port), '+time=2', 'cluster.local', type], { timeout: 10_000 }).then(
      () => assert.fail('kdig succeeded'),
      (e: { stderr?: string }) => e.stderr ?? '',
    );
    assert.match(err, /server replied with error 'REFUSED'/);
  }
  assert.match(await dig('cluster.local', 'AXFR'), /Transfer failed/);
});

test('the health and ready endpoints answer OK, and the metrics are named as CoreDNS names them', async () => {
  const web = http.createServer((req, res) => {
    if (!server.httpHandler(req, res)) {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', () => r()));
  try {
    const { port: webPort } = web.address() as { port: number };
    for (const path of ['/health', '/ready']) {
      const res = await fetch(`http://127.0.0.1:${webPort}${path}`);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'OK');
    }
    assert.equal((await fetch(`http://127.0.0.1:${webPort}/other`)).status, 404);
  } finally {
    await new Promise<void>((r) => web.close(() => r()));
  }
  const metrics = await server.registry.metrics();
  assert.match(metrics, /coredns_dns_requests_total\{server="dns:\/\/127\.0\.0\.1:\d+",zone="\.",view="",proto="udp",family="1",type="A"\} \d+/);
  assert.match(metrics, /coredns_dns_requests_total\{[^}]*proto="tcp"[^}]*\} \d+/);
  assert.match(metrics, /coredns_dns_responses_total\{[^}]*rcode="NXDOMAIN",plugin="kubernetes"\} \d+/);
  assert.match(metrics, /coredns_dns_request_duration_seconds_bucket\{[^}]*type="A",le="0.00025"\} \d+/);
  assert.match(metrics, /coredns_dns_request_duration_seconds_count\{[^}]*type="A"\} \d+/);
  assert.match(metrics, /coredns_forward_requests_total\{to="127\.0\.0\.2:\d+"\} \d+/);
  assert.match(metrics, /coredns_cache_hits_total\{[^}]*type="success"[^}]*\} \d+/);
  assert.match(metrics, /coredns_cache_entries\{[^}]*type="success"[^}]*\} \d+/);
});
