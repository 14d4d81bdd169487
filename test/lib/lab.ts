// Test helper for what crosses nodes: `withLab(name, fn)` brings a lab up with the real
// `svcnet lab up`, hands `fn` kubectl and exec helpers, and always brings it down (also when
// `fn` throws), so every namespace and process the lab made is gone afterwards.
//
//   test('...', async (t) => {
//     const skip = await labSkipReason();
//     if (skip) return t.skip(skip);
//     await withLab('mytest', async (lab) => {
//       await lab.kubectl(['apply', '-f', join(examplesDir, '05-mlflow-deployment.yaml')]);
//       const r = await lab.exec('workstation', ['curl', '-s', 'http://192.168.1.101:30001']);
//     });
//   });
import { readFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labUnavailable, readLab, type LabInfo } from '../../src/lab/index.ts';
import { run, svcnetBin, type RunResult } from './svcnet.ts';

export type { LabInfo };

export interface Lab {
  name: string;
  info: LabInfo;
  kubeconfig: string;
  /** The lab's folder (logs: master-node.log, worker1.log, ...). */
  dir: string;
  /** Runs the real kubectl from the host against the lab (through the loopback relay). */
  kubectl(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<RunResult>;
  /** Like kubectl, but throws when it fails; returns stdout. */
  kubectlOk(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<string>;
  /** Runs a command in a node's, the workstation's or the LAN's namespace. */
  exec(member: string, cmd: string[], opts?: { input?: string; timeoutMs?: number }): Promise<RunResult>;
  /** A node's (or the workstation's) LAN address. */
  ip(member: string): string;
  /** `svcnet lab <args...> --name <lab>` (restart, link, status, ...). */
  svcnet(args: string[], opts?: { timeoutMs?: number }): Promise<RunResult>;
  /** Stops a node's agent (SIGKILL by default: a crash); `startAgent` starts it again. */
  killAgent(node: string, signal?: NodeJS.Signals): Promise<void>;
  startAgent(node: string): Promise<void>;
  /** Unplugs / plugs back a member's cable on the LAN. */
  link(member: string, state: 'up' | 'down'): Promise<void>;
  /** The last lines of a member's log (master-node.log, worker1.log, supervisor.log...). */
  logTail(file: string, lines?: number): string;
  /** Replaces the image table every node reads (<lab>/images.yaml; agents re-read it). */
  setImageTable(yaml: string): void;
}

export interface WithLabOptions {
  nodes?: number;
  /** The image table (YAML: image -> command line) every node starts with. */
  imageTable?: string;
  /** false: API server only, no agents (`up --no-agents`). */
  agents?: boolean;
  timeoutSeconds?: number;
  /** More flags for every node's svcnet (`svcnet lab up --node-arg`). */
  nodeArgs?: string[];
}

/** Why lab tests cannot run here (to pass to t.skip), or undefined. */
export async function labSkipReason(): Promise<string | undefined> {
  const why = await labUnavailable();
  return why ? `${why}: svcnet lab builds network namespaces` : undefined;
}

async function svcnetLab(args: string[], timeoutMs = 180_000): Promise<RunResult> {
  return run(svcnetBin, ['lab', ...args], { timeoutMs, env: { SVCNET_LOG_LEVEL: process.env.SVCNET_LOG_LEVEL ?? 'info' } });
}

export async function labDownCli(name: string): Promise<RunResult> {
  return svcnetLab(['down', '--name', name], 60_000);
}

export async function withLab<T>(name: string, fn: (lab: Lab) => Promise<T>, opts: WithLabOptions = {}): Promise<T> {
  // A lab of this name left behind by a killed run goes first.
  if (readLab(name) || existsSync(`/run/netns/svcnet-${name}-lan`)) await labDownCli(name);
  const args = ['up', '--name', name, '--nodes', String(opts.nodes ?? 3), '--timeout', String(opts.timeoutSeconds ?? 120)];
  if (opts.agents === false) args.push('--no-agents');
  for (const a of opts.nodeArgs ?? []) args.push(`--node-arg=${a}`);
  let tableDir: string | undefined;
  if (opts.imageTable !== undefined) {
    tableDir = mkdtempSync(join(tmpdir(), 'svcnet-lab-images-'));
    writeFileSync(join(tableDir, 'images.yaml'), opts.imageTable);
    args.push('--image-table', join(tableDir, 'images.yaml'));
  }
  const up = await svcnetLab(args).finally(() => tableDir && rmSync(tableDir, { recursive: true, force: true }));
  if (up.code !== 0) {
    await labDownCli(name);
    throw new Error(`svcnet lab up --name ${name} failed (${up.code}):\n${up.stderr}${up.stdout}`);
  }
  const info = readLab(name);
  if (!info) throw new Error(`svcnet lab up --name ${name}: no lab.json`);
  const cacheDir = join(info.dir, 'kubectl-cache');
  const lab: Lab = {
    name,
    info,
    kubeconfig: info.kubeconfig,
    dir: info.dir,
    kubectl: (args, o = {}) => run('kubectl', ['--kubeconfig', info.kubeconfig, '--cache-dir', cacheDir, ...args], o),
    kubectlOk: async (args, o = {}) => {
      const r = await lab.kubectl(args, o);
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`);
      return r.stdout;
    },
    exec: (member, cmd, o = {}) => {
      const m = info.members.find((x) => x.name === member);
      const ns = member === 'lan' ? info.lan.ns : m?.ns;
      if (!ns) throw new Error(`lab ${name}: no member ${member}`);
      return run('ip', ['netns', 'exec', ns, ...cmd], o);
    },
    ip: (member) => {
      const m = info.members.find((x) => x.name === member);
      if (!m) throw new Error(`lab ${name}: no member ${member}`);
      return m.ip;
    },
    svcnet: (args, o = {}) => svcnetLab([...args, '--name', name], o.timeoutMs),
    killAgent: async (node, signal = 'SIGKILL') => {
      const r = await svcnetLab(['restart', '--name', name, '--signal', signal, '--no-start', node]);
      if (r.code !== 0) throw new Error(`lab restart --no-start ${node}: ${r.stderr}`);
    },
    startAgent: async (node) => {
      const r = await svcnetLab(['restart', '--name', name, node]);
      if (r.code !== 0) throw new Error(`lab restart ${node}: ${r.stderr}`);
    },
    link: async (member, state) => {
      const r = await svcnetLab(['link', '--name', name, member, state]);
      if (r.code !== 0) throw new Error(`lab link ${member} ${state}: ${r.stderr}`);
    },
    setImageTable: (yaml) => writeFileSync(join(info.dir, 'images.yaml'), yaml),
    logTail: (file, lines = 40) => {
      try {
        return readFileSync(join(info.dir, file), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      } catch {
        return `(no ${file})`;
      }
    },
  };
  let failed = false;
  try {
    return await fn(lab);
  } catch (e) {
    failed = true;
    const logs = ['master-node.log', ...info.members.filter((m) => m.role === 'worker').map((m) => `${m.name}.log`), 'supervisor.log'];
    const extra = logs.map((f) => `--- ${f} (last lines)\n${lab.logTail(f, 15)}`).join('\n');
    if (e instanceof Error) e.message += `\n\nlab ${name} logs:\n${extra}`;
    throw e;
  } finally {
    const down = await labDownCli(name);
    if (down.code !== 0 && !failed) throw new Error(`svcnet lab down --name ${name} failed: ${down.stderr}`);
  }
}

/** Names of network namespaces on the host that start with `prefix` (for leak checks). */
export async function netnsWithPrefix(prefix: string): Promise<string[]> {
  const r = await run('ip', ['netns', 'list']);
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}
