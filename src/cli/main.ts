// The svcnet command (bin/svcnet): every part of svcnet starts here.
import { Command } from 'commander';
import { runServer } from './server.ts';

const program = new Command('svcnet')
  .description('Kubernetes Service networking: API server, controllers, node agent, proxy and cluster DNS')
  .showHelpAfterError();

program
  .command('server')
  .description('run the API server (with the controllers, this node\'s agent, proxy and DNS) on an embedded store')
  .option('--data-dir <dir>', 'where the store, PKI and kubeconfig live', './.svcnet')
  .option('--listen <host:port>', 'HTTPS listen address (port 0 picks a free port)', '127.0.0.1:6443')
  .option('--store <spec>', 'sqlite:<dir>, memory: or etcd:http://host:port[,...] (default sqlite:<data-dir>)')
  .option('--compaction-interval <duration>', 'how often old revisions are compacted (default 5m)')
  .action(async (o: { dataDir: string; listen: string; store?: string; compactionInterval?: string }) => {
    await runServer(o);
  });

program.parseAsync(process.argv).catch((e: unknown) => {
  process.stderr.write(`svcnet: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
