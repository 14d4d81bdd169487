// The default upstreams of a real `bin/svcnet server` started without --dns-upstream: the
// nameservers of the node's resolv.conf, read at start. SVCNET_RESOLV_CONF points the server at
// a resolv.conf of this test (never the host's: no test may ask the host's resolvers), whose
// nameserver is a fake upstream on a loopback address, port 53 (resolv.conf has no port).
// Without a nameserver, or without a readable file, outside names are SERVFAIL with a warning.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeUpstream, type FakeUpstream } from '../src/dns/testing.ts';
import { repoRoot, run, startSvcnet, type Svcnet } from './lib/svcnet.ts';

/** The fake upstream on 127.53.x.y:53; undefined (with the reason) when port 53 cannot be bound here. */
async function upstreamOn53(): Promise<{ upstream?: FakeUpstream; why?: string }> {
  let last = '';
  for (let i = 0; i < 8; i++) {
    const host = `127.53.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
    try {
      const upstream = await startFakeUpstream({
        host,
        port: 53,
        records: { 'outside.example.test': [{ name: 'outside.example.test', type: 'A', ttl: 60, data: '192.0.2.77' }] },
      });
      return { upstream };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EACCES') return { why: 'binding port 53 on loopback (a resolv.conf nameserver has no port) needs root or CAP_NET_BIND_SERVICE' };
      last = `${code ?? ''} ${(e as Error).message}`;
    }
  }
  return { why: `port 53 on 127.53.0.0/16 is taken here (${last})` };
}

const { upstream, why } = await upstreamOn53();
const skip = why;

let dir = '';
let fromFile: Svcnet | undefined;
let noNameserver: Svcnet | undefined;
let noFile: Svcnet | undefined;

function dnsOf(s: Svcnet): string[] {
  assert.ok(s.net, 'the server has loopback ranges of its own');
  const [host, port] = s.net.dnsListen.split(':');
  return [`@${host}`, '-p', port];
}

/**
 * The upstreams the server took, from its "dns: serving" line. Checked before any outside name
 * is asked: should the server have read another resolv.conf (the host's), the test stops there.
 */
async function servingUpstreams(s: Svcnet): Promise<string[]> {
  for (let i = 0; ; i++) {
    const serving = s
      .logs()
      .split('\n')
      .filter((l) => l.includes('"dns: serving"'))
      .map((l) => JSON.parse(l) as { upstreams: string[] });
    if (serving.length) {
      assert.equal(serving.length, 1);
      return serving[0].upstreams;
    }
    assert.ok(i < 200, 'the server logs where it forwards');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function dig(s: Svcnet, ...args: string[]): Promise<string> {
  return (await run('dig', [...dnsOf(s), '+time=3', '+tries=1', ...args], { timeoutMs: 15_000 })).stdout;
}

before(async () => {
  if (skip || !upstream) return;
  dir = mkdtempSync(join(tmpdir(), 'svcnet-resolv-conf-'));
  const resolvConf = join(dir, 'resolv.conf');
  writeFileSync(resolvConf, ['# a node\'s resolv.conf', 'search example.test', `nameserver ${upstream.host}`, 'options ndots:2', ''].join('\n'));
  // No --dns-upstream (and an empty SVCNET_DNS_UPSTREAM, should the caller's environment carry one).
  const env = (file: string) => ({ SVCNET_RESOLV_CONF: file, SVCNET_DNS_UPSTREAM: '' });
  [fromFile, noNameserver, noFile] = await Promise.all([
    startSvcnet({ env: env(resolvConf) }),
    startSvcnet({ env: env(join(repoRoot, 'test/fixtures/dns/resolv-none.conf')) }),
    startSvcnet({ env: env(join(dir, 'missing-resolv.conf')) }),
  ]);
});

after(async () => {
  for (const s of [fromFile, noNameserver, noFile]) {
    if (!s) continue;
    await s.stop();
    s.cleanup();
  }
  await upstream?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('without --dns-upstream, names outside the cluster go to the nameserver of resolv.conf (read at start), over UDP and TCP', { skip }, async () => {
  const s = fromFile!;
  assert.deepEqual(await servingUpstreams(s), [`${upstream!.host}:53`]);
  assert.equal((await dig(s, '+short', 'outside.example.test')).trim(), '192.0.2.77');
  assert.equal((await dig(s, '+short', '+tcp', 'outside.example.test', 'TXT')).trim(), '', 'NODATA from the upstream');
  assert.ok(
    upstream!.queries.some((q) => q.name === 'outside.example.test' && q.type === 'A'),
    `the fake upstream was asked: ${JSON.stringify(upstream!.queries)}`,
  );
  assert.match(await dig(s, 'nowhere.example.test'), /status: NXDOMAIN/, 'the upstream\'s NXDOMAIN is relayed');
  // The cluster zone is the server's own: answered, never forwarded.
  const ip = (await dig(s, '+short', 'kubernetes.default.svc.cluster.local')).trim();
  assert.equal(ip, s.net!.kubernetesIP);
  assert.ok(!upstream!.queries.some((q) => q.name.endsWith('cluster.local')), 'no cluster name was forwarded');
});

test('a resolv.conf without a nameserver line: outside names are SERVFAIL at once, with a warning at start and an error line per query', { skip }, async () => {
  const s = noNameserver!;
  assert.deepEqual(await servingUpstreams(s), []);
  const t0 = Date.now();
  assert.match(await dig(s, 'outside.example.test'), /status: SERVFAIL/);
  assert.ok(Date.now() - t0 < 2500, 'no upstream to wait for');
  assert.equal((await dig(s, '+short', 'kubernetes.default.svc.cluster.local')).trim(), s.net!.kubernetesIP, 'the cluster zone is answered all the same');
  const lines = () => s.logs().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(lines().some((l) => l.msg === 'dns: no upstream resolvers; names outside the cluster get SERVFAIL' && l.level === 40), 'warned at start');
  for (let i = 0; ; i++) {
    const failed = lines().filter((l) => l.msg === 'dns: query failed' && l.name === 'outside.example.test.');
    if (failed.length) {
      assert.deepEqual(failed.map((l) => [l.rcode, l.type, l.err]), [['SERVFAIL', 'A', 'no upstream resolvers configured']]);
      break;
    }
    assert.ok(i < 100, 'the failed query is logged');
    await new Promise((r) => setTimeout(r, 50));
  }
});

test('an unreadable resolv.conf: a warning naming the file, and outside names SERVFAIL', { skip }, async () => {
  const s = noFile!;
  assert.deepEqual(await servingUpstreams(s), []);
  assert.match(await dig(s, 'outside.example.test'), /status: SERVFAIL/);
  const warned = s
    .logs()
    .split('\n')
    .filter((l) => l.includes('"dns: cannot read the upstream resolvers"'))
    .map((l) => JSON.parse(l) as { file: string; err: string });
  assert.equal(warned.length, 1);
  assert.equal(warned[0].file, join(dir, 'missing-resolv.conf'));
  assert.match(warned[0].err, /ENOENT/);
});
