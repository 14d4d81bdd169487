// For the executors' root tests: two namespaces of the test's own (a node and a client) joined by
// one veth pair, eth0 on both sides, on `subnet`.1 and `subnet`.2 /24. No link to the host's
// namespace; both are removed afterwards, also on failure, with any process left in them.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const rootSkip = process.getuid?.() !== 0 ? 'needs root: builds two network namespaces' : undefined;

export async function sh(argv: string[]): Promise<string> {
  return (await run(argv[0], argv.slice(1))).stdout;
}

export async function tryRun(argv: string[]): Promise<{ code: number; stdout: string }> {
  try {
    return { code: 0, stdout: (await run(argv[0], argv.slice(1))).stdout };
  } catch (e) {
    const err = e as { code?: number; stdout?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '' };
  }
}

/** Runs fn in a fresh pair named svcnet-<tag><pid>-node/-client, on e.g. subnet "192.168.77". */
export async function withPair(tag: string, subnet: string, fn: (nodeNs: string, clientNs: string) => Promise<void>): Promise<void> {
  const id = `${process.pid % 100000}`;
  const nodeNs = `svcnet-${tag}${id}-node`;
  const clientNs = `svcnet-${tag}${id}-client`;
  const cmds = [
    ['ip', 'netns', 'add', nodeNs],
    ['ip', 'netns', 'add', clientNs],
    ['ip', '-n', nodeNs, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', clientNs],
    ['ip', '-n', nodeNs, 'addr', 'add', `${subnet}.1/24`, 'dev', 'eth0'],
    ['ip', '-n', clientNs, 'addr', 'add', `${subnet}.2/24`, 'dev', 'eth0'],
    ['ip', '-n', nodeNs, 'link', 'set', 'eth0', 'up'],
    ['ip', '-n', clientNs, 'link', 'set', 'eth0', 'up'],
    ['ip', '-n', nodeNs, 'link', 'set', 'lo', 'up'],
  ];
  try {
    for (const c of cmds) await sh(c);
    await fn(nodeNs, clientNs);
  } finally {
    for (const ns of [nodeNs, clientNs]) {
      const pids = (await tryRun(['ip', 'netns', 'pids', ns])).stdout.split(/\s+/).filter(Boolean);
      for (const p of pids) {
        try {
          process.kill(Number(p), 'SIGKILL');
        } catch {
          // gone
        }
      }
      await tryRun(['ip', 'netns', 'del', ns]);
    }
  }
}

/** The MAC address the client learns for `ip` by asking (arping), or undefined without an answer. */
export async function askMac(clientNs: string, ip: string): Promise<string | undefined> {
  const r = await tryRun(['ip', 'netns', 'exec', clientNs, 'arping', '-c', '1', '-w', '2', '-I', 'eth0', ip]);
  return /\[([0-9A-F:]{17})\]/i.exec(r.stdout)?.[1]?.toLowerCase();
}

export async function macOf(ns: string): Promise<string> {
  const links = JSON.parse(await sh(['ip', '-n', ns, '-j', 'link', 'show', 'eth0'])) as { address: string }[];
  return links[0].address;
}
