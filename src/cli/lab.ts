// `svcnet lab up|down|status|exec`, and the two helper processes `lab up` starts (relay,
// supervise). The lab's modules load only when a lab command runs.
import { Option, type Command } from 'commander';

interface UpFlags {
  name: string;
  nodes: string;
  timeout: string;
  agents: boolean;
  imageTable?: string;
  nodeArg: string[];
}

function printInfo(info: import('../lab/index.ts').LabInfo): void {
  const lines = [
    `lab ${info.name} is up`,
    `  kubeconfig:  ${info.kubeconfig}   (export KUBECONFIG=${info.kubeconfig})`,
    `  API server:  ${info.server ?? '?'} on the host (relay port ${info.relayPort ?? '?'}); ${info.apiServer} inside the lab`,
    `  LAN:         ${info.lan.cidr} (bridge ${info.lan.bridge} in ${info.lan.ns}); LoadBalancer pool ${info.loadBalancerPool}`,
    ...info.members.map((m) => `  ${m.name.padEnd(12)} ${m.ip.padEnd(15)} ${m.podCIDR ? `podCIDR ${m.podCIDR.padEnd(15)} ` : ''}netns ${m.ns}`),
    `  folder:      ${info.dir} (lab.json, logs, images.yaml: the image table of every node)`,
    `  run a command in a node: svcnet lab exec --name ${info.name} worker1 -- curl http://192.168.1.101:30001`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

export function registerLab(program: Command): void {
  const lab = program.command('lab').description('a closed multi-node cluster in network namespaces (root): master-node, worker1, worker2 and a workstation on 192.168.1.0/24');

  lab
    .command('up')
    .description('build the lab and start the API server and the agents in it')
    .option('--name <name>', 'lab name (lowercase letters and digits); several labs may exist side by side', 'lab')
    .option('--nodes <n>', 'number of nodes: master-node, then worker1, worker2, ...', '3')
    .option('--timeout <seconds>', 'how long to wait for every node to be Ready', '120')
    .option('--image-table <file>', 'image table (YAML: image -> command line) for every node; the lab keeps it as <lab folder>/images.yaml')
    .option('--node-arg <flag>', 'one more flag for every node\'s svcnet server/agent, e.g. --node-arg=--l2-announce-mode=address (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .addOption(new Option('--no-agents', 'start no agents; wait only for the API server').hideHelp())
    .action(async (o: UpFlags) => {
      const { labUp } = await import('../lab/index.ts');
      const info = await labUp({ name: o.name, nodes: Number(o.nodes), timeoutMs: Number(o.timeout) * 1000, agents: o.agents, imageTable: o.imageTable, nodeArgs: o.nodeArg, log: (l) => process.stderr.write(`lab ${o.name}: ${l}\n`) });
      printInfo(info);
    });

  lab
    .command('down')
    .description('remove the lab: processes, pods, namespaces, /etc/netns entries and its folder')
    .option('--name <name>', 'lab name', 'lab')
    .option('--keep-files', 'keep the lab folder (logs)')
    .action(async (o: { name: string; keepFiles?: boolean }) => {
      const { labDown } = await import('../lab/index.ts');
      const r = await labDown({ name: o.name, keepFiles: o.keepFiles });
      process.stdout.write(`lab ${o.name} is down (${r.namespaces.length} namespaces removed, ${r.processes} processes stopped)\n`);
    });

  lab
    .command('status')
    .description('show a lab (or, without --name, every lab on this host)')
    .option('--name <name>', 'lab name')
    .option('-o, --output <format>', 'json for lab.json')
    .action(async (o: { name?: string; output?: string }) => {
      const { labStatus, listLabs } = await import('../lab/index.ts');
      const names = o.name ? [o.name] : await listLabs();
      if (names.length === 0) process.stdout.write('no labs\n');
      for (const name of names) {
        const s = await labStatus(name);
        if (o.output === 'json') {
          process.stdout.write(JSON.stringify({ ...s.info, namespaces: s.namespaces, processes: s.processes }, null, 2) + '\n');
          continue;
        }
        process.stdout.write(`lab ${name}: ${s.info?.phase ?? 'no lab.json'}${s.info?.error ? ` (${s.info.error.split('\n')[0]})` : ''}\n`);
        if (s.info) {
          process.stdout.write(`  kubeconfig ${s.info.kubeconfig}, API server ${s.info.server ?? '?'}\n`);
          for (const m of s.info.members) process.stdout.write(`  ${m.name.padEnd(12)} ${m.ip.padEnd(15)} ${s.namespaces.includes(m.ns) ? 'netns present' : 'netns MISSING'}\n`);
        }
        for (const p of s.processes) process.stdout.write(`  ${p.role.padEnd(10)} ${(p.member ?? 'host').padEnd(12)} pid ${p.pid} ${p.running ? 'running' : 'NOT RUNNING'}\n`);
        const pods = s.namespaces.filter((ns) => !s.info?.members.some((m) => m.ns === ns) && !ns.endsWith('-lan'));
        if (pods.length) process.stdout.write(`  pod namespaces: ${pods.length}\n`);
      }
    });

  lab
    .command('exec')
    .description('run a command in a node\'s, the workstation\'s or the LAN\'s namespace: svcnet lab exec worker1 -- curl ...')
    .option('--name <name>', 'lab name', 'lab')
    .argument('<member>', 'master-node, worker1, ..., workstation or lan')
    .argument('<command...>', 'the command and its arguments (after --)')
    .passThroughOptions()
    .action(async (member: string, command: string[], o: { name: string }) => {
      const { labExec } = await import('../lab/index.ts');
      process.exitCode = await labExec(o.name, member, command[0] === '--' ? command.slice(1) : command);
    });

  lab
    .command('restart')
    .description('stop a node\'s agent (or master-node\'s API server) and start it again as up did')
    .option('--name <name>', 'lab name', 'lab')
    .option('--signal <signal>', 'signal that stops it (SIGKILL: as a crash)', 'SIGTERM')
    .option('--no-start', 'only stop it')
    .argument('<member>', 'master-node, worker1, ...')
    .action(async (member: string, o: { name: string; signal: string; start: boolean }) => {
      const { labRestart } = await import('../lab/index.ts');
      const p = await labRestart(o.name, member, { signal: o.signal as NodeJS.Signals, start: o.start });
      process.stdout.write(p ? `${p.role} in ${member} started (pid ${p.pid})\n` : `${member} stopped\n`);
    });

  lab
    .command('link')
    .description('unplug (down) or plug back (up) a member\'s cable on the lab\'s LAN')
    .option('--name <name>', 'lab name', 'lab')
    .argument('<member>', 'master-node, worker1, ..., workstation')
    .argument('<state>', 'up or down')
    .action(async (member: string, state: string, o: { name: string }) => {
      if (state !== 'up' && state !== 'down') throw new Error(`lab link: state ${JSON.stringify(state)}: expected up or down`);
      const { labLink } = await import('../lab/index.ts');
      await labLink(o.name, member, state);
    });

  lab
    .command('relay', { hidden: true })
    .description('relay bytes from one endpoint to another (tcp:<host>:<port> or unix:<path>)')
    .requiredOption('--listen <endpoint>')
    .requiredOption('--to <endpoint>')
    .action(async (o: { listen: string; to: string }) => {
      const { startRelay, parseEndpoint, formatEndpoint } = await import('../lab/index.ts');
      const r = await startRelay(parseEndpoint(o.listen), parseEndpoint(o.to), (e) => process.stderr.write(`relay: ${e.message}\n`));
      process.stderr.write(`relay ${formatEndpoint(r.address)} -> ${o.to}\n`);
      const stop = () => void r.close().then(() => process.exit(0));
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });

  lab
    .command('supervise', { hidden: true })
    .description('the lab\'s host-side process: loopback relay to the API server, routes between nodes\' pod CIDRs')
    .requiredOption('--name <name>')
    .requiredOption('--nodes <n>')
    .action(async (o: { name: string; nodes: string }) => {
      const { runSupervisor } = await import('../lab/index.ts');
      await runSupervisor(o.name, Number(o.nodes));
    });
}
