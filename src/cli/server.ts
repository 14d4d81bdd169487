// `svcnet server`: the API server on its store (the embedded SQLite file by default), and, as
// the parts land, the controllers, this node's agent, the proxy and the cluster DNS, in one
// process. Prints one line saying how to use it; stops cleanly on SIGINT/SIGTERM.
import { resolve, join } from 'node:path';
import { openStore, startCompactor } from '../store/index.ts';
import { startServer } from '../apiserver/index.ts';
import { logger } from '../util/index.ts';

export interface ServerFlags {
  dataDir: string;
  listen: string;
  store?: string;
  compactionInterval?: string;
}

function parseDuration(s: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(s.trim());
  if (!m) throw new Error(`${flag} ${JSON.stringify(s)}: expected a duration such as 500ms, 30s, 5m`);
  const n = Number(m[1]);
  return n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
}

export async function runServer(flags: ServerFlags): Promise<void> {
  const log = logger('server');
  const started = performance.now();
  const dataDir = resolve(flags.dataDir);
  const storeSpec = flags.store ?? `sqlite:${dataDir}`;
  const store = await openStore(storeSpec);
  const compactor = startCompactor(store, flags.compactionInterval ? { intervalMs: parseDuration(flags.compactionInterval, '--compaction-interval') } : {});
  const server = await startServer({ dataDir, listen: flags.listen, store });
  log.info({ url: server.url, store: storeSpec, ms: Math.round(performance.now() - started) }, 'API server ready');
  process.stdout.write(`svcnet API server ready at ${server.url} (store ${storeSpec}); use it with: export KUBECONFIG=${join(dataDir, 'kubeconfig')}\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    const hard = setTimeout(() => process.exit(1), 10_000);
    hard.unref();
    void (async () => {
      await server.close();
      await compactor.stop();
      await store.close();
      process.exit(0);
    })();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
