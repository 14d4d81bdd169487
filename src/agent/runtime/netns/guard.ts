// netns mode reconfigures the network namespace it runs in (a bridge, pod namespaces, routes, an
// nftables table). That is the point on a dedicated node, but never what should happen by
// accident on a developer's machine or in a test: in the host's own network namespace (that of
// PID 1) the agent refuses unless told explicitly that this machine is a node.
import { statSync } from 'node:fs';

/** True when this process shares PID 1's network namespace (the host's). */
export function inHostNetworkNamespace(): boolean {
  try {
    return statSync('/proc/self/ns/net').ino === statSync('/proc/1/ns/net').ino;
  } catch {
    // Without /proc to tell, assume the worst.
    return true;
  }
}

export function assertNetnsModeAllowed(allowHostNetworkNamespace: boolean): void {
  if (allowHostNetworkNamespace || !inHostNetworkNamespace()) return;
  throw new Error(
    '--mode netns would change this machine\'s own network configuration (a bridge, pod network namespaces, routes and an nftables table). ' +
      'Try netns mode in a lab (`sudo svcnet lab up`), or, on a machine dedicated to be a node, pass --allow-host-network-namespace.',
  );
}
