// The real executors' command lines and stdin, checked with FakeExec; the nft -i session with a
// scripted fake process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeExec } from './exec.ts';
import { RealNftables, NftError, isNotFound, parseElements } from './nftables.ts';
import { RealConntrack } from './conntrack.ts';
import { NftSession, type Proc } from './session.ts';

test('RealNftables runs a large script as nft -f - inside the namespace, no shell', async () => {
  const script = 'add table ip svcnet\n';
  const exec = new FakeExec([{ argv: ['ip', 'netns', 'exec', 'node-1', 'nft', '-f', '-'], stdin: script }]);
  await new RealNftables(exec, { netns: 'node-1', sessionMaxBytes: 0 }).run(script);
  assert.equal(exec.remaining, 0);
});

test('RealNftables turns nft’s stderr into an NftError with a code', async () => {
  const exec = new FakeExec([{ argv: ['nft', '-f', '-'], result: { code: 1, stderr: 'Error: Could not process rule: No such file or directory\n' } }]);
  const err = await new RealNftables(exec, { sessionMaxBytes: 0 }).run('delete table ip svcnet\n').catch((e: unknown) => e);
  assert.ok(err instanceof NftError);
  assert.ok(isNotFound(err));
});

test('RealNftables lists one map as JSON and parses keys, values and verdicts', async () => {
  const json = JSON.stringify({
    nftables: [
      { metainfo: { version: '1.0.6' } },
      {
        map: {
          family: 'ip',
          name: 'service-ips',
          table: 'svcnet',
          elem: [
            [{ concat: ['10.96.0.10', 'tcp', 80] }, { goto: { target: 'internal-0-2' } }],
            [{ concat: ['10.96.0.11', 'udp', 53] }, { drop: null }],
          ],
        },
      },
    ],
  });
  const exec = new FakeExec([
    { argv: ['nft', '-j', 'list', 'map', 'ip', 'svcnet', 'service-ips'], result: { stdout: json } },
    { argv: ['nft', '-j', 'list', 'map', 'ip', 'svcnet', 'nope'], result: { code: 1, stderr: 'Error: No such file or directory\n' } },
  ]);
  const nft = new RealNftables(exec, { sessionMaxBytes: 0 });
  assert.deepEqual(await nft.listElements('ip', 'svcnet', 'map', 'service-ips'), [
    { key: ['10.96.0.10', 'tcp', '80'], value: ['goto internal-0-2'] },
    { key: ['10.96.0.11', 'udp', '53'], value: ['drop'] },
  ]);
  assert.equal(await nft.listElements('ip', 'svcnet', 'map', 'nope'), undefined);
});

test('parseElements reads interval prefixes of a set', () => {
  const json = JSON.stringify({ nftables: [{ set: { elem: [{ concat: ['203.0.113.1', 'tcp', 80, { prefix: { addr: '198.51.100.0', len: 24 } }] }] } }] });
  assert.deepEqual(parseElements(json), [{ key: ['203.0.113.1', 'tcp', '80', '198.51.100.0/24'] }]);
});

test('RealConntrack deletes UDP flows by original destination and DNAT target, inside the namespace', async () => {
  const exec = new FakeExec([
    {
      argv: ['ip', 'netns', 'exec', 'n1', 'conntrack', '-D', '-f', 'ipv4', '-p', 'udp', '--orig-dst', '10.96.0.10', '--orig-port-dst', '53', '--dst-nat', '10.244.2.7'],
      result: { code: 1, stderr: 'conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.\n' },
    },
  ]);
  await new RealConntrack(exec, 'n1').clear({ family: 'ipv4', protocol: 'udp', origDst: '10.96.0.10', origPortDst: 53, dstNat: '10.244.2.7' });
  assert.equal(exec.remaining, 0);
});

/** A fake `nft -i`: answers each line after the marker the way nft does. */
function fakeNftI(errors: Map<string, string>): { spawn: (argv: readonly string[]) => Proc; argv: string[][]; lines: string[] } {
  const argv: string[][] = [];
  const lines: string[] = [];
  return {
    argv,
    lines,
    spawn: (a) => {
      argv.push([...a]);
      let onErr: (c: string) => void = () => {};
      let pendingErr = '';
      return {
        write: (s) => {
          for (const line of s.split('\n').filter((l) => l)) {
            const m = /^list set ip svcnet (marker-\d+)$/.exec(line);
            if (m) {
              const out = `${pendingErr}Error: No such file or directory\n${line}\n                   ^^^^^^^^\n`;
              pendingErr = '';
              // nft writes in pieces; split the answer to exercise reassembly.
              setImmediate(() => onErr(out.slice(0, 10)));
              setImmediate(() => onErr(out.slice(10)));
            } else {
              lines.push(line);
              pendingErr = errors.get(line) ?? '';
            }
          }
        },
        onStderr: (cb) => (onErr = cb),
        onExit: () => {},
        kill: () => {},
      };
    },
  };
}

test('NftSession sends each script as one line of one nft -i process and reports its errors', async () => {
  const bad = 'delete element ip svcnet slot-0 { 10.96.0.9 . tcp . 80 }';
  const f = fakeNftI(new Map([[bad, `Error: Could not process rule: No such file or directory\n${bad}\n   ^^^\n`]]));
  const s = new NftSession(f.spawn, ['ip', 'netns', 'exec', 'n1', 'nft', '-i']);
  await s.run('add element ip svcnet slot-0 { 10.96.0.10 . tcp . 80 : 10.244.1.5 . 8080 }\nadd element ip svcnet service-state { 10.96.0.10 . tcp . 80 : 0x1 . 0x2 }\n');
  const err = await s.run(`${bad}\n`).catch((e: unknown) => e);
  assert.ok(isNotFound(err));
  await s.run('add element ip svcnet cluster-ips { 10.96.0.10 }\n');
  assert.deepEqual(f.argv, [['ip', 'netns', 'exec', 'n1', 'nft', '-i']]);
  assert.deepEqual(f.lines, [
    'add element ip svcnet slot-0 { 10.96.0.10 . tcp . 80 : 10.244.1.5 . 8080 }; add element ip svcnet service-state { 10.96.0.10 . tcp . 80 : 0x1 . 0x2 }',
    bad,
    'add element ip svcnet cluster-ips { 10.96.0.10 }',
  ]);
  s.close();
});

test('NftSession restarts its process after maxTransactions', async () => {
  const f = fakeNftI(new Map());
  const s = new NftSession(f.spawn, ['nft', '-i'], { maxTransactions: 2 });
  for (let i = 0; i < 5; i++) await s.run(`add element ip svcnet cluster-ips { 10.96.0.${i} }\n`);
  assert.equal(f.argv.length, 3);
  s.close();
});
