// The controller manager: runs controllers (each an API client, DESIGN.md rule 1) over one
// shared informer factory, and stops them together.
import type { Client } from '../client/index.ts';
import { EventRecorder, InformerFactory } from '../client/index.ts';
import { logger, type Logger } from '../util/index.ts';

/** Cluster settings controllers need (the API server keeps its own copy for allocation). */
export interface ClusterSettings {
  /** Service CIDRs, primary first (e.g. ["10.96.0.0/12"] or a loopback range in host mode). */
  serviceCIDRs: string[];
  clusterDomain: string;
  /** host: pods and LoadBalancer addresses on loopback; netns: in network namespaces. */
  mode: 'host' | 'netns';
  /** Pod CIDRs of the cluster (--cluster-cidr), one per family; the node IPAM controller cuts them per node. */
  clusterCIDRs?: string[];
  /** Host mode: the LoadBalancer pool used when none is configured (--loadbalancer-pool; default 127.240.0.0/24). */
  loopbackLoadBalancerPool?: string;
  /** The CA bundle (PEM) that verifies the API server, published as each namespace's kube-root-ca.crt. */
  rootCA?: string;
}

export interface ControllerContext {
  client: Client;
  informers: InformerFactory;
  /** An event recorder for the given component name ("endpointslice-controller", ...). */
  recorder(component: string): EventRecorder;
  settings: ClusterSettings;
  log: Logger;
}

export interface Controller {
  /** kube-controller-manager's name for it: "endpointslice", "endpoint", "deployment" ... */
  readonly name: string;
  /** Registers informers and handlers; the manager starts informers after every controller ran this. */
  setup(ctx: ControllerContext): void;
  /** Starts workers once informers have synced. */
  run(ctx: ControllerContext): void;
  /** Stops workers and waits for them. */
  stop(): Promise<void>;
}

export interface RunningControllers {
  informers: InformerFactory;
  stop(): Promise<void>;
}

export async function startControllers(client: Client, settings: ClusterSettings, controllers: readonly Controller[]): Promise<RunningControllers> {
  const informers = new InformerFactory(client);
  const base = logger('controllers');
  const mk = (c: Controller): ControllerContext => ({
    client,
    informers,
    recorder: (component) => new EventRecorder(client, component),
    settings,
    log: base.child({ controller: c.name }),
  });
  const ctxs = controllers.map((c) => [c, mk(c)] as const);
  for (const [c, ctx] of ctxs) c.setup(ctx);
  informers.start();
  await informers.waitForSync();
  for (const [c, ctx] of ctxs) {
    c.run(ctx);
    ctx.log.info('started');
  }
  return {
    informers,
    stop: async () => {
      await Promise.all(controllers.map((c) => c.stop()));
      informers.stop();
    },
  };
}
