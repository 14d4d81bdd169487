// Helpers for tests that run pods with svcnet's agent: unique loopback pod CIDRs (parallel
// servers on one machine must not hand out the same 127.x addresses), killing every pod
// process an agent's data dir records (pods outlive their agent by design), and polling.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { processAlive } from '../../src/agent/index.ts';
import { eventually } from '../../src/util/index.ts';

/** A /16 loopback cluster CIDR for one test server, away from the Service range 127.96/16. */
export function uniqueClusterCIDR(): string {
  return `127.${150 + Math.floor(Math.random() * 90)}.0.0/16`;
}

interface ContainerState {
  pgid: number;
  shimPid: number;
  shimStartTicks: string;
}

/** Every container state file under `dir` (an agent's data dir, or a server's). */
function stateFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, depth: number) => {
    if (depth > 6 || !existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p, depth + 1);
      else if (e.name === 'state.json' && d.includes(`${join('runtime', 'containers')}`)) out.push(p);
    }
  };
  walk(dir, 0);
  return out;
}

/** SIGKILLs the process groups of every container recorded under `dir`. */
export function killPodProcesses(dir: string): number {
  let n = 0;
  for (const f of stateFiles(dir)) {
    let st: ContainerState;
    try {
      st = JSON.parse(readFileSync(f, 'utf8')) as ContainerState;
    } catch {
      continue;
    }
    if (!processAlive(st.shimPid, st.shimStartTicks)) continue;
    for (const g of new Set([st.pgid, st.shimPid])) {
      if (!g) continue;
      try {
        process.kill(-g, 'SIGKILL');
        n++;
      } catch {
        // gone
      }
    }
  }
  return n;
}

/** Polls fn until it returns a value other than undefined/false (src/util's eventually, with this file's defaults). */
export function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  return eventually(what, fn, timeoutMs, everyMs);
}
