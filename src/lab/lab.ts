// `svcnet lab up|down|status|exec`: a closed multi-node cluster in network namespaces made for
// it (see topology.ts for the layout). `up` builds the namespaces, starts the API server in
// master-node and an agent in every other node, and a relay so the host's kubectl reaches the
// API server through a loopback port; `down` removes all of it, and so does a failed `up`.
//
// Processes run in a node's network namespace through `nsenter --net=/run/netns/<ns>`, not
// `ip netns exec`: the latter also gives the process a mount namespace of its own whose mounts
// never propagate back, so the pod namespaces an agent names with `ip netns add` would be
// invisible (and unremovable by name) from the host, and lost when the agent restarts.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import type { Node } from 'kubernetes-types/core/v1.js';
import { HttpClient, kubeconfigYaml } from '../client/index.ts';
import { Nodes } from '../api/index.ts';
import { pidAlive } from '../util/index.ts';
import { must, systemRunner, type Runner } from './exec.ts';
import { ensureLabsRoot, labDir, labsRoot, readLab, svcnetBin, writeLab, type LabInfo, type ProcessInfo } from './state.ts';
import {
  apiServerPort,
  assertClosed,
  bridgeName,
  buildCommands,
  hostsFile,
  labPrefix,
  labTopology,
  lanCIDR,
  loadBalancerPool,
  masterIP,
  members,
  namespaceOf,
  parseRoutes,
  validateLabName,
  type Member,
  type Topology,
} from './topology.ts';

export const defaultLabName = 'lab';

export interface UpOptions {
  name?: string;
  nodes?: number;
  /** How long to wait for the API server and every node to be Ready, ms (default 120 s). */
  timeoutMs?: number;
  /**
   * false: start no agents and wait only for the API server (a bare topology, e.g. before
   * pods can run). Default true.
   */
  agents?: boolean;
  /** An image table (YAML) copied to <lab>/images.yaml, which every node's agent reads. */
  imageTable?: string;
  /** More flags for every node's svcnet (master-node's `server`, the workers' `agent`), e.g. --l2-announce-mode=address. */
  nodeArgs?: string[];
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  runner?: Runner;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Why the lab cannot run on this machine, or undefined when it can. */
export async function labUnavailable(runner: Runner = systemRunner): Promise<string | undefined> {
  if (process.platform !== 'linux') return 'needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, veth pairs, bridges)';
  for (const tool of ['ip', 'nsenter', 'nft']) {
    const r = await runner.run(['sh', '-c', `command -v ${tool} || test -x /usr/sbin/${tool}`]);
    if (r.code !== 0) return `needs the ${tool} command`;
  }
  return undefined;
}

/** Names of the network namespaces on this host that start with `prefix`. */
export async function namespacesWithPrefix(prefix: string, runner: Runner = systemRunner): Promise<string[]> {
  const out = await must(runner, ['ip', 'netns', 'list']);
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}

function memberInfo(m: Member) {
  return { name: m.name, role: m.role, ns: m.ns, ip: m.ip };
}

function newInfo(t: Topology): LabInfo {
  const dir = labDir(t.name);
  return {
    name: t.name,
    dir,
    phase: 'starting',
    createdAt: new Date().toISOString(),
    kubeconfig: join(dir, 'kubeconfig'),
    apiServer: `https://${t.apiServer}`,
    lan: { ns: t.lanNs, cidr: lanCIDR, bridge: bridgeName },
    loadBalancerPool,
    members: members(t).map(memberInfo),
    processes: [],
  };
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Environment every process of the lab gets (see resolvePython). */
const labEnv: Record<string, string> = {};

/**
 * The Python interpreter the pod shims run on, resolved once: `python3` on PATH may be a
 * version manager's shell-script shim (pyenv's costs ~200 ms per start, the interpreter ~40 ms),
 * paid for every container the agents start.
 */
async function resolvePython(runner: Runner): Promise<void> {
  if (process.env.SVCNET_PYTHON) return;
  const r = await runner.run(['python3', '-S', '-E', '-c', 'import sys; print(sys.executable)']);
  const exe = r.stdout.trim();
  if (r.code === 0 && exe.startsWith('/')) labEnv.SVCNET_PYTHON = exe;
}

/** Starts a detached process (in a member's network namespace, or the host's), logging to a file. */
function launch(info: LabInfo, role: string, member: Member | undefined, args: string[], log: string): ProcessInfo {
  const argv = member ? ['nsenter', `--net=/run/netns/${member.ns}`, '--', ...args] : args;
  return spawnRecorded(info, { role, member: member?.name, log, argv });
}

function spawnRecorded(info: LabInfo, p: Omit<ProcessInfo, 'pid'>): ProcessInfo {
  const fd = openSync(p.log, 'a');
  try {
    const child = spawn(p.argv[0], p.argv.slice(1), {
      detached: true,
      stdio: ['ignore', fd, fd],
      // SVCNET_LAB marks every process of the lab, so `down` finds them even without lab.json.
      env: { ...process.env, ...labEnv, SVCNET_LAB: info.name },
    });
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${p.argv.join(' ')}`);
    const rec: ProcessInfo = { ...p, pid: child.pid };
    info.processes = [...info.processes.filter((x) => !(x.role === p.role && x.member === p.member)), rec];
    writeLab(info);
    return rec;
  } finally {
    closeSync(fd);
  }
}

/** The API server's CA and the admin token, once the server has written its kubeconfig. */
function serverCredentials(dir: string): { ca: string; token: string } | undefined {
  const pki = join(dir, 'master-node', 'pki');
  if (!existsSync(join(dir, 'master-node', 'kubeconfig')) || !existsSync(join(pki, 'ca.crt'))) return undefined;
  const tokens = JSON.parse(readFileSync(join(pki, 'tokens.json'), 'utf8')) as Record<string, { name: string }>;
  const token = Object.entries(tokens).find(([, u]) => u.name === 'admin')?.[0];
  return token ? { ca: readFileSync(join(pki, 'ca.crt'), 'utf8'), token } : undefined;
}

function readyz(port: number, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get({ host: '127.0.0.1', port, path: '/readyz', ca, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

/** The host's kubeconfig: the server's own, pointed at the loopback relay. */
function writeHostKubeconfig(info: LabInfo, port: number): void {
  const own = readFileSync(join(info.dir, 'master-node', 'kubeconfig'), 'utf8');
  const server = `https://127.0.0.1:${port}`;
  const text = own.replace(/^(\s*server:\s*).*$/m, `$1${server}`).replace(/^(- name: |\s+cluster: |\s+name: |current-context: )svcnet$/gm, `$1svcnet-${info.name}`);
  writeFileSync(info.kubeconfig, text, { mode: 0o600 });
  info.server = server;
}

function nodeReady(n: Node): boolean {
  return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** What the lab still waits for (empty: it is up). */
async function pending(t: Topology, info: LabInfo, client: HttpClient, runner: Runner): Promise<string[]> {
  const waiting: string[] = [];
  const list = await client.list<Node>(Nodes, undefined);
  const byName = new Map(list.items.map((n) => [n.metadata?.name ?? '', n]));
  for (const m of t.nodes) {
    const n = byName.get(m.name);
    const mi = info.members.find((x) => x.name === m.name);
    if (mi && n?.spec?.podCIDR) mi.podCIDR = n.spec.podCIDR;
    if (!n) waiting.push(`node ${m.name} registered`);
    else if (!nodeReady(n)) waiting.push(`node ${m.name} Ready`);
    else if (!n.spec?.podCIDR) waiting.push(`podCIDR of ${m.name}`);
  }
  if (waiting.length) return waiting;
  // Routes to the other nodes' pod CIDRs (the supervisor installs them).
  for (const m of t.nodes) {
    const have = parseRoutes(await must(runner, ['ip', '-n', m.ns, '-j', 'route', 'show', 'proto', 'static']));
    const missing = info.members.filter((x) => x.role !== 'workstation' && x.name !== m.name && x.podCIDR && !have.some((r) => r.dst === x.podCIDR));
    for (const x of missing) waiting.push(`route on ${m.name} to ${x.podCIDR}`);
  }
  return waiting;
}

export async function labUp(opts: UpOptions = {}): Promise<LabInfo> {
  const name = opts.name ?? defaultLabName;
  const t = labTopology(name, opts.nodes ?? 3);
  const runner = opts.runner ?? systemRunner;
  const log = opts.log ?? (() => {});
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const why = await labUnavailable(runner);
  if (why) throw new Error(`svcnet lab: ${why}`);
  const leftovers = await namespacesWithPrefix(t.prefix, runner);
  if ((readLab(name) && readLab(name)?.phase !== 'down') || leftovers.length) {
    throw new Error(`lab ${JSON.stringify(name)} already exists (${leftovers.length ? leftovers.join(', ') : labDir(name)}); remove it with: svcnet lab down --name ${name}`);
  }
  ensureLabsRoot();
  const info = newInfo(t);
  rmSync(info.dir, { recursive: true, force: true });
  mkdirSync(info.dir, { recursive: true });
  writeLab(info);
  const onSignal = () => {
    void labDown({ name, runner }).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const cmds = buildCommands(t);
    assertClosed(t, cmds);
    for (const c of cmds) await must(runner, c);
    await resolvePython(runner);
    log(`namespaces ${[t.lanNs, ...members(t).map((m) => m.ns)].join(' ')}: ready`);
    for (const m of members(t)) {
      const etc = join('/etc/netns', m.ns);
      mkdirSync(etc, { recursive: true });
      writeFileSync(join(etc, 'hosts'), hostsFile(t));
    }

    // Tokens first, so the API server starts out knowing every node's.
    const pki = join(info.dir, 'master-node', 'pki');
    mkdirSync(pki, { recursive: true, mode: 0o700 });
    const tokens: Record<string, { name: string; groups: string[] }> = {
      [randomBytes(24).toString('base64url')]: { name: 'admin', groups: ['system:masters', 'system:authenticated'] },
    };
    const nodeTokens = new Map<string, string>();
    for (const m of t.nodes.slice(1)) {
      const tok = randomBytes(24).toString('base64url');
      tokens[tok] = { name: `system:node:${m.name}`, groups: ['system:nodes', 'system:authenticated'] };
      nodeTokens.set(m.name, tok);
    }
    writeFileSync(join(pki, 'tokens.json'), JSON.stringify(tokens, null, 2) + '\n', { mode: 0o600 });

    const master = t.nodes[0];
    const sock = join(info.dir, 'api.sock');
    launch(info, 'relay', master, [svcnetBin, 'lab', 'relay', '--listen', `unix:${sock}`, '--to', `tcp:${t.apiServer}`], join(info.dir, 'relay.log'));
    launch(info, 'supervisor', undefined, [svcnetBin, 'lab', 'supervise', '--name', name, '--nodes', String(t.nodes.length)], join(info.dir, 'supervisor.log'));
    writeFileSync(join(info.dir, 'images.yaml'), opts.imageTable ? readFileSync(opts.imageTable, 'utf8') : imageTableTemplate);
    launch(info, 'apiserver', master, [svcnetBin, 'server', ...serverFlags(t, master, info.dir), ...(opts.nodeArgs ?? [])], join(info.dir, 'master-node.log'));
    const deadline = Date.now() + timeoutMs;
    const check = () => {
      for (const p of info.processes) {
        if (!pidAlive(p.pid)) throw new Error(`${p.role}${p.member ? ` in ${p.member}` : ''} exited; its log (${p.log}):\n${tail(p.log)}`);
      }
      if (Date.now() > deadline) return false;
      return true;
    };

    // The relay's port, then the API server through it.
    const relayFile = join(info.dir, 'relay.json');
    let port = 0;
    let creds: { ca: string; token: string } | undefined;
    for (;;) {
      if (!check()) throw new Error(`the API server was not ready within ${timeoutMs / 1000} s; its log:\n${tail(join(info.dir, 'master-node.log'))}`);
      if (!port && existsSync(relayFile)) port = (JSON.parse(readFileSync(relayFile, 'utf8')) as { port: number }).port;
      creds ??= serverCredentials(info.dir);
      if (port && creds && (await readyz(port, creds.ca))) break;
      await sleep(200);
    }
    info.relayPort = port;
    writeHostKubeconfig(info, port);
    writeLab(info);
    log(`API server ready, from the host at https://127.0.0.1:${port}`);

    if (opts.agents === false) {
      info.phase = 'ready';
      writeLab(info);
      return info;
    }
    for (const m of t.nodes.slice(1)) {
      const dir = join(info.dir, m.name);
      mkdirSync(dir, { recursive: true });
      const kc = join(dir, 'kubeconfig');
      // A node's kubeconfig for its agent: the API server inside the lab, the node's own token.
      writeFileSync(kc, kubeconfigYaml({ server: `https://${masterIP}:${apiServerPort}`, caCert: creds.ca, token: nodeTokens.get(m.name)!, user: `system:node:${m.name}` }), { mode: 0o600 });
      launch(info, 'agent', m, [svcnetBin, 'agent', ...agentFlags(m, info.dir, kc), ...(opts.nodeArgs ?? [])], join(info.dir, `${m.name}.log`));
    }

    const client = new HttpClient({ server: `https://127.0.0.1:${port}`, ca: Buffer.from(creds.ca), token: creds.token, timeoutMs: 5000 });
    try {
      let waiting: string[] = ['the nodes'];
      for (;;) {
        if (!check()) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for: ${waiting.join('; ')}`);
        try {
          waiting = await pending(t, info, client, runner);
        } catch (e) {
          waiting = [`the API server (${(e as Error).message})`];
        }
        if (waiting.length === 0) break;
        await sleep(300);
      }
    } finally {
      client.close();
    }
    info.phase = 'ready';
    writeLab(info);
    return info;
  } catch (e) {
    info.phase = 'failed';
    info.error = (e as Error).message;
    writeLab(info);
    await labDown({ name, runner });
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The cluster DNS address pods are given: the tenth address of the Service CIDR 10.96.0.0/12. */
export const clusterDNS = '10.96.0.10';

/** Flags of `svcnet server` for master-node (its in-process agent is master-node's agent). */
function serverFlags(t: Topology, m: Member, dir: string): string[] {
  return ['--mode', 'netns', '--listen', t.apiServer, '--advertise-address', m.ip, '--data-dir', join(dir, m.name), '--node-name', m.name, '--image-table', join(dir, 'images.yaml')];
}

/** Flags of `svcnet agent` for a worker node. */
function agentFlags(m: Member, dir: string, kubeconfig: string): string[] {
  return [
    '--kubeconfig', kubeconfig,
    '--node-name', m.name,
    '--node-ip', m.ip,
    '--mode', 'netns',
    '--data-dir', join(dir, m.name),
    '--cluster-dns', clusterDNS,
    '--image-table', join(dir, 'images.yaml'),
  ];
}

const imageTableTemplate = `# The lab's image table, read by every node's agent (re-read when it changes): an image, with or
# without a tag, mapped to the command line that stands for it. For example:
#   mlflow/mlflow: agnhost netexec --http-port=5000
`;

/** Pids of processes whose environment carries SVCNET_LAB=<name> (what `launch` sets). */
function labProcesses(name: string): number[] {
  const mark = Buffer.from(`SVCNET_LAB=${name}\0`);
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      const env = readFileSync(`/proc/${d}/environ`);
      if (env.indexOf(mark) === 0 || env.includes(Buffer.concat([Buffer.from('\0'), mark]))) out.push(Number(d));
    } catch {
      // gone, or a kernel thread
    }
  }
  return out;
}

async function killAll(pids: number[], graceMs: number): Promise<void> {
  const live = pids.filter(pidAlive);
  for (const p of live) {
    try {
      process.kill(p, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  const until = Date.now() + graceMs;
  while (live.some(pidAlive) && Date.now() < until) await sleep(50);
  for (const p of live.filter(pidAlive)) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const hard = Date.now() + 3000;
  while (live.some(pidAlive) && Date.now() < hard) await sleep(20);
}

export interface DownOptions {
  name?: string;
  /** Keep the lab's folder (logs); the namespaces and processes go regardless. */
  keepFiles?: boolean;
  runner?: Runner;
}

/** Removes everything of the lab: processes, namespaces (pods' too), /etc/netns entries, files. */
export async function labDown(opts: DownOptions = {}): Promise<{ namespaces: string[]; processes: number }> {
  const name = opts.name ?? defaultLabName;
  validateLabName(name);
  const runner = opts.runner ?? systemRunner;
  const prefix = labPrefix(name);
  const info = readLab(name);
  // The lab's own processes first (agents would otherwise restart pods), then whatever still
  // runs inside its namespaces (pods, exec sessions).
  const marked = labProcesses(name);
  await killAll(marked, 5000);
  const namespaces = await namespacesWithPrefix(prefix, runner);
  const inside: number[] = [];
  for (const ns of namespaces) {
    const r = await runner.run(['ip', 'netns', 'pids', ns]);
    if (r.code === 0) inside.push(...r.stdout.split(/\s+/).filter(Boolean).map(Number));
  }
  await killAll([...new Set(inside)], 2000);
  // Pods' namespaces before the nodes' (their veths end in the nodes), the LAN last.
  const order = (ns: string) => (ns === `${prefix}lan` ? 2 : (info?.members.some((m) => m.ns === ns) ?? false) ? 1 : 0);
  const errors: string[] = [];
  for (const ns of [...namespaces].sort((a, b) => order(a) - order(b))) {
    const r = await runner.run(['ip', 'netns', 'del', ns]);
    if (r.code !== 0) errors.push(`ip netns del ${ns}: ${r.stderr.trim()}`);
  }
  if (existsSync('/etc/netns')) {
    for (const d of readdirSync('/etc/netns')) if (d.startsWith(prefix)) rmSync(join('/etc/netns', d), { recursive: true, force: true });
  }
  if (!opts.keepFiles) rmSync(labDir(name), { recursive: true, force: true });
  else if (info) writeLab({ ...info, phase: 'down', processes: [] });
  const left = await namespacesWithPrefix(prefix, runner);
  if (left.length) throw new Error(`lab ${name}: namespaces left after down: ${left.join(', ')}${errors.length ? `\n${errors.join('\n')}` : ''}`);
  return { namespaces, processes: new Set([...marked, ...inside]).size };
}

export interface LabStatus {
  info?: LabInfo;
  namespaces: string[];
  processes: { role: string; member?: string; pid: number; running: boolean }[];
}

export async function labStatus(name = defaultLabName, runner: Runner = systemRunner): Promise<LabStatus> {
  validateLabName(name);
  const info = readLab(name);
  return {
    info,
    namespaces: await namespacesWithPrefix(labPrefix(name), runner),
    processes: (info?.processes ?? []).map((p) => ({ role: p.role, member: p.member, pid: p.pid, running: pidAlive(p.pid) })),
  };
}

/** Every lab with a folder or a namespace on this host. */
export async function listLabs(runner: Runner = systemRunner): Promise<string[]> {
  const names = new Set<string>();
  if (existsSync(labsRoot())) for (const d of readdirSync(labsRoot())) if (!d.startsWith('.')) names.add(d);
  for (const ns of await namespacesWithPrefix('svcnet-', runner)) {
    const m = /^svcnet-([a-z0-9]{1,16})-(lan|workstation|master-node)$/.exec(ns);
    if (m) names.add(m[1]);
  }
  return [...names].sort();
}

/** Runs a command in a member's namespace (`ip netns exec`, so /etc/netns/<ns>/hosts applies). */
export function labExec(name: string, who: string, cmd: string[], nodes?: number): Promise<number> {
  const t = labTopology(name, nodes ?? Math.max(1, readLab(name)?.members.filter((m) => m.role !== 'workstation').length ?? 3));
  const ns = namespaceOf(t, who);
  if (!ns) throw new Error(`lab ${name}: no member ${JSON.stringify(who)} (one of: ${[...members(t).map((m) => m.name), 'lan'].join(', ')})`);
  if (cmd.length === 0) throw new Error('lab exec: no command given');
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, ...cmd], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + 15 : 1)));
  });
}

function requireLab(name: string): LabInfo {
  validateLabName(name);
  const info = readLab(name);
  if (!info) throw new Error(`no lab ${JSON.stringify(name)} (svcnet lab up --name ${name})`);
  return info;
}

/**
 * Stops a member's svcnet process (the agent, or the API server on master-node) with `signal`
 * and, unless `start` is false, starts it again as `up` did (same flags, same data dir) and
 * waits until it says it is ready.
 */
export async function labRestart(name: string, member: string, opts: { signal?: NodeJS.Signals; start?: boolean; timeoutMs?: number } = {}): Promise<ProcessInfo | undefined> {
  const info = requireLab(name);
  const p = info.processes.find((x) => x.member === member && (x.role === 'agent' || x.role === 'apiserver'));
  if (!p) throw new Error(`lab ${name}: no agent or API server runs in ${JSON.stringify(member)}`);
  if (pidAlive(p.pid) && labProcesses(name).includes(p.pid)) {
    process.kill(p.pid, opts.signal ?? 'SIGTERM');
    const until = Date.now() + 15_000;
    while (pidAlive(p.pid) && Date.now() < until) await sleep(50);
    if (pidAlive(p.pid)) process.kill(p.pid, 'SIGKILL');
    while (pidAlive(p.pid)) await sleep(20);
  }
  if (opts.start === false) return undefined;
  await resolvePython(systemRunner);
  // Ready once it says so in its log (both print one line on stdout when ready).
  const from = existsSync(p.log) ? statSync(p.log).size : 0;
  const started = spawnRecorded(info, { role: p.role, member: p.member, log: p.log, argv: p.argv });
  const until = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    const fd = openSync(p.log, 'r');
    let text = '';
    try {
      const size = fstatSync(fd).size;
      const buf = Buffer.alloc(Math.max(0, size - from));
      readSync(fd, buf, 0, buf.length, from);
      text = buf.toString();
    } finally {
      closeSync(fd);
    }
    if (/svcnet (agent|API server) ready/.test(text)) return started;
    if (!pidAlive(started.pid)) throw new Error(`${p.role} in ${member} exited; its log (${p.log}):\n${tail(p.log)}`);
    if (Date.now() > until) throw new Error(`${p.role} in ${member} not ready within ${(opts.timeoutMs ?? 60_000) / 1000} s; its log (${p.log}):\n${tail(p.log)}`);
    await sleep(100);
  }
}

/** Unplugs (down) or plugs back (up) a member's cable: its port on the LAN bridge. */
export async function labLink(name: string, member: string, state: 'up' | 'down', runner: Runner = systemRunner): Promise<void> {
  const info = requireLab(name);
  const t = labTopology(name, info.members.filter((m) => m.role !== 'workstation').length);
  const m = members(t).find((x) => x.name === member);
  if (!m) throw new Error(`lab ${name}: no member ${JSON.stringify(member)}`);
  const cmd = ['ip', '-n', t.lanNs, 'link', 'set', m.lanIf, state];
  assertClosed(t, [cmd]);
  await must(runner, cmd);
}
