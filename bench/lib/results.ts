// Writes one area's figures into bench/RESULTS.md, replacing that area's previous section and
// leaving the others alone. Every figure written here is one a run just printed.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';

// SVCNET_BENCH_RESULTS writes elsewhere (a trial run that must not replace the recorded figures).
const resultsPath = process.env.SVCNET_BENCH_RESULTS ?? new URL('../RESULTS.md', import.meta.url).pathname;

export interface Row {
  /** What was measured, in words. */
  metric: string;
  /** svcnet's figure, with its unit. */
  svcnet: string;
  /** The peer's figure in the same run, or the target/anchor it is held against. */
  peer?: string;
  /** svcnet / peer, or "target met"/"target missed". */
  ratio?: string;
  target?: string;
}

export interface Section {
  area: string;
  title: string;
  /** The command that reproduces the section (default `npm run bench:<area>`). */
  command?: string;
  /** How it was measured (setup, sizes, repetitions, which peer). */
  method: string;
  rows: Row[];
  notes?: string[];
}

function machine(): string {
  const c = cpus();
  return `${c.length} × ${c[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${release()}, Node ${process.version}`;
}

export function renderSection(s: Section): string {
  const lines = [
    `<!-- bench:${s.area}:start -->`,
    `## ${s.title}`,
    '',
    `Run: ${new Date().toISOString()} on ${machine()} (\`${s.command ?? `npm run bench:${s.area}`}\`).`,
    '',
    s.method,
    '',
    '| metric | svcnet | peer / anchor | ratio | target |',
    '|---|---|---|---|---|',
    ...s.rows.map((r) => `| ${r.metric} | ${r.svcnet} | ${r.peer ?? ''} | ${r.ratio ?? ''} | ${r.target ?? ''} |`),
  ];
  if (s.notes?.length) lines.push('', ...s.notes.map((n) => `- ${n}`));
  lines.push(`<!-- bench:${s.area}:end -->`);
  return lines.join('\n');
}

export function writeSection(s: Section): void {
  const header = '# Benchmark results\n\nWritten by `npm run bench` (or `npm run bench:<area>`); each section is replaced by its own run.\n';
  let text = existsSync(resultsPath) ? readFileSync(resultsPath, 'utf8') : header;
  const start = `<!-- bench:${s.area}:start -->`;
  const end = `<!-- bench:${s.area}:end -->`;
  const rendered = renderSection(s);
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i >= 0 && j > i) text = text.slice(0, i) + rendered + text.slice(j + end.length);
  else text = `${text.trimEnd()}\n\n${rendered}\n`;
  writeFileSync(resultsPath, text);
  console.log(rendered);
}

/** The q-quantile (0..1) of a list of numbers, by nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[idx] ?? NaN;
}

export const median = (values: readonly number[]): number => quantile(values, 0.5);
