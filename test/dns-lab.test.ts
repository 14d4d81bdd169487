// The cluster DNS in a lab (root): every node's DNS behind kube-system/kube-dns at 10.96.0.10,
// the nftables proxy carrying 10.96.0.10:53 to them, pods resolving the seed's names through
// their resolv.conf: `curl http://mlflow-service:5000` and the full name reach the Deployment's
// pods, and external-db's CNAME is followed to db.example.com. The lab is closed (no way out),
// so the nodes' DNS forwards to a fake authoritative server started in the workstation's
// namespace, answering db.example.com with the workstation's own LAN address. Every node also
// gets `--dns-listen 127.0.0.1:5353` (SVCNET_DNS_LISTEN): in netns mode too, it adds a listener.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { labSkipReason, withLab, type Lab } from './lib/lab.ts';
import { examplesDir, repoRoot } from './lib/svcnet.ts';
import { eventually } from '../src/util/index.ts';

const skip = await labSkipReason();
const workstationIP = '192.168.1.10';
const clusterDNS = '10.96.0.10';
/** The extra listener every node is given, in its own network namespace. */
const extraListen = { host: '127.0.0.1', port: 5353 };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The fake upstream, as a process in the workstation's namespace (192.168.1.10:53, UDP and TCP). */
async function startLabUpstream(lab: Lab): Promise<ChildProcess> {
  const ws = lab.info.members.find((m) => m.name === 'workstation');
  assert.ok(ws, 'the lab has a workstation');
  const opts = {
    host: workstationIP,
    port: 53,
    insideTestNamespace: true,
    records: { 'db.example.com': [{ name: 'db.example.com', type: 'A', ttl: 60, data: workstationIP }] },
  };
  const proc = spawn('ip', ['netns', 'exec', ws.ns, process.execPath, '--import', 'tsx', join(repoRoot, 'src/dns/testing.ts'), JSON.stringify(opts)], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('listening')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`the lab's fake upstream exited (${code}): ${err}`)));
  });
  return proc;
}

interface PodRow {
  name: string;
  ip: string;
  node: string;
  ready: boolean;
}

async function pods(lab: Lab, ns: string, selector: string): Promise<PodRow[]> {
  const out = JSON.parse(await lab.kubectlOk(['get', 'pods', '-n', ns, '-l', selector, '-o', 'json'])) as {
    items: { metadata: { name: string; deletionTimestamp?: string }; spec: { nodeName?: string }; status?: { podIP?: string; conditions?: { type: string; status: string }[] } }[];
  };
  return out.items
    .filter((p) => !p.metadata.deletionTimestamp)
    .map((p) => ({
      name: p.metadata.name,
      ip: p.status?.podIP ?? '',
      node: p.spec.nodeName ?? '',
      ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    }));
}

async function inPod(lab: Lab, ns: string, pod: string, cmd: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return lab.kubectl(['exec', '-n', ns, pod, '--', ...cmd], { timeoutMs });
}

test('in a lab, pods resolve the seed\'s Services through kube-dns at 10.96.0.10: curl by short and full name, dig over UDP and TCP, and getent follows the ExternalName\'s CNAME', { skip }, async (t) => {
  // Every node's DNS forwards to the workstation (svcnet server and agent read --dns-upstream from it).
  const saved = process.env.SVCNET_DNS_UPSTREAM;
  const savedListen = process.env.SVCNET_DNS_LISTEN;
  process.env.SVCNET_DNS_UPSTREAM = `${workstationIP}:53`;
  // ...and every node's DNS gets `--dns-listen 127.0.0.1:5353` (the server and the agents read it from there too).
  process.env.SVCNET_DNS_LISTEN = `${extraListen.host}:${extraListen.port}`;
  try {
    await withLab(
      'dnslab',
      async (lab) => {
        const upstream = await startLabUpstream(lab);
        try {
          const nodes = lab.info.members.filter((m) => m.role !== 'workstation');
          let replicas: PodRow[] = [];

          await t.test('kube-system/kube-dns is at 10.96.0.10 (dns 53/UDP, dns-tcp 53/TCP, metrics 9153/TCP), its endpoints every node\'s address', async () => {
            const svc = JSON.parse(await lab.kubectlOk(['get', 'service', 'kube-dns', '-n', 'kube-system', '-o', 'json'])) as {
              metadata: { labels?: Record<string, string> };
              spec: { clusterIP: string; ports: { name: string; port: number; protocol: string }[] };
            };
            assert.equal(svc.spec.clusterIP, clusterDNS);
            assert.equal(svc.metadata.labels?.['k8s-app'], 'kube-dns');
            assert.deepEqual(svc.spec.ports.map((p) => `${p.name} ${p.port}/${p.protocol}`), ['dns 53/UDP', 'dns-tcp 53/TCP', 'metrics 9153/TCP']);
            const want = nodes.map((m) => m.ip).sort().join(' ');
            await eventually(
              `kube-dns endpoints ${want}`,
              async () => {
                const out = await lab.kubectlOk(['get', 'endpoints', 'kube-dns', '-n', 'kube-system', '-o', 'jsonpath={range .subsets[*]}{range .addresses[*]}{.ip}{" "}{end}{end}']);
                return out.split(' ').filter(Boolean).sort().join(' ') === want ? true : undefined;
              },
              60_000,
            );
          });

          await t.test('setup: the seed\'s Deployment and Services, and a client pod in the mlflow namespace', async () => {
            for (const f of ['00-namespaces.yaml', '05-mlflow-deployment.yaml', '04-external-db-externalname.yaml']) await lab.kubectlOk(['apply', '-f', join(examplesDir, f)]);
            await lab.kubectlOk(['run', 'client', '-n', 'mlflow', '--image=mlflow/mlflow', '--labels=app=client']);
            replicas = await eventually(
              'two mlflow replicas and the client Ready',
              async () => {
                const r = (await pods(lab, 'mlflow', 'app=mlflow')).filter((p) => p.ready && p.ip);
                const c = (await pods(lab, 'mlflow', 'app=client')).filter((p) => p.ready);
                return r.length === 2 && c.length === 1 ? r : undefined;
              },
              120_000,
              500,
            );
            const resolv = await inPod(lab, 'mlflow', 'client', ['cat', '/etc/resolv.conf']);
            assert.match(resolv.stdout, new RegExp(`^nameserver ${clusterDNS.replace(/\./g, '\\.')}$`, 'm'));
            assert.match(resolv.stdout, /^search mlflow\.svc\.cluster\.local svc\.cluster\.local cluster\.local/m);
            assert.match(resolv.stdout, /^options ndots:5$/m);
          });

          await t.test('from a pod, dig @10.96.0.10 answers mlflow-service.mlflow.svc.cluster.local with its ClusterIP over UDP and TCP', async () => {
            const ip = (await lab.kubectlOk(['get', 'service', 'mlflow-service', '-n', 'mlflow', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
            for (const proto of ['+notcp', '+tcp']) {
              const r = await inPod(lab, 'mlflow', 'client', ['dig', `@${clusterDNS}`, '+short', '+time=2', '+tries=2', proto, 'mlflow-service.mlflow.svc.cluster.local']);
              assert.equal(r.stdout.trim(), ip, `dig ${proto}: ${r.stdout}${r.stderr}`);
            }
          });

          await t.test('--dns-listen adds a listener in netns mode too: in every node\'s namespace 127.0.0.1:5353 answers over UDP and TCP, beside the node address port 53', async () => {
            const ip = (await lab.kubectlOk(['get', 'service', 'mlflow-service', '-n', 'mlflow', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
            for (const m of nodes) {
              for (const proto of ['+notcp', '+tcp']) {
                const extra = await lab.exec(m.name, ['dig', `@${extraListen.host}`, '-p', String(extraListen.port), '+short', '+time=2', '+tries=2', proto, 'mlflow-service.mlflow.svc.cluster.local']);
                assert.equal(extra.stdout.trim(), ip, `${m.name}: dig @127.0.0.1 -p 5353 ${proto}: ${extra.stdout}${extra.stderr}`);
                const own = await lab.exec(m.name, ['dig', `@${m.ip}`, '+short', '+time=2', '+tries=2', proto, 'mlflow-service.mlflow.svc.cluster.local']);
                assert.equal(own.stdout.trim(), ip, `${m.name}: dig @${m.ip} ${proto}: ${own.stdout}${own.stderr}`);
              }
              // The same server behind both: an outside name is forwarded from the extra listener as well.
              const outside = await lab.exec(m.name, ['dig', `@${extraListen.host}`, '-p', String(extraListen.port), '+short', '+time=2', '+tries=2', 'db.example.com']);
              assert.equal(outside.stdout.trim(), workstationIP, `${m.name}: ${outside.stdout}${outside.stderr}`);
            }
          });

          await t.test('the seed\'s lines: curl http://mlflow-service:5000 and http://mlflow-service.mlflow.svc.cluster.local:5000 from a pod reach the Deployment\'s pods', async () => {
            const names = new Set(replicas.map((r) => r.name));
            for (const url of ['http://mlflow-service:5000', 'http://mlflow-service.mlflow.svc.cluster.local:5000']) {
              const root = await inPod(lab, 'mlflow', 'client', ['curl', '-s', '-f', '-m', '10', '-o', '/dev/null', '-w', '%{http_code}', url]);
              assert.equal(root.stdout, '200', `curl ${url}: ${root.stdout} ${root.stderr}`);
              const seen = new Set<string>();
              for (let i = 0; i < 20 && seen.size < names.size; i++) {
                const r = await inPod(lab, 'mlflow', 'client', ['curl', '-s', '-m', '10', `${url}/hostname`]);
                assert.ok(names.has(r.stdout), `curl ${url}/hostname answered by a replica: ${JSON.stringify(r.stdout)} ${r.stderr}`);
                seen.add(r.stdout);
              }
              assert.deepEqual([...seen].sort(), [...names].sort(), `${url} reaches both replicas`);
            }
          });

          await t.test('getent hosts external-db.default.svc.cluster.local follows the CNAME to db.example.com and its address', async () => {
            const r = await inPod(lab, 'mlflow', 'client', ['getent', 'hosts', 'external-db.default.svc.cluster.local']);
            assert.equal(r.code, 0, r.stderr);
            const fields = r.stdout.trim().split(/\s+/);
            assert.equal(fields[0], workstationIP);
            assert.ok(fields.includes('db.example.com'), `the canonical name is db.example.com: ${r.stdout}`);
            assert.ok(fields.includes('external-db.default.svc.cluster.local'), r.stdout);
            const cname = await inPod(lab, 'mlflow', 'client', ['dig', `@${clusterDNS}`, '+short', '+time=2', 'external-db.default.svc.cluster.local', 'CNAME']);
            assert.equal(cname.stdout.trim(), 'db.example.com.');
          });
        } finally {
          upstream.kill('SIGTERM');
          if (upstream.exitCode === null && upstream.signalCode === null) await Promise.race([once(upstream, 'exit'), sleep(3000)]);
          if (upstream.exitCode === null && upstream.signalCode === null) upstream.kill('SIGKILL');
        }
      },
      { imageTable: 'mlflow/mlflow: agnhost netexec --http-port=5000\n' },
    );
  } finally {
    if (saved === undefined) delete process.env.SVCNET_DNS_UPSTREAM;
    else process.env.SVCNET_DNS_UPSTREAM = saved;
    if (savedListen === undefined) delete process.env.SVCNET_DNS_LISTEN;
    else process.env.SVCNET_DNS_LISTEN = savedListen;
  }
});
