import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { ProxyHealth, ServiceHealthServer } from './index.ts';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('healthz: 200 after a sync, 503 when an update waited longer than the timeout, JSON as kube-proxy', async () => {
  let now = 1_000_000;
  const h = new ProxyHealth({ healthTimeoutMs: 60_000, now: () => now });
  const addr = await h.listen('127.0.0.1', 0);
  try {
    const get = async (p: string): Promise<[number, Record<string, unknown>]> => {
      const r = await fetch(`http://127.0.0.1:${addr.port}${p}`);
      return [r.status, (await r.json()) as Record<string, unknown>];
    };
    h.queued();
    assert.equal((await get('/healthz'))[0], 200);
    now += 61_000;
    const [code, body] = await get('/healthz');
    assert.equal(code, 503);
    assert.deepEqual(Object.keys(body), ['lastUpdated', 'currentTime', 'nodeEligible']);
    assert.equal((await get('/livez'))[0], 503);
    h.updated();
    assert.equal((await get('/livez'))[0], 200);
    h.setNodeEligible(false);
    assert.equal((await get('/healthz'))[0], 503);
    assert.equal((await get('/livez'))[0], 200);
  } finally {
    await h.close();
  }
});

test('service health: 200 with local endpoints, 503 without, body as kube-proxy’s', async () => {
  const port = await freePort();
  let healthy = true;
  const s = new ServiceHealthServer('127.0.0.1', () => healthy);
  try {
    await s.sync(new Map([['shop/web', { port, localEndpoints: 2 }]]));
    let r = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-load-balancing-endpoint-weight'), '2');
    assert.deepEqual(await r.json(), { service: { namespace: 'shop', name: 'web' }, localEndpoints: 2, serviceProxyHealthy: true });
    await s.sync(new Map([['shop/web', { port, localEndpoints: 0 }]]));
    r = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(r.status, 503);
    assert.deepEqual(await r.json(), { service: { namespace: 'shop', name: 'web' }, localEndpoints: 0, serviceProxyHealthy: true });
    await s.sync(new Map([['shop/web', { port, localEndpoints: 1 }]]));
    healthy = false;
    r = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(r.status, 503);
    await s.sync(new Map());
    await assert.rejects(fetch(`http://127.0.0.1:${port}/`));
  } finally {
    await s.close();
  }
});
