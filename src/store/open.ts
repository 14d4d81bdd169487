// openStore: a Store from the `--store` flag's spec.
//   sqlite:<dir or file>     the embedded store (a data dir holding svcnet.db, or a .db file)
//   memory:                  in memory, gone when the process exits (tests, demos)
//   etcd:<url>[,<url>...]    a real etcd, e.g. etcd:http://127.0.0.1:2379 (option `prefix`
//                            puts every key under a prefix, so clusters can share an etcd)
import type { Store } from './types.ts';
import { MemoryStore } from './memory.ts';
import { SqliteStore } from './sqlite.ts';
import type { EtcdStore, EtcdStoreOptions } from './etcd.ts';

export interface OpenStoreOptions {
  /** etcd: prepended to every key (e.g. "/svcnet"). */
  prefix?: string;
  /** etcd: TLS material (PEM) for https endpoints. */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  /** etcd: deadline of each request and of connecting, in ms (default 10 s). */
  timeoutMs?: number;
  /** sqlite: 'normal' (survives a killed process; default) or 'full' (survives power loss too). */
  synchronous?: 'normal' | 'full';
}

const FORMS = 'sqlite:<dir or file>, memory: or etcd:http://host:port[,http://host:port...]';

function bad(spec: string, why: string): Error {
  return new Error(`invalid store "${spec}": ${why} (expected ${FORMS})`);
}

/** Parses etcd endpoints: http(s) URLs with a host and port, and no path, query or credentials. */
export function parseEtcdEndpoints(spec: string, list: string): string[] {
  const urls = list.split(',').map((u) => u.trim());
  if (urls.length === 0 || urls.some((u) => u === '')) throw bad(spec, 'an etcd endpoint is empty');
  return urls.map((u) => {
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(u)) throw bad(spec, `"${u}" must start with http:// or https://`);
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      throw bad(spec, `"${u}" is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad(spec, `"${u}" must start with http:// or https://`);
    if (url.hostname === '') throw bad(spec, `"${u}" has no host`);
    if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') throw bad(spec, `"${u}" must not have a path or query (use the prefix option for a key prefix)`);
    if (url.username !== '' || url.password !== '') throw bad(spec, `"${u}" must not carry credentials`);
    return `${url.protocol}//${url.host}`;
  });
}

export async function openStore(spec: string, opts: OpenStoreOptions = {}): Promise<Store> {
  const colon = spec.indexOf(':');
  if (colon < 0) throw bad(spec, 'no kind before ":"');
  const kind = spec.slice(0, colon);
  const rest = spec.slice(colon + 1);
  switch (kind) {
    case 'memory':
      if (rest !== '') throw bad(spec, 'memory: takes nothing after the colon');
      return new MemoryStore();
    case 'sqlite':
      if (rest.trim() === '') throw bad(spec, 'sqlite: needs a data dir or file');
      return SqliteStore.open(rest, opts.synchronous ? { synchronous: opts.synchronous } : {});
    case 'etcd': {
      const endpoints = parseEtcdEndpoints(spec, rest);
      return openEtcdStore({
        endpoints,
        ...(opts.prefix !== undefined ? { prefix: opts.prefix } : {}),
        ...(opts.tls ? { tls: opts.tls } : {}),
        ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      });
    }
    default:
      throw bad(spec, `unknown kind "${kind}"`);
  }
}

/** EtcdStore.open, loading the etcd client (and gRPC) on first use only. */
export async function openEtcdStore(opts: EtcdStoreOptions): Promise<EtcdStore> {
  const { EtcdStore } = await import('./etcd.ts');
  return EtcdStore.open(opts);
}
