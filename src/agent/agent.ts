// The node agent (svcnet's kubelet): registers its Node, renews its Lease in kube-node-lease,
// posts node status, runs the pods bound to it through a PodRuntime, serves their logs and exec
// to the API server, and starts the node-level plugins (proxy, DNS) beside them. An API client
// only (docs/design.md rule 1): it works against svcnet's API server in-process or over HTTPS.
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import type { ConfigMap, Node, NodeStatus, Pod, Secret, Service } from 'kubernetes-types/core/v1.js';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import { ConfigMaps, Leases, Nodes, Pods, Secrets, Services, isAlreadyExists, isConflict, isNotFound } from '../api/index.ts';
import { EventRecorder, InformerFactory, type Client, type SharedInformer } from '../client/index.ts';
import { logger, type Logger } from '../util/index.ts';
import { Backoff } from './backoff.ts';
import { kubeletDnsProvider, type PodDnsProvider } from './dns.ts';
import { ImageTable } from './images.ts';
import { machineInfo, nodeStatus, nodeStatusChanged, nodeToRegister, type MachineInfo } from './nodestatus.ts';
import { PodWorker, loadPodRecords, type PodRecord } from './podworker.ts';
import { runtimeFactories, type PodRuntime } from './runtime/index.ts';
import { startAgentServer, type AgentServer } from './server.ts';
import { ensureServingCert } from './tls.ts';
import type { NodePlugin, RunningPlugin } from './plugins.ts';
import { assertNetnsModeAllowed } from './runtime/netns/guard.ts';
import { RequestGate } from './apigate.ts';

export type AgentMode = 'host' | 'netns';

export interface AgentOptions {
  client: Client;
  nodeName: string;
  mode: AgentMode;
  /** State: pods' records and logs, the runtime's state, the endpoint's certificate. */
  dataDir: string;
  /** The node's addresses (InternalIP); default 127.0.0.1 in host mode. */
  nodeIPs?: string[];
  hostname?: string;
  /** The endpoint's port (kubelet's 10250); 0 picks a free one. */
  port?: number;
  /** Where the endpoint listens; default the first node IP. */
  listenAddress?: string;
  /** PEM of the CA signing the API server's client certificate (the cluster CA). */
  clientCA?: string;
  /** The image table file; default <dataDir>/images.yaml. */
  imageTablePath?: string;
  /** Pod CIDR used until the node IPAM controller assigns one (kubelet's --pod-cidr). */
  podCIDR?: string;
  /** A runtime other than the mode's default (the netns runtime, a fake). */
  runtime?: PodRuntime;
  /** Node-level components started with the agent (proxy, DNS). */
  plugins?: readonly NodePlugin[];
  /** The pods' resolver settings; default kubelet's resolv.conf with clusterDNS. */
  dns?: PodDnsProvider;
  clusterDNS?: string[];
  clusterDomain?: string;
  /** CrashLoopBackOff: initial and maximum delay, ms (kubelet: 10 s and 5 min). */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  leaseDurationSeconds?: number;
  /** Lease renewal, ms (kubelet: a quarter of the lease duration, 10 s). */
  leaseRenewMs?: number;
  /** How often node status is computed, ms (kubelet's nodeStatusUpdateFrequency, 10 s). */
  nodeStatusUpdateMs?: number;
  /** Status is posted at least this often even when unchanged, ms (kubelet: 5 min). */
  nodeStatusReportMs?: number;
  /** API requests in flight at once (watches aside; default 8); Events wait behind the rest, two at most in flight. */
  apiConcurrency?: number;
  /** Log file size before rotation (kubelet's containerLogMaxSize, 10 MiB). */
  maxLogBytes?: number;
  nodeLabels?: Record<string, string>;
  log?: Logger;
  /** netns mode in the host's own network namespace (a dedicated node); refused otherwise. */
  allowHostNetworkNamespace?: boolean;
}

export interface RunningAgent {
  nodeName: string;
  /** The endpoint's port (daemonEndpoints.kubeletEndpoint.Port). */
  port: number;
  runtime: PodRuntime;
  /** Stops the agent; its pods keep running (a new agent re-adopts them). */
  stop(): Promise<void>;
}

/** kubelet's default node address: the first non-loopback address (IPv4 first), else loopback. */
export function defaultNodeIPs(ifaces: ReturnType<typeof os.networkInterfaces> = os.networkInterfaces()): string[] {
  const all = Object.values(ifaces).flatMap((l) => l ?? []).filter((a) => !a.internal && !(a.family === 'IPv6' && a.address.startsWith('fe80:')));
  const v4 = all.find((a) => a.family === 'IPv4');
  const v6 = all.find((a) => a.family === 'IPv6');
  const ips = [v4?.address, v6?.address].filter((x): x is string => !!x);
  return ips.length ? ips : ['127.0.0.1'];
}

function microTime(d = new Date()): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export async function startAgent(o: AgentOptions): Promise<RunningAgent> {
  const log = o.log ?? logger('agent').child({ node: o.nodeName });
  const dataDir = resolve(o.dataDir);
  const podsDir = join(dataDir, 'pods');
  mkdirSync(podsDir, { recursive: true, mode: 0o700 });
  const nodeIPs = o.nodeIPs?.length ? o.nodeIPs : o.mode === 'host' ? ['127.0.0.1'] : defaultNodeIPs();
  const hostname = o.hostname ?? o.nodeName;
  const gate = new RequestGate(o.apiConcurrency ?? 8, 2);
  const client = gate.client(o.client);
  let machine: MachineInfo = machineInfo(dataDir);
  if (o.mode === 'netns') assertNetnsModeAllowed(o.allowHostNetworkNamespace ?? false);
  const factory = runtimeFactories[o.mode];
  if (!o.runtime && !factory) throw new Error(`--mode ${o.mode}: this build has no ${o.mode} runtime yet`);
  const runtime = o.runtime ?? factory!({ dataDir: join(dataDir, 'runtime'), nodeName: o.nodeName, nodeIPs, log: log.child({ runtime: o.mode }) });
  await runtime.start();
  const records = loadPodRecords(podsDir);
  const recorder = new EventRecorder(gate.client(o.client, 'low'), 'kubelet', o.nodeName);
  const images = new ImageTable(o.imageTablePath ?? join(dataDir, 'images.yaml'));
  images.reload();
  const backoff = new Backoff(o.backoffInitialMs ?? 10_000, o.backoffMaxMs ?? 300_000);
  const informers = new InformerFactory(client);
  const podInformer: SharedInformer<Pod> = informers.informerFor<Pod>(Pods, { fieldSelector: `spec.nodeName=${o.nodeName}` });
  const serviceInformer: SharedInformer<Service> = informers.informerFor<Service>(Services);
  const nodeInformer: SharedInformer<Node> = informers.informerFor<Node>(Nodes, { fieldSelector: `metadata.name=${o.nodeName}` });
  let podCIDRs: string[] = o.podCIDR ? [o.podCIDR] : [];
  const clusterDNS = o.clusterDNS ?? [];
  const dns = o.dns ?? kubeletDnsProvider({ clusterDNS: () => clusterDNS, clusterDomain: o.clusterDomain ?? 'cluster.local' });
  const workers = new Map<string, PodWorker>();
  const byName = new Map<string, string>();

  const deps = {
    runtime,
    client,
    recorder,
    nodeName: o.nodeName,
    hostIPs: () => nodeIPs,
    podCIDRs: () => podCIDRs,
    envSources: {
      services: [] as Service[],
      configMap: async (ns: string, name: string) => {
        try {
          return await client.get<ConfigMap>(ConfigMaps, ns, name);
        } catch (e) {
          if (isNotFound(e)) return undefined;
          throw e;
        }
      },
      secret: async (ns: string, name: string) => {
        try {
          return await client.get<Secret>(Secrets, ns, name);
        } catch (e) {
          if (isNotFound(e)) return undefined;
          throw e;
        }
      },
      allocatable: { cpu: machine.cpus, memory: machine.memoryBytes },
    },
    images,
    backoff,
    podsDir,
    maxLogBytes: o.maxLogBytes ?? 10 * 1024 * 1024,
    dns,
    baseEnv: { PATH: process.env.PATH || '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: process.env.HOME || '/root' },
    log,
    onGone: (uid: string) => {
      const w = workers.get(uid);
      workers.delete(uid);
      if (w && byName.get(`${w.namespace}/${w.name}`) === uid) byName.delete(`${w.namespace}/${w.name}`);
    },
  };
  Object.defineProperty(deps.envSources, 'services', { get: () => serviceInformer.list() });

  runtime.onContainerExit((info) => workers.get(info.podUid)?.onContainerExit(info));

  // ---- the endpoint ----
  const cert = await ensureServingCert(join(dataDir, 'pki'), o.nodeName, [...nodeIPs, hostname]);
  const server: AgentServer = await startAgentServer({
    host: o.listenAddress ?? nodeIPs[0],
    port: o.port ?? 10250,
    cert: cert.cert,
    key: cert.key,
    clientCA: o.clientCA,
    runtime,
    findPod: (ns, name) => {
      const uid = byName.get(`${ns}/${name}`);
      return uid ? workers.get(uid) : undefined;
    },
    log,
  });

  // ---- the Node ----
  const addresses = [...nodeIPs.map((address) => ({ type: 'InternalIP', address })), { type: 'Hostname', address: hostname }];
  let lastStatus: NodeStatus | undefined;
  let lastPost = 0;
  let nodeUid = '';
  const health = () => ({ notReadyMessage: podCIDRs.length ? undefined : 'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:the node has no pod CIDR yet (the node IPAM controller assigns one; or start the agent with --pod-cidr)' });
  const takeCIDRs = (n: Node): void => {
    const cidrs = n.spec?.podCIDRs?.length ? n.spec.podCIDRs : n.spec?.podCIDR ? [n.spec.podCIDR] : [];
    if (cidrs.length) podCIDRs = [...cidrs];
  };
  const register = async (): Promise<void> => {
    const want = nodeToRegister({ name: o.nodeName, hostname, machine, extraLabels: o.nodeLabels });
    try {
      const created = await client.create<Node>(Nodes, undefined, want);
      nodeUid = created.metadata?.uid ?? '';
      takeCIDRs(created);
      log.info('node registered');
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      const patched = await client.patch<Node>(Nodes, undefined, o.nodeName, 'merge', { metadata: { labels: want.metadata?.labels, annotations: want.metadata?.annotations } });
      nodeUid = patched.metadata?.uid ?? '';
      // A restarted agent knows its pod CIDR at once (no NotReady blip while informers sync).
      takeCIDRs(patched);
      log.info('node already registered; labels reconciled');
    }
  };
  const postStatus = async (force: boolean): Promise<void> => {
    machine = machineInfo(dataDir);
    const st = nodeStatus({ machine, addresses, port: server.port, health: health(), prev: lastStatus, now: new Date() });
    const report = o.nodeStatusReportMs ?? 300_000;
    if (!force && !nodeStatusChanged(lastStatus, st) && Date.now() - lastPost < report) return;
    try {
      await client.patch<Node>(Nodes, undefined, o.nodeName, 'merge', { status: st }, {}, 'status');
    } catch (e) {
      if (!isNotFound(e)) throw e;
      // Someone deleted our Node: register again (kubelet does the same on its next sync).
      await register();
      await client.patch<Node>(Nodes, undefined, o.nodeName, 'merge', { status: st }, {}, 'status');
    }
    nodeEvents(lastStatus, st);
    lastStatus = st;
    lastPost = Date.now();
  };
  // kubelet's node events: one per condition that changed ("Node n status is now: NodeReady").
  const nodeRef = (): Node => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: o.nodeName, uid: o.nodeName } });
  const nodeEvents = (prev: NodeStatus | undefined, cur: NodeStatus): void => {
    const words: Record<string, [string, string]> = {
      MemoryPressure: ['NodeHasSufficientMemory', 'NodeHasInsufficientMemory'],
      DiskPressure: ['NodeHasNoDiskPressure', 'NodeHasDiskPressure'],
      PIDPressure: ['NodeHasSufficientPID', 'NodeHasInsufficientPID'],
      Ready: ['NodeNotReady', 'NodeReady'],
    };
    for (const c of cur.conditions ?? []) {
      const before = prev?.conditions?.find((x) => x.type === c.type)?.status;
      const w = words[c.type];
      if (!w || before === c.status || (c.type === 'Ready' && !prev && c.status !== 'True')) continue;
      const reason = c.status === 'True' ? w[1] : w[0];
      void recorder.event(nodeRef(), 'Normal', reason, `Node ${o.nodeName} status is now: ${reason}`);
    }
  };
  // The node's pod network (the bridge) is made as soon as its pod CIDRs are known.
  const prepareNetwork = (): void => {
    if (podCIDRs.length) void runtime.prepareNetwork?.(podCIDRs).catch((err: unknown) => log.warn({ err }, 'could not prepare the pod network'));
  };
  await register();
  prepareNetwork();
  void recorder.event(nodeRef(), 'Normal', 'Starting', 'Starting kubelet.');
  await postStatus(true);

  // ---- the Lease ----
  const leaseDuration = o.leaseDurationSeconds ?? 40;
  let lease: Lease | undefined;
  const renewLease = async (): Promise<void> => {
    const spec = { holderIdentity: o.nodeName, leaseDurationSeconds: leaseDuration, renewTime: microTime() };
    try {
      if (lease) {
        lease = await client.update<Lease>(Leases, { ...lease, spec: { ...lease.spec, ...spec } });
        return;
      }
    } catch (e) {
      if (!isConflict(e) && !isNotFound(e)) throw e;
      lease = undefined;
    }
    try {
      const cur = await client.get<Lease>(Leases, 'kube-node-lease', o.nodeName);
      lease = await client.update<Lease>(Leases, { ...cur, spec: { ...cur.spec, ...spec } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
      lease = await client.create<Lease>(Leases, 'kube-node-lease', {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: o.nodeName, namespace: 'kube-node-lease', ownerReferences: nodeUid ? [{ apiVersion: 'v1', kind: 'Node', name: o.nodeName, uid: nodeUid }] : undefined },
        spec,
      });
    }
  };
  await renewLease().catch((err: unknown) => log.warn({ err }, 'could not renew the node lease'));
  const timers: NodeJS.Timeout[] = [];
  timers.push(setInterval(() => void renewLease().catch((err: unknown) => log.warn({ err }, 'could not renew the node lease')), o.leaseRenewMs ?? (leaseDuration * 1000) / 4));
  timers.push(setInterval(() => void postStatus(false).catch((err: unknown) => log.warn({ err }, 'could not post node status')), o.nodeStatusUpdateMs ?? 10_000));

  // ---- pods ----
  const workerFor = (pod: Pod): PodWorker | undefined => {
    const uid = pod.metadata?.uid;
    if (!uid) return undefined;
    let w = workers.get(uid);
    if (!w) {
      const rec: PodRecord | undefined = records.get(uid);
      records.delete(uid);
      w = new PodWorker(pod, deps, rec);
      workers.set(uid, w);
    }
    byName.set(`${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`, uid);
    return w;
  };
  podInformer.addEventHandler({
    onAdd: (pod) => workerFor(pod)?.kick(),
    onUpdate: (_old, pod) => workerFor(pod)?.update(pod),
    onDelete: (pod) => workers.get(pod.metadata?.uid ?? '')?.removed(),
  });
  nodeInformer.addEventHandler({
    onAdd: (n) => onNode(n),
    onUpdate: (_o, n) => onNode(n),
    // Someone deleted our Node: register it again (kubelet does on its next status sync).
    onDelete: () => {
      lastStatus = undefined;
      void (async () => {
        await register();
        await postStatus(true);
      })().catch((err: unknown) => log.warn({ err }, 'could not register the node again'));
    },
  });
  const onNode = (n: Node): void => {
    const cidrs = n.spec?.podCIDRs?.length ? n.spec.podCIDRs : n.spec?.podCIDR ? [n.spec.podCIDR] : [];
    if (cidrs.length && cidrs.join(',') !== podCIDRs.join(',')) {
      podCIDRs = [...cidrs];
      log.info({ podCIDRs }, 'pod CIDR assigned');
      prepareNetwork();
      void postStatus(true).catch((err: unknown) => log.warn({ err }, 'could not post node status'));
      for (const w of workers.values()) w.kick();
    }
    if (n.metadata?.uid) nodeUid = n.metadata.uid;
  };
  informers.start();
  await informers.waitForSync();

  // Pods that ended while no agent ran and whose API object is gone: stop what is left.
  for (const [uid, rec] of records) {
    if (workers.has(uid)) continue;
    const ghost: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { uid, name: rec.name, namespace: rec.namespace, deletionGracePeriodSeconds: 2 }, spec: { containers: [] } };
    const w = new PodWorker(ghost, deps, rec);
    workers.set(uid, w);
    w.removed();
  }
  records.clear();
  for (const sb of runtime.sandboxes()) {
    if (workers.has(sb.uid)) continue;
    for (const c of runtime.containers()) if (c.podUid === sb.uid && c.state === 'running') runtime.signalContainer(c.id, 'SIGKILL');
    await runtime.removeSandbox(sb.uid);
  }

  // ---- node plugins (proxy, DNS) ----
  const plugins: RunningPlugin[] = [];
  for (const p of o.plugins ?? []) {
    plugins.push(await p.start({ client: o.client, nodeName: o.nodeName, mode: o.mode, nodeIPs, dataDir: join(dataDir, 'plugins', p.name), informers, log: log.child({ plugin: p.name }) }));
    log.info({ plugin: p.name }, 'node plugin started');
  }
  log.info({ port: server.port, pods: workers.size, mode: o.mode }, 'agent ready');

  return {
    nodeName: o.nodeName,
    port: server.port,
    runtime,
    stop: async () => {
      for (const t of timers) clearInterval(t);
      for (const p of plugins.reverse()) await p.stop().catch((err: unknown) => log.warn({ err }, 'plugin stop failed'));
      informers.stop();
      for (const w of workers.values()) w.close();
      await server.close();
      await runtime.stop();
    },
  };
}
