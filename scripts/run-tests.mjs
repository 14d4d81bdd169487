#!/usr/bin/env node
// Runs every test with node's own runner. Node 20's `--test` expands no globs and finds no
// .ts files by itself, so the files are listed here. `--unit` runs only src/**/*.test.ts;
// any other argument narrows the run to files whose path contains it.
//
// After the run, a leak check: as root it prints `ip netns list` and fails the run when a
// network namespace with svcnet's prefix (`svcnet-`: labs, their pods, the runtime and proxy
// tests' namespaces) appeared during the run and is still there (namespaces that were there
// before are not counted: another run's, or a lab someone brought up). It also reports every
// process of this run still running: the tests run with SVCNET_TEST_RUN=<id> in their
// environment, which servers, agents, lab helpers and (through src/agent/runtime) the pod
// shims and zygotes keep.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const filters = args.filter((a) => !a.startsWith('--'));

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

let files = walk(join(root, 'src'));
if (!unitOnly) files.push(...walk(join(root, 'test')));
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
files.sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}

const isRoot = process.getuid?.() === 0;
const netnsPrefix = 'svcnet-';

/** `ip netns list` as printed, and the namespace names in it; undefined when `ip` cannot run. */
function netnsList() {
  try {
    const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const names = out.split('\n').map((l) => l.trim().split(/\s+/)[0]).filter(Boolean);
    return { out, names };
  } catch (e) {
    return { out: `(ip netns list failed: ${e.message})\n`, names: undefined };
  }
}

const runId = `${process.pid}-${Date.now()}`;

/** Processes whose environment carries SVCNET_TEST_RUN=<this run> (pid and argv). */
function processesOfThisRun() {
  const out = [];
  if (!existsSync('/proc')) return out;
  const mark = `SVCNET_TEST_RUN=${runId}`;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (!readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(mark)) continue;
      out.push({ pid, argv: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean) });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return out;
}

/** This run's processes still running, after a moment for SIGKILLs sent at the very end to land. */
async function leftoverProcesses() {
  let left = processesOfThisRun();
  for (let i = 0; i < 10 && left.length; i++) {
    await new Promise((r) => setTimeout(r, 200));
    left = processesOfThisRun();
  }
  return left;
}

const netnsBefore = isRoot ? new Set(netnsList().names ?? []) : new Set();

// Integration tests mostly wait on servers and processes, so run more files than cores.
const concurrency = process.env.SVCNET_TEST_CONCURRENCY ?? String(Math.max(2, availableParallelism()));
const child = spawn(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, SVCNET_TEST_RUN: runId },
});
// Ctrl-C reaches the test runner too (same process group); the leak check still runs after it.
process.on('SIGINT', () => undefined);
child.on('exit', async (code, signal) => {
  let status = signal ? 1 : (code ?? 1);
  const lines = [];
  if (isRoot) {
    const after = netnsList();
    lines.push('# leak check: ip netns list', ...(after.out.trim() ? after.out.trimEnd().split('\n').map((l) => `#   ${l}`) : ['#   (no network namespaces)']));
    const leaked = (after.names ?? []).filter((n) => n.startsWith(netnsPrefix) && !netnsBefore.has(n));
    if (leaked.length) {
      lines.push(`# leak check FAILED: ${leaked.length} network namespace(s) made during the run are left over: ${leaked.join(' ')}`);
      if (status === 0) status = 1;
    } else if (after.names) lines.push(`# leak check: no ${netnsPrefix}* network namespace made during the run is left over`);
  }
  const left = await leftoverProcesses();
  if (left.length) {
    lines.push(`# leak check: ${left.length} process(es) of this run still run (servers, agents, pod shims, ...):`);
    for (const p of left) lines.push(`#   pid ${p.pid}: ${p.argv.join(' ').slice(0, 200)}`);
  } else lines.push('# leak check: no process of this run is left running');
  console.log(lines.join('\n'));
  process.exit(status);
});
