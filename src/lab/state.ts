// Where a lab keeps its files (<repo>/.svcnet-labs/<name>/) and what lab.json records: enough
// for `down` to find and remove everything `up` made, even after an `up` that died half-way.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MemberRole } from './topology.ts';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const svcnetBin = join(repoRoot, 'bin/svcnet');

/** The folder holding every lab's folder ($SVCNET_LABS_DIR, else <repo>/.svcnet-labs). */
export function labsRoot(): string {
  return process.env.SVCNET_LABS_DIR ?? join(repoRoot, '.svcnet-labs');
}

export function labDir(name: string): string {
  return join(labsRoot(), name);
}

/** down: removed with --keep-files (only the folder is left). */
export type Phase = 'starting' | 'ready' | 'failed' | 'down';

export interface MemberInfo {
  name: string;
  role: MemberRole;
  ns: string;
  ip: string;
  /** Node.spec.podCIDR once the node IPAM has given one. */
  podCIDR?: string;
}

export interface ProcessInfo {
  /** apiserver, agent, relay, supervisor */
  role: string;
  /** The namespace's member it runs in; absent: the host's namespace (the supervisor). */
  member?: string;
  pid: number;
  log: string;
  argv: string[];
}

export interface LabInfo {
  name: string;
  dir: string;
  phase: Phase;
  createdAt: string;
  /** The kubeconfig for the host (server https://127.0.0.1:<relayPort>). */
  kubeconfig: string;
  /** The loopback port on the host that reaches the API server. */
  relayPort?: number;
  /** The API server as the host reaches it. */
  server?: string;
  /** The API server inside the lab. */
  apiServer: string;
  lan: { ns: string; cidr: string; bridge: string };
  loadBalancerPool: string;
  members: MemberInfo[];
  processes: ProcessInfo[];
  error?: string;
}

export function labFile(name: string): string {
  return join(labDir(name), 'lab.json');
}

export function readLab(name: string): LabInfo | undefined {
  const f = labFile(name);
  if (!existsSync(f)) return undefined;
  return JSON.parse(readFileSync(f, 'utf8')) as LabInfo;
}

export function writeLab(info: LabInfo): void {
  mkdirSync(info.dir, { recursive: true });
  const f = labFile(info.name);
  writeFileSync(`${f}.tmp`, JSON.stringify(info, null, 2) + '\n');
  renameSync(`${f}.tmp`, f);
}

/** Keeps the labs' folder out of git without touching the project's .gitignore. */
export function ensureLabsRoot(): void {
  const root = labsRoot();
  mkdirSync(root, { recursive: true });
  const ignore = join(root, '.gitignore');
  if (!existsSync(ignore)) writeFileSync(ignore, '# svcnet lab folders (svcnet lab up); never committed\n*\n');
}
