import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { get } from 'node:http';
import { connect, createServer } from 'node:net';
import { pino } from 'pino';
import type { Node, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { EndpointSlices, Nodes, Services } from '../api/index.ts';
import { FakeClient, InformerFactory } from '../client/index.ts';
import type { NodePluginContext } from '../agent/index.ts';
import { FakeNftables } from './nftables/index.ts';
import { parseHostPort, parseNodePortAddresses, proxyPlugin } from './plugin.ts';
import { makeService, makeSlice } from './testing.ts';

const subnet = `127.78.${1 + Math.floor(Math.random() * 250)}`;

function logs(): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  return { lines, log: pino({ level: 'info' }, { write: (s: string) => void lines.push(s) }) };
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function connectResult(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.setEncoding('utf8');
    s.once('data', (d: string) => {
      s.destroy();
      resolve(d);
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
}

function context(client: FakeClient, mode: 'host' | 'netns', log: pino.Logger): { ctx: NodePluginContext; informers: InformerFactory } {
  const informers = new InformerFactory(client, { defaults: { log: pino({ level: 'silent' }) } });
  informers.start();
  return { informers, ctx: { client, nodeName: 'node-a', mode, nodeIPs: ['127.0.0.1'], dataDir: '/nonexistent', informers, log } };
}

test('host mode: Services are proxied on their loopback ClusterIPs with the userspace backend, health is served, and stop closes it all', async () => {
  const ep = createServer((s) => s.end('pod-a\n'));
  ep.listen(0, `${subnet}.21`);
  await once(ep, 'listening');
  const epPort = (ep.address() as { port: number }).port;
  const client = new FakeClient();
  await client.create<Node>(Nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' }, spec: { podCIDR: `${subnet}.0/24` } });
  await client.create<Service>(Services, 'default', makeService('web', { clusterIP: `${subnet}.10`, ports: [{ name: 'http', port: 8080, protocol: 'TCP', targetPort: epPort }] }));
  await client.create<EndpointSlice>(EndpointSlices, 'default', makeSlice('web', [{ ip: `${subnet}.21`, node: 'node-a' }], { ports: [{ name: 'http', port: epPort }] }));
  const { log, lines } = logs();
  const { ctx, informers } = context(client, 'host', log);
  const running = await proxyPlugin({ healthz: '127.0.0.1:0', metrics: '127.0.0.1:0', minSyncPeriodMs: 10 }).start(ctx);
  try {
    assert.equal(await until('the ClusterIP answering', async () => ((await connectResult(`${subnet}.10`, 8080)) === 'pod-a\n' ? true : undefined)), true);
    const healthz = /"address":"([^"]+)","msg":"proxy healthz serving"/.exec(lines.join(''))?.[1];
    const metrics = /"address":"([^"]+)","msg":"proxy metrics serving"/.exec(lines.join(''))?.[1];
    assert.ok(healthz?.startsWith('127.0.0.1:') && metrics?.startsWith('127.0.0.1:'), lines.join(''));
    const fetchText = (url: string): Promise<{ code: number; body: string }> =>
      new Promise((resolve, reject) => {
        get(url, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d));
          res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
        }).on('error', reject);
      });
    assert.equal((await fetchText(`http://${healthz}/healthz`)).code, 200);
    assert.match((await fetchText(`http://${metrics}/metrics`)).body, /kubeproxy_sync_proxy_rules_duration_seconds_count [1-9]/);
    // The Service goes: so does its listener.
    await client.delete(Services, 'default', 'web');
    assert.equal(await until('the ClusterIP refusing', async () => ((await connectResult(`${subnet}.10`, 8080)) === 'ECONNREFUSED' ? true : undefined)), true);
    await client.create<Service>(Services, 'default', makeService('web', { clusterIP: `${subnet}.10`, ports: [{ name: 'http', port: 8080, protocol: 'TCP', targetPort: epPort }] }));
    await until('the ClusterIP answering again', async () => ((await connectResult(`${subnet}.10`, 8080)) === 'pod-a\n' ? true : undefined));
  } finally {
    await running.stop();
    informers.stop();
    ep.close();
  }
  assert.equal(await connectResult(`${subnet}.10`, 8080), 'ECONNREFUSED', 'stopped: nothing listens');
});

test('host mode: health and metrics are never served on a non-loopback address', async () => {
  const client = new FakeClient();
  const { log, lines } = logs();
  const { ctx, informers } = context(client, 'host', log);
  const running = await proxyPlugin({ healthz: '0.0.0.0:0', metrics: '192.168.1.10:10249' }).start(ctx);
  await running.stop();
  informers.stop();
  const text = lines.join('');
  assert.match(text, /not serving proxy healthz on 0\.0\.0\.0: host mode listens on loopback addresses only/);
  assert.match(text, /not serving proxy metrics on 192\.168\.1\.10/);
  assert.doesNotMatch(text, /proxy (healthz|metrics) serving/);
});

test('netns mode: the proxy waits for the node\'s pod CIDR, then programs nftables, and stops cleanly', async () => {
  const client = new FakeClient();
  await client.create<Node>(Nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' } });
  await client.create<Service>(Services, 'default', makeService('web', { clusterIP: '10.96.0.10' }));
  await client.create<EndpointSlice>(EndpointSlices, 'default', makeSlice('web', [{ ip: '10.244.1.5', node: 'node-a' }]));
  const nft = new FakeNftables();
  const { log } = logs();
  const { ctx, informers } = context(client, 'netns', log);
  const running = await proxyPlugin({ healthz: '0', metrics: '0', minSyncPeriodMs: 10, nftables: nft }).start(ctx);
  try {
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(nft.scripts.length, 0, 'nothing programmed before the node has a pod CIDR');
    const n = await client.get<Node>(Nodes, undefined, 'node-a');
    await client.update<Node>(Nodes, { ...n, spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'] } });
    await until('a ruleset with the ClusterIP', () => nft.scripts.some((s) => s.includes('10.96.0.10')));
    assert.ok(nft.scripts.some((s) => s.includes('10.244.1.5')));
  } finally {
    await running.stop();
    informers.stop();
  }
});

test('netns mode: stopping before the pod CIDR came starts nothing', async () => {
  const client = new FakeClient();
  await client.create<Node>(Nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' } });
  const nft = new FakeNftables();
  const { ctx, informers } = context(client, 'netns', logs().log);
  const running = await proxyPlugin({ healthz: '0', metrics: '0', nftables: nft }).start(ctx);
  await running.stop();
  informers.stop();
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(nft.scripts.length, 0);
});

test('--proxy-healthz and --proxy-metrics take host:port, [v6]:port or :port; "0" or "" turns them off', () => {
  assert.deepEqual(parseHostPort('127.0.0.1:10256', '127.0.0.1'), { host: '127.0.0.1', port: 10256 });
  assert.deepEqual(parseHostPort(':10256', '127.0.0.1'), { host: '127.0.0.1', port: 10256 });
  assert.deepEqual(parseHostPort('[::1]:10249', '127.0.0.1'), { host: '::1', port: 10249 });
  assert.equal(parseHostPort('0', '127.0.0.1'), undefined);
  assert.equal(parseHostPort('', '127.0.0.1'), undefined);
  assert.throws(() => parseHostPort('10256', '127.0.0.1'), /expected host:port/);
  assert.throws(() => parseHostPort('127.0.0.1:70000', '127.0.0.1'), /out of range/);
});

test('--nodeport-addresses narrows the node IPs a NodePort answers on (netns mode)', async () => {
  const client = new FakeClient();
  await client.create<Node>(Nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' }, spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'] } });
  await client.create<Service>(Services, 'default', makeService('web', { clusterIP: '10.96.0.10', type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080, protocol: 'TCP' }] }));
  await client.create<EndpointSlice>(EndpointSlices, 'default', makeSlice('web', [{ ip: '10.244.1.5', node: 'node-a' }]));
  const nft = new FakeNftables();
  const { ctx, informers } = context(client, 'netns', logs().log);
  const running = await proxyPlugin({ healthz: '0', metrics: '0', minSyncPeriodMs: 10, nftables: nft, nodePortAddresses: parseNodePortAddresses('192.168.0.0/16') }).start({ ...ctx, nodeIPs: ['192.168.0.10', '172.16.0.10'] });
  try {
    await until('a ruleset with the NodePort', () => nft.scripts.some((s) => s.includes('30080')));
    const all = nft.scripts.join('\n');
    assert.match(all, /192\.168\.0\.10 \. tcp \. 30080/);
    assert.doesNotMatch(all, /172\.16\.0\.10 \. tcp \. 30080/);
  } finally {
    await running.stop();
    informers.stop();
  }
});

test('--nodeport-addresses takes CIDRs or "primary", and names the flag when a value is not a CIDR', () => {
  assert.deepEqual(parseNodePortAddresses('192.168.0.0/16, fd00::/64'), ['192.168.0.0/16', 'fd00::/64']);
  assert.deepEqual(parseNodePortAddresses('primary'), []);
  assert.deepEqual(parseNodePortAddresses(''), []);
  assert.throws(() => parseNodePortAddresses('192.168.0.1'), /--nodeport-addresses "192\.168\.0\.1": must be a valid CIDR/);
  assert.throws(() => parseNodePortAddresses('10.0.0.0/40'), /must be a valid CIDR/);
});
