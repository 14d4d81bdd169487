// The svcnet command (bin/svcnet). Subcommands are added as the parts land.
import { Command } from 'commander';

const program = new Command('svcnet').description('Kubernetes Service networking: API server, controllers, node agent, proxy and DNS');
program.parse(process.argv);
