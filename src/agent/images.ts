// What a container runs, without a container runtime (docs/design.md, "Workloads without a
// container runtime"): its own command and args; else what the node's image table maps its
// image to; else the built-in agnhost; else nothing, with a message saying how to map it.
//
// The image table (YAML) maps an image, with or without a tag, to a command line:
//   mlflow/mlflow: mlflow server --host $(POD_IP) --port 5000
//   busybox:1.36: { command: sh -c, args: [ "sleep 3600" ] }
// A plain command line is the image's entrypoint (container args are appended); the object
// form has docker's ENTRYPOINT and CMD: container args replace `args`. A command whose first
// word is `agnhost` runs the built-in agnhost.
import { readFileSync, statSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { Container } from 'kubernetes-types/core/v1.js';

export interface ImageEntry {
  command: string[];
  args: string[];
}

/** Splits a command line into words as a POSIX shell would (quotes and backslashes; no expansion). */
export function splitCommandLine(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else cur += ch;
    } else if (quote === '"') {
      if (ch === '"') quote = undefined;
      else if (ch === '\\' && i + 1 < s.length && '"\\$`'.includes(s[i + 1])) cur += s[++i];
      else cur += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < s.length) {
      cur += s[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unterminated ${quote} quote in ${JSON.stringify(s)}`);
  if (inWord) out.push(cur);
  return out;
}

/** docker's reference normalization: repository (docker.io/library/x for short names) and tag. */
export function normalizeImage(image: string): { repo: string; tag: string; digest: string } {
  let rest = image.trim();
  let digest = '';
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag = '';
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const slash = rest.indexOf('/');
  const first = slash < 0 ? '' : rest.slice(0, slash);
  if (slash < 0) rest = `docker.io/library/${rest}`;
  else if (!/[.:]/.test(first) && first !== 'localhost') rest = `docker.io/${rest}`;
  return { repo: rest, tag, digest };
}

/** The image as a container runtime reports it in status (docker.io/library/nginx:latest). */
export function imageStatusName(image: string): string {
  const n = normalizeImage(image);
  if (n.digest && !n.tag) return `${n.repo}@${n.digest}`;
  return `${n.repo}:${n.tag || 'latest'}`;
}

const agnhostRepos = new Set(['registry.k8s.io/e2e-test-images/agnhost', 'k8s.gcr.io/e2e-test-images/agnhost', 'gcr.io/kubernetes-e2e-test-images/agnhost']);

export function isAgnhostImage(image: string): boolean {
  return agnhostRepos.has(normalizeImage(image).repo);
}

function isAgnhostWord(w: string | undefined): boolean {
  return w === 'agnhost' || w === '/agnhost';
}

export class ImageTable {
  readonly path: string;
  #entries = new Map<string, ImageEntry>();
  #mtimeMs = -1;
  #error: string | undefined;

  constructor(path: string, entries?: Record<string, string | { command?: string | string[]; args?: string | string[] }>) {
    this.path = path;
    if (entries) this.#entries = ImageTable.parseEntries(entries, path);
  }

  static parseEntries(doc: unknown, path: string): Map<string, ImageEntry> {
    const out = new Map<string, ImageEntry>();
    if (doc === null || doc === undefined) return out;
    if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${path}: expected a mapping of image to command line`);
    const words = (v: unknown, what: string): string[] => {
      if (v === undefined || v === null) return [];
      if (typeof v === 'string') return splitCommandLine(v);
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
      throw new Error(`${path}: ${what}: expected a command line or a list of words`);
    };
    for (const [image, v] of Object.entries(doc as Record<string, unknown>)) {
      if (typeof v === 'string' || Array.isArray(v)) out.set(image, { command: words(v, image), args: [] });
      else if (v && typeof v === 'object') {
        const o = v as { command?: unknown; args?: unknown };
        out.set(image, { command: words(o.command, `${image}.command`), args: words(o.args, `${image}.args`) });
      } else throw new Error(`${path}: ${image}: expected a command line`);
    }
    return out;
  }

  /** Re-reads the file when it changed; a broken file keeps the last good table (and says so). */
  reload(): void {
    let mtime: number;
    try {
      mtime = statSync(this.path).mtimeMs;
    } catch {
      if (this.#mtimeMs !== -1) this.#entries = new Map();
      this.#mtimeMs = -1;
      return;
    }
    if (mtime === this.#mtimeMs) return;
    this.#mtimeMs = mtime;
    try {
      this.#entries = ImageTable.parseEntries(parseYaml(readFileSync(this.path, 'utf8')), this.path);
      this.#error = undefined;
    } catch (e) {
      this.#error = e instanceof Error ? e.message : String(e);
    }
  }

  get error(): string | undefined {
    return this.#error;
  }

  /** The entry for an image: an exact match, then one for its repository with the same tag, then the untagged one. */
  lookup(image: string): ImageEntry | undefined {
    const exact = this.#entries.get(image);
    if (exact) return exact;
    const want = normalizeImage(image);
    let untagged: ImageEntry | undefined;
    for (const [k, v] of this.#entries) {
      const n = normalizeImage(k);
      if (n.repo !== want.repo) continue;
      if (!n.tag && !n.digest) untagged ??= v;
      else if ((n.tag && n.tag === (want.tag || 'latest')) || (n.digest && n.digest === want.digest)) return v;
    }
    return untagged;
  }
}

export type Resolution =
  | { kind: 'run'; argv: string[]; builtin?: 'agnhost'; source: 'command' | 'image-table' | 'builtin' }
  | { kind: 'unmapped'; reason: string; message: string };

/** What runs for a container (words before $(VAR) expansion). */
export function resolveCommand(c: Container, table: ImageTable | undefined, nodeName: string): Resolution {
  const image = c.image ?? '';
  const args = c.args ?? [];
  if (c.command?.length) {
    if (isAgnhostImage(image) && isAgnhostWord(c.command[0])) return { kind: 'run', argv: ['agnhost', ...c.command.slice(1), ...args], builtin: 'agnhost', source: 'builtin' };
    return { kind: 'run', argv: [...c.command, ...args], source: 'command' };
  }
  const entry = table?.lookup(image);
  if (entry && entry.command.length) {
    const words = [...entry.command, ...(c.args ? args : entry.args)];
    if (isAgnhostWord(words[0])) return { kind: 'run', argv: ['agnhost', ...words.slice(1)], builtin: 'agnhost', source: 'image-table' };
    return { kind: 'run', argv: words, source: 'image-table' };
  }
  if (isAgnhostImage(image)) return { kind: 'run', argv: ['agnhost', ...args], builtin: 'agnhost', source: 'builtin' };
  const where = table ? table.path : '<data-dir>/images.yaml';
  const short = image.replace(/[:@].*$/, '') || image;
  return {
    kind: 'unmapped',
    reason: 'ImageNotMapped',
    message:
      `svcnet runs no container images: image "${image}" is not mapped to a program on node "${nodeName}". ` +
      `Map it in ${where} (a line such as "${short}: <command line>", e.g. "${short}: agnhost netexec --http-port 5000"), ` +
      'or set the container\'s command.' + (table?.error ? ` (The image table does not parse: ${table.error})` : ''),
  };
}
