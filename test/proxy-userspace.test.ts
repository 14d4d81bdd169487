// The service proxy in host mode (the userspace backend), end to end through the real
// `bin/svcnet server` with real kubectl, curl and dig: the seed's examples reachable on their
// loopback ClusterIP (00, 05), NodePort 30001 (02) and LoadBalancer address from 127.240.0.0/24
// (03, with grafana pods made here); even balancing over the two replicas; refusal of a Service
// without endpoints; sessionAffinity ClientIP; DNS over UDP through a Service; no request lost
// while the Deployment scales and a pod is deleted, and an open connection to the deleted pod
// finishes.
//
// Pods: the image table maps mlflow/mlflow and grafana/grafana to the built-in agnhost netexec
// (answering /hostname with the pod's name); on SIGTERM they keep serving for a few seconds, as
// an application with a graceful shutdown does.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { EndpointSlices, Pods, Services } from '../src/api/index.ts';
import { HttpClient } from '../src/client/index.ts';
import { startSvcnet, kubectl, run, examplesDir, type Svcnet } from './lib/svcnet.ts';
import { killPodProcesses, uniqueClusterCIDR, waitFor } from './lib/agent.ts';

const node = `us-${randomBytes(3).toString('hex')}`;
const serviceCIDR = `127.${100 + Math.floor(Math.random() * 50)}.0.0/16`;
const ShutdownDelaySeconds = 8;
let s: Svcnet;
let api: HttpClient;
let work: string;

// A DNS server for one pod: answers every A question with the pod's own address.
const dnsServer = `import os, socket
ip = os.environ['POD_IP']
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((ip, 5353))
while True:
    q, peer = s.recvfrom(4096)
    i = 12
    while q[i] != 0:
        i += q[i] + 1
    question = q[12:i + 5]
    answer = b'\\xc0\\x0c\\x00\\x01\\x00\\x01\\x00\\x00\\x00\\x05\\x00\\x04' + socket.inet_aton(ip)
    s.sendto(q[:2] + b'\\x81\\x80\\x00\\x01\\x00\\x01\\x00\\x00\\x00\\x00' + question + answer, peer)
`;

async function ok(args: string[], input?: string): Promise<string> {
  const r = await kubectl(s, args, input === undefined ? {} : { input });
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Ready endpoint addresses of a Service, from its EndpointSlices. */
async function readyEndpoints(ns: string, svc: string): Promise<string[]> {
  const slices = await api.list<EndpointSlice>(EndpointSlices, ns, { labelSelector: `kubernetes.io/service-name=${svc}` });
  return slices.items.flatMap((sl) => sl.endpoints.filter((e) => e.conditions?.ready !== false).flatMap((e) => e.addresses)).sort();
}

async function podNames(ns: string, app: string): Promise<string[]> {
  const pods = await api.list<Pod>(Pods, ns, { labelSelector: `app=${app}` });
  return pods.items.filter((p) => !p.metadata?.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).map((p) => p.metadata!.name!).sort();
}

async function waitPods(ns: string, app: string, svc: string, n: number): Promise<string[]> {
  try {
    return await waitFor(
      `${n} ready ${app} pods behind ${svc}`,
      async () => {
        const names = await podNames(ns, app);
        const eps = await readyEndpoints(ns, svc);
        return names.length === n && eps.length === n ? names : undefined;
      },
      60_000,
      200,
    );
  } catch (e) {
    const seen = await kubectl(s, ['get', 'pods,endpointslices', '-n', ns, '-o', 'wide']);
    throw new Error(`${(e as Error).message}\n${seen.stdout}${seen.stderr}`);
  }
}

async function clusterIP(ns: string, name: string): Promise<string> {
  return (await api.get<Service>(Services, ns, name)).spec!.clusterIP!;
}

interface Reply {
  status: number;
  body: string;
}

/** One HTTP GET on a connection of its own (each one balanced afresh, as kube-proxy balances connections). */
function get(host: string, port: number, path = '/hostname', localAddress?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, agent: false, timeout: 5000, ...(localAddress ? { localAddress } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET http://${host}:${port}${path}: no answer in 5 s`)));
    req.on('error', reject);
    req.end();
  });
}

async function curl(url: string): Promise<{ code: number; body: string; ms: number }> {
  const t0 = performance.now();
  const r = await run('curl', ['-sS', '-m', '5', url]);
  return { code: r.code, body: r.stdout, ms: performance.now() - t0 };
}

/** Waits until host:port answers /hostname with each of names. */
async function waitAnswering(host: string, port: number, names: readonly string[]): Promise<void> {
  const seen = new Set<string>();
  await waitFor(
    `${host}:${port} answering from ${names.join(', ')}`,
    async () => {
      const r = await get(host, port).catch(() => undefined);
      if (r?.status === 200) seen.add(r.body);
      return names.every((n) => seen.has(n));
    },
    30_000,
    20,
  );
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'svcnet-proxy-us-'));
  writeFileSync(join(work, 'dns.py'), dnsServer);
  writeFileSync(
    join(work, 'images.yaml'),
    [
      `mlflow/mlflow: agnhost netexec --http-port 5000 --udp-port=-1 --delay-shutdown ${ShutdownDelaySeconds}`,
      `grafana/grafana: agnhost netexec --http-port 3000 --udp-port=-1 --delay-shutdown ${ShutdownDelaySeconds}`,
      `example/dns: python3 ${join(work, 'dns.py')}`,
      '',
    ].join('\n'),
  );
  s = await startSvcnet({
    args: ['--image-table', join(work, 'images.yaml'), '--node-name', node, '--cluster-cidr', uniqueClusterCIDR(), '--service-cidr', serviceCIDR, '--proxy-healthz', '127.0.0.1:0', '--proxy-metrics', '127.0.0.1:0'],
  });
  api = HttpClient.fromKubeconfig(s.kubeconfig);
  await waitFor('the node Ready', async () => (await kubectl(s, ['get', 'node', node, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).stdout === 'True', 30_000);
  await ok(['apply', '-f', join(examplesDir, '00-namespaces.yaml'), '-f', join(examplesDir, '05-mlflow-deployment.yaml')]);
});

after(async () => {
  api?.close();
  if (s) {
    if ((await s.stop()) !== 0) process.stderr.write(s.logs().slice(-20_000));
    killPodProcesses(s.dataDir);
    s.cleanup();
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the seed\'s Deployment answers on its loopback ClusterIP, and 1,000 requests split within ±10% of even', async (t) => {
  const pods = await waitPods('mlflow', 'mlflow', 'mlflow-service', 2);
  const ip = await clusterIP('mlflow', 'mlflow-service');
  assert.ok(ip.startsWith(serviceCIDR.split('.').slice(0, 2).join('.') + '.'), ip);
  await waitAnswering(ip, 5000, pods);
  const c = await curl(`http://${ip}:5000/hostname`);
  assert.equal(c.code, 0);
  assert.ok(pods.includes(c.body), `${c.body} is one of ${pods.join(', ')}`);

  const counts = new Map<string, number>();
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < 1000) {
        next++;
        const r = await get(ip, 5000);
        assert.equal(r.status, 200);
        counts.set(r.body, (counts.get(r.body) ?? 0) + 1);
      }
    }),
  );
  t.diagnostic(`1,000 requests: ${JSON.stringify([...counts])}`);
  assert.deepEqual([...counts.keys()].sort(), pods);
  for (const [pod, n] of counts) assert.ok(n >= 450 && n <= 550, `${pod}: ${n} of 1,000 (${JSON.stringify([...counts])})`);
});

test('the proxy reports healthy on --proxy-healthz and exports kube-proxy\'s metrics', async () => {
  const addr = (what: string): string => {
    const m = new RegExp(`"address":"([^"]+)","msg":"proxy ${what} serving"`).exec(s.logs());
    assert.ok(m, `the server logs where proxy ${what} listens`);
    return m[1];
  };
  const h = await curl(`http://${addr('healthz')}/healthz`);
  assert.equal(h.code, 0);
  assert.match(h.body, /"lastUpdated"/);
  const m = await curl(`http://${addr('metrics')}/metrics`);
  assert.equal(m.code, 0);
  assert.match(m.body, /^kubeproxy_sync_proxy_rules_duration_seconds_count [1-9]/m);
  assert.match(m.body, /^kubeproxy_sync_proxy_rules_last_timestamp_seconds /m);
});

test('a Service without endpoints refuses its clients at once', async () => {
  await ok(['apply', '-f', '-'], 'apiVersion: v1\nkind: Service\nmetadata: {name: nobody, namespace: mlflow}\nspec:\n  selector: {app: nobody}\n  ports: [{port: 5000, targetPort: 5000}]\n');
  const ip = await waitFor('a ClusterIP', () => clusterIP('mlflow', 'nobody'));
  // Give the proxy time to see it (it would be refused before that anyway; this checks it stays so).
  await new Promise((r) => setTimeout(r, 1500));
  const c = await curl(`http://${ip}:5000/hostname`);
  assert.equal(c.code, 7, `curl: couldn't connect (got ${c.code}: ${c.body})`);
  assert.ok(c.ms < 1000, `refused in ${Math.round(c.ms)} ms`);
  const code = await new Promise<string>((resolve) => {
    const sock = connect({ host: ip, port: 5000 });
    sock.once('connect', () => (sock.destroy(), resolve('connected')));
    sock.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? ''));
  });
  assert.equal(code, 'ECONNREFUSED');
});

test('sessionAffinity ClientIP keeps each client on one pod', async () => {
  await ok(['apply', '-f', '-'], 'apiVersion: v1\nkind: Service\nmetadata: {name: sticky, namespace: mlflow}\nspec:\n  selector: {app: mlflow}\n  sessionAffinity: ClientIP\n  ports: [{port: 5000, targetPort: 5000}]\n');
  const pods = await waitPods('mlflow', 'mlflow', 'sticky', 2);
  const ip = await clusterIP('mlflow', 'sticky');
  await waitFor('sticky answering', async () => (await get(ip, 5000).catch(() => undefined))?.status === 200, 30_000, 50);
  const firsts = new Set<string>();
  for (let c = 0; c < 10; c++) {
    const from = `127.0.${200 + c}.${1 + Math.floor(Math.random() * 250)}`;
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add((await get(ip, 5000, '/hostname', from)).body);
    assert.equal(seen.size, 1, `client ${from} reached ${[...seen].join(', ')}`);
    firsts.add([...seen][0]);
  }
  assert.deepEqual([...firsts].sort(), pods, 'different clients are spread over both pods');
});

test('the NodePort of example 02 answers on the node\'s address at 30001', async () => {
  await ok(['apply', '-f', join(examplesDir, '02-mlflow-nodeport.yaml')]);
  const pods = await waitPods('mlflow', 'mlflow', 'mlflow-service', 2);
  const nodeIP = s.net!.nodeIP;
  await waitAnswering(nodeIP, 30001, pods);
  const c = await curl(`http://${nodeIP}:30001/hostname`);
  assert.equal(c.code, 0);
  assert.ok(pods.includes(c.body), c.body);
  // The ClusterIP keeps answering beside it.
  assert.ok(pods.includes((await get(await clusterIP('mlflow', 'mlflow-service'), 5000)).body));
});

test('the LoadBalancer of example 03 answers on its address from the loopback pool (127.240.0.0/24 by default; this server\'s own here), port 80, reaching grafana pods on 3000', async (t) => {
  const unprivileged = Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8'));
  if (process.getuid?.() !== 0 && unprivileged > 80) {
    t.skip(`port 80 needs root or net.ipv4.ip_unprivileged_port_start <= 80 (it is ${unprivileged})`);
    return;
  }
  await ok(['apply', '-f', '-'], `apiVersion: apps/v1
kind: Deployment
metadata: {name: grafana, namespace: monitoring}
spec:
  replicas: 2
  selector: {matchLabels: {app: grafana}}
  template:
    metadata: {labels: {app: grafana}}
    spec:
      containers:
      - {name: grafana, image: grafana/grafana, ports: [{containerPort: 3000}]}
`);
  await ok(['apply', '-f', join(examplesDir, '03-grafana-loadbalancer.yaml')]);
  const pods = await waitPods('monitoring', 'grafana', 'grafana-service', 2);
  const svc = await waitFor('an ingress address', async () => {
    const v = await api.get<Service>(Services, 'monitoring', 'grafana-service');
    return v.status?.loadBalancer?.ingress?.[0]?.ip ? v : undefined;
  });
  const lb = svc.status!.loadBalancer!.ingress![0].ip!;
  assert.equal(lb, s.net!.firstLoadBalancerIP);
  await waitAnswering(lb, 80, pods);
  const c = await curl(`http://${lb}/hostname`);
  assert.equal(c.code, 0);
  assert.ok(pods.includes(c.body), c.body);
  const out = await ok(['get', 'svc', '-n', 'monitoring', 'grafana-service']);
  assert.match(out, new RegExp(`grafana-service\\s+LoadBalancer\\s+\\S+\\s+${lb.replace(/\./g, '\\.')}\\s+80:\\d+/TCP`));
  // Its node port too.
  const nodePort = svc.spec!.ports![0].nodePort!;
  assert.ok(pods.includes((await get(s.net!.nodeIP, nodePort)).body));
});

test('DNS over UDP works through a Service (dig against its ClusterIP)', async () => {
  await ok(['apply', '-f', '-'], `apiVersion: v1
kind: Pod
metadata: {name: dns-1, namespace: mlflow, labels: {app: dns}}
spec:
  containers: [{name: dns, image: example/dns}]
---
apiVersion: v1
kind: Service
metadata: {name: dns, namespace: mlflow}
spec:
  selector: {app: dns}
  ports: [{name: dns, port: 5353, targetPort: 5353, protocol: UDP}]
`);
  await waitPods('mlflow', 'dns', 'dns', 1);
  const podIP = (await api.get<Pod>(Pods, 'mlflow', 'dns-1')).status!.podIP!;
  const ip = await clusterIP('mlflow', 'dns');
  const answer = await waitFor(
    'an answer through the Service',
    async () => {
      const r = await run('dig', [`@${ip}`, '-p', '5353', '+short', '+tries=1', '+time=1', 'mlflow-service.mlflow.svc.cluster.local', 'A']);
      return r.code === 0 && r.stdout.trim() !== '' ? r.stdout.trim() : undefined;
    },
    30_000,
    200,
  );
  assert.equal(answer, podIP);
  // Many queries, each from its own source port (a flow each).
  for (let i = 0; i < 20; i++) {
    const r = await run('dig', [`@${ip}`, '-p', '5353', '+short', '+tries=1', '+time=2', `q${i}.example`, 'A']);
    assert.equal(r.stdout.trim(), podIP);
  }
});

test('scaling the Deployment and deleting a pod under a steady stream of requests loses none; an open connection to the deleted pod finishes', async (t) => {
  await ok(['apply', '-f', join(examplesDir, '05-mlflow-deployment.yaml')]);
  const before = await waitPods('mlflow', 'mlflow', 'mlflow-service', 2);
  const ip = await clusterIP('mlflow', 'mlflow-service');
  await waitAnswering(ip, 5000, before);

  // A keep-alive connection, and the pod it reached.
  const held = connect({ host: ip, port: 5000 });
  held.setEncoding('utf8');
  let heldBuf = '';
  held.on('data', (d: string) => (heldBuf += d));
  const heldGet = async (): Promise<string> => {
    heldBuf = '';
    held.write(`GET /hostname HTTP/1.1\r\nHost: ${ip}\r\n\r\n`);
    await waitFor('a reply on the held connection', () => /\r\n\r\n/.test(heldBuf) && /Content-Length: (\d+)/i.test(heldBuf) && heldBuf.split('\r\n\r\n')[1].length >= Number(/Content-Length: (\d+)/i.exec(heldBuf)![1]), 5000, 10);
    return heldBuf.split('\r\n\r\n')[1];
  };
  const heldPod = await heldGet();
  assert.ok(before.includes(heldPod));

  // The stream: 4 clients, each request on a new connection.
  let running = true;
  let sent = 0;
  let failed = 0;
  const failures: string[] = [];
  const answered = new Map<string, number>();
  const stream = Promise.all(
    Array.from({ length: 4 }, async () => {
      while (running) {
        sent++;
        try {
          const r = await get(ip, 5000);
          if (r.status !== 200) throw new Error(`status ${r.status}`);
          answered.set(r.body, (answered.get(r.body) ?? 0) + 1);
        } catch (e) {
          failed++;
          if (failures.length < 10) failures.push((e as Error).message);
        }
      }
    }),
  );
  try {
    await new Promise((r) => setTimeout(r, 1000));
    await ok(['scale', 'deployment', 'mlflow', '-n', 'mlflow', '--replicas=3']);
    const three = await waitPods('mlflow', 'mlflow', 'mlflow-service', 3);
    const added = three.filter((p) => !before.includes(p));
    await waitFor('the new pod answering', () => added.every((p) => (answered.get(p) ?? 0) > 0), 20_000, 50);

    // Delete the pod the held connection reached; the connection goes on while the pod shuts down.
    const heldIP = (await api.get<Pod>(Pods, 'mlflow', heldPod)).status!.podIP!;
    await ok(['delete', 'pod', '-n', 'mlflow', heldPod, '--wait=false']);
    await waitFor(`${heldPod} out of the ready endpoints`, async () => !(await readyEndpoints('mlflow', 'mlflow-service')).includes(heldIP), 20_000, 50);
    // The proxy's next sync (--min-sync-period 1 s) takes it out of the balancing.
    await new Promise((r) => setTimeout(r, 1500));
    const servedAfter = answered.get(heldPod) ?? 0;
    assert.equal(await heldGet(), heldPod, 'the open connection still reaches the deleted pod while it shuts down');
    held.end();

    await ok(['scale', 'deployment', 'mlflow', '-n', 'mlflow', '--replicas=2']);
    const after2 = await waitPods('mlflow', 'mlflow', 'mlflow-service', 2);
    assert.ok(!after2.includes(heldPod));
    // Past the removed pods' shutdown: connections to them would fail now.
    await new Promise((r) => setTimeout(r, (ShutdownDelaySeconds + 1) * 1000));
    running = false;
    await stream;
    assert.ok((answered.get(heldPod) ?? 0) - servedAfter <= 4, 'new connections stopped going to the deleted pod (at most one in flight per client)');
  } finally {
    running = false;
    held.destroy();
    await stream;
  }
  t.diagnostic(`${sent} requests, ${failed} failed, answered by ${JSON.stringify([...answered])}`);
  assert.equal(failed, 0, `${failed} of ${sent} requests failed: ${failures.join('; ')}`);
  assert.ok(sent > 200, `a steady stream (${sent} requests)`);
});
