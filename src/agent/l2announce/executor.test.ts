// The executor's commands with a scripted runner, and (root) the real ARP responder and arping in
// two namespaces of the test's own joined by one veth pair: no link to the host's namespace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { logger } from '../../util/index.ts';
import { ArpExecutor, type CommandResult } from './executor.ts';
import { askMac, macOf, rootSkip, sh, withPair } from './netns-pair.ts';

const log = logger('l2-executor-test');

function scripted(answers: Record<string, Partial<CommandResult>>) {
  const calls: string[] = [];
  return {
    calls,
    run: async (argv: readonly string[]): Promise<CommandResult> => {
      const line = argv.join(' ');
      calls.push(line);
      const a = Object.entries(answers).find(([k]) => line.includes(k))?.[1] ?? {};
      return { code: a.code ?? 0, stdout: a.stdout ?? '', stderr: a.stderr ?? '' };
    },
  };
}

test('the node\'s interface is the one holding its address', async () => {
  const s = scripted({ 'ip -j addr show': { stdout: JSON.stringify([{ ifname: 'lo', addr_info: [{ local: '127.0.0.1' }] }, { ifname: 'eth0', addr_info: [{ local: '192.168.1.101' }] }]) } });
  const x = new ArpExecutor({ log, run: s.run, netns: 'svcnet-x-worker1' });
  assert.equal(await x.interfaceOf('192.168.1.101'), 'eth0');
  assert.equal(await x.interfaceOf('192.168.1.199'), undefined);
  assert.deepEqual(s.calls, ['ip netns exec svcnet-x-worker1 ip -j addr show', 'ip netns exec svcnet-x-worker1 ip -j addr show']);
});

test('gratuitous ARP is arping -U from the address itself, after allowing a non-local bind once', async () => {
  const s = scripted({ 'sysctl -n': { stdout: '0\n' } });
  const x = new ArpExecutor({ log, run: s.run });
  await x.gratuitousARP('eth0', '192.168.1.200');
  await x.gratuitousARP('eth0', '192.168.1.201');
  assert.deepEqual(s.calls, [
    'sysctl -n net.ipv4.ip_nonlocal_bind',
    'sysctl -qw net.ipv4.ip_nonlocal_bind=1',
    'arping -q -U -c 2 -I eth0 -s 192.168.1.200 192.168.1.200',
    'arping -q -U -c 2 -I eth0 -s 192.168.1.201 192.168.1.201',
  ]);
  const bad = new ArpExecutor({ log, run: scripted({ 'sysctl -n': { stdout: '1' }, arping: { code: 2, stderr: 'arping: unknown iface eth9' } }).run });
  await assert.rejects(bad.gratuitousARP('eth9', '192.168.1.200'), /unknown iface eth9/);
});

test('the real ARP responder answers for an address the node does not hold, gratuitous ARP moves a client\'s cache, and withdrawing stops the answers', { skip: rootSkip }, async () => {
  await withPair('l2x', '192.168.77', async (nodeNs, clientNs) => {
    const x = new ArpExecutor({ log, netns: nodeNs });
    try {
      const mac = await macOf(nodeNs);
      assert.equal(await x.interfaceOf('192.168.77.1'), 'eth0');
      assert.equal(await askMac(clientNs, '192.168.77.200'), undefined, 'nobody answers before');
      await x.setAddresses('eth0', ['192.168.77.200', '192.168.77.201']);
      assert.equal(await askMac(clientNs, '192.168.77.200'), mac);
      assert.equal(await askMac(clientNs, '192.168.77.201'), mac);
      assert.equal(await askMac(clientNs, '192.168.77.202'), undefined, 'only the addresses given');
      // Not added to the node: no address, no route of its own.
      assert.doesNotMatch(await sh(['ip', '-n', nodeNs, 'addr']), /192\.168\.77\.20/);
      assert.doesNotMatch(await sh(['ip', '-n', nodeNs, 'route', 'show', 'table', 'all']), /192\.168\.77\.20/);

      // A client that knew the address elsewhere learns the new place from gratuitous ARP.
      await sh(['ip', '-n', clientNs, 'neigh', 'replace', '192.168.77.200', 'lladdr', '02:00:00:00:00:01', 'dev', 'eth0', 'nud', 'stale']);
      await x.gratuitousARP('eth0', '192.168.77.200');
      assert.match(await sh(['ip', '-n', clientNs, 'neigh', 'show', '192.168.77.200']), new RegExp(`lladdr ${mac}`));

      await x.setAddresses('eth0', ['192.168.77.201']);
      assert.equal(await askMac(clientNs, '192.168.77.200'), undefined, 'withdrawn');
      assert.equal(await askMac(clientNs, '192.168.77.201'), mac);
      await assert.rejects(x.setAddresses('nope0', ['192.168.77.9']), /nope0/);
      assert.equal(await askMac(clientNs, '192.168.77.201'), mac, 'a refused set leaves the others answering');

      // The helper dies under the executor: it is started again and told its addresses.
      const [helper] = (await sh(['ip', 'netns', 'pids', nodeNs])).trim().split(/\s+/);
      process.kill(Number(helper), 'SIGKILL');
      let again: string | undefined;
      for (let i = 0; i < 10 && again !== mac; i++) again = await askMac(clientNs, '192.168.77.201');
      assert.equal(again, mac, 'answering again after the helper was killed');
    } finally {
      await x.close();
    }
    assert.equal(await askMac(clientNs, '192.168.77.201'), undefined, 'closed: no answers');
    assert.equal((await sh(['ip', 'netns', 'pids', nodeNs])).trim(), '', 'the helper is gone');
  });
});

test('the ARP responder ends when the agent that started it is killed with -9', { skip: rootSkip }, async () => {
  await withPair('l2x', '192.168.77', async (nodeNs, clientNs) => {
    const executorUrl = new URL('./executor.ts', import.meta.url).href;
    const utilUrl = new URL('../../util/index.ts', import.meta.url).href;
    const script = `
      const { ArpExecutor } = await import(${JSON.stringify(executorUrl)});
      const { logger } = await import(${JSON.stringify(utilUrl)});
      const x = new ArpExecutor({ log: logger('child'), netns: ${JSON.stringify(nodeNs)} });
      await x.setAddresses('eth0', ['192.168.77.200']);
      process.stdout.write('ready\\n');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'], cwd: fileURLToPath(new URL('../../..', import.meta.url)) });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (b: Buffer) => b.toString().includes('ready') && resolve());
        child.once('exit', (code) => reject(new Error(`child exited ${code}`)));
      });
      assert.ok(await askMac(clientNs, '192.168.77.200'));
      child.kill('SIGKILL');
      let left = 'x';
      for (let i = 0; i < 50 && left; i++) {
        await new Promise((r) => setTimeout(r, 100));
        left = (await sh(['ip', 'netns', 'pids', nodeNs])).trim();
      }
      assert.equal(left, '', 'no helper left in the node namespace');
      assert.equal(await askMac(clientNs, '192.168.77.200'), undefined);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
