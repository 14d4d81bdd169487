// UDP conntrack cleanup (kube-proxy's pkg/proxy/conntrack): UDP has no connection end, so a flow
// DNATed to an endpoint that went away keeps matching until it times out; and a flow created
// while a Service had no endpoint keeps bypassing the new rules. Such entries are deleted.
import { inNetns, type Exec } from './exec.ts';

export interface FlowFilter {
  family: 'ipv4' | 'ipv6';
  protocol: 'udp' | 'sctp' | 'tcp';
  /** Original destination: the Service address (ClusterIP, external IP, LB IP or node IP). */
  origDst: string;
  origPortDst: number;
  /** Only flows DNATed to this endpoint IP; absent: every flow to origDst:origPortDst. */
  dstNat?: string;
}

export interface Conntrack {
  /** Deletes the matching flows; finding none is not an error. */
  clear(filter: FlowFilter): Promise<void>;
}

export function conntrackArgv(f: FlowFilter): string[] {
  const argv = ['conntrack', '-D', '-f', f.family, '-p', f.protocol, '--orig-dst', f.origDst, '--orig-port-dst', String(f.origPortDst)];
  if (f.dstNat) argv.push('--dst-nat', f.dstNat);
  return argv;
}

/** The conntrack tool, optionally inside a named network namespace. */
export class RealConntrack implements Conntrack {
  readonly #exec: Exec;
  readonly #netns: string | undefined;

  constructor(exec: Exec, netns?: string) {
    this.#exec = exec;
    this.#netns = netns;
  }

  async clear(filter: FlowFilter): Promise<void> {
    const r = await this.#exec.run(inNetns(this.#netns, conntrackArgv(filter)));
    // conntrack exits 1 with "0 flow entries have been deleted" when nothing matched.
    if (r.code !== 0 && !/0 flow entries/.test(r.stderr)) throw new Error(`conntrack -D failed: ${r.stderr.trim()}`);
  }
}

/** Records what was cleared. */
export class FakeConntrack implements Conntrack {
  readonly cleared: FlowFilter[] = [];

  async clear(filter: FlowFilter): Promise<void> {
    this.cleared.push(filter);
  }
}
