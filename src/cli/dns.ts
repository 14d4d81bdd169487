// The cluster DNS flags of `svcnet server` and `svcnet agent` (src/dns/plugin.ts runs it on
// every node).
import { Option, type Command } from 'commander';
import { formatListen, parseListen, type ClusterDnsInfo, type ClusterDnsOptions, type PodsMode } from '../dns/index.ts';

export interface DnsFlags {
  /** false with --no-dns. */
  dns?: boolean;
  dnsListen?: string;
  dnsUpstream?: string;
  dnsWorkers?: string;
  dnsPods?: string;
  dnsTtl?: string;
}

export function addDnsOptions(cmd: Command): Command {
  return cmd
    .option('--no-dns', 'run no cluster DNS on this node')
    .addOption(new Option('--dns-listen <addr:port,...>', 'cluster DNS listeners, UDP and TCP (host mode: instead of 127.0.0.1:1053; netns mode: besides <node-ip>:53)').env('SVCNET_DNS_LISTEN'))
    .addOption(new Option('--dns-upstream <addr[:port],...>', 'resolvers for names outside the cluster (default: the nameservers of /etc/resolv.conf)').env('SVCNET_DNS_UPSTREAM'))
    .option('--dns-workers <n>', 'UDP worker processes of the cluster DNS besides the agent\'s own (Node.js answers datagrams on one core each)', '0')
    .option('--dns-pods <mode>', 'pod A records a-b-c-d.<ns>.pod.<zone>: insecure (kubeadm\'s), verified or disabled', 'insecure')
    .option('--dns-ttl <seconds>', 'TTL of cluster records and the SOA minimum (CoreDNS\'s ttl, 0-3600)', '5');
}

function list(s: string | undefined): string[] {
  return (s ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
}

function podsMode(s: string | undefined): PodsMode {
  const m = s ?? 'insecure';
  if (m !== 'insecure' && m !== 'verified' && m !== 'disabled') throw new Error(`--dns-pods ${JSON.stringify(s)}: expected insecure, verified or disabled`);
  return m;
}

function integer(s: string | undefined, flag: string, min: number, max: number, dflt: number): number {
  if (s === undefined) return dflt;
  const n = Number(s);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${flag} ${JSON.stringify(s)}: expected an integer ${min}-${max}`);
  return n;
}

/** The DNS plugin's options from the flags (checked here, so a bad flag stops the command early). */
export function dnsPluginOptions(f: DnsFlags, o: { clusterDomain: string; serviceIP?: string; onServing?: (info: ClusterDnsInfo) => void }): ClusterDnsOptions {
  return {
    enabled: f.dns !== false,
    clusterDomain: o.clusterDomain,
    listen: list(f.dnsListen).map(parseListen),
    upstreams: list(f.dnsUpstream),
    // Not a flag: tests point it at a fixture whose nameserver is a fake upstream on loopback.
    resolvConf: process.env.SVCNET_RESOLV_CONF || undefined,
    udpWorkers: integer(f.dnsWorkers, '--dns-workers', 0, 64, 0),
    podsMode: podsMode(f.dnsPods),
    ttl: integer(f.dnsTtl, '--dns-ttl', 0, 3600, 5),
    serviceIP: o.serviceIP,
    onServing: o.onServing,
  };
}

/** "; cluster DNS at 127.0.0.1:1053 (UDP, TCP)" for the ready line. */
export function dnsReadyText(info: ClusterDnsInfo | undefined): string {
  if (!info) return '';
  const metrics = info.metricsUrl ? `; metrics ${info.metricsUrl}/metrics` : '';
  return `; cluster DNS at ${info.addresses.map(formatListen).join(', ')} (UDP, TCP${metrics})`;
}
