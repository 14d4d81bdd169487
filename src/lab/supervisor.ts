// The lab's host-side process (`svcnet lab supervise`, started by `lab up`): the loopback end of
// the API relay (127.0.0.1:<port> -> the lab's unix socket), and the lab's route controller, as
// a cloud's: every node gets a route to each other node's podCIDR (read from the Node objects
// the node IPAM filled in) via that node's LAN address. It re-checks every two seconds, so
// routes a link flap removed come back. It only ever runs `ip -n <lab namespace>`.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Node } from 'kubernetes-types/core/v1.js';
import { HttpClient } from '../client/index.ts';
import { Nodes } from '../api/index.ts';
import { logger } from '../util/index.ts';
import { must, systemRunner, type Runner } from './exec.ts';
import { startRelay } from './relay.ts';
import { labDir, readLab } from './state.ts';
import { assertClosed, desiredRoutes, labTopology, parseRoutes, routeCommands, type Topology } from './topology.ts';

const log = logger('lab/supervisor');

/** One pass: make every node's static routes match the Nodes' podCIDRs. Returns the commands run. */
export async function syncRoutes(t: Topology, nodes: readonly Node[], runner: Runner): Promise<string[][]> {
  const cidrs = new Map<string, string>();
  for (const n of nodes) if (n.metadata?.name && n.spec?.podCIDR) cidrs.set(n.metadata.name, n.spec.podCIDR);
  const ran: string[][] = [];
  for (const [ns, want] of desiredRoutes(t, cidrs)) {
    const have = parseRoutes(await must(runner, ['ip', '-n', ns, '-j', 'route', 'show', 'proto', 'static']));
    const cmds = routeCommands(ns, have, want);
    assertClosed(t, cmds);
    for (const c of cmds) {
      await must(runner, c);
      ran.push([...c]);
    }
  }
  return ran;
}

export async function runSupervisor(name: string, nodeCount: number, runner: Runner = systemRunner): Promise<void> {
  const t = labTopology(name, nodeCount);
  const dir = labDir(name);
  const relay = await startRelay({ kind: 'tcp', host: '127.0.0.1', port: readLab(name)?.relayPort ?? 0 }, { kind: 'unix', path: join(dir, 'api.sock') }, (e) =>
    log.warn({ err: e.message }, 'relay connection failed'),
  );
  const port = relay.address.kind === 'tcp' ? relay.address.port : 0;
  writeFileSync(join(dir, 'relay.json'), JSON.stringify({ port, pid: process.pid }) + '\n');
  log.info({ port }, 'relay listening');
  let client: HttpClient | undefined;
  let lastError = '';
  let stopping = false;
  let missing = 0;
  const tick = async () => {
    if (!existsSync(join(dir, 'lab.json'))) {
      // The lab is gone (down removed its folder): nothing left to keep.
      if (++missing >= 3) stop('lab folder removed');
      return;
    }
    missing = 0;
    const kc = join(dir, 'kubeconfig');
    if (!existsSync(kc)) return;
    client ??= HttpClient.fromKubeconfig(kc, { timeoutMs: 5000 });
    try {
      const nodes = await client.list<Node>(Nodes, undefined);
      const ran = await syncRoutes(t, nodes.items, runner);
      if (ran.length) log.info({ commands: ran.map((c) => c.join(' ')) }, 'routes synced');
      lastError = '';
    } catch (e) {
      const msg = (e as Error).message;
      if (msg !== lastError) log.warn({ err: msg }, 'route sync failed; retrying');
      lastError = msg;
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const loop = async () => {
    await tick();
    if (!stopping) timer = setTimeout(() => void loop(), 2000);
  };
  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ why }, 'stopping');
    if (timer) clearTimeout(timer);
    client?.close();
    void relay.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  await loop();
}
