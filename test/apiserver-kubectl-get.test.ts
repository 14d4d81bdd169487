// What the real kubectl prints when reading from svcnet: `get svc -A` (kube-apiserver's
// columns and cells), `-o wide`, `-o yaml`, `-w`, `describe`, `explain`, `api-resources` and
// `get all`, with the dispatcher on PATH and kubectl 1.27 and 1.33 directly.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startSvcnet, kubectl, kubectlDir, type Svcnet } from './lib/svcnet.ts';
import { apiClient, type ApiClient } from './lib/apiserver.ts';
import { parseTable, recentAge } from './lib/kubectl-output.ts';

let s: Svcnet;
let api: ApiClient;

interface Svc {
  metadata: { name: string; namespace: string; uid: string };
  spec: { clusterIP?: string; ports?: { nodePort?: number }[] };
}

const ips = new Map<string, string>();
const nodePorts = new Map<string, number>();

async function createService(ns: string, name: string, spec: Record<string, unknown>, labels?: Record<string, string>): Promise<Svc> {
  const svc = await api.json<Svc>('POST', `/api/v1/namespaces/${ns}/services`, { apiVersion: 'v1', kind: 'Service', metadata: { name, labels }, spec });
  ips.set(name, svc.spec.clusterIP ?? '');
  nodePorts.set(name, svc.spec.ports?.[0]?.nodePort ?? 0);
  return svc;
}

before(async () => {
  s = await startSvcnet();
  api = apiClient(s);
  for (const ns of ['view', 'watch', 'everything', 'describe']) await api.json('POST', '/api/v1/namespaces', { metadata: { name: ns } });
  await createService('view', 'a-clusterip', { selector: { app: 'a' }, ports: [{ name: 'http', port: 80 }, { name: 'dns', port: 53, protocol: 'UDP' }] });
  await createService('view', 'b-nodeport', { type: 'NodePort', selector: { app: 'b', tier: 'web' }, ports: [{ name: 'http', port: 80, nodePort: 30080 }, { name: 'https', port: 443, nodePort: 30443 }] });
  await createService('view', 'c-lb', { type: 'LoadBalancer', loadBalancerClass: 'example.com/none', ports: [{ port: 8080 }] });
  await createService('view', 'd-name', { type: 'ExternalName', externalName: 'db.example.com' });
  await createService('view', 'e-headless', { clusterIP: 'None', selector: { app: 'e' }, ports: [{ port: 9000, protocol: 'SCTP' }] });
  await createService('view', 'f-noports', { type: 'ExternalName', externalName: 'other.example.com' });
});

after(async () => {
  api?.close();
  await s?.stop();
  s?.cleanup();
});

function expectedServiceRows(): string[][] {
  return [
    ['a-clusterip', 'ClusterIP', ips.get('a-clusterip')!, '<none>', '80/TCP,53/UDP'],
    ['b-nodeport', 'NodePort', ips.get('b-nodeport')!, '<none>', '80:30080/TCP,443:30443/TCP'],
    ['c-lb', 'LoadBalancer', ips.get('c-lb')!, '<pending>', `8080:${nodePorts.get('c-lb')}/TCP`],
    ['d-name', 'ExternalName', '<none>', 'db.example.com', '<none>'],
    ['e-headless', 'ClusterIP', 'None', '<none>', '9000/SCTP'],
    ['f-noports', 'ExternalName', '<none>', 'other.example.com', '<none>'],
  ];
}

const selectors: Record<string, string> = { 'a-clusterip': 'app=a', 'b-nodeport': 'app=b,tier=web', 'c-lb': '<none>', 'd-name': '<none>', 'e-headless': 'app=e', 'f-noports': '<none>' };

for (const version of [undefined, '1.27', '1.33'] as const) {
  const who = version ? `kubectl ${version}` : 'the kubectl on PATH';
  const k = (args: string[]) => kubectl(s, args, { version });

  describe(`reading with ${who}`, () => {
    it('get svc -A prints kube-apiserver\'s columns and cells, in namespace then name order', async () => {
      const r = await k(['get', 'svc', '-A']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      const t = parseTable(r.stdout);
      assert.deepEqual(t.header, ['NAMESPACE', 'NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE']);
      const kube = t.rows.find((row) => row[0] === 'default' && row[1] === 'kubernetes');
      assert.ok(kube, 'the kubernetes Service is listed');
      assert.deepEqual(kube.slice(2, 6), ['ClusterIP', s.net!.kubernetesIP, '<none>', '443/TCP']);
      const view = t.rows.filter((row) => row[0] === 'view');
      assert.deepEqual(
        view.map((row) => row.slice(1, 6)),
        expectedServiceRows(),
      );
      for (const row of view) assert.match(row[6], recentAge);
      const namespaces = t.rows.map((row) => row[0]);
      assert.deepEqual(namespaces, [...namespaces].sort());
    });

    it('get svc -o wide adds the SELECTOR column', async () => {
      const r = await k(['get', 'svc', '-n', 'view', '-o', 'wide']);
      assert.equal(r.code, 0, r.stderr);
      const t = parseTable(r.stdout);
      assert.deepEqual(t.header, ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE', 'SELECTOR']);
      assert.deepEqual(
        t.rows.map((row) => [...row.slice(0, 5), row[6]]),
        expectedServiceRows().map((row) => [...row, selectors[row[0]]]),
      );
    });

    it('get one service prints its row, and a missing one is NotFound with exit code 1', async () => {
      const r = await k(['get', 'svc', '-n', 'view', 'b-nodeport']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(parseTable(r.stdout).rows.map((row) => row.slice(0, 5)), [expectedServiceRows()[1]]);
      const missing = await k(['get', 'svc', '-n', 'view', 'nope']);
      assert.equal(missing.code, 1);
      assert.equal(missing.stdout, '');
      assert.equal(missing.stderr, 'Error from server (NotFound): services "nope" not found\n');
      const none = await k(['get', 'svc', '-n', 'watch']);
      assert.equal(none.code, 0);
      assert.equal(none.stdout, '');
      assert.equal(none.stderr, 'No resources found in watch namespace.\n');
    });

    it('get -o yaml prints the stored object with the defaults kube-apiserver fills in', async () => {
      const r = await k(['get', 'svc', '-n', 'view', 'a-clusterip', '-o', 'yaml']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^apiVersion: v1\nkind: Service\nmetadata:\n  creationTimestamp: "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"\n  name: a-clusterip\n  namespace: view\n  resourceVersion: "\d+"\n  uid: [0-9a-f-]{36}\nspec:\n/);
      const ip = ips.get('a-clusterip')!;
      assert.ok(
        r.stdout.endsWith(
          `spec:\n  clusterIP: ${ip}\n  clusterIPs:\n  - ${ip}\n  internalTrafficPolicy: Cluster\n  ipFamilies:\n  - IPv4\n  ipFamilyPolicy: SingleStack\n  ports:\n  - name: http\n    port: 80\n    protocol: TCP\n    targetPort: 80\n  - name: dns\n    port: 53\n    protocol: UDP\n    targetPort: 53\n  selector:\n    app: a\n  sessionAffinity: None\n  type: ClusterIP\nstatus:\n  loadBalancer: {}\n`,
        ),
        r.stdout,
      );
      const list = await k(['get', 'svc', '-n', 'view', '-o', 'yaml']);
      assert.match(list.stdout, /^apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: Service\n/);
      assert.match(list.stdout, /\nkind: List\nmetadata:\n  resourceVersion: ""\n$/);
    });

    it('get -w prints the table, then a row for every later change', async () => {
      const bin = version ? join(kubectlDir(), `kubectl.${version}`) : 'kubectl';
      const ns = 'watch';
      const name = `w${version?.replace('.', '') ?? 'path'}`;
      const child = spawn(bin, ['--kubeconfig', s.kubeconfig, '--cache-dir', join(s.dataDir, `kubectl-cache-${version ?? 'default'}`), 'get', 'svc', '-n', ns, '-w', '--output-watch-events'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      const waitFor = async (re: RegExp) => {
        const deadline = Date.now() + 20_000;
        while (!re.test(out)) {
          assert.ok(Date.now() < deadline, `kubectl -w printed ${JSON.stringify(out)} ${err}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      };
      try {
        // The watch is established once kubectl has listed (nothing there yet): give it a moment.
        await new Promise((r) => setTimeout(r, 1500));
        const svc = await createService(ns, name, { ports: [{ port: 7000 }] });
        await waitFor(new RegExp(`ADDED +${name} `));
        await api.json('PATCH', `/api/v1/namespaces/${ns}/services/${name}`, { metadata: { labels: { changed: 'yes' } } });
        await waitFor(new RegExp(`MODIFIED +${name} `));
        await api.request('DELETE', `/api/v1/namespaces/${ns}/services/${name}`);
        await waitFor(new RegExp(`DELETED +${name} `));
        const t = parseTable(out);
        assert.deepEqual(t.header, ['EVENT', 'NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE']);
        assert.deepEqual(
          t.rows.map((row) => row.slice(0, 6)),
          ['ADDED', 'MODIFIED', 'DELETED'].map((e) => [e, name, 'ClusterIP', svc.spec.clusterIP, '<none>', '7000/TCP']),
        );
      } finally {
        child.kill('SIGINT');
        await exited;
      }
    });

    it('describe service prints what kubectl prints against a cluster, events included', async () => {
      const ns = 'describe';
      const name = `desc-${version?.replace('.', '') ?? 'path'}`;
      const svc = await createService(ns, name, { type: 'NodePort', ports: [{ name: 'http', port: 80, targetPort: 8080, nodePort: version === '1.27' ? 30127 : version === '1.33' ? 30133 : 30100 }] }, { app: 'desc' });
      await api.json('PATCH', `/api/v1/namespaces/${ns}/services/${name}`, { metadata: { annotations: { note: 'hi' } } });
      await api.json('POST', `/api/v1/namespaces/${ns}/events`, {
        metadata: { name: `${name}.1` },
        involvedObject: { kind: 'Service', apiVersion: 'v1', namespace: ns, name, uid: svc.metadata.uid },
        reason: 'Tested',
        message: 'it works',
        type: 'Normal',
        source: { component: 'tester' },
        firstTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        lastTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        count: 1,
      });
      const r = await k(['describe', 'svc', '-n', ns, name]);
      assert.equal(r.code, 0, r.stderr);
      const ip = svc.spec.clusterIP!;
      const port = svc.spec.ports![0].nodePort!;
      const lines = [
        `Name:                     ${name}`,
        `Namespace:                ${ns}`,
        'Labels:                   app=desc',
        'Annotations:              note: hi',
        'Selector:                 <none>',
        'Type:                     NodePort',
        'IP Family Policy:         SingleStack',
        'IP Families:              IPv4',
        `IP:                       ${ip}`,
        `IPs:                      ${ip}`,
        'Port:                     http  80/TCP',
        'TargetPort:               8080/TCP',
        `NodePort:                 http  ${port}/TCP`,
        'Endpoints:                <none>',
        'Session Affinity:         None',
        'External Traffic Policy:  Cluster',
        ...(version === '1.27' ? [] : ['Internal Traffic Policy:  Cluster']),
        'Events:',
      ];
      const got = r.stdout.split('\n');
      assert.deepEqual(got.slice(0, lines.length), lines);
      assert.match(got[lines.length], /^ {2}Type {4}Reason {2}Age +From {4}Message$/);
      assert.match(got[lines.length + 1], /^ {2}-{4} {4}-{6} {2}-{3,} +-{4} {4}-{7}$/);
      assert.match(got[lines.length + 2], /^ {2}Normal {2}Tested {2}\d+s +tester {2}it works$/);
      const missing = await k(['describe', 'svc', '-n', ns, 'nope']);
      assert.equal(missing.code, 1);
      assert.equal(missing.stderr, 'Error from server (NotFound): services "nope" not found\n');
    });

    it('explain service.spec.ports prints the field from the OpenAPI schema', async () => {
      const r = await k(['explain', 'service.spec.ports']);
      assert.equal(r.code, 0, r.stderr);
      // kubectl 1.33's template leaves one more blank line after FIELD than 1.27's.
      const gap = version === '1.27' ? '\n\n' : '\n\n\n';
      assert.ok(r.stdout.startsWith(`KIND:       Service\nVERSION:    v1\n\nFIELD: ports <[]ServicePort>${gap}DESCRIPTION:\n    The list of ports that are exposed by this service.`), r.stdout);
      assert.match(r.stdout, /\n {2}port\t<integer> -required-\n {4}The port that will be exposed by this service\.\n/);
      assert.match(r.stdout, /\n {2}protocol\t<string>\n/);
      assert.match(r.stdout, /\n {2}targetPort\t<IntOrString>\n/);
      const bad = await k(['explain', 'service.spec.nope']);
      assert.equal(bad.code, 1);
      assert.equal(bad.stderr, 'error: field "nope" does not exist\n');
    });

    it('api-resources lists every served resource with its short names, group version, scope and kind', async () => {
      const r = await k(['api-resources']);
      assert.equal(r.code, 0, r.stderr);
      const t = parseTable(r.stdout);
      assert.deepEqual(t.header, ['NAME', 'SHORTNAMES', 'APIVERSION', 'NAMESPACED', 'KIND']);
      assert.deepEqual(t.rows, [
        ['configmaps', 'cm', 'v1', 'true', 'ConfigMap'],
        ['endpoints', 'ep', 'v1', 'true', 'Endpoints'],
        ['events', 'ev', 'v1', 'true', 'Event'],
        ['namespaces', 'ns', 'v1', 'false', 'Namespace'],
        ['nodes', 'no', 'v1', 'false', 'Node'],
        ['pods', 'po', 'v1', 'true', 'Pod'],
        ['secrets', '', 'v1', 'true', 'Secret'],
        ['serviceaccounts', 'sa', 'v1', 'true', 'ServiceAccount'],
        ['services', 'svc', 'v1', 'true', 'Service'],
        ['deployments', 'deploy', 'apps/v1', 'true', 'Deployment'],
        ['replicasets', 'rs', 'apps/v1', 'true', 'ReplicaSet'],
        ['leases', '', 'coordination.k8s.io/v1', 'true', 'Lease'],
        ['endpointslices', '', 'discovery.k8s.io/v1', 'true', 'EndpointSlice'],
        ['ipaddresspools', '', 'metallb.io/v1beta1', 'true', 'IPAddressPool'],
        ['l2advertisements', '', 'metallb.io/v1beta1', 'true', 'L2Advertisement'],
      ]);
      const wide = await k(['api-resources', '--api-group=apps', '-o', 'wide']);
      assert.equal(wide.code, 0, wide.stderr);
      const w = parseTable(wide.stdout);
      assert.deepEqual(w.header, ['NAME', 'SHORTNAMES', 'APIVERSION', 'NAMESPACED', 'KIND', 'VERBS', 'CATEGORIES']);
      assert.deepEqual(w.rows[0], ['deployments', 'deploy', 'apps/v1', 'true', 'Deployment', 'create,delete,deletecollection,get,list,patch,update,watch', 'all']);
    });

    it('get all shows the "all" category, one table per kind', async () => {
      const ns = 'everything';
      const name = `all-${version?.replace('.', '') ?? 'path'}`;
      const svc = await createService(ns, name, { selector: { app: name }, ports: [{ port: 80 }] }, { app: name });
      await api.json('POST', `/apis/apps/v1/namespaces/${ns}/replicasets`, {
        metadata: { name, labels: { app: name } },
        spec: { replicas: 0, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'registry.k8s.io/e2e-test-images/agnhost:2.47' }] } } },
      });
      await api.json('POST', `/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: `not-in-all-${name}` } });
      const r = await k(['get', 'all', '-n', ns, '-l', `app=${name}`]);
      assert.equal(r.code, 0, r.stderr);
      const [svcTable, rsTable] = r.stdout.split('\n\n');
      const st = parseTable(svcTable);
      assert.deepEqual(st.header, ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE']);
      assert.deepEqual(st.rows.map((row) => row.slice(0, 5)), [[`service/${name}`, 'ClusterIP', svc.spec.clusterIP, '<none>', '80/TCP']]);
      const rt = parseTable(rsTable);
      assert.deepEqual(rt.header, ['NAME', 'DESIRED', 'CURRENT', 'READY', 'AGE']);
      assert.deepEqual(rt.rows.map((row) => row.slice(0, 4)), [[`replicaset.apps/${name}`, '0', '0', '0']]);
      assert.doesNotMatch(r.stdout, /configmap/);
    });
  });
}
