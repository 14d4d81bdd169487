// Where ClusterIPs come from, on the real `bin/svcnet server` in host mode with the real
// kubectl: IPv6 and dual-stack Services when the server is given a second (IPv6) Service CIDR,
// and the tenth address of the Service CIDR, which Kubernetes keeps in the static band of the
// range for cluster DNS (kubeadm's kube-dns asks for it), so random allocations never take it
// while the upper band has room. The servers run without their node agent: nothing here needs
// the data plane, and no address is bound.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import ipaddr from 'ipaddr.js';
import type { Service } from 'kubernetes-types/core/v1.js';
import { startSvcnet, kubectl, type Svcnet } from './lib/svcnet.ts';
import { apiClient, type ApiClient } from './lib/apiserver.ts';
import { parseTable } from './lib/kubectl-output.ts';

const inCIDR = (ip: string, cidr: string) => ipaddr.parse(ip).match(ipaddr.parseCIDR(cidr));

function svc(ns: string, name: string, spec: Service['spec']): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { ports: [{ port: 80 }], ...spec } };
}

function helpers(server: () => Svcnet, client: () => ApiClient) {
  const ok = async (args: string[], input?: string): Promise<string> => {
    const r = await kubectl(server(), args, input === undefined ? {} : { input });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  return {
    ok,
    /** kubectl apply, then the stored object. */
    apply: async (obj: Service): Promise<Service> => {
      await ok(['apply', '-f', '-'], JSON.stringify(obj));
      return JSON.parse(await ok(['get', 'svc', obj.metadata!.name!, '-n', obj.metadata!.namespace!, '-o', 'json'])) as Service;
    },
    /** A create through the API (for the many Services a test only counts). */
    create: async (obj: Service): Promise<Service> => client().json<Service>('POST', `/api/v1/namespaces/${obj.metadata!.namespace}/services`, obj),
    /** The status code and message of a create that must be refused. */
    refused: async (obj: Service): Promise<{ code: number; message: string }> => {
      const r = await client().request('POST', `/api/v1/namespaces/${obj.metadata!.namespace}/services`, { body: JSON.stringify(obj), headers: { 'Content-Type': 'application/json' } });
      assert.ok(r.status >= 400, `expected a refusal, got ${r.status} ${r.body}`);
      return { code: r.status, message: (JSON.parse(r.body) as { message: string }).message };
    },
    /** NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) of one Service in `kubectl get svc`. */
    row: async (ns: string, name: string): Promise<string[]> => parseTable(await ok(['get', 'svc', name, '-n', ns])).rows[0].slice(0, 5),
  };
}

describe('IPv6 and dual-stack with a second --service-cidr', () => {
  const v4 = '127.98.0.0/16';
  const v6 = 'fd00:10:96::/112';
  const ns = 'dual';
  let s: Svcnet;
  let api: ApiClient;
  const { ok, apply, refused, row } = helpers(() => s, () => api);

  before(async () => {
    s = await startSvcnet({ args: ['--no-agent', '--service-cidr', `${v4},${v6}`] });
    api = apiClient(s);
    await ok(['create', 'namespace', ns]);
  });

  after(async () => {
    api?.close();
    await s?.stop();
    s?.cleanup();
  });

  test('RequireDualStack gets an IPv4 ClusterIP from the first CIDR and an IPv6 one from the second', async () => {
    const d = await apply(svc(ns, 'both', { ipFamilyPolicy: 'RequireDualStack', selector: { app: 'both' } }));
    assert.deepEqual(d.spec!.ipFamilies, ['IPv4', 'IPv6']);
    const [a, b] = d.spec!.clusterIPs!;
    assert.equal(d.spec!.clusterIPs!.length, 2);
    assert.ok(inCIDR(a, v4), `${a} in ${v4}`);
    assert.ok(inCIDR(b, v6), `${b} in ${v6}`);
    assert.equal(d.spec!.clusterIP, a);
    assert.deepEqual(await row(ns, 'both'), ['both', 'ClusterIP', a, '<none>', '80/TCP']);
    // A Service that says nothing stays single-stack on the first CIDR's family.
    const plain = await apply(svc(ns, 'plain', {}));
    assert.deepEqual([plain.spec!.ipFamilyPolicy, plain.spec!.ipFamilies, plain.spec!.clusterIPs!.length], ['SingleStack', ['IPv4'], 1]);
    assert.ok(inCIDR(plain.spec!.clusterIP!, v4));
  });

  test('ipFamilies [IPv6] gets one IPv6 ClusterIP from the IPv6 CIDR; PreferDualStack [IPv6, IPv4] puts it first', async () => {
    const six = await apply(svc(ns, 'six', { ipFamilies: ['IPv6'] }));
    assert.deepEqual([six.spec!.ipFamilyPolicy, six.spec!.ipFamilies], ['SingleStack', ['IPv6']]);
    assert.equal(six.spec!.clusterIPs!.length, 1);
    assert.ok(inCIDR(six.spec!.clusterIP!, v6), `${six.spec!.clusterIP} in ${v6}`);
    assert.deepEqual(await row(ns, 'six'), ['six', 'ClusterIP', six.spec!.clusterIP, '<none>', '80/TCP']);
    const pref = await apply(svc(ns, 'six-first', { ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv6', 'IPv4'], type: 'NodePort' }));
    const [a, b] = pref.spec!.clusterIPs!;
    assert.ok(inCIDR(a, v6) && inCIDR(b, v4), `${a}, ${b}`);
    assert.ok(pref.spec!.ports![0].nodePort! >= 30000, 'a NodePort as any other');
  });

  test('a requested IPv6 ClusterIP is honoured, refused when taken or outside the CIDR, and free again after a delete', async () => {
    const want = 'fd00:10:96::abcd';
    const got = await apply(svc(ns, 'want6', { ipFamilies: ['IPv6'], clusterIP: want }));
    assert.deepEqual(got.spec!.clusterIPs, [want]);
    assert.deepEqual(await refused(svc(ns, 'want6-again', { ipFamilies: ['IPv6'], clusterIP: want })), {
      code: 422,
      message: `Service "want6-again" is invalid: spec.clusterIPs: Invalid value: []string{"${want}"}: failed to allocate IP ${want}: provided IP is already allocated`,
    });
    assert.deepEqual(await refused(svc(ns, 'outside6', { ipFamilies: ['IPv6'], clusterIP: 'fd00:10:97::1' })), {
      code: 422,
      message: `Service "outside6" is invalid: spec.clusterIPs: Invalid value: []string{"fd00:10:97::1"}: failed to allocate IP fd00:10:97::1: the provided IP (fd00:10:97::1) is not in the valid range. The range of valid IPs is ${v6}`,
    });
    await ok(['delete', 'svc', 'want6', '-n', ns]);
    assert.deepEqual((await apply(svc(ns, 'want6-later', { ipFamilies: ['IPv6'], clusterIP: want }))).spec!.clusterIPs, [want]);
  });

  test('a single-stack Service upgraded to RequireDualStack gains an IPv6 ClusterIP from the IPv6 CIDR; downgraded, it releases it', async () => {
    const single = await apply(svc(ns, 'grows', {}));
    const ip4 = single.spec!.clusterIP!;
    await ok(['patch', 'svc', 'grows', '-n', ns, '-p', '{"spec":{"ipFamilyPolicy":"RequireDualStack"}}']);
    const dual = JSON.parse(await ok(['get', 'svc', 'grows', '-n', ns, '-o', 'json'])) as Service;
    assert.equal(dual.spec!.clusterIPs![0], ip4, 'the IPv4 address stays');
    const ip6 = dual.spec!.clusterIPs![1];
    assert.ok(inCIDR(ip6, v6), `${ip6} in ${v6}`);
    assert.deepEqual(dual.spec!.ipFamilies, ['IPv4', 'IPv6']);
    await ok(['patch', 'svc', 'grows', '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4'], clusterIPs: [ip4] } })]);
    const back = JSON.parse(await ok(['get', 'svc', 'grows', '-n', ns, '-o', 'json'])) as Service;
    assert.deepEqual(back.spec!.clusterIPs, [ip4]);
    assert.deepEqual((await apply(svc(ns, 'takes-released', { ipFamilies: ['IPv6'], clusterIP: ip6 }))).spec!.clusterIPs, [ip6]);
  });
});

describe('the tenth address of the Service CIDR in host mode', () => {
  // A /27: 30 usable addresses; Kubernetes' static band is the first 16 (KEP-3070), which holds
  // the kubernetes Service's .1 and cluster DNS's .10, and random allocations take the 14 of
  // the upper band first.
  const cidr = '127.97.0.0/27';
  const dnsIP = '127.97.0.10';
  const ns = 'tenth';
  let s: Svcnet;
  let api: ApiClient;
  const { ok, apply, create, refused } = helpers(() => s, () => api);
  const offset = (ip: string) => Number(ip.split('.')[3]);

  before(async () => {
    s = await startSvcnet({ args: ['--no-agent', '--service-cidr', cidr] });
    api = apiClient(s);
    await ok(['create', 'namespace', ns]);
  });

  after(async () => {
    api?.close();
    await s?.stop();
    s?.cleanup();
  });

  test('no ordinary Service gets it: random allocations fill the upper band without it, kube-dns asking for it gets it, others are refused, and filling the range never hands it out', async () => {
    // Host mode makes no kube-dns Service (the cluster DNS answers on a loopback port).
    const sys = await kubectl(s, ['get', 'svc', 'kube-dns', '-n', 'kube-system']);
    assert.equal(sys.code, 1);
    assert.equal(sys.stderr, 'Error from server (NotFound): services "kube-dns" not found\n');

    const upper: string[] = [];
    for (let i = 0; i < 14; i++) upper.push((await create(svc(ns, `upper-${i}`, {}))).spec!.clusterIP!);
    assert.deepEqual(upper.map(offset).sort((a, b) => a - b), Array.from({ length: 14 }, (_, i) => 17 + i), 'the 14 addresses of the upper band, and nothing of the static band');

    // kubeadm's kube-dns asks for the tenth address; it is free and it gets it.
    const kubeDns = await apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
      spec: { clusterIP: dnsIP, selector: { 'k8s-app': 'kube-dns' }, ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }] },
    });
    assert.equal(kubeDns.spec!.clusterIP, dnsIP);
    assert.deepEqual(await refused(svc(ns, 'wants-dns-ip', { clusterIP: dnsIP })), {
      code: 422,
      message: `Service "wants-dns-ip" is invalid: spec.clusterIPs: Invalid value: []string{"${dnsIP}"}: failed to allocate IP ${dnsIP}: provided IP is already allocated`,
    });

    // The rest of the range: the static band's other 14 addresses, then Kubernetes' message.
    const lower: string[] = [];
    for (let i = 0; i < 14; i++) lower.push((await create(svc(ns, `lower-${i}`, {}))).spec!.clusterIP!);
    assert.deepEqual(lower.map(offset).sort((a, b) => a - b), [2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16]);
    assert.deepEqual(await refused(svc(ns, 'one-too-many', {})), { code: 500, message: 'Internal error occurred: failed to allocate a serviceIP: range is full' });
    const all = JSON.parse(await ok(['get', 'svc', '-A', '-o', 'json'])) as { items: Service[] };
    const holders = all.items.filter((x) => x.spec?.clusterIP === dnsIP).map((x) => `${x.metadata!.namespace}/${x.metadata!.name}`);
    assert.deepEqual(holders, ['kube-system/kube-dns']);
  });
});
