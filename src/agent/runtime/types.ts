// The pod runtime: what the agent needs of the thing that runs pods on its node (kubelet's CRI,
// cut to svcnet's size). `host` (pods are host processes on loopback addresses) implements it
// here; `netns` (a network namespace per pod) implements the same interface. The agent decides
// what runs and when (restarts, probes, termination); the runtime makes it so and reports.
import type { Readable, Writable } from 'node:stream';

/** What the agent asks of a pod's sandbox (its network identity). */
export interface SandboxConfig {
  uid: string;
  namespace: string;
  name: string;
  /** The pod's hostname (spec.hostname or its name). */
  hostname: string;
  /** spec.hostNetwork: the pod uses the node's own addresses. */
  hostNetwork: boolean;
  /** The node's pod CIDRs, primary first; a sandbox's addresses come from them. */
  podCIDRs: readonly string[];
  /** The pod's resolv.conf (kubelet's DNS policy, already applied); undefined: the node's own. */
  resolvConf?: string;
  /** The pod's /etc/hosts lines (its own name and spec.hostAliases). */
  hosts?: string;
}

export interface Sandbox {
  /** The pod's uid. */
  uid: string;
  namespace: string;
  name: string;
  /** Runtime-specific handle (the network namespace's name in netns mode). */
  id: string;
  /** The pod's addresses, primary first (podIP / podIPs). */
  ips: string[];
  /** RFC 3339 */
  createdAt: string;
}

/** One container instance to start. */
export interface ContainerSpec {
  podUid: string;
  /** The container's name in the pod spec. */
  name: string;
  /** Its restart count: 0 for the first instance. */
  attempt: number;
  /** The program and its arguments, variables already expanded. */
  argv: string[];
  /** The whole environment of the process. */
  env: Record<string, string>;
  /** spec.containers[].workingDir; undefined: the runtime's default. */
  cwd?: string;
  /** A program built into svcnet (argv[0] is then ignored). */
  builtin?: 'agnhost';
  /**
   * Where the container's stdout and stderr go, in the CRI log format
   * ("<RFC3339Nano> <stdout|stderr> <P|F> <text>"), rotated to `<logPath>.1` past maxLogBytes.
   */
  logPath: string;
  maxLogBytes: number;
}

export type ContainerRunState = 'running' | 'exited';

/** What the runtime knows of one container instance. */
export interface ContainerInfo {
  /** Unique id; the status shows it as containerID "svcnet://<id>". */
  id: string;
  podUid: string;
  name: string;
  attempt: number;
  /** The container's main process (0 when it never started). */
  pid: number;
  state: ContainerRunState;
  /** RFC 3339 with nanoseconds. */
  startedAt: string;
  finishedAt?: string;
  exitCode?: number;
  /** The signal that ended it, if one did. */
  signal?: number;
  /** Set by the runtime when it knows better than the exit code (StartError, ContainerStatusUnknown). */
  reason?: string;
  message?: string;
  logPath: string;
}

export interface ExecOptions {
  argv: string[];
  tty: boolean;
  stdin: boolean;
}

export interface ExecResult {
  /** null when the process could not start (see error) */
  exitCode: number | null;
  /** Why it could not start, in the container runtime's words. */
  error?: string;
}

/** A command running in a container's environment (kubectl exec). */
export interface ExecProcess {
  stdin: Writable | null;
  stdout: Readable;
  /** null with a tty (stderr goes to the terminal). */
  stderr: Readable | null;
  resize(width: number, height: number): void;
  /** Ends the command (the client went away). */
  kill(): void;
  readonly done: Promise<ExecResult>;
}

export interface PodRuntime {
  /** "host" or "netns". */
  readonly name: string;
  /**
   * Loads what it left in its state directory: sandboxes and containers from before an agent
   * restart, with processes still running re-adopted (not restarted) and those that ended
   * meanwhile reported with their exit status.
   */
  start(): Promise<void>;
  /** Stops watching processes; never stops pods (they outlive the agent). */
  stop(): Promise<void>;
  sandboxes(): Sandbox[];
  containers(): ContainerInfo[];
  container(id: string): ContainerInfo | undefined;
  /**
   * Readies what every pod sandbox on the node shares (the netns runtime's bridge) once the
   * node's pod CIDRs are known, so the first pods need not wait for it. Optional.
   */
  prepareNetwork?(podCIDRs: readonly string[]): Promise<void>;
  /** Creates the pod's sandbox, or returns the existing one (same addresses after a restart). */
  runSandbox(cfg: SandboxConfig): Promise<Sandbox>;
  /** Releases its addresses and state; its containers must have ended. */
  removeSandbox(uid: string): Promise<void>;
  /** Starts a container; resolves once its process runs (or failed to start: state exited). */
  startContainer(sandbox: Sandbox, spec: ContainerSpec): Promise<ContainerInfo>;
  /** Sends a signal to the container's processes. */
  signalContainer(id: string, signal: NodeJS.Signals): void;
  /** Forgets an ended container (its log file is the agent's to remove). */
  removeContainer(id: string): Promise<void>;
  /** Called when a running container ends (from any cause), with its final state. */
  onContainerExit(listener: (info: ContainerInfo) => void): void;
  /** Runs a command in a running container's environment (and network namespace). */
  exec(id: string, opts: ExecOptions): ExecProcess;
}
