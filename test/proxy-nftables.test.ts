// The nftables proxy with real nft and real traffic, inside network namespaces this test makes
// (removed at the end, also on failure). Nothing touches the host namespace: every nft, ip and
// sysctl command runs in a namespace of the test's own, and traffic stays inside a closed
// topology (no link to the host namespace):
//
//   client ns  eth0 192.168.100.2 ──veth── vc 192.168.100.1   node ns (the proxier programs it)
//                   fd00:100::2              fd00:100::1
//   p1 ns      eth0 10.244.1.11   ──veth── br0 10.244.1.1/24, fd00:244:1::1/64
//                   fd00:244:1::11
//   p2 ns      eth0 10.244.1.12   ──veth──┘
//                   fd00:244:1::12
//
// The client's default routes lead to the node, so the externalIPs and LoadBalancer addresses
// (10.200.0.0/24) are reached through it and never leave the topology.
//
// Needs root, nft, ip and node; skips with the reason otherwise.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { FakeInformer } from '../src/client/index.ts';
import { startProxier, type Proxier } from '../src/proxy/index.ts';
import { NftablesBackend } from '../src/proxy/nftables/backend.ts';
import { RealExec } from '../src/proxy/nftables/exec.ts';
import { RealNftables, type Nftables } from '../src/proxy/nftables/nftables.ts';
import { RealConntrack } from '../src/proxy/nftables/conntrack.ts';
import { computeState, toServiceInfo, toSliceInfo } from '../src/proxy/model/index.ts';
import { makeService, makeSlice, type EndpointOptions } from '../src/proxy/testing.ts';
import type { ProxyConfig, ServiceInfo, SliceInfo } from '../src/proxy/types.ts';

const run = promisify(execFile);
const fixtures = new URL('./fixtures/proxy/', import.meta.url).pathname;

function whyNot(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root: creates network namespaces and runs nft in them';
  for (const tool of ['/usr/sbin/nft', '/usr/sbin/ip', '/usr/sbin/conntrack']) if (!existsSync(tool)) return `needs ${tool}`;
  return undefined;
}
const skip = whyNot();
process.env.SVCNET_LOG_LEVEL ??= 'silent';

const id = randomBytes(3).toString('hex');
const made: string[] = [];
async function netnsAdd(suffix: string): Promise<string> {
  const name = `svcnet-proxy-${id}-${suffix}`;
  await run('ip', ['netns', 'add', name]);
  made.push(name);
  await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}
async function removeAll(): Promise<void> {
  for (const n of made.splice(0).reverse()) await run('ip', ['netns', 'del', n]).catch(() => {});
}
const inNs = (ns: string, ...argv: string[]): Promise<{ stdout: string }> => run('ip', ['netns', 'exec', ns, ...argv], { maxBuffer: 64 << 20 });

/** A Nftables that records every script it runs. */
function recording(inner: Nftables): Nftables & { scripts: string[] } {
  const scripts: string[] = [];
  return {
    scripts,
    run: (s) => (scripts.push(s), inner.run(s)),
    listElements: (...a) => inner.listElements(...a),
    listChains: (...a) => inner.listChains(...a),
    close: () => inner.close?.(),
  };
}

const L = (ip: string): EndpointOptions => ({ ip, node: 'node-a' });

describe('nftables rulesets with real nft', { skip }, () => {
  let ns = '';
  before(async () => {
    ns = await netnsAdd('rules');
  });
  after(removeAll);

  const config: ProxyConfig = {
    families: ['IPv4', 'IPv6'],
    nodeIPs: ['192.168.0.10', 'fd00:192::10'],
    nodePortAddresses: [],
    localTrafficCIDRs: ['10.244.0.0/16', 'fd00:244::/32'],
    masqueradeAll: false,
    serviceCIDRs: ['10.96.0.0/16'],
  };
  const node = { name: 'node-a' };
  const objs = (webEps: EndpointOptions[]): (Service | EndpointSlice)[] => [
    makeService('web', { clusterIPs: ['10.96.0.10', 'fd00:96::a'], type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080, protocol: 'TCP' }], affinityTimeout: 300 }),
    makeSlice('web', webEps),
    makeSlice('web', [L('fd00:244:1::5')], { name: 'web-v6' }),
    makeService('lb', {
      clusterIP: '10.96.0.20',
      type: 'LoadBalancer',
      ports: [{ name: 'dns', port: 53, nodePort: 30053, protocol: 'UDP' }],
      loadBalancerIngress: [{ ip: '203.0.113.1' }],
      loadBalancerSourceRanges: ['198.51.100.0/24', '192.0.2.0/24'],
      externalTrafficPolicy: 'Local',
    }),
    makeSlice('lb', [L('10.244.1.6'), { ip: '10.244.2.8', node: 'node-b' }], { ports: [{ name: 'dns', port: 5353, protocol: 'UDP' }] }),
    makeService('sctp', { clusterIP: '10.96.0.30', ports: [{ name: 's', port: 9999, protocol: 'SCTP' }], internalTrafficPolicy: 'Local' }),
    makeSlice('sctp', [{ ip: '10.244.2.9', node: 'node-b' }], { ports: [{ name: 's', port: 9999, protocol: 'SCTP' }] }),
    makeService('none', { clusterIP: '10.96.0.40' }),
  ];
  const stateOf = (list: (Service | EndpointSlice)[]) => {
    const svcs = new Map<string, ServiceInfo>();
    const slices = new Map<string, Map<string, SliceInfo>>();
    for (const o of list) {
      if (o.kind === 'Service') svcs.set(`default/${o.metadata!.name}`, toServiceInfo(o)!);
      else {
        const s = toSliceInfo(o as EndpointSlice);
        if (!slices.has(s.service)) slices.set(s.service, new Map());
        slices.get(s.service)!.set(s.name, s);
      }
    }
    return computeState(svcs, slices, node, config.families);
  };
  const list = async (family: string, map: string): Promise<string> => (await inNs(ns, 'nft', 'list', 'map', family, 'svcnet', map)).stdout;

  test('a ruleset with every feature loads in one transaction, both families', async () => {
    const nft = recording(new RealNftables(new RealExec(), { netns: ns, sessionMaxBytes: 0 }));
    const b = new NftablesBackend({ nft, config, node, conntrack: new RealConntrack(new RealExec(), ns) });
    const r = await b.sync(stateOf(objs([L('10.244.1.5'), L('10.244.1.7')])), undefined);
    assert.equal(nft.scripts.length, 1);
    assert.ok(r.elements > 20);
    assert.match(await list('ip', 'service-ips'), /10\.96\.0\.10 \. tcp \. 80 : goto internal-0-2-a300/);
    assert.match(await list('ip', 'service-ips'), /203\.0\.113\.1 \. udp \. 53 : goto extlocal-0-2-0-1/);
    assert.match(await list('ip6', 'service-ips'), /fd00:96::a \. tcp \. 80 : goto internal-0-1-a300/);
    assert.match(await list('ip', 'no-endpoint-services'), /10\.96\.0\.30 \. sctp \. 9999 : drop/);
    assert.match(await list('ip', 'no-endpoint-services'), /10\.96\.0\.40 \. tcp \. 80 : goto reject-chain/);
    const fw = (await inNs(ns, 'nft', 'list', 'set', 'ip', 'svcnet', 'firewall-allow')).stdout;
    assert.match(fw, /203\.0\.113\.1 \. udp \. 53 \. 192\.0\.2\.0\/24/);
    b.requestFullSync();
    assert.equal((await b.sync(stateOf(objs([L('10.244.1.5'), L('10.244.1.7')])), undefined)).mode, 'full');
  });

  test('an endpoint change applies as a small transaction through the nft -i session', async () => {
    const nft = recording(new RealNftables(new RealExec(), { netns: ns }));
    try {
      const b = new NftablesBackend({ nft, config, node });
      await b.sync(stateOf(objs([L('10.244.1.5'), L('10.244.1.7')])), undefined);
      await b.sync(stateOf(objs([L('10.244.1.5'), L('10.244.1.8')])), new Set(['default/web']));
      assert.ok(nft.scripts.at(-1)!.length < 1500, nft.scripts.at(-1));
      const slot1 = await list('ip', 'slot-1');
      assert.match(slot1, /10\.96\.0\.10 \. tcp \. 80 : 10\.244\.1\.8 \. 8080/);
      assert.doesNotMatch(slot1, /10\.244\.1\.7/);
      // A refusal of the kernel comes back as an error, and the next sync repairs.
      await inNs(ns, 'nft', 'delete', 'element', 'ip', 'svcnet', 'slot-1', '{ 10.96.0.10 . tcp . 80 }');
      await assert.rejects(b.sync(stateOf(objs([L('10.244.1.5'), L('10.244.1.9')])), new Set(['default/web'])), /No such file or directory/);
      assert.equal((await b.sync(stateOf(objs([L('10.244.1.5'), L('10.244.1.9')])), new Set())).mode, 'full');
      assert.match(await list('ip', 'slot-1'), /10\.96\.0\.10 \. tcp \. 80 : 10\.244\.1\.9 \. 8080/);
    } finally {
      nft.close?.();
    }
  });

  test('a transaction through the nft -i session is all or nothing: one refused command leaves none of its commands applied', async () => {
    const nft = new RealNftables(new RealExec(), { netns: ns });
    const listTable = () => inNs(ns, 'nft', 'list', 'table', 'ip', 'atomic');
    try {
      // Several lines, as the backend renders them; the last names a set that does not exist.
      const script = ['add table ip atomic', 'add chain ip atomic c1', 'add set ip atomic s1 { type ipv4_addr; }', 'add element ip atomic s1 { 10.0.0.1 }', 'add element ip atomic no-such-set { 10.0.0.2 }'].join('\n');
      await assert.rejects(nft.run(script), /No such file or directory/);
      await assert.rejects(listTable(), /No such file or directory/);
      // The session keeps working, and the same commands without the bad one all apply.
      await nft.run(script.split('\n').slice(0, 4).join('\n'));
      const table = (await listTable()).stdout;
      assert.match(table, /chain c1/);
      assert.match(table, /elements = \{ 10\.0\.0\.1 \}/);
    } finally {
      nft.close();
      await inNs(ns, 'nft', 'delete', 'table', 'ip', 'atomic').catch(() => {});
    }
  });

  test('a restarted backend adopts the table: it reads one map and re-sends no unchanged element', async () => {
    const nft = recording(new RealNftables(new RealExec(), { netns: ns, sessionMaxBytes: 0 }));
    const state = stateOf(objs([L('10.244.1.5'), L('10.244.1.9')]));
    await new NftablesBackend({ nft, config, node }).sync(state, undefined);
    const before = (await inNs(ns, 'nft', 'list', 'ruleset')).stdout;
    const r = await new NftablesBackend({ nft, config, node }).sync(state, undefined);
    assert.equal(r.mode, 'adopt');
    assert.doesNotMatch(nft.scripts.at(-1)!, /element ip6? svcnet (slot-|service-ips|service-state|no-endpoint)/);
    assert.equal((await inNs(ns, 'nft', 'list', 'ruleset')).stdout, before);
  });

  test('a first sync streamed in preload transactions gives the same ruleset as one transaction', async () => {
    // The ruleset as JSON, without handles (they follow creation order), elements sorted (a hash
    // set lists in its own order).
    const normalized = async (where: string): Promise<string> => {
      const strip = (v: unknown): unknown => {
        if (Array.isArray(v)) return v.map(strip);
        if (v === null || typeof v !== 'object') return v;
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v)) if (k !== 'handle') out[k] = k === 'elem' && Array.isArray(x) ? x.map((e) => JSON.stringify(strip(e))).sort() : strip(x);
        return out;
      };
      const { nftables } = JSON.parse((await inNs(where, 'nft', '-j', 'list', 'ruleset')).stdout) as { nftables: unknown[] };
      return nftables.map((o) => JSON.stringify(strip(o))).sort().join('\n');
    };
    const state = stateOf(objs([L('10.244.1.5'), L('10.244.1.7'), L('10.244.1.8')]));
    const one = await netnsAdd('one');
    const streamed = await netnsAdd('streamed');
    const whole = recording(new RealNftables(new RealExec(), { netns: one, sessionMaxBytes: 0 }));
    await new NftablesBackend({ nft: whole, config, node }).sync(state, undefined);
    assert.equal(whole.scripts.length, 1);
    const pieces = recording(new RealNftables(new RealExec(), { netns: streamed, sessionMaxBytes: 0 }));
    await new NftablesBackend({ nft: pieces, config, node, preloadChunkElements: 4 }).sync(state, undefined);
    assert.ok(pieces.scripts.length >= 3, `${pieces.scripts.length} transactions`);
    // Only the last transaction hooks anything: no preload carries a rule.
    for (const s of pieces.scripts.slice(0, -1)) assert.doesNotMatch(s, /add rule|hook /);
    assert.equal(await normalized(streamed), await normalized(one));
  });
});

describe('nftables proxy with real traffic', { skip }, () => {
  let nodeNs = '';
  let client = '';
  let p1 = '';
  let p2 = '';
  const servers: ChildProcess[] = [];
  let proxier: Proxier | undefined;
  const services = new FakeInformer<Service>();
  const slices = new FakeInformer<EndpointSlice>();
  const nodeIP = '192.168.100.1';
  const nodeIP6 = 'fd00:100::1';
  const P1 = '10.244.1.11';
  const P2 = '10.244.1.12';
  const P1v6 = 'fd00:244:1::11';
  const P2v6 = 'fd00:244:1::12';
  const nft = (): Nftables & { scripts: string[] } => recording(new RealNftables(new RealExec(), { netns: nodeNs }));
  let rec: Nftables & { scripts: string[] };
  const sessions: Nftables[] = [];

  const startProxy = (): Proxier => {
    rec = nft();
    sessions.push(rec);
    return startProxier({
      services,
      endpointSlices: slices,
      nodeName: 'node-a',
      nodeIPs: [nodeIP, nodeIP6],
      podCIDRs: ['10.244.1.0/24', 'fd00:244:1::/64'],
      nftables: rec,
      conntrack: new RealConntrack(new RealExec(), nodeNs),
      healthz: false,
      serviceHealthHost: false,
      minSyncPeriodMs: 0,
    });
  };

  before(async () => {
    nodeNs = await netnsAdd('node');
    client = await netnsAdd('client');
    p1 = await netnsAdd('p1');
    p2 = await netnsAdd('p2');
    const ipn = (n: string, ...a: string[]) => run('ip', ['-n', n, ...a]);
    await ipn(nodeNs, 'link', 'add', 'br0', 'type', 'bridge');
    await ipn(nodeNs, 'addr', 'add', '10.244.1.1/24', 'dev', 'br0');
    // nodad: the addresses are usable at once, with no duplicate-address detection to wait for.
    await ipn(nodeNs, 'addr', 'add', 'fd00:244:1::1/64', 'dev', 'br0', 'nodad');
    await ipn(nodeNs, 'link', 'set', 'br0', 'up');
    for (const [pod, ip, veth, ip6] of [
      [p1, P1, 'vp1', P1v6],
      [p2, P2, 'vp2', P2v6],
    ] as const) {
      await ipn(nodeNs, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod);
      await ipn(nodeNs, 'link', 'set', veth, 'master', 'br0', 'up');
      // A pod reaching itself through a Service leaves and re-enters by the same bridge port
      // (the CNI bridge plugin's hairpinMode).
      await ipn(nodeNs, 'link', 'set', veth, 'type', 'bridge_slave', 'hairpin', 'on');
      await ipn(pod, 'addr', 'add', `${ip}/24`, 'dev', 'eth0');
      await ipn(pod, 'link', 'set', 'eth0', 'up');
      await ipn(pod, 'route', 'add', 'default', 'via', '10.244.1.1');
      await ipn(pod, 'addr', 'add', `${ip6}/64`, 'dev', 'eth0', 'nodad');
      await ipn(pod, '-6', 'route', 'add', 'default', 'via', 'fd00:244:1::1');
    }
    await ipn(nodeNs, 'link', 'add', 'vc', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', client);
    await ipn(nodeNs, 'addr', 'add', `${nodeIP}/24`, 'dev', 'vc');
    await ipn(nodeNs, 'link', 'set', 'vc', 'up');
    await ipn(client, 'addr', 'add', '192.168.100.2/24', 'dev', 'eth0');
    await ipn(client, 'link', 'set', 'eth0', 'up');
    await ipn(client, 'route', 'add', 'default', 'via', nodeIP);
    await ipn(nodeNs, 'addr', 'add', `${nodeIP6}/64`, 'dev', 'vc', 'nodad');
    await ipn(client, 'addr', 'add', 'fd00:100::2/64', 'dev', 'eth0', 'nodad');
    await ipn(client, '-6', 'route', 'add', 'default', 'via', nodeIP6);
    await inNs(nodeNs, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    await inNs(nodeNs, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1');
    // Pods share the bridge's subnet: replies between them are bridged, so they must pass
    // netfilter to be un-DNATed (Kubernetes' br_netfilter requirement), per namespace.
    await inNs(nodeNs, 'sysctl', '-qw', 'net.bridge.bridge-nf-call-iptables=1');
    await inNs(nodeNs, 'sysctl', '-qw', 'net.bridge.bridge-nf-call-ip6tables=1');
    for (const [pod, name, ip] of [
      [p1, 'p1', P1],
      [p2, 'p2', P2],
      [p1, 'p1', P1v6],
      [p2, 'p2', P2v6],
    ] as const) {
      const child = spawn('ip', ['netns', 'exec', pod, process.execPath, '--import', 'tsx', `${fixtures}server.ts`, name, ip, '8080'], { stdio: ['ignore', 'pipe', 'inherit'] });
      servers.push(child);
      await new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => resolve());
        child.once('exit', (c) => reject(new Error(`server ${name} exited ${c}`)));
      });
    }

    for (const [pod, name, ip] of [
      [p1, 'p1', P1],
      [p2, 'p2', P2],
    ] as const) {
      const child = spawn('ip', ['netns', 'exec', pod, process.execPath, '--import', 'tsx', `${fixtures}udp.ts`, 'server', name, ip, '5353'], { stdio: ['ignore', 'pipe', 'inherit'] });
      servers.push(child);
      await new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => resolve());
        child.once('exit', (c) => reject(new Error(`udp server ${name} exited ${c}`)));
      });
    }

    const np = (port: number) => ({ type: 'NodePort' as const, ports: [{ name: 'http', port: 80, nodePort: port, protocol: 'TCP' as const }] });
    const both = [L(P1), L(P2)];
    services.upsert(makeService('web', { clusterIP: '10.96.0.10', ...np(30080) }));
    slices.upsert(makeSlice('web', both));
    services.upsert(makeService('empty', { clusterIP: '10.96.0.11' }));
    services.upsert(makeService('sticky', { clusterIP: '10.96.0.12', affinityTimeout: 600 }));
    slices.upsert(makeSlice('sticky', both));
    services.upsert(makeService('self', { clusterIP: '10.96.0.13' }));
    slices.upsert(makeSlice('self', [L(P1)]));
    services.upsert(makeService('local', { clusterIP: '10.96.0.14', ...np(30081), externalTrafficPolicy: 'Local' }));
    slices.upsert(makeSlice('local', both));
    services.upsert(makeService('elsewhere', { clusterIP: '10.96.0.15', ...np(30082), externalTrafficPolicy: 'Local' }));
    slices.upsert(makeSlice('elsewhere', [{ ip: P2, node: 'node-b' }]));
    services.upsert(makeService('dns', { clusterIP: '10.96.0.16', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] }));
    slices.upsert(makeSlice('dns', both, { ports: [{ name: 'dns', port: 5353, protocol: 'UDP' }] }));
    // Dual-stack: one slice per family, as the EndpointSlice controller writes them.
    services.upsert(makeService('web6', { clusterIPs: ['10.96.0.20', 'fd00:96::20'], ...np(30083) }));
    slices.upsert(makeSlice('web6', both, { name: 'web6-v4' }));
    slices.upsert(makeSlice('web6', [L(P1v6), L(P2v6)], { name: 'web6-v6' }));
    services.upsert(makeService('empty6', { clusterIP: 'fd00:96::21' }));
    services.upsert(makeService('ext', { clusterIP: '10.96.0.21', externalIPs: ['10.200.0.7'] }));
    slices.upsert(makeSlice('ext', both));
    const lb = (clusterIP: string, nodePort: number, ingress: string, ranges: string[]) =>
      makeService(`lb-${nodePort}`, { clusterIP, ...np(nodePort), type: 'LoadBalancer', loadBalancerIngress: [{ ip: ingress }], loadBalancerSourceRanges: ranges });
    services.upsert(lb('10.96.0.22', 30084, '10.200.0.8', ['192.168.100.2/32']));
    slices.upsert(makeSlice('lb-30084', both));
    services.upsert(lb('10.96.0.23', 30085, '10.200.0.9', ['198.51.100.0/24']));
    slices.upsert(makeSlice('lb-30085', both));
    services.start();
    slices.start();
    proxier = startProxy();
    await proxier.synced();
  });

  after(async () => {
    await proxier?.stop();
    for (const s of sessions) s.close?.();
    for (const s of servers) s.kill();
    await removeAll();
  });

  interface Result {
    answers: Record<string, number>;
    errors: Record<string, number>;
    ms: number[];
  }
  const requests = async (from: string, host: string, port: number, n: number, timeoutMs = 2000): Promise<Result> => {
    const { stdout } = await inNs(from, process.execPath, '--import', 'tsx', `${fixtures}client.ts`, host, String(port), String(n), '10', String(timeoutMs));
    return JSON.parse(stdout) as Result;
  };
  /** Requests per pod name, whatever the source address. */
  const byPod = (r: Result): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(r.answers)) out[k.split(' ')[0]] = (out[k.split(' ')[0]] ?? 0) + v;
    return out;
  };
  const assertEven = (r: Result): void => {
    assertBoth(r);
    for (const n of Object.values(byPod(r))) assert.ok(n >= 450 && n <= 550, `split ${JSON.stringify(byPod(r))} is not within ±10% of even`);
  };
  /** Every request answered, by both pods (for runs too short to judge the split). */
  const assertBoth = (r: Result): void => {
    assert.deepEqual(r.errors, {});
    assert.deepEqual(Object.keys(byPod(r)).sort(), ['p1', 'p2']);
  };

  test('1,000 requests from the client to the ClusterIP split evenly over both pods', async () => {
    assertEven(await requests(client, '10.96.0.10', 80, 1000));
  });

  test('1,000 requests from a pod to the ClusterIP split evenly, the pod reaching itself too', async () => {
    const r = await requests(p1, '10.96.0.10', 80, 1000);
    assertEven(r);
    // To itself the pod's traffic is masqueraded (hairpin); to the other pod it is not.
    assert.deepEqual(Object.keys(r.answers).sort(), ['p1 10.244.1.1', `p2 ${P1}`]);
  });

  test('1,000 requests to the NodePort split evenly, masqueraded', async () => {
    const r = await requests(client, nodeIP, 30080, 1000);
    assertEven(r);
    assert.deepEqual(Object.keys(r.answers).sort(), ['p1 10.244.1.1', 'p2 10.244.1.1']);
  });

  test('a Service with no endpoints refuses at once, as does an unknown port of a ClusterIP', async () => {
    for (const [host, port] of [
      ['10.96.0.11', 80],
      ['10.96.0.10', 81],
    ] as const) {
      const r = await requests(client, host, port, 20, 5000);
      assert.deepEqual(r.errors, { ECONNREFUSED: 20 });
      assert.ok(Math.max(...r.ms) < 500, `took ${Math.max(...r.ms)} ms`);
    }
  });

  test('sessionAffinity ClientIP sends one client to one pod', async () => {
    const r = await requests(client, '10.96.0.12', 80, 100);
    assert.deepEqual(r.errors, {});
    assert.equal(Object.keys(byPod(r)).length, 1, JSON.stringify(r.answers));
  });

  test('externalTrafficPolicy Local preserves the client’s source address', async () => {
    const r = await requests(client, nodeIP, 30081, 50);
    assert.deepEqual(r.errors, {});
    assert.deepEqual(Object.keys(r.answers).sort(), ['p1 192.168.100.2', 'p2 192.168.100.2']);
  });

  test('externalTrafficPolicy Local without a local endpoint drops outside traffic but serves pods', async () => {
    const outside = await requests(client, nodeIP, 30082, 2, 700);
    assert.deepEqual(outside.errors, { TIMEOUT: 2 });
    const inside = await requests(p1, nodeIP, 30082, 5);
    assert.deepEqual(byPod(inside), { p2: 5 });
  });

  test('hairpin: a pod reaches itself through its Service', async () => {
    const r = await requests(p1, '10.96.0.13', 80, 5);
    assert.deepEqual(r.answers, { 'p1 10.244.1.1': 5 });
  });

  test('IPv6: 1,000 requests to a dual-stack Service\'s IPv6 ClusterIP split evenly over the pods\' IPv6 addresses; a pod\'s own address is kept', async () => {
    const r = await requests(client, 'fd00:96::20', 80, 1000);
    assertEven(r);
    // The client is outside the pod CIDR, so (as kube-proxy) its traffic is masqueraded.
    assert.deepEqual(Object.keys(r.answers).sort(), ['p1 fd00:244:1::1', 'p2 fd00:244:1::1']);
    // From a pod it is not, except to itself (hairpin).
    const fromPod = await requests(p1, 'fd00:96::20', 80, 200);
    assertBoth(fromPod);
    assert.deepEqual(Object.keys(fromPod.answers).sort(), ['p1 fd00:244:1::1', `p2 ${P1v6}`]);
    // The same Service answers on its IPv4 ClusterIP from the IPv4 slice.
    assertBoth(await requests(client, '10.96.0.20', 80, 200));
  });

  test('IPv6: the NodePort answers on the node\'s IPv6 address, masqueraded to the bridge\'s address', async () => {
    const r = await requests(client, nodeIP6, 30083, 200);
    assertBoth(r);
    assert.deepEqual(Object.keys(r.answers).sort(), ['p1 fd00:244:1::1', 'p2 fd00:244:1::1']);
  });

  test('IPv6: a Service with no endpoints refuses at once', async () => {
    const r = await requests(client, 'fd00:96::21', 80, 10, 5000);
    assert.deepEqual(r.errors, { ECONNREFUSED: 10 });
    assert.ok(Math.max(...r.ms) < 500, `took ${Math.max(...r.ms)} ms`);
  });

  test('externalIPs: traffic to a Service\'s external IP reaches its endpoints; another port of that IP is not the Service\'s', async () => {
    assertBoth(await requests(client, '10.200.0.7', 80, 200));
    // Nothing on the node answers 10.200.0.7:81, and the proxy does not claim it: no answer.
    const other = await requests(client, '10.200.0.7', 81, 1, 700);
    assert.deepEqual(other.answers, {});
  });

  test('loadBalancerSourceRanges: a client inside the ranges reaches the LoadBalancer address; one outside is dropped; the NodePort stays open', async () => {
    assertBoth(await requests(client, '10.200.0.8', 80, 200));
    const denied = await requests(client, '10.200.0.9', 80, 2, 700);
    assert.deepEqual(denied.errors, { TIMEOUT: 2 });
    // kube-proxy applies the ranges to the LoadBalancer address only; the NodePort stays open.
    assertBoth(await requests(client, nodeIP, 30085, 100));
  });

  test('a UDP flow to a removed endpoint is cleared, so the client’s next datagram reaches another pod', async () => {
    const ask = async (): Promise<string> => (await inNs(client, process.execPath, '--import', 'tsx', `${fixtures}udp.ts`, 'client', '10.96.0.16', '53', '40053')).stdout.trim();
    const first = await ask();
    assert.ok(first === 'p1' || first === 'p2', `answer: ${JSON.stringify(first)}`);
    // The same 5-tuple sticks to its conntrack entry.
    assert.equal(await ask(), first);
    const other = first === 'p1' ? 'p2' : 'p1';
    slices.upsert(makeSlice('dns', [L(other === 'p1' ? P1 : P2)], { ports: [{ name: 'dns', port: 5353, protocol: 'UDP' }] }));
    let answer = first;
    for (let i = 0; i < 20 && answer !== other; i++) {
      await sleep(100);
      answer = await ask();
    }
    assert.equal(answer, other);
  });

  test('an endpoint change is live after one sync; a restarted proxier adopts the rules and keeps serving', async () => {
    slices.upsert(makeSlice('web', [L(P2)]));
    for (let i = 0; i < 200 && byPod(await requests(client, '10.96.0.10', 80, 1)).p1; i++) await sleep(10);
    assert.deepEqual(byPod(await requests(client, '10.96.0.10', 80, 50)), { p2: 50 });

    // Stop: the rules stay and keep serving while no proxier runs. Under a steady stream of
    // requests the proxier stops, web scales back to both pods, and a new proxier adopts the
    // table, sending only that change: no request is lost.
    const stream = requests(client, '10.96.0.10', 80, 1500, 3000);
    await sleep(200);
    await proxier!.stop();
    proxier = undefined;
    assert.deepEqual(byPod(await requests(client, '10.96.0.10', 80, 20)), { p2: 20 });
    slices.upsert(makeSlice('web', [L(P1), L(P2)]));
    proxier = startProxy();
    await proxier.synced();
    const during = await stream;
    assert.deepEqual(during.errors, {});
    assert.equal(Object.values(during.answers).reduce((a, b) => a + b, 0), 1500);
    const first = rec.scripts[0];
    assert.doesNotMatch(first, /element ip svcnet (slot-\d+|service-ips|service-state) \{ 10\.96\.0\.1[1-5] /);
    assert.match(first, /element ip svcnet slot-0 \{ 10\.96\.0\.10 \. tcp \. 80/);
    assertEven(await requests(client, '10.96.0.10', 80, 1000));
  });
});
