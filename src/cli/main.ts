// The svcnet command (bin/svcnet): every part of svcnet starts here.
import { Command } from 'commander';
import { runServer, type ServerFlags } from './server.ts';
import { registerLab } from './lab.ts';
import { addAgentRuntimeOptions, registerAgent } from './agent.ts';
import { addDnsOptions } from './dns.ts';

const program = new Command('svcnet')
  .description('Kubernetes Service networking: API server, controllers, node agent, proxy and cluster DNS')
  .showHelpAfterError()
  // Subcommands such as `lab exec NODE -- CMD` pass the rest of the line through untouched.
  .enablePositionalOptions();

const serverCmd = program
  .command('server')
  .description('run the API server (with the controllers, this node\'s agent, proxy and DNS) on an embedded store')
  .option('--data-dir <dir>', 'where the store, PKI and kubeconfig live', './.svcnet')
  .option('--listen <host:port>', 'HTTPS listen address (port 0 picks a free port)', '127.0.0.1:6443')
  .option('--store <spec>', 'sqlite:<dir>, memory: or etcd:http://host:port[,...] (default sqlite:<data-dir>)')
  .option('--compaction-interval <duration>', 'how often old revisions are compacted (default 5m)')
  .option('--mode <mode>', 'data plane of this node: host (no root; loopback addresses) or netns (root; network namespaces, nftables)', 'host')
  .option('--service-cidr <cidrs>', 'Service CIDRs, comma-separated, one per family (default 127.96.0.0/16 in host mode, 10.96.0.0/12 in netns mode)')
  .option('--service-node-port-range <range>', 'NodePort range', '30000-32767')
  .option('--cluster-domain <domain>', 'DNS domain of the cluster', 'cluster.local')
  .option('--advertise-address <ip>', 'address of the API server in the `kubernetes` Service\'s endpoints')
  .option('--node-ip <ips>', 'this node\'s addresses, comma-separated (default 127.0.0.1 in host mode)')
  .option('--loadbalancer-pool <cidr>', 'host mode: LoadBalancer addresses when no MetalLB pool is configured (default 127.240.0.0/24)')
  .option('--no-agent', 'run no node agent for this node (agents join with `svcnet agent`)')
  .option('--allow-host-network-namespace', 'netns mode for this node\'s agent in this machine\'s own network namespace (a dedicated node; without it netns mode runs only inside another namespace, e.g. a lab)')
  .option('--node-name <name>', 'this node\'s name (default: the hostname)')
  .option('--cluster-cidr <cidrs>', 'pod CIDRs, comma-separated, one per family, cut per node (default 127.244.0.0/16 in host mode, 10.244.0.0/16 in netns mode)');
addDnsOptions(addAgentRuntimeOptions(serverCmd)).action(async (o: ServerFlags) => {
  await runServer(o);
});

registerAgent(program);

registerLab(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  process.stderr.write(`svcnet: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
