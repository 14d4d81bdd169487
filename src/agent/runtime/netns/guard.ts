// netns mode reconfigures the network namespace it runs in (a bridge, pod namespaces, routes, an
// nftables table). That is the point on a dedicated node, but never what should happen by
// accident on a developer's machine or in a test. So the agent runs netns mode unasked only
// inside a network namespace svcnet made (a lab's node, a test's throwaway namespace: named
// `svcnet-*` under /run/netns); anywhere else it needs --allow-host-network-namespace.
import { readdirSync, statSync } from 'node:fs';

const netnsDir = '/run/netns';

/** The svcnet-made named namespace this process runs in, if any. */
export function svcnetNamespaceOfSelf(): string | undefined {
  let self: number;
  try {
    self = statSync('/proc/self/ns/net').ino;
  } catch {
    return undefined;
  }
  let names: string[];
  try {
    names = readdirSync(netnsDir);
  } catch {
    return undefined;
  }
  for (const name of names) {
    if (!name.startsWith('svcnet-')) continue;
    try {
      if (statSync(`${netnsDir}/${name}`).ino === self) return name;
    } catch {
      // Removed meanwhile.
    }
  }
  return undefined;
}

export function assertNetnsModeAllowed(allowHostNetworkNamespace: boolean): void {
  if (allowHostNetworkNamespace || svcnetNamespaceOfSelf() !== undefined) return;
  throw new Error(
    '--mode netns would change the network configuration of the namespace it runs in (a bridge, pod network namespaces, routes and an nftables table), ' +
      'and this is not a network namespace svcnet made. Try netns mode in a lab (`sudo svcnet lab up`), or, on a machine dedicated to be a node, pass --allow-host-network-namespace.',
  );
}
