// Forwarding and the cache of forwarded answers, against fake upstreams on loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type dnsPacket from 'dns-packet';
import { Registry } from 'prom-client';
import { cacheTTL } from './cache.ts';
import { DnsEngine, type Listener } from './engine.ts';
import { Forwarder, ForwardError, parseResolvConf, parseUpstream, readResolvConf, type ForwardOptions } from './forward.ts';
import { CacheMetrics, DnsStats } from './metrics.ts';
import { DnsModel } from './model.ts';
import { decodeResponse, makeQuery, startFakeUpstream, type Decoded, type FakeUpstream } from './testing.ts';
import { nameToWire, RCODE, TYPE, type WireRR } from './wire.ts';

const records: Record<string, dnsPacket.Answer[]> = {
  'www.example.test': [
    { name: 'www.example.test', type: 'A', ttl: 120, data: '192.0.2.10' },
    { name: 'www.example.test', type: 'AAAA', ttl: 7200, data: '2001:db8::10' },
  ],
  'short.example.test': [{ name: 'short.example.test', type: 'A', ttl: 1, data: '192.0.2.11' }],
  'big.example.test': Array.from({ length: 40 }, (_, i) => ({ name: 'big.example.test', type: 'A' as const, ttl: 300, data: `192.0.2.${i + 1}` })),
};

test('upstream addresses and resolv.conf nameservers are read as CoreDNS reads them', () => {
  assert.deepEqual(parseUpstream('10.0.0.2'), { host: '10.0.0.2', port: 53, label: '10.0.0.2:53' });
  assert.deepEqual(parseUpstream('127.0.0.1:5353'), { host: '127.0.0.1', port: 5353, label: '127.0.0.1:5353' });
  assert.deepEqual(parseUpstream('[::1]:5353'), { host: '::1', port: 5353, label: '[::1]:5353' });
  assert.deepEqual(parseUpstream('fd00::53'), { host: 'fd00::53', port: 53, label: '[fd00::53]:53' });
  assert.throws(() => parseUpstream('dns.example.test'), /not an IP/);
  assert.throws(() => parseUpstream('10.0.0.2:99999'), /port/);
  const conf = '# comment\nsearch example.test\nnameserver 10.0.0.2\nnameserver fe80::1%eth0\nnameserver bogus\noptions ndots:5\n nameserver 10.0.0.3\n';
  assert.deepEqual(parseResolvConf(conf), ['10.0.0.2', 'fe80::1%eth0', '10.0.0.3']);
});

const fixtures = fileURLToPath(new URL('../../test/fixtures/dns/', import.meta.url));

test('the node\'s resolv.conf (a fixture file): IPv4 and IPv6 nameservers in order, comments, other keywords and non-addresses skipped', () => {
  // 10.0.0.2; 2001:db8::53; an indented line with a tab and a trailing comment; a link-local
  // address keeping its zone; `#`/`;` comments, a host name, 300.1.2.3, a bare `nameserver` and
  // `nameservers` are not nameservers.
  assert.deepEqual(readResolvConf(join(fixtures, 'resolv.conf')), ['10.0.0.2', '2001:db8::53', 'fd00::35', 'fe80::1%eth0']);
  assert.deepEqual(
    readResolvConf(join(fixtures, 'resolv.conf')).map((a) => parseUpstream(a).label),
    ['10.0.0.2:53', '[2001:db8::53]:53', '[fd00::35]:53', '[fe80::1%eth0]:53'],
  );
  assert.deepEqual(readResolvConf(join(fixtures, 'resolv-crlf.conf')), ['10.0.0.3'], 'CRLF line ends');
  // No nameserver line: nothing to forward to (the server then answers outside names SERVFAIL).
  assert.deepEqual(readResolvConf(join(fixtures, 'resolv-none.conf')), []);
  assert.throws(() => readResolvConf(join(fixtures, 'no-such-resolv.conf')), /ENOENT/);
  // CoreDNS's forward takes at most 15 upstreams.
  const many = Array.from({ length: 20 }, (_, i) => `nameserver 10.1.0.${i + 1}`).join('\n');
  assert.equal(parseResolvConf(many).length, 15);
  assert.equal(parseResolvConf(many)[14], '10.1.0.15');
});

test('cache lifetimes follow CoreDNS: the smallest TTL clamped to 5-3600 s, denial the SOA minimum up to 1800 s', () => {
  const a = (ttl: number): WireRR => ({ name: nameToWire('x.'), type: TYPE.A, class: 1, ttl, rdata: Buffer.from([1, 2, 3, 4]) });
  const soa = (ttl: number, minimum: number): WireRR => {
    const rdata = Buffer.concat([nameToWire('ns.'), nameToWire('h.'), Buffer.alloc(20)]);
    rdata.writeUInt32BE(minimum, rdata.length - 4);
    return { name: nameToWire('.'), type: TYPE.SOA, class: 1, ttl, rdata };
  };
  assert.deepEqual(cacheTTL(RCODE.NOERROR, false, [a(120), a(60)], []), { ttl: 60, denial: false });
  assert.deepEqual(cacheTTL(RCODE.NOERROR, false, [a(1)], []), { ttl: 5, denial: false });
  assert.deepEqual(cacheTTL(RCODE.NOERROR, false, [a(86400)], []), { ttl: 3600, denial: false });
  assert.deepEqual(cacheTTL(RCODE.NXDOMAIN, false, [], [soa(60, 30)]), { ttl: 30, denial: true });
  assert.deepEqual(cacheTTL(RCODE.NOERROR, false, [], [soa(20, 900)]), { ttl: 20, denial: true });
  assert.deepEqual(cacheTTL(RCODE.NXDOMAIN, false, [], [soa(86400, 86400)]), { ttl: 1800, denial: true });
  assert.equal(cacheTTL(RCODE.SERVFAIL, false, [], []), undefined);
  assert.equal(cacheTTL(RCODE.NOERROR, true, [a(60)], []), undefined);
});

async function withUpstreams(n: number, fn: (ups: FakeUpstream[]) => Promise<void>, opts: { truncate?: (name: string) => boolean } = {}): Promise<void> {
  const ups: FakeUpstream[] = [];
  try {
    for (let i = 0; i < n; i++) ups.push(await startFakeUpstream({ host: `127.0.0.${i + 1}`, records, truncateUdp: opts.truncate }));
    await fn(ups);
  } finally {
    await Promise.all(ups.map((u) => u.stop()));
  }
}

async function withForwarder(opts: ForwardOptions, fn: (f: Forwarder) => Promise<void>): Promise<void> {
  const f = new Forwarder(opts);
  try {
    await fn(f);
  } finally {
    f.close();
  }
}

test('a forwarded question gets the upstream answer', async () => {
  await withUpstreams(1, async ([u]) => {
    await withForwarder({ upstreams: [parseUpstream(u.address)] }, async (f) => {
      const r = await f.query(nameToWire('www.example.test.'), TYPE.A, 1);
      assert.equal(r.rcode, RCODE.NOERROR);
      assert.equal(r.answers.length, 1);
      assert.deepEqual([...r.answers[0].rdata], [192, 0, 2, 10]);
      const nx = await f.query(nameToWire('nope.example.test.'), TYPE.A, 1);
      assert.equal(nx.rcode, RCODE.NXDOMAIN);
      assert.equal(nx.authority[0].type, TYPE.SOA);
    });
  });
});

test('a truncated UDP answer is asked again over TCP', async () => {
  await withUpstreams(
    1,
    async ([u]) => {
      await withForwarder({ upstreams: [parseUpstream(u.address)] }, async (f) => {
        const r = await f.query(nameToWire('big.example.test.'), TYPE.A, 1);
        assert.equal(r.answers.length, 40);
        assert.deepEqual(
          u.queries.map((q) => q.proto),
          ['udp', 'tcp'],
        );
      });
    },
    { truncate: (n) => n === 'big.example.test' },
  );
});

test('an upstream failing max_fails times is marked down, skipped, and back after a health check answers', async () => {
  await withUpstreams(2, async ([bad, good]) => {
    bad.down = true;
    const opts: ForwardOptions = { upstreams: [parseUpstream(bad.address), parseUpstream(good.address)], readTimeoutMs: 100, healthCheckMs: 50, maxFails: 2 };
    await withForwarder(opts, async (f) => {
      // Random order: ask until the bad one has failed twice; every answer still comes from the good one.
      for (let i = 0; i < 40 && f.healthy().length === 2; i++) {
        const r = await f.query(nameToWire('www.example.test.'), TYPE.A, 1);
        assert.equal(r.from, good.address);
      }
      assert.deepEqual(f.healthy().map((u) => u.label), [good.address]);
      const before = bad.queries.length;
      for (let i = 0; i < 10; i++) assert.equal((await f.query(nameToWire('www.example.test.'), TYPE.A, 1)).from, good.address);
      assert.ok(bad.queries.every((q, i) => i < before || (q.name === '' && q.type === 'NS')), 'a down upstream only gets health checks');
      bad.down = false;
      const until = Date.now() + 3000;
      while (f.healthy().length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      assert.equal(f.healthy().length, 2, 'the health check `. IN NS` brought it back');
    });
  });
});

test('when every upstream is silent the query fails within the deadline', async () => {
  await withUpstreams(2, async (ups) => {
    for (const u of ups) u.down = true;
    await withForwarder({ upstreams: ups.map((u) => parseUpstream(u.address)), readTimeoutMs: 100, deadlineMs: 400 }, async (f) => {
      const t = Date.now();
      await assert.rejects(f.query(nameToWire('www.example.test.'), TYPE.A, 1), (e: unknown) => e instanceof ForwardError && e.kind === 'failed');
      assert.ok(Date.now() - t < 1000, 'Date.now() - t < 1000');
    });
  });
});

test('beyond max_concurrent queries in flight, queries are refused', async () => {
  await withUpstreams(1, async ([u]) => {
    u.down = true;
    await withForwarder({ upstreams: [parseUpstream(u.address)], maxConcurrent: 2, readTimeoutMs: 200, deadlineMs: 200 }, async (f) => {
      const pending = [f.query(nameToWire('a.example.test.'), TYPE.A, 1), f.query(nameToWire('b.example.test.'), TYPE.A, 1)];
      await assert.rejects(f.query(nameToWire('c.example.test.'), TYPE.A, 1), (e: unknown) => e instanceof ForwardError && e.kind === 'refused');
      await Promise.allSettled(pending);
      assert.equal(f.inflight, 0);
    });
  });
});

// ---- through the engine: cache, TTLs, ExternalName chasing ----

function engineWith(f: Forwarder, cacheSize = 100): DnsEngine {
  const model = new DnsModel();
  model.setNamespace('default', true);
  model.setService({ name: 'ext', namespace: 'default', kind: 'ExternalName', clusterIPs: [], ports: [], externalName: 'www.example.test' });
  model.setSynced(true);
  const registry = new Registry();
  return new DnsEngine({
    model,
    config: { clusterDomain: 'cluster.local', reverseZones: ['in-addr.arpa', 'ip6.arpa'], ttl: 5, podsMode: 'disabled', nsAddresses: [], reverseFallthrough: true },
    forwarder: f,
    stats: new DnsStats(registry, ['dns://test']),
    cacheSize,
    cacheMetrics: new CacheMetrics(registry),
    maxUdpSize: 1232,
    servers: ['dns://test'],
  });
}

let nextId = 1;
function ask(e: DnsEngine, name: string, type: string, edns?: number): Promise<{ raw: Buffer; msg: Decoded }> {
  const q = makeQuery(name, type, { id: nextId++, edns });
  return new Promise((resolve) => {
    const l: Listener<null> = { index: 0, tcp: false, v6: false, send: (out) => resolve({ raw: out, msg: decodeResponse(out) }) };
    const out = e.handle(q, l, null);
    if (out) resolve({ raw: out, msg: decodeResponse(out) });
  });
}

function ttlOf(line: string | undefined): number {
  return Number(line?.split('\t')[1] ?? -1);
}

test('forwarded answers are cached: one upstream query, served with the remaining TTL', async () => {
  await withUpstreams(1, async ([u]) => {
    await withForwarder({ upstreams: [parseUpstream(u.address)] }, async (f) => {
      const e = engineWith(f);
      try {
        const first = await ask(e, 'www.example.test', 'A');
        const second = await ask(e, 'WWW.Example.TEST', 'A');
        assert.equal(u.queries.length, 1, 'the second answer came from the cache');
        assert.equal(first.msg.rcode, 'NOERROR');
        assert.ok(second.msg.answer[0].startsWith('WWW.Example.TEST.\t'), 'the owner echoes the asker');
        const ttl = ttlOf(second.msg.answer[0]);
        assert.ok(ttl <= 120 && ttl >= 119, `ttl ${ttl}`);
        assert.equal(second.msg.id, nextId - 1);
        assert.equal(e.cache.size, 1);
      } finally {
        e.close();
      }
    });
  });
});

test('negative answers are cached for the SOA minimum', async () => {
  await withUpstreams(1, async ([u]) => {
    await withForwarder({ upstreams: [parseUpstream(u.address)] }, async (f) => {
      const e = engineWith(f);
      try {
        const a = await ask(e, 'missing.example.test', 'A');
        const b = await ask(e, 'missing.example.test', 'A');
        assert.equal(a.msg.rcode, 'NXDOMAIN');
        assert.equal(b.msg.rcode, 'NXDOMAIN');
        assert.equal(u.queries.length, 1);
        assert.equal(ttlOf(b.msg.authority[0]), 30);
      } finally {
        e.close();
      }
    });
  });
});

test('the cache is bounded: the oldest entry goes', async () => {
  await withUpstreams(1, async ([u]) => {
    await withForwarder({ upstreams: [parseUpstream(u.address)] }, async (f) => {
      const e = engineWith(f, 3);
      try {
        for (const n of ['a', 'b', 'c', 'd']) await ask(e, `${n}.example.test`, 'A');
        assert.equal(e.cache.size, 3);
        await ask(e, 'a.example.test', 'A');
        assert.equal(u.queries.filter((q) => q.name === 'a.example.test').length, 2, 'a was evicted and asked again');
      } finally {
        e.close();
      }
    });
  });
});

test('concurrent askers of one name share a single upstream query', async () => {
  await withUpstreams(1, async ([u]) => {
    await withForwarder({ upstreams: [parseUpstream(u.address)] }, async (f) => {
      const e = engineWith(f);
      try {
        const answers = await Promise.all(Array.from({ length: 10 }, () => ask(e, 'www.example.test', 'AAAA')));
        assert.ok(answers.every((a) => a.msg.answer[0].endsWith('\tAAAA\t2001:db8::10')), 'answers.every((a) => a.msg.answer[0].endsWith(\'\\tAAAA\\t2001:db8::10\'))');
        assert.equal(u.queries.length, 1);
        // TTL 7200 is served clamped to CoreDNS's 3600.
        assert.equal(ttlOf(answers[0].msg.answer[0]), 3600);
      } finally {
        e.close();
      }
    });
  });
});

test('an ExternalName is answered with its CNAME and the target records found upstream', async () => {
  await withUpstreams(1, async ([u]) => {
    await withForwarder({ upstreams: [parseUpstream(u.address)] }, async (f) => {
      const e = engineWith(f);
      try {
        const r = await ask(e, 'ext.default.svc.cluster.local', 'A');
        assert.equal(r.msg.rcode, 'NOERROR');
        assert.ok(r.msg.aa, 'r.msg.aa');
        assert.deepEqual(r.msg.answer, ['ext.default.svc.cluster.local.\t5\tIN\tCNAME\twww.example.test.', 'www.example.test.\t120\tIN\tA\t192.0.2.10']);
      } finally {
        e.close();
      }
    });
  });
});

test('with no upstream answering, a forwarded name is SERVFAIL and the ExternalName answers its CNAME alone, as CoreDNS', async () => {
  await withUpstreams(1, async ([u]) => {
    u.down = true;
    await withForwarder({ upstreams: [parseUpstream(u.address)], readTimeoutMs: 100, deadlineMs: 200 }, async (f) => {
      const e = engineWith(f);
      try {
        const r = await ask(e, 'www.example.test', 'A');
        assert.equal(r.msg.rcode, 'SERVFAIL');
        const ext = await ask(e, 'ext.default.svc.cluster.local', 'A');
        assert.equal(ext.msg.rcode, 'NOERROR');
        assert.deepEqual(ext.msg.answer, ['ext.default.svc.cluster.local.\t5\tIN\tCNAME\twww.example.test.']);
        assert.equal(e.cache.size, 0, 'failures are not cached');
      } finally {
        e.close();
      }
    });
  });
});

test('a forwarded answer too big for 512 bytes is cut with TC, and whole over EDNS', async () => {
  await withUpstreams(1, async ([u]) => {
    await withForwarder({ upstreams: [parseUpstream(u.address)] }, async (f) => {
      const e = engineWith(f);
      try {
        const small = await ask(e, 'big.example.test', 'A');
        assert.ok(small.raw.length <= 512, 'small.raw.length <= 512');
        assert.ok(small.msg.tc, 'small.msg.tc');
        assert.ok(small.msg.answer.length < 40 && small.msg.answer.length > 0, 'small.msg.answer.length < 40 && small.msg.answer.length > 0');
        const big = await ask(e, 'big.example.test', 'A', 4096);
        assert.equal(big.msg.tc, false);
        assert.equal(big.msg.answer.length, 40);
        assert.ok(big.raw.length <= 1232, 'big.raw.length <= 1232');
      } finally {
        e.close();
      }
    });
  });
});
