// An in-memory nftables for unit tests (knftables' Fake): it parses the scripts the backend
// renders, applies each one atomically with the kernel's main refusals (a missing object, an
// element that exists with another value or does not exist, an object still referenced), and
// prints its state as sorted `nft` commands with dump().
import { NftError, type NftElement, type Nftables, type NftFamily } from './nftables.ts';

export interface FakeChain {
  decl: string | undefined;
  rules: string[];
}

export interface FakeSet {
  kind: 'map' | 'set';
  decl: string;
  /** key text → value text ('' for a set). */
  elements: Map<string, string>;
}

export interface FakeTable {
  chains: Map<string, FakeChain>;
  sets: Map<string, FakeSet>;
}

const norm = (s: string): string => s.trim().replace(/\s+/g, ' ');

/** Splits "{ a, b : c }" into its elements (element texts hold no ", "). */
function splitElements(body: string): string[] {
  const inner = body.trim().replace(/^\{/, '').replace(/\}$/, '');
  return inner
    .split(',')
    .map(norm)
    .filter((e) => e !== '');
}

function splitKV(e: string): [string, string] {
  const i = e.indexOf(' : ');
  return i < 0 ? [e, ''] : [e.slice(0, i), e.slice(i + 3)];
}

function clone(t: Map<string, FakeTable>): Map<string, FakeTable> {
  const out = new Map<string, FakeTable>();
  for (const [k, v] of t) {
    out.set(k, {
      chains: new Map([...v.chains].map(([n, c]) => [n, { decl: c.decl, rules: [...c.rules] }])),
      sets: new Map([...v.sets].map(([n, s]) => [n, { kind: s.kind, decl: s.decl, elements: new Map(s.elements) }])),
    });
  }
  return out;
}

export class FakeNftables implements Nftables {
  tables = new Map<string, FakeTable>();
  /** Every script run, in order (failed ones too). */
  readonly scripts: string[] = [];
  /** Makes the next run() fail, as a kernel refusal would. */
  failNext: string | undefined;

  get lastScript(): string {
    return this.scripts.at(-1) ?? '';
  }

  async run(script: string): Promise<void> {
    this.scripts.push(script);
    if (this.failNext !== undefined) {
      const msg = this.failNext;
      this.failNext = undefined;
      throw new NftError(msg, 'Failed', msg);
    }
    const work = clone(this.tables);
    const lines = script.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
    lines.forEach((line, i) => {
      try {
        this.#apply(work, line);
      } catch (e) {
        if (e instanceof NftError) throw new NftError(`line ${i + 1}: ${e.message}: ${line.slice(0, 200)}`, e.code, e.stderr);
        throw e;
      }
    });
    this.tables = work;
  }

  #apply(tables: Map<string, FakeTable>, line: string): void {
    const m = /^(add|delete|flush) (table|chain|rule|map|set|element) (ip6?|inet) (\S+)(?: (\S+))?(?: (.*))?$/.exec(line.trim());
    if (!m) throw new NftError(`syntax error`, 'Failed');
    const [, verb, what, family, tname, name = '', rest = ''] = m;
    const tkey = `${family} ${tname}`;
    if (what === 'table') {
      if (verb === 'add') {
        if (!tables.has(tkey)) tables.set(tkey, { chains: new Map(), sets: new Map() });
      } else if (verb === 'delete') {
        if (!tables.delete(tkey)) throw new NftError('No such file or directory', 'NotFound');
      } else throw new NftError('unsupported', 'Failed');
      return;
    }
    const t = tables.get(tkey);
    if (!t) throw new NftError('No such file or directory (table)', 'NotFound');
    switch (`${verb} ${what}`) {
      case 'add chain':
        if (!t.chains.has(name)) t.chains.set(name, { decl: rest ? norm(rest) : undefined, rules: [] });
        return;
      case 'flush chain': {
        const c = t.chains.get(name);
        if (!c) throw new NftError(`No such file or directory (chain ${name})`, 'NotFound');
        c.rules = [];
        return;
      }
      case 'delete chain': {
        if (!t.chains.has(name)) throw new NftError(`No such file or directory (chain ${name})`, 'NotFound');
        if (this.#chainReferenced(t, name)) throw new NftError(`Device or resource busy (chain ${name} is referenced)`, 'Failed');
        t.chains.delete(name);
        return;
      }
      case 'add rule': {
        const c = t.chains.get(name);
        if (!c) throw new NftError(`No such file or directory (chain ${name})`, 'NotFound');
        const rule = norm(rest);
        for (const ref of rule.matchAll(/(?:goto|jump) ([\w-]+)/g)) if (!t.chains.has(ref[1])) throw new NftError(`No such file or directory (chain ${ref[1]})`, 'NotFound');
        for (const ref of rule.matchAll(/@([\w-]+)/g)) if (!t.sets.has(ref[1])) throw new NftError(`No such file or directory (set ${ref[1]})`, 'NotFound');
        c.rules.push(rule);
        return;
      }
      case 'add map':
      case 'add set':
        if (!t.sets.has(name)) t.sets.set(name, { kind: what === 'map' ? 'map' : 'set', decl: norm(rest), elements: new Map() });
        return;
      case 'flush map':
      case 'flush set': {
        const s = t.sets.get(name);
        if (!s) throw new NftError(`No such file or directory (${what} ${name})`, 'NotFound');
        s.elements.clear();
        return;
      }
      case 'delete map':
      case 'delete set': {
        if (!t.sets.has(name)) throw new NftError(`No such file or directory (${what} ${name})`, 'NotFound');
        for (const [cn, c] of t.chains) if (c.rules.some((r) => r.includes(`@${name} `) || r.endsWith(`@${name}`))) throw new NftError(`Device or resource busy (${name} used by chain ${cn})`, 'Failed');
        t.sets.delete(name);
        return;
      }
      case 'add element':
      case 'delete element': {
        const s = t.sets.get(name);
        if (!s) throw new NftError(`No such file or directory (set ${name})`, 'NotFound');
        for (const e of splitElements(rest)) {
          const [k, v] = splitKV(e);
          if (verb === 'add') {
            const prev = s.elements.get(k);
            if (prev !== undefined && prev !== v) throw new NftError(`File exists (${name} ${k})`, 'Exists');
            const target = /^(?:goto|jump) ([\w-]+)$/.exec(v);
            if (target && !t.chains.has(target[1])) throw new NftError(`No such file or directory (chain ${target[1]})`, 'NotFound');
            s.elements.set(k, v);
          } else if (!s.elements.delete(k)) throw new NftError(`No such file or directory (element ${name} ${k})`, 'NotFound');
        }
        return;
      }
      default:
        throw new NftError(`unsupported command ${verb} ${what}`, 'Failed');
    }
  }

  #chainReferenced(t: FakeTable, name: string): boolean {
    const re = new RegExp(`(?:goto|jump) ${name}(?![\\w-])`);
    for (const [cn, c] of t.chains) if (cn !== name && c.rules.some((r) => re.test(r))) return true;
    for (const s of t.sets.values()) for (const v of s.elements.values()) if (re.test(v)) return true;
    return false;
  }

  async listElements(family: NftFamily, table: string, _kind: 'set' | 'map', name: string): Promise<NftElement[] | undefined> {
    const s = this.tables.get(`${family} ${table}`)?.sets.get(name);
    if (!s) return undefined;
    return [...s.elements].map(([k, v]) => (s.kind === 'map' ? { key: k.split(' . '), value: v.split(' . ') } : { key: k.split(' . ') }));
  }

  async listChains(family: NftFamily, table: string): Promise<string[] | undefined> {
    const t = this.tables.get(`${family} ${table}`);
    return t ? [...t.chains.keys()] : undefined;
  }

  /** A table, for the tracer. */
  table(family: NftFamily, name: string): FakeTable | undefined {
    return this.tables.get(`${family} ${name}`);
  }

  /** The whole state as sorted nft commands (knftables' Fake.Dump()). */
  dump(): string {
    const out: string[] = [];
    for (const tkey of [...this.tables.keys()].sort()) {
      const t = this.tables.get(tkey)!;
      out.push(`add table ${tkey}`);
      for (const name of [...t.chains.keys()].sort()) {
        const c = t.chains.get(name)!;
        out.push(`add chain ${tkey} ${name}${c.decl ? ` ${c.decl}` : ''}`);
        for (const r of c.rules) out.push(`add rule ${tkey} ${name} ${r}`);
      }
      for (const name of [...t.sets.keys()].sort()) {
        const s = t.sets.get(name)!;
        out.push(`add ${s.kind} ${tkey} ${name} ${s.decl}`);
        for (const [k, v] of [...s.elements].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) out.push(`add element ${tkey} ${name} { ${k}${v ? ` : ${v}` : ''} }`);
      }
    }
    return `${out.join('\n')}\n`;
  }
}
