import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatEndpoint, parseEndpoint, startRelay } from './relay.ts';

test('endpoints are written as tcp:<host>:<port> or unix:<path>', () => {
  assert.deepEqual(parseEndpoint('tcp:192.168.1.100:6443'), { kind: 'tcp', host: '192.168.1.100', port: 6443 });
  assert.deepEqual(parseEndpoint('tcp:[::1]:0'), { kind: 'tcp', host: '::1', port: 0 });
  assert.deepEqual(parseEndpoint('unix:/x/api.sock'), { kind: 'unix', path: '/x/api.sock' });
  assert.equal(formatEndpoint(parseEndpoint('tcp:[::1]:80')), 'tcp:[::1]:80');
  assert.throws(() => parseEndpoint('192.168.1.1:80'), /expected/);
  assert.throws(() => parseEndpoint('tcp:h:70000'), /expected/);
  assert.throws(() => parseEndpoint('unix:'), /no socket path/);
});

test('bytes cross a TCP -> unix socket -> TCP chain both ways, half-close included', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'svcnet-relay-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // The far end: echoes what it got, upper-cased, once the client has finished sending.
  const far = net.createServer({ allowHalfOpen: true }, (s) => {
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString()));
    s.on('end', () => s.end(got.toUpperCase()));
  });
  await new Promise<void>((r) => far.listen(0, '127.0.0.1', r));
  t.after(() => far.close());
  const port = (far.address() as net.AddressInfo).port;
  const sock = join(dir, 'api.sock');
  const inner = await startRelay(parseEndpoint(`unix:${sock}`), parseEndpoint(`tcp:127.0.0.1:${port}`));
  t.after(() => inner.close());
  const outer = await startRelay(parseEndpoint('tcp:127.0.0.1:0'), parseEndpoint(`unix:${sock}`));
  t.after(() => outer.close());
  assert.equal(outer.address.kind, 'tcp');
  const outerPort = outer.address.kind === 'tcp' ? outer.address.port : 0;
  assert.notEqual(outerPort, 0);
  const answer = await new Promise<string>((resolve, reject) => {
    const c = net.connect({ port: outerPort, host: '127.0.0.1', allowHalfOpen: true }, () => {
      c.write('hello ');
      c.end('relay');
    });
    let out = '';
    c.on('data', (d: Buffer) => (out += d.toString()));
    c.on('end', () => resolve(out));
    c.on('error', reject);
  });
  assert.equal(answer, 'HELLO RELAY');
  assert.equal(outer.connections(), 1);
  assert.equal(inner.connections(), 1);
});

test('a client is disconnected when the far end cannot be reached', async () => {
  const outer = await startRelay(parseEndpoint('tcp:127.0.0.1:0'), parseEndpoint('unix:/nonexistent/svcnet-relay.sock'));
  try {
    const port = outer.address.kind === 'tcp' ? outer.address.port : 0;
    await new Promise<void>((resolve) => {
      const c = net.connect({ port, host: '127.0.0.1' });
      c.on('error', () => resolve());
      c.on('close', () => resolve());
    });
  } finally {
    await outer.close();
  }
});
