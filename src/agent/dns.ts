// How a pod resolves names: pluggable, because host mode cannot give a host process a resolver
// of its own (the netns runtime writes the pod's resolv.conf into its namespace). The default
// provider builds resolv.conf as kubelet does (pkg/kubelet/network/dns: dnsPolicy ClusterFirst,
// ClusterFirstWithHostNet, Default, None, and dnsConfig); a provider may also add environment
// variables for every container and exec (a host-mode resolver hook, for the DNS work).
import { readFileSync } from 'node:fs';
import type { Pod } from 'kubernetes-types/core/v1.js';

export interface PodDnsSettings {
  /** The pod's resolv.conf; undefined: the node's own. */
  resolvConf?: string;
  /** The pod's /etc/hosts; undefined: the runtime's default. */
  hosts?: string;
  /** Extra environment for the pod's containers and exec sessions. */
  env?: Record<string, string>;
}

export type PodDnsProvider = (pod: Pod) => PodDnsSettings | undefined;

export interface ResolvConf {
  nameservers: string[];
  searches: string[];
  options: string[];
}

export function parseResolvConf(text: string): ResolvConf {
  const out: ResolvConf = { nameservers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [key, ...rest] = line.split(/\s+/);
    if (key === 'nameserver' && rest[0]) out.nameservers.push(rest[0]);
    else if (key === 'search' || key === 'domain') out.searches = rest;
    else if (key === 'options') out.options.push(...rest);
  }
  return out;
}

export function formatResolvConf(c: ResolvConf): string {
  const lines: string[] = [];
  if (c.searches.length) lines.push(`search ${c.searches.join(' ')}`);
  for (const n of c.nameservers) lines.push(`nameserver ${n}`);
  if (c.options.length) lines.push(`options ${c.options.join(' ')}`);
  return lines.join('\n') + '\n';
}

function mergeOptions(base: string[], extra: { name?: string; value?: string }[]): string[] {
  const m = new Map<string, string>();
  for (const o of base) {
    const [k, v] = o.split(':');
    m.set(k, o.includes(':') ? `${k}:${v}` : k);
  }
  for (const o of extra) if (o.name) m.set(o.name, o.value !== undefined ? `${o.name}:${o.value}` : o.name);
  return [...m.values()];
}

/** kubelet's resolv.conf for a pod, given the cluster DNS addresses and the node's resolv.conf. */
export function podResolvConf(pod: Pod, clusterDNS: readonly string[], clusterDomain: string, host: ResolvConf): ResolvConf {
  const spec = pod.spec ?? { containers: [] };
  let policy = spec.dnsPolicy ?? 'ClusterFirst';
  if (policy === 'ClusterFirst' && spec.hostNetwork) policy = 'Default';
  if ((policy === 'ClusterFirst' || policy === 'ClusterFirstWithHostNet') && !clusterDNS.length) policy = 'Default';
  let c: ResolvConf;
  if (policy === 'None') c = { nameservers: [], searches: [], options: [] };
  else if (policy === 'Default') c = { nameservers: [...host.nameservers], searches: [...host.searches], options: [...host.options] };
  else {
    const ns = pod.metadata?.namespace ?? 'default';
    c = {
      nameservers: [...clusterDNS],
      searches: [`${ns}.svc.${clusterDomain}`, `svc.${clusterDomain}`, clusterDomain, ...host.searches],
      options: ['ndots:5'],
    };
  }
  const cfg = spec.dnsConfig;
  if (cfg) {
    c.nameservers = [...new Set([...c.nameservers, ...(cfg.nameservers ?? [])])];
    c.searches = [...new Set([...c.searches, ...(cfg.searches ?? [])])];
    c.options = mergeOptions(c.options, cfg.options ?? []);
  }
  c.nameservers = c.nameservers.slice(0, 3);
  c.searches = c.searches.slice(0, 32);
  return c;
}

/** The default provider: kubelet's resolv.conf (the cluster DNS addresses may come later). */
export function kubeletDnsProvider(opts: { clusterDNS: () => readonly string[]; clusterDomain: string; hostResolvConf?: string }): PodDnsProvider {
  let host: ResolvConf;
  try {
    host = parseResolvConf(readFileSync(opts.hostResolvConf ?? '/etc/resolv.conf', 'utf8'));
  } catch {
    host = { nameservers: [], searches: [], options: [] };
  }
  return (pod) => ({ resolvConf: formatResolvConf(podResolvConf(pod, opts.clusterDNS(), opts.clusterDomain, host)) });
}
