// The built-in agnhost's serve-hostname (registry.k8s.io/e2e-test-images/agnhost:2.x, args
// [serve-hostname]) with the real node agent in host mode, answering as Kubernetes' own does
// (test/images/agnhost/serve-hostname): its pod's name over HTTP on :9376 by default, also
// behind a Service as Kubernetes' Service tests use it; --port, --close (Connection: close),
// raw --tcp and --udp with --http=false; --http with --tcp refused; on SIGTERM it keeps serving
// and awaits its pod's deletion.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { kubectl, kubectlOk, startNodeServer, type Svcnet } from './lib/svcnet.ts';
import { waitFor } from './lib/agent.ts';

const node = 'serve-hostname-node';
const ns = 'sh';
const image = 'registry.k8s.io/e2e-test-images/agnhost:2.53';
let s: Svcnet;

const ok = (args: string[], input?: string): Promise<string> => kubectlOk(s, args, input);

function pod(name: string, args: string[], extra = ''): string {
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${ns}}
spec:
  nodeName: ${node}
${extra}
  containers:
  - name: c
    image: ${image}
    args: ${JSON.stringify(args)}
`;
}

/** The pod's IP once it is Ready and answers a TCP connect on `port`. */
async function podIP(name: string): Promise<string> {
  return waitFor(`${name} Ready`, async () => {
    const out = await ok(['get', 'pod', name, '-n', ns, '-o', 'jsonpath={.status.podIP} {.status.conditions[?(@.type=="Ready")].status}']);
    const [ip, ready] = out.split(' ');
    return ready === 'True' && ip ? ip : undefined;
  });
}

/**
 * Requests `paths` one after another on a single connection (HTTP/1.1, kept alive unless the
 * server says Connection: close): the responses, and whether the server closed the connection.
 */
function httpOn(host: string, port: number, paths: string[]): Promise<{ responses: string[]; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    const responses: string[] = [];
    let buf = '';
    let weEnded = false;
    let closedByServer = false;
    const send = () => sock.write(`GET ${paths[responses.length]} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    sock.setTimeout(5000, () => sock.destroy(new Error('timed out')));
    sock.on('connect', send);
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.slice(0, end);
      const len = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
      if (buf.length < end + 4 + len) return;
      responses.push(buf.slice(0, end + 4 + len));
      buf = buf.slice(end + 4 + len);
      if (/\r\nconnection: close/i.test(head)) return; // the server closes: wait for its FIN
      if (responses.length < paths.length) send();
      else {
        weEnded = true;
        sock.end();
      }
    });
    sock.on('end', () => {
      if (!weEnded) closedByServer = true;
    });
    sock.on('close', () => resolve({ responses, closedByServer }));
    sock.on('error', reject);
  });
}

function body(response: string): string {
  return response.slice(response.indexOf('\r\n\r\n') + 4);
}

before(async () => {
  s = await startNodeServer(node, ns);
});

after(async () => {
  if (s) {
    await s.stop();
    s.cleanup();
  }
});

test('serve-hostname answers its pod\'s name over HTTP on :9376, on any path and kept alive, and behind a Service', async () => {
  await ok(['apply', '-f', '-'], `apiVersion: apps/v1
kind: Deployment
metadata: {name: hostnames, namespace: ${ns}}
spec:
  replicas: 2
  selector: {matchLabels: {app: hostnames}}
  template:
    metadata: {labels: {app: hostnames}}
    spec:
      containers:
      - name: c
        image: ${image}
        args: [serve-hostname]
        ports: [{containerPort: 9376}]
        readinessProbe:
          httpGet: {path: /, port: 9376}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {name: hostnames, namespace: ${ns}}
spec:
  selector: {app: hostnames}
  ports: [{port: 80, targetPort: 9376}]
`);
  await ok(['rollout', 'status', 'deployment/hostnames', '-n', ns, '--timeout=60s']);
  const rows = (await ok(['get', 'pods', '-n', ns, '-l', 'app=hostnames', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.status.podIP}{"\\n"}{end}']))
    .trim()
    .split('\n')
    .map((l) => l.split(' ') as [string, string]);
  assert.equal(rows.length, 2);
  for (const [name, ip] of rows) {
    const r = await httpOn(ip, 9376, ['/', '/anything/else']);
    assert.deepEqual(r.responses.map(body), [name, name]);
    assert.match(r.responses[0], /^HTTP\/1\.1 200 OK\r\n/);
    assert.doesNotMatch(r.responses[0], /connection: close/i);
    assert.equal(r.closedByServer, false, 'the connection stays open between requests');
  }
  const logs = await ok(['logs', '-n', ns, rows[0][0]]);
  assert.match(logs, /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d Serving on port 9376\.$/m);
  assert.match(logs, /HTTP request from 127\.[\d.]+:\d+$/m);
  // As Kubernetes' Service tests use it: the Service's ClusterIP reaches both replicas.
  const clusterIP = await ok(['get', 'svc', 'hostnames', '-n', ns, '-o', 'jsonpath={.spec.clusterIP}']);
  const seen = new Set<string>();
  await waitFor('both names through the ClusterIP', async () => {
    const r = await fetch(`http://${clusterIP}:80/`, { signal: AbortSignal.timeout(3000), headers: { Connection: 'close' } });
    seen.add(await r.text());
    return seen.size === 2;
  }, 20_000, 20);
  assert.deepEqual([...seen].sort(), rows.map(([n]) => n).sort());
  await ok(['delete', 'deployment', 'hostnames', '-n', ns, '--wait=false']);
});

test('serve-hostname --port and --close: the connection closes after each response', async () => {
  await ok(['apply', '-f', '-'], pod('closer', ['serve-hostname', '--port=9377', '--close']));
  const ip = await podIP('closer');
  const r = await waitFor('an answer on :9377', () => httpOn(ip, 9377, ['/', '/']).catch(() => undefined));
  assert.equal(r.responses.length, 1, 'one response, then the server closed the connection');
  assert.equal(body(r.responses[0]), 'closer');
  assert.match(r.responses[0], /\r\nconnection: close\r\n/i);
  assert.equal(r.closedByServer, true);
  await assert.rejects(httpOn(ip, 9376, ['/']), /ECONNREFUSED/, 'nothing on the default port');
  await ok(['delete', 'pod', 'closer', '-n', ns, '--grace-period=1', '--wait=false']);
});

test('serve-hostname --http=false --tcp --udp answers raw TCP connections and UDP datagrams with the name', async () => {
  await ok(['apply', '-f', '-'], pod('raw', ['serve-hostname', '--http=false', '--tcp', '--udp', '--port=9378']));
  const ip = await podIP('raw');
  const tcp = await waitFor('a TCP answer', () =>
    new Promise<string>((resolve, reject) => {
      const sock = net.connect({ host: ip, port: 9378 });
      let got = '';
      sock.setTimeout(3000, () => sock.destroy(new Error('timed out')));
      sock.on('data', (d: Buffer) => (got += d.toString()));
      sock.on('end', () => resolve(got));
      sock.on('error', reject);
    }).catch(() => undefined),
  );
  assert.equal(tcp, 'raw', 'the name, then the server closes the connection');
  const udp = await waitFor('a UDP answer', () =>
    new Promise<string | undefined>((resolve) => {
      const sock = dgram.createSocket('udp4');
      const t = setTimeout(() => {
        sock.close();
        resolve(undefined);
      }, 1000);
      sock.on('message', (m) => {
        clearTimeout(t);
        sock.close();
        resolve(m.toString());
      });
      sock.send('hostname', 9378, ip);
    }),
  );
  assert.equal(udp, 'raw');
  const logs = await ok(['logs', '-n', ns, 'raw']);
  assert.match(logs, /TCP request from 127\.[\d.]+:\d+$/m);
  assert.match(logs, /UDP request from 127\.[\d.]+:\d+$/m);
  await ok(['delete', 'pod', 'raw', '-n', ns, '--grace-period=1', '--wait=false']);
});

test('serve-hostname refuses --tcp with HTTP on (its default): the container fails with agnhost\'s message', async () => {
  await ok(['apply', '-f', '-'], pod('both', ['serve-hostname', '--tcp'], '  restartPolicy: Never'));
  const exit = await waitFor('the container terminated', async () => (await ok(['get', 'pod', 'both', '-n', ns, '-o', 'jsonpath={.status.containerStatuses[0].state.terminated.exitCode}'])) || undefined);
  assert.equal(exit, '1');
  assert.equal(await ok(['get', 'pod', 'both', '-n', ns, '-o', 'jsonpath={.status.phase}']), 'Failed');
  assert.match(await ok(['logs', '-n', ns, 'both']), /Can't serve TCP\/UDP mode and HTTP mode at the same time/);
  await ok(['delete', 'pod', 'both', '-n', ns, '--wait=false']);
});

test('on SIGTERM serve-hostname keeps serving and awaits its pod\'s deletion (it is killed at the grace period)', async () => {
  const grace = 3;
  await ok(['apply', '-f', '-'], pod('lingering', ['serve-hostname'], `  terminationGracePeriodSeconds: ${grace}`));
  const ip = await podIP('lingering');
  await waitFor('an answer', () => httpOn(ip, 9376, ['/']).catch(() => undefined));
  const deletedAt = Date.now();
  await ok(['delete', 'pod', 'lingering', '-n', ns, '--wait=false']);
  await waitFor('the shutdown logged', async () => /Awaiting pod deletion\./.test((await kubectl(s, ['logs', '-n', ns, 'lingering'])).stdout));
  const logs = (await kubectl(s, ['logs', '-n', ns, 'lingering'])).stdout;
  assert.match(logs, /Shutting down after receiving signal: terminated\.\n.*Awaiting pod deletion\./);
  const during = await httpOn(ip, 9376, ['/']);
  assert.equal(body(during.responses[0]), 'lingering', 'still serving while its pod terminates');
  const goneAt = await waitFor('the pod gone', async () => (/NotFound/.test((await kubectl(s, ['get', 'pod', 'lingering', '-n', ns])).stderr) ? Date.now() : undefined), 30_000, 50);
  assert.ok(goneAt - deletedAt >= grace * 1000, `gone ${goneAt - deletedAt} ms after the delete: before the grace period, so it did not wait`);
});
