// The nftables executor (knftables' Interface, reduced to what the proxy needs): run one script
// as one atomic transaction, and read back single objects. Never `nft list table`: at 10,000
// Services that takes ~19 s; a single map lists in a fraction of a second.
import { inNetns, type Exec } from './exec.ts';
import { NftSession, realSpawn, type SpawnFn } from './session.ts';

export type NftFamily = 'ip' | 'ip6';

/** One element of a set or map: the key's parts and (for a map) the value's parts, as nft prints them. */
export interface NftElement {
  key: string[];
  value?: string[];
}

export type NftErrorCode = 'NotFound' | 'Exists' | 'Failed';

/** An nft failure; code from stderr (nft does not call setlocale(), so the English text is stable). */
export class NftError extends Error {
  readonly code: NftErrorCode;
  readonly stderr: string;

  constructor(message: string, code: NftErrorCode, stderr = '') {
    super(message);
    this.name = 'NftError';
    this.code = code;
    this.stderr = stderr;
  }
}

export const isNotFound = (e: unknown): boolean => e instanceof NftError && e.code === 'NotFound';
export const isExists = (e: unknown): boolean => e instanceof NftError && e.code === 'Exists';

export interface Nftables {
  /** Runs an `nft -f` script as one transaction: all of it applies, or none (NftError). */
  run(script: string): Promise<void>;
  /** The elements of one set or map; undefined when the table or the object does not exist. */
  listElements(family: NftFamily, table: string, kind: 'set' | 'map', name: string): Promise<NftElement[] | undefined>;
  /** The names of a table's chains (no rules are read); undefined when the table does not exist. */
  listChains(family: NftFamily, table: string): Promise<string[] | undefined>;
  /** Ends any helper process. */
  close?(): void;
}

function errorCode(stderr: string): NftErrorCode {
  if (/No such file or directory/.test(stderr)) return 'NotFound';
  if (/File exists/.test(stderr)) return 'Exists';
  return 'Failed';
}

type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

/** A value of nft's JSON output as nft's text syntax writes it. */
function jsonToText(v: JsonValue): string[] {
  if (v === null) return [''];
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return [String(v)];
  if (Array.isArray(v)) return v.flatMap(jsonToText);
  if ('concat' in v) return (v.concat as JsonValue[]).flatMap(jsonToText);
  if ('elem' in v) return jsonToText((v.elem as { val: JsonValue }).val);
  if ('prefix' in v) {
    const p = v.prefix as { addr: string; len: number };
    return [`${p.addr}/${p.len}`];
  }
  if ('range' in v) {
    const r = v.range as JsonValue[];
    return [`${jsonToText(r[0] ?? null).join('')}-${jsonToText(r[1] ?? null).join('')}`];
  }
  for (const verdict of ['goto', 'jump'] as const) {
    if (verdict in v) return [`${verdict} ${(v[verdict] as { target: string }).target}`];
  }
  for (const verdict of ['accept', 'drop', 'return', 'continue'] as const) if (verdict in v) return [verdict];
  return [JSON.stringify(v)];
}

/** Parses `nft -j list set|map` output into elements. */
export function parseElements(json: string): NftElement[] {
  const doc = JSON.parse(json) as { nftables: Record<string, JsonValue>[] };
  const out: NftElement[] = [];
  for (const item of doc.nftables) {
    const obj = (item.set ?? item.map) as { elem?: JsonValue[] } | undefined;
    if (!obj?.elem) continue;
    for (const e of obj.elem) {
      if (Array.isArray(e)) out.push({ key: jsonToText(e[0] ?? null), value: jsonToText(e[1] ?? null) });
      else out.push({ key: jsonToText(e) });
    }
  }
  return out;
}

export interface RealNftablesOptions {
  /** Named network namespace to run nft in (`ip netns exec NAME nft ...`). */
  netns?: string;
  /**
   * Send scripts up to this size to a long-lived `nft -i` (see session.ts); larger ones, and all
   * when 0, go to a new `nft -f -`. Default 256 KiB.
   */
  sessionMaxBytes?: number;
  /** How the session process is started (tests pass a fake). */
  spawn?: SpawnFn;
}

/** nft itself, through an Exec, optionally inside a named network namespace. */
export class RealNftables implements Nftables {
  readonly #exec: Exec;
  readonly #netns: string | undefined;
  readonly #sessionMax: number;
  readonly #session: NftSession | undefined;

  constructor(exec: Exec, o: RealNftablesOptions = {}) {
    this.#exec = exec;
    this.#netns = o.netns;
    this.#sessionMax = o.sessionMaxBytes ?? 256 * 1024;
    this.#session = this.#sessionMax > 0 ? new NftSession(o.spawn ?? realSpawn, inNetns(o.netns, ['nft', '-i'])) : undefined;
  }

  close(): void {
    this.#session?.close();
  }

  async run(script: string): Promise<void> {
    if (this.#session && script.length <= this.#sessionMax) return this.#session.run(script);
    const r = await this.#exec.run(inNetns(this.#netns, ['nft', '-f', '-']), script);
    if (r.code !== 0) throw new NftError(`nft -f failed: ${r.stderr.trim().split('\n').slice(0, 6).join('\n')}`, errorCode(r.stderr), r.stderr);
  }

  async listElements(family: NftFamily, table: string, kind: 'set' | 'map', name: string): Promise<NftElement[] | undefined> {
    const r = await this.#exec.run(inNetns(this.#netns, ['nft', '-j', 'list', kind, family, table, name]));
    if (r.code !== 0) {
      if (errorCode(r.stderr) === 'NotFound') return undefined;
      throw new NftError(`nft list ${kind} failed: ${r.stderr.trim()}`, errorCode(r.stderr), r.stderr);
    }
    return parseElements(r.stdout);
  }

  async listChains(family: NftFamily, table: string): Promise<string[] | undefined> {
    const r = await this.#exec.run(inNetns(this.#netns, ['nft', '-j', 'list', 'chains', family]));
    if (r.code !== 0) {
      if (errorCode(r.stderr) === 'NotFound') return undefined;
      throw new NftError(`nft list chains failed: ${r.stderr.trim()}`, errorCode(r.stderr), r.stderr);
    }
    const doc = JSON.parse(r.stdout) as { nftables: { chain?: { table: string; name: string } }[] };
    const chains = doc.nftables.flatMap((i) => (i.chain && i.chain.table === table ? [i.chain.name] : []));
    return chains.length > 0 ? chains : undefined;
  }
}
