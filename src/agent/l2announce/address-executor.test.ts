// The address executor (--l2-announce-mode address): its commands with a scripted runner, and
// (root) the real `ip` in two namespaces of the test's own joined by one veth pair, where the
// node's kernel answers ARP for the address it was given. No link to the host's namespace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { logger } from '../../util/index.ts';
import { AddressExecutor, labelledAddresses } from './address-executor.ts';
import type { CommandResult, IpLink } from './executor.ts';
import { askMac, macOf, rootSkip, sh, withPair } from './netns-pair.ts';

const log = logger('l2-address-executor-test');

const addrJson = (addrs: Record<string, { local: string; label?: string; prefixlen?: number }[]>): string =>
  JSON.stringify(Object.entries(addrs).map(([ifname, list]) => ({ ifname, addr_info: list.map((a) => ({ family: 'inet', prefixlen: 32, label: ifname, ...a })) })));

/** A runner that keeps `ip addr` state, so that the executor's diffs can be checked. */
function fakeIp(initial: Record<string, { local: string; label?: string }[]>) {
  const state = new Map(Object.entries(initial).map(([k, v]) => [k, [...v]]));
  const calls: string[] = [];
  return {
    calls,
    state,
    run: async (argv: readonly string[]): Promise<CommandResult> => {
      calls.push(argv.join(' '));
      const [cmd, ...rest] = argv;
      if (cmd === 'ip' && rest.join(' ') === '-j addr show') return { code: 0, stdout: addrJson(Object.fromEntries(state)), stderr: '' };
      if (cmd === 'ip' && rest[0] === 'addr' && (rest[1] === 'add' || rest[1] === 'del')) {
        const ip = rest[2].replace(/\/32$/, '');
        const dev = rest[4];
        const list = state.get(dev) ?? [];
        if (rest[1] === 'add') list.push({ local: ip, label: rest[6] });
        else list.splice(list.findIndex((a) => a.local === ip), 1);
        state.set(dev, list);
        return { code: 0, stdout: '', stderr: '' };
      }
      return { code: 0, stdout: '', stderr: '' };
    },
  };
}

test('labelledAddresses: only IPv4 addresses labelled <iface>:lb are the announcer\'s', () => {
  const json = JSON.stringify([
    { ifname: 'eth0', addr_info: [{ family: 'inet', local: '192.168.1.101', label: 'eth0' }, { family: 'inet', local: '192.168.1.200', label: 'eth0:lb' }, { family: 'inet6', local: 'fe80::1' }] },
    { ifname: 'eth1', addr_info: [{ family: 'inet', local: '10.0.0.9', label: 'eth1:other' }] },
  ]);
  assert.deepEqual([...labelledAddresses(JSON.parse(json) as IpLink[])], [['eth0', ['192.168.1.200']]]);
});

test('the address executor removes a predecessor\'s addresses at start, adds and removes only its own, and removes them at stop', async () => {
  const f = fakeIp({ eth0: [{ local: '192.168.1.101' }, { local: '192.168.1.205', label: 'eth0:lb' }, { local: '192.168.1.250' }] });
  const x = new AddressExecutor({ log, run: f.run });
  assert.equal(await x.interfaceOf('192.168.1.101'), 'eth0');
  assert.deepEqual(f.state.get('eth0')?.map((a) => a.local), ['192.168.1.101', '192.168.1.250'], 'a crashed agent\'s address is gone; the admin\'s stays');
  await x.setAddresses('eth0', ['192.168.1.200', '192.168.1.201']);
  await x.setAddresses('eth0', ['192.168.1.201']);
  assert.deepEqual(f.state.get('eth0'), [{ local: '192.168.1.101' }, { local: '192.168.1.250' }, { local: '192.168.1.201', label: 'eth0:lb' }]);
  assert.ok(f.calls.includes('ip addr add 192.168.1.200/32 dev eth0 label eth0:lb'));
  assert.ok(f.calls.includes('ip addr del 192.168.1.200/32 dev eth0'));
  // The address is the node's own: arping needs no non-local bind.
  await x.gratuitousARP('eth0', '192.168.1.201');
  assert.equal(f.calls.at(-1), 'arping -q -U -c 2 -I eth0 -s 192.168.1.201 192.168.1.201');
  assert.ok(!f.calls.some((c) => c.includes('sysctl')));
  await assert.rejects(x.setAddresses('averylonglink12', ['192.168.1.9']), /longer than 15 characters/);
  await x.close();
  assert.deepEqual(f.state.get('eth0')?.map((a) => a.local), ['192.168.1.101', '192.168.1.250']);
  await assert.rejects(x.setAddresses('eth0', ['192.168.1.200']), /closed/);
});

test('in a named namespace every command runs under ip netns exec', async () => {
  const f = fakeIp({ eth0: [] });
  const x = new AddressExecutor({ log, run: f.run, netns: 'svcnet-x-worker1' });
  await x.setAddresses('eth0', ['192.168.1.200']);
  assert.ok(f.calls.length > 0 && f.calls.every((c) => c.startsWith('ip netns exec svcnet-x-worker1 ')), JSON.stringify(f.calls));
});

test('with the real ip: the node holds the address (labelled), its kernel answers ARP for it, and a restarted agent clears what a crashed one left', { skip: rootSkip }, async () => {
  await withPair('l2a', '192.168.78', async (nodeNs, clientNs) => {
    const mac = await macOf(nodeNs);
    const first = new AddressExecutor({ log, netns: nodeNs });
    await first.setAddresses('eth0', ['192.168.78.200']);
    assert.match(await sh(['ip', '-n', nodeNs, '-o', 'addr', 'show', 'dev', 'eth0']), /inet 192\.168\.78\.200\/32 .*eth0:lb/);
    assert.equal(await askMac(clientNs, '192.168.78.200'), mac, 'the node answers ARP for the address it holds');
    await first.gratuitousARP('eth0', '192.168.78.200');
    // The first agent "crashes" (never closed); the next one removes what it left.
    const second = new AddressExecutor({ log, netns: nodeNs });
    await second.setAddresses('eth0', ['192.168.78.201']);
    const addrs = await sh(['ip', '-n', nodeNs, '-o', 'addr', 'show', 'dev', 'eth0']);
    assert.doesNotMatch(addrs, /192\.168\.78\.200/);
    assert.match(addrs, /192\.168\.78\.201\/32/);
    assert.match(addrs, /192\.168\.78\.1\/24/, 'the node\'s own address is left alone');
    assert.equal(await askMac(clientNs, '192.168.78.200'), undefined);
    await second.close();
    assert.doesNotMatch(await sh(['ip', '-n', nodeNs, '-o', 'addr', 'show', 'dev', 'eth0']), /192\.168\.78\.20/);
    assert.equal(await askMac(clientNs, '192.168.78.201'), undefined, 'closed: nobody answers');
  });
});
