// One pod's worker (kubelet's pod worker and syncPod, cut to svcnet's size): brings the pod's
// containers to what its spec and restart policy want, runs its probes, terminates it
// gracefully when it is deleted, and writes its status. Each worker syncs one step at a time;
// every change (pod update, container exit, probe result, back-off expiry) asks for a new sync.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import type { Container, ContainerStatus, LifecycleHandler, Pod, PodStatus } from 'kubernetes-types/core/v1.js';
import { Pods, isNotFound, isConflict } from '../api/index.ts';
import type { Client, EventRecorder } from '../client/index.ts';
import type { Logger } from '../util/index.ts';
import { Backoff, goDuration, type BackoffEntry } from './backoff.ts';
import { ContainerConfigError, containerEnv, expandCommand, type EnvContext } from './env.ts';
import { ImageTable, imageStatusName, resolveCommand } from './images.ts';
import { selectLogs } from './logs.ts';
import { initialProbeState, lifecycleUserAgent, probeGate, probeKindTitle, probeOf, runProbe, stepProbe, type ProbeKind, type ProbeState } from './probes.ts';
import type { ContainerInfo, PodRuntime, Sandbox } from './runtime/index.ts';
import { containerStatus, podDesc, podStatus, type ContainerView, type InstanceView } from './status.ts';
import type { PodDnsProvider } from './dns.ts';

export interface WorkerDeps {
  runtime: PodRuntime;
  client: Client;
  recorder: EventRecorder;
  nodeName: string;
  hostIPs(): string[];
  podCIDRs(): string[];
  envSources: Omit<EnvContext, 'pod' | 'podIPs' | 'hostIPs' | 'warn'>;
  images: ImageTable;
  backoff: Backoff;
  /** <data-dir>/pods: pod records and logs. */
  podsDir: string;
  maxLogBytes: number;
  dns?: PodDnsProvider;
  /** The environment every container starts from (PATH, HOME). */
  baseEnv: Record<string, string>;
  log: Logger;
  /** The worker has cleaned up after a deleted pod. */
  onGone(uid: string): void;
}

/** One container instance known to the worker. */
interface Instance extends InstanceView {
  attempt: number;
  logPath: string;
}

interface ContainerSlot {
  spec: Container;
  init: boolean;
  current?: Instance;
  previous?: Instance;
  waiting?: { reason: string; message?: string };
  probes: Partial<Record<ProbeKind, ProbeState>>;
  probeTimers: NodeJS.Timeout[];
  /** The instance id whose probes run. */
  probedId?: string;
  restartTimer?: NodeJS.Timeout;
  /** The agent is stopping this instance (liveness failure or termination). */
  stopping?: boolean;
  /** Start a new instance whatever the restart policy (its spec changed). */
  restartNow?: boolean;
  /**
   * While the postStart hook of a new instance runs: the container as the status showed it
   * before that start. kubelet's pod worker is blocked in startContainer meanwhile and writes no
   * status, so the API keeps showing this (the first start: waiting, ContainerCreating).
   */
  shownBeforeStart?: { current?: Instance; previous?: Instance; waiting?: { reason: string; message?: string } };
}

/** What survives an agent restart (<data-dir>/pods/<uid>.json). */
interface PodRecord {
  uid: string;
  namespace: string;
  name: string;
  startTime: string;
  containers: Record<string, { current?: Instance; previous?: Instance }>;
  backoff: Record<string, BackoffEntry>;
}

const minimumGracePeriodMs = 2000;

function instanceFrom(info: ContainerInfo): Instance {
  const i: Instance = { id: info.id, state: info.state, startedAt: info.startedAt, attempt: info.attempt, logPath: info.logPath };
  if (info.finishedAt) i.finishedAt = info.finishedAt;
  if (info.exitCode !== undefined) i.exitCode = info.exitCode;
  if (info.signal) i.signal = info.signal;
  if (info.reason) i.reason = info.reason;
  if (info.message) i.message = info.message;
  return i;
}

export class PodWorker {
  readonly uid: string;
  pod: Pod;
  readonly #d: WorkerDeps;
  readonly #log: Logger;
  readonly #slots = new Map<string, ContainerSlot>();
  #sandbox: Sandbox | undefined;
  #startTime: string;
  #removed = false;
  #terminating = false;
  #terminated = false;
  #deleteSent = false;
  #dirty = false;
  #running: Promise<void> | undefined;
  #lastStatus = '';
  /** The status the server answered our last write with (to see others' changes to it). */
  #lastLive: PodStatus | undefined;
  #closed = false;
  #retryTimer: NodeJS.Timeout | undefined;
  /** Cancels the postStart hook that runs (the pod is being deleted, or the agent stops). */
  #hookAbort: AbortController | undefined;

  constructor(pod: Pod, deps: WorkerDeps, record?: PodRecord) {
    this.uid = pod.metadata?.uid ?? '';
    this.pod = pod;
    this.#d = deps;
    this.#log = deps.log.child({ pod: `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}` });
    this.#startTime = record?.startTime ?? new Date().toISOString();
    for (const c of pod.spec?.initContainers ?? []) this.#slots.set(c.name, this.#newSlot(c, true));
    for (const c of pod.spec?.containers ?? []) this.#slots.set(c.name, this.#newSlot(c, false));
    this.#sandbox = deps.runtime.sandboxes().find((s) => s.uid === this.uid);
    if (record) {
      deps.backoff.restore(record.backoff);
      for (const [name, r] of Object.entries(record.containers)) {
        const slot = this.#slots.get(name);
        if (!slot) continue;
        slot.previous = r.previous;
        if (r.current) {
          const live = deps.runtime.container(r.current.id);
          slot.current = live ? { ...instanceFrom(live), attempt: r.current.attempt } : { ...r.current, state: 'exited', exitCode: r.current.exitCode ?? 137 };
        }
      }
    }
    // A pod the API already shows finished stays finished (restartPolicy Never/OnFailure).
    const phase = pod.status?.phase;
    if ((phase === 'Succeeded' || phase === 'Failed') && !this.#anyRunning()) this.#terminated = true;
  }

  #newSlot(spec: Container, init: boolean): ContainerSlot {
    return { spec, init, probes: {}, probeTimers: [] };
  }

  get name(): string {
    return this.pod.metadata?.name ?? '';
  }

  get namespace(): string {
    return this.pod.metadata?.namespace ?? '';
  }

  /** The pod's directory for logs: <ns>_<name>_<uid> as kubelet's /var/log/pods. */
  get #podDir(): string {
    return join(this.#d.podsDir, `${this.namespace}_${this.name}_${this.uid}`);
  }

  update(pod: Pod): void {
    // An informer event older than what our own status write returned changes nothing.
    const have = Number(this.pod.metadata?.resourceVersion);
    const got = Number(pod.metadata?.resourceVersion);
    if (Number.isInteger(have) && Number.isInteger(got) && got < have) return;
    this.pod = pod;
    // As kubelet cancels a sync blocked in a postStart hook when the pod is to terminate.
    if (pod.metadata?.deletionTimestamp) this.#hookAbort?.abort();
    this.#specChanged(pod);
    this.kick();
  }

  /** kubelet restarts a container whose image changed (the only mutable part of a container). */
  #specChanged(pod: Pod): void {
    if (pod.metadata?.deletionTimestamp) return;
    for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
      const slot = this.#slots.get(c.name);
      if (!slot || slot.spec.image === c.image) continue;
      slot.spec = c;
      const cur = slot.current;
      if (cur?.state !== 'running') continue;
      if (slot.init && c.restartPolicy !== 'Always') continue;
      void this.#d.recorder.event(pod, 'Normal', 'Killing', `Container ${c.name} definition changed, will be restarted`);
      // Restarted at once, not as a crash: no back-off.
      this.#d.backoff.delete(`${this.uid}/${c.name}`);
      void this.#killContainer(slot, (pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000, true).then(() => {
        const restarted = slot.current;
        if (restarted?.id === cur.id) slot.restartNow = true;
        this.kick();
      });
    }
  }

  /** The pod is gone from the API (deleted at last, or force-deleted). */
  removed(): void {
    this.#removed = true;
    this.#hookAbort?.abort();
    this.kick();
  }

  onContainerExit(info: ContainerInfo): void {
    for (const slot of this.#slots.values()) {
      if (slot.current?.id === info.id) {
        slot.current = { ...instanceFrom(info), attempt: slot.current.attempt };
        this.#terminationMessage(slot);
        this.#stopProbes(slot);
        this.#log.info({ container: slot.spec.name, exitCode: info.exitCode, reason: info.reason }, 'container exited');
      }
    }
    this.#persist();
    this.kick();
  }

  /** terminationMessagePolicy FallbackToLogsOnError: a failed container's log end is its message. */
  #terminationMessage(slot: ContainerSlot): void {
    const cur = slot.current;
    if (!cur || cur.state !== 'exited' || cur.exitCode === 0 || cur.message || slot.spec.terminationMessagePolicy !== 'FallbackToLogsOnError') return;
    try {
      const tail = selectLogs(readFileSync(cur.logPath), { tailLines: 80 });
      cur.message = tail.subarray(Math.max(0, tail.length - 2048)).toString('utf8');
    } catch {
      // no log
    }
  }

  kick(): void {
    this.#dirty = true;
    if (this.#running || this.#closed) return;
    this.#running = (async () => {
      while (this.#dirty && !this.#closed) {
        this.#dirty = false;
        try {
          await this.#sync();
        } catch (err) {
          this.#log.warn({ err }, 'pod sync failed; retrying');
          this.#retryLater(2000);
        }
      }
      this.#running = undefined;
    })();
  }

  #retryLater(ms: number): void {
    if (this.#retryTimer) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.kick();
    }, ms);
    this.#retryTimer.unref();
  }

  /** Stops timers (agent shutdown); processes keep running. */
  close(): void {
    this.#closed = true;
    this.#hookAbort?.abort();
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    for (const s of this.#slots.values()) {
      this.#stopProbes(s);
      if (s.restartTimer) clearTimeout(s.restartTimer);
    }
  }

  #anyMainStarted(): boolean {
    return [...this.#slots.values()].some((s) => !s.init && s.current);
  }

  #anyRunning(): boolean {
    return [...this.#slots.values()].some((s) => s.current?.state === 'running');
  }

  /** Starting containers must stop: the pod is being deleted or is gone, or the agent stops. */
  #interrupted(): boolean {
    return this.#closed || this.#removed || !!this.pod.metadata?.deletionTimestamp;
  }

  // ---- the sync loop ----

  async #sync(): Promise<void> {
    if (this.#removed) {
      await this.#killAll(this.#graceMs(), 'removed');
      await this.#cleanup();
      return;
    }
    if (this.pod.metadata?.deletionTimestamp) {
      await this.#terminate();
      return;
    }
    if (this.#terminated) {
      await this.#writeStatus();
      return;
    }
    if (!(await this.#ensureSandbox())) {
      await this.#writeStatus();
      return;
    }
    const initDone = await this.#syncInit();
    if (initDone) await this.#syncMain();
    await this.#writeStatus();
  }

  async #ensureSandbox(): Promise<boolean> {
    if (this.#sandbox) return true;
    const hostNetwork = this.pod.spec?.hostNetwork ?? false;
    const cidrs = this.#d.podCIDRs();
    if (!hostNetwork && !cidrs.length) {
      for (const s of this.#slots.values()) s.waiting = { reason: 'ContainerCreating' };
      this.#retryLater(2000);
      return false;
    }
    const dns = this.#d.dns?.(this.pod);
    try {
      this.#sandbox = await this.#d.runtime.runSandbox({
        uid: this.uid,
        namespace: this.namespace,
        name: this.name,
        hostname: this.pod.spec?.hostname ?? this.name,
        hostNetwork,
        podCIDRs: cidrs,
        resolvConf: dns?.resolvConf,
        hosts: dns?.hosts,
      });
    } catch (err) {
      const message = `Failed to create pod sandbox: ${err instanceof Error ? err.message : String(err)}`;
      void this.#d.recorder.event(this.pod, 'Warning', 'FailedCreatePodSandBox', message);
      this.#retryLater(5000);
      return false;
    }
    mkdirSync(this.#podDir, { recursive: true, mode: 0o750 });
    this.#persist();
    return true;
  }

  /** Runs init containers one after another; true when all have succeeded. */
  async #syncInit(): Promise<boolean> {
    const policy = this.pod.spec?.restartPolicy ?? 'Always';
    for (const c of this.pod.spec?.initContainers ?? []) {
      if (this.#interrupted()) return false;
      const slot = this.#slots.get(c.name)!;
      const cur = slot.current;
      if (c.restartPolicy === 'Always') {
        // A sidecar (restartable init container): started in order, then kept running
        // beside the app, restarted whenever it ends; the next one waits until it has started.
        if (!cur) {
          await this.#start(slot);
          return false;
        }
        if (cur.state === 'running') {
          this.#ensureProbes(slot);
          if (!this.#started(slot)) return false;
          continue;
        }
        await this.#restartWithBackoff(slot);
        if (!this.#anyMainStarted()) return false;
        continue;
      }
      if (!cur) {
        // Once the app has started, a regular init container does not run again.
        if (this.#anyMainStarted()) continue;
        await this.#start(slot);
        return false;
      }
      if (cur.state === 'running') return false;
      if (cur.exitCode === 0) {
        // Done, and not to run again: no start failure (PostStartHookError) is shown for it.
        slot.waiting = undefined;
        continue;
      }
      if (policy === 'Never') {
        this.#terminated = true;
        return false;
      }
      await this.#restartWithBackoff(slot);
      return false;
    }
    for (const s of this.#slots.values()) if (!s.init && !s.current && s.waiting?.reason === 'PodInitializing') s.waiting = undefined;
    return true;
  }

  async #syncMain(): Promise<void> {
    const policy = this.pod.spec?.restartPolicy ?? 'Always';
    let willRun = false;
    for (const c of this.pod.spec?.containers ?? []) {
      // A postStart hook was cut short by a delete: start nothing more.
      if (this.#interrupted()) return;
      const slot = this.#slots.get(c.name)!;
      const cur = slot.current;
      if (!cur) {
        await this.#start(slot);
        willRun = true;
        continue;
      }
      if (cur.state === 'running') {
        willRun = true;
        this.#ensureProbes(slot);
        continue;
      }
      const restart = slot.restartNow || policy === 'Always' || (policy === 'OnFailure' && cur.exitCode !== 0);
      if (restart) {
        willRun = true;
        await this.#restartWithBackoff(slot);
      } else slot.waiting = undefined;
    }
    if (!willRun) {
      // The app is done: its sidecars stop too.
      await this.#killAll(this.#graceMs(), 'finished');
      this.#terminated = true;
      this.#log.info({ phase: 'terminal' }, 'all containers finished');
    }
  }

  async #restartWithBackoff(slot: ContainerSlot): Promise<void> {
    const cur = slot.current!;
    const key = `${this.uid}/${slot.spec.name}`;
    const finished = Date.parse(cur.finishedAt ?? '') || Date.now();
    const now = Date.now();
    if (this.#d.backoff.inBackoffSince(key, finished, now)) {
      const wait = this.#d.backoff.restartAt(key, finished) - now;
      const msg = `back-off ${goDuration(this.#d.backoff.get(key))} restarting failed container=${slot.spec.name} pod=${podDesc(this.pod)}`;
      if (slot.waiting?.reason !== 'CrashLoopBackOff' || slot.waiting.message !== msg) {
        void this.#d.recorder.event(this.pod, 'Warning', 'BackOff', `Back-off restarting failed container ${slot.spec.name} in pod ${podDesc(this.pod)}`);
      }
      slot.waiting = { reason: 'CrashLoopBackOff', message: msg };
      if (!slot.restartTimer) {
        slot.restartTimer = setTimeout(() => {
          slot.restartTimer = undefined;
          this.kick();
        }, Math.max(10, wait + 5));
        slot.restartTimer.unref();
      }
      return;
    }
    this.#d.backoff.next(key, finished);
    await this.#start(slot);
  }

  #hostIPs(): string[] {
    return this.#d.hostIPs();
  }

  #podIPs(): string[] {
    return this.#sandbox?.ips ?? [];
  }

  async #start(slot: ContainerSlot): Promise<void> {
    const c = slot.spec;
    const sandbox = this.#sandbox!;
    this.#d.images.reload();
    const res = resolveCommand(c, this.#d.images, this.#d.nodeName);
    if (res.kind === 'unmapped') {
      if (slot.waiting?.reason !== res.reason) void this.#d.recorder.event(this.pod, 'Warning', 'Failed', `Error: ${res.reason}: ${res.message}`);
      slot.waiting = { reason: res.reason, message: res.message };
      this.#retryLater(10_000);
      return;
    }
    const podIPs = this.#podIPs();
    const base = new Map<string, string>(Object.entries(this.#d.baseEnv));
    base.set('HOSTNAME', this.pod.spec?.hostname ?? this.name);
    if (podIPs[0]) base.set('POD_IP', podIPs[0]);
    for (const [k, v] of Object.entries(this.#d.dns?.(this.pod)?.env ?? {})) base.set(k, v);
    let env: Map<string, string>;
    try {
      env = await containerEnv(c, { ...this.#d.envSources, pod: this.pod, podIPs, hostIPs: this.#hostIPs(), warn: (r, m) => void this.#d.recorder.event(this.pod, 'Warning', r, m) }, base);
    } catch (e) {
      if (!(e instanceof ContainerConfigError)) throw e;
      if (slot.waiting?.message !== e.message) void this.#d.recorder.event(this.pod, 'Warning', 'Failed', `Error: ${e.message}`);
      slot.waiting = { reason: 'CreateContainerConfigError', message: e.message };
      this.#retryLater(5000);
      return;
    }
    const full = new Map([...base, ...env]);
    const argv = expandCommand(res.argv, full);
    const attempt = slot.current ? slot.current.attempt + 1 : 0;
    const dir = join(this.#podDir, c.name);
    mkdirSync(dir, { recursive: true, mode: 0o750 });
    const logPath = join(dir, `${attempt}.log`);
    const imageName = c.image ?? '';
    if (!slot.current) void this.#d.recorder.event(this.pod, 'Normal', 'Pulled', `Container image ${JSON.stringify(imageName)} already present on machine`);
    const info = await this.#d.runtime.startContainer(sandbox, {
      podUid: this.uid,
      name: c.name,
      attempt,
      argv,
      env: Object.fromEntries(full),
      cwd: c.workingDir,
      builtin: res.builtin,
      logPath,
      maxLogBytes: this.#d.maxLogBytes,
    });
    const shown = { current: slot.current, previous: slot.previous, waiting: slot.waiting };
    // The instance before the previous one is no longer shown anywhere: forget it and its log.
    const old = slot.previous;
    slot.previous = slot.current;
    slot.current = { ...instanceFrom(info), attempt };
    // It may have ended before the exit could be matched to it.
    if (info.state === 'exited') this.#terminationMessage(slot);
    slot.waiting = undefined;
    slot.stopping = false;
    slot.restartNow = false;
    if (old) {
      rmSync(old.logPath, { force: true });
      rmSync(`${old.logPath}.1`, { force: true });
      if (old.state === 'exited') await this.#d.runtime.removeContainer(old.id).catch(() => undefined);
    }
    this.#persist();
    if (info.state === 'exited') {
      void this.#d.recorder.event(this.pod, 'Warning', 'Failed', `Error: ${info.message ?? 'failed to start container'}`);
      return;
    }
    void this.#d.recorder.event(this.pod, 'Normal', 'Created', `Created container: ${c.name}`);
    void this.#d.recorder.event(this.pod, 'Normal', 'Started', `Started container ${c.name}`);
    this.#log.debug({ container: c.name, attempt, pid: info.pid }, 'container started');
    const postStart = c.lifecycle?.postStart;
    if (postStart) {
      slot.shownBeforeStart = shown;
      try {
        if (!(await this.#postStart(slot, postStart, slot.current))) return;
      } finally {
        slot.shownBeforeStart = undefined;
      }
    }
    this.#ensureProbes(slot);
  }

  /**
   * kubelet's startContainer, step 4: the postStart hook runs right after the start, and the
   * pod's sync waits for it (so the next container starts after it, and the probes only then).
   * On failure: a FailedPostStartHook event (no details: they could hold secrets), the container
   * killed as killContainer does it (preStop included), and the start error PostStartHookError
   * as the container's waiting reason until the restart policy restarts it. True if it passed.
   */
  async #postStart(slot: ContainerSlot, h: LifecycleHandler, inst: Instance): Promise<boolean> {
    if (this.#interrupted()) return false;
    const abort = new AbortController();
    this.#hookAbort = abort;
    let failure: string | undefined;
    try {
      // kubelet wrote the pod's status as its sync began; ours comes at its end: write it now,
      // so the API shows the pod (Pending on a first start, not Ready) while the hook runs.
      await this.#writeStatus().catch((err: unknown) => this.#log.warn({ err }, 'status write failed'));
      await this.#runHook(h, inst, slot.spec, { signal: abort.signal });
    } catch (err) {
      failure = err instanceof Error ? err.message : String(err);
    } finally {
      if (this.#hookAbort === abort) this.#hookAbort = undefined;
    }
    // Cut short by a delete or an agent stop: the container is stopped (or kept) as the pod's fate says.
    if (abort.signal.aborted) return false;
    if (failure === undefined) return true;
    this.#log.warn({ container: slot.spec.name, err: failure }, 'PostStart hook failed');
    void this.#d.recorder.event(this.pod, 'Warning', 'FailedPostStartHook', 'PostStartHook failed');
    await this.#killContainer(slot, this.#graceMs(), true, 'FailedPostStartHook');
    const ended = this.#d.runtime.container(inst.id);
    if (slot.current?.id === inst.id && ended && ended.state !== 'running') slot.current = { ...instanceFrom(ended), attempt: inst.attempt };
    slot.waiting = { reason: 'PostStartHookError', message: failure };
    this.#persist();
    return false;
  }

  // ---- probes ----

  #ensureProbes(slot: ContainerSlot): void {
    const cur = slot.current;
    if (!cur || cur.state !== 'running' || (slot.init && slot.spec.restartPolicy !== 'Always') || slot.probedId === cur.id || this.#terminating) return;
    this.#stopProbes(slot);
    slot.probedId = cur.id;
    for (const kind of ['startup', 'liveness', 'readiness'] as const) {
      const probe = probeOf(slot.spec, kind);
      if (!probe) continue;
      slot.probes[kind] = initialProbeState(kind);
      const periodMs = (probe.periodSeconds ?? 10) * 1000;
      // One live timer per probe in probeTimers: replaced at each tick, so a long-lived pod's list
      // does not grow.
      let timer: NodeJS.Timeout | undefined;
      const schedule = (ms: number): void => {
        const next = setTimeout(tick, ms);
        next.unref();
        const i = timer ? slot.probeTimers.indexOf(timer) : -1;
        if (i >= 0) slot.probeTimers[i] = next;
        else slot.probeTimers.push(next);
        timer = next;
      };
      const tick = (): void => {
        if (slot.probedId !== cur.id || this.#closed) return;
        const started = Date.now();
        void this.#probeOnce(slot, kind, cur).finally(() => {
          if (slot.probedId !== cur.id || this.#closed) return;
          // As kubelet's ticker: a probe starts every period, however long the last one took (one
          // that outlasts the period is followed at once). Waiting a period after each probe ended
          // made a slow exec probe's failures add up: a pod left its endpoints late under load.
          schedule(Math.max(0, periodMs - (Date.now() - started)));
        });
      };
      const runningFor = Date.now() - Date.parse(cur.startedAt);
      schedule(Math.max(0, (probe.initialDelaySeconds ?? 0) * 1000 - runningFor));
    }
  }

  #stopProbes(slot: ContainerSlot): void {
    for (const t of slot.probeTimers) clearTimeout(t);
    slot.probeTimers = [];
    slot.probedId = undefined;
  }

  #started(slot: ContainerSlot): boolean {
    if (slot.current?.state !== 'running') return false;
    if (!slot.spec.startupProbe) return true;
    return slot.probes.startup?.result === 'success';
  }

  #ready(slot: ContainerSlot): boolean {
    if (!this.#started(slot)) return false;
    if (!slot.spec.readinessProbe) return true;
    return slot.probes.readiness?.result === 'success';
  }

  async #probeOnce(slot: ContainerSlot, kind: ProbeKind, inst: Instance): Promise<void> {
    const probe = probeOf(slot.spec, kind)!;
    const state = slot.probes[kind];
    if (!state || state.onHold || slot.current?.id !== inst.id || inst.state !== 'running') return;
    if (this.pod.metadata?.deletionTimestamp && kind !== 'readiness') return;
    const runningFor = Date.now() - Date.parse(inst.startedAt);
    if (!probeGate(kind, probe, runningFor, this.#started(slot))) return;
    const out = await runProbe(probe, {
      podIP: this.#podIPs()[0] ?? '127.0.0.1',
      container: slot.spec,
      exec: (argv, timeoutMs) => this.#execCollect(inst.id, argv, timeoutMs),
    });
    if (slot.current?.id !== inst.id || slot.probes[kind] !== state) return;
    const title = probeKindTitle(kind);
    if (out.result === 'unknown') {
      void this.#d.recorder.event(this.pod, 'Warning', 'Unhealthy', `${title} probe errored: ${out.output}`);
      return;
    }
    if (out.result === 'failure') void this.#d.recorder.event(this.pod, 'Warning', 'Unhealthy', `${title} probe failed: ${out.output}`);
    const step = stepProbe(kind, state, out.result, probe);
    slot.probes[kind] = step.state;
    if (step.kill && slot.current?.state === 'running' && !this.#terminating) {
      void this.#d.recorder.event(this.pod, 'Normal', 'Killing', `Container ${slot.spec.name} failed ${kind} probe, will be restarted`);
      const graceS = probe.terminationGracePeriodSeconds ?? this.pod.spec?.terminationGracePeriodSeconds ?? 30;
      // kubelet's killContainer runs the preStop hook for a liveness or startup failure too.
      void this.#killContainer(slot, graceS * 1000, true).then(() => this.kick());
    }
    if (step.changed) {
      if (kind === 'startup' && step.state.result === 'success') {
        // A container that just started gets its readiness probed at once.
        const r = slot.probes.readiness;
        if (r) void this.#probeOnce(slot, 'readiness', inst).then(() => this.kick());
      }
      this.kick();
    }
  }

  /** Runs argv in the container: its output and exit code; killed after timeoutMs (0: never) or on signal. */
  async #execCollect(id: string, argv: string[], timeoutMs: number, signal?: AbortSignal): Promise<{ output: string; exitCode: number | null; timedOut: boolean; error?: string }> {
    const p = this.#d.runtime.exec(id, { argv, tty: false, stdin: false });
    const chunks: Buffer[] = [];
    p.stdout.on('data', (d: Buffer) => chunks.push(d));
    p.stderr?.on('data', (d: Buffer) => chunks.push(d));
    let timedOut = false;
    const timer = timeoutMs > 0
      ? setTimeout(() => {
        timedOut = true;
        p.kill();
      }, timeoutMs)
      : undefined;
    const onAbort = () => p.kill();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) p.kill();
    const r = await p.done;
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    return { output: Buffer.concat(chunks).toString('utf8'), exitCode: r.exitCode, timedOut, error: r.error };
  }

  // ---- termination ----

  #graceMs(): number {
    const m = this.pod.metadata;
    const g = m?.deletionGracePeriodSeconds ?? this.pod.spec?.terminationGracePeriodSeconds ?? 30;
    return Math.max(0, g) * 1000;
  }

  async #terminate(): Promise<void> {
    if (!this.#terminating) {
      this.#terminating = true;
      for (const s of this.#slots.values()) {
        if (s.restartTimer) clearTimeout(s.restartTimer);
        s.restartTimer = undefined;
        if (!s.current) s.waiting = s.waiting ?? { reason: 'ContainerCreating' };
      }
      // Show the pod terminating (containers still ready) before stopping anything.
      await this.#writeStatus();
      await this.#killAll(this.#graceMs(), 'deleted');
      this.#terminated = true;
    }
    for (const s of this.#slots.values()) s.waiting = undefined;
    await this.#writeStatus(true);
    if (!this.#deleteSent) {
      try {
        await this.#d.client.delete(Pods, this.namespace, this.name, { gracePeriodSeconds: 0, preconditions: { uid: this.uid } });
        this.#deleteSent = true;
      } catch (err) {
        if (isNotFound(err) || isConflict(err)) this.#deleteSent = true;
        else throw err;
      }
    }
  }

  async #killAll(graceMs: number, why: string): Promise<void> {
    const running = [...this.#slots.values()].filter((s) => s.current?.state === 'running');
    await Promise.all(running.map((s) => this.#killContainer(s, graceMs, why === 'deleted')));
  }

  /** kubelet's killContainer: preStop (inside the grace period), SIGTERM, then SIGKILL. */
  async #killContainer(slot: ContainerSlot, graceMs: number, runPreStop: boolean, message?: string): Promise<void> {
    const cur = slot.current;
    if (!cur || cur.state !== 'running' || slot.stopping) {
      await this.#waitExit(cur, graceMs + 5000);
      return;
    }
    slot.stopping = true;
    this.#stopProbes(slot);
    const start = Date.now();
    void this.#d.recorder.event(this.pod, 'Normal', 'Killing', message ?? `Stopping container ${slot.spec.name}`);
    const preStop = slot.spec.lifecycle?.preStop;
    if (runPreStop && preStop && graceMs > 0) {
      await Promise.race([this.#runHook(preStop, cur, slot.spec, { timeoutMs: graceMs }), new Promise((r) => setTimeout(r, graceMs))]).catch((err: unknown) => {
        this.#log.warn({ container: slot.spec.name, err: err instanceof Error ? err.message : String(err) }, 'PreStop hook failed');
        // As kubelet: no details in the Event (they could hold secrets).
        void this.#d.recorder.event(this.pod, 'Warning', 'FailedPreStopHook', 'PreStopHook failed');
      });
    }
    let remaining = graceMs - (Date.now() - start);
    if (preStop && runPreStop) remaining = Math.max(remaining, minimumGracePeriodMs);
    if (this.#d.runtime.container(cur.id)?.state !== 'running') return;
    this.#d.runtime.signalContainer(cur.id, remaining > 0 ? 'SIGTERM' : 'SIGKILL');
    if (remaining > 0 && !(await this.#waitExit(cur, remaining))) this.#d.runtime.signalContainer(cur.id, 'SIGKILL');
    await this.#waitExit(cur, 5000);
  }

  /** Waits until the instance ended (true) or ms passed (false). */
  async #waitExit(inst: Instance | undefined, ms: number): Promise<boolean> {
    if (!inst) return true;
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const info = this.#d.runtime.container(inst.id);
      if (!info || info.state !== 'running') return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  }

  /**
   * Runs a lifecycle hook as kubelet's handlerRunner.Run; throws with kubelet's message on
   * failure. timeoutMs bounds an exec or HTTP hook (preStop: the grace period; postStart: none,
   * as kubelet's); signal cancels it.
   */
  async #runHook(h: LifecycleHandler, inst: Instance, c: Container, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    const { timeoutMs = 0, signal } = opts;
    const where = `for Container ${JSON.stringify(c.name)} in Pod ${JSON.stringify(podDesc(this.pod))}`;
    const aborted = new Promise<never>((_, reject) => {
      const fail = () => reject(new Error('context canceled'));
      if (signal?.aborted) fail();
      signal?.addEventListener('abort', fail, { once: true });
    });
    aborted.catch(() => undefined);
    if (h.exec) {
      const argv = h.exec.command ?? [];
      const r = await this.#execCollect(inst.id, argv, timeoutMs, signal);
      if (r.exitCode !== 0) {
        const why = r.timedOut
          ? `command '${argv.join(' ')}' timed out`
          : r.exitCode === null
            ? (r.error ?? 'exec failed')
            : `command '${argv.join(' ')}' exited with ${r.exitCode}: ${r.output}`;
        throw new Error(`Exec lifecycle hook ([${argv.join(' ')}]) ${where} failed - error: ${why}, message: ${JSON.stringify(r.output)}`);
      }
      return;
    }
    if (h.sleep) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise((r) => (timer = setTimeout(r, h.sleep!.seconds * 1000))), aborted]).finally(() => clearTimeout(timer));
      return;
    }
    if (h.httpGet) {
      // No timeout: a request of at most 2e6 s (setTimeout's limit is 2^31 ms).
      const timeoutSeconds = timeoutMs > 0 ? Math.max(1, Math.ceil(timeoutMs / 1000)) : 2_000_000;
      const out = await Promise.race([
        runProbe(
          { httpGet: h.httpGet, timeoutSeconds },
          { podIP: this.#podIPs()[0] ?? '127.0.0.1', container: c, exec: (argv, t) => this.#execCollect(inst.id, argv, t) },
          lifecycleUserAgent,
        ),
        aborted,
      ]);
      // kubelet fails an HTTP hook on transport errors only, whatever status it is answered.
      if (out.result !== 'success' && out.statusCode === undefined) throw new Error(`HTTP lifecycle hook (${h.httpGet.path ?? ''}) ${where} failed - error: ${out.output}`);
    }
  }

  async #cleanup(): Promise<void> {
    this.close();
    for (const s of this.#slots.values()) {
      for (const i of [s.current, s.previous]) if (i && this.#d.runtime.container(i.id)?.state !== 'running') await this.#d.runtime.removeContainer(i.id).catch(() => undefined);
    }
    // Containers started by an earlier agent that this record no longer names.
    for (const info of this.#d.runtime.containers()) if (info.podUid === this.uid && info.state !== 'running') await this.#d.runtime.removeContainer(info.id).catch(() => undefined);
    await this.#d.runtime.removeSandbox(this.uid);
    this.#d.backoff.deletePrefix(`${this.uid}/`);
    rmSync(this.#podDir, { recursive: true, force: true });
    rmSync(join(this.#d.podsDir, `${this.uid}.json`), { force: true });
    this.#d.onGone(this.uid);
  }

  // ---- status ----

  #views(init: boolean): ContainerView[] {
    const specs = init ? (this.pod.spec?.initContainers ?? []) : (this.pod.spec?.containers ?? []);
    const initPending = !init && (this.pod.spec?.initContainers ?? []).some((c) => this.#slots.get(c.name)?.current?.exitCode !== 0);
    return specs.map((c) => {
      const s = this.#slots.get(c.name)!;
      const shown = s.shownBeforeStart;
      const image = imageStatusName(c.image ?? '');
      const v: ContainerView = {
        name: c.name,
        image,
        imageID: `${image.replace(/:[^:/@]*$/, '')}@sha256:${createHash('sha256').update(c.image ?? '').digest('hex')}`,
        ready: !shown && this.#ready(s),
        started: !shown && this.#started(s),
      };
      const current = shown ? shown.current : s.current;
      const previous = shown ? shown.previous : s.previous;
      const waiting = shown ? shown.waiting : s.waiting;
      if (current) v.current = current;
      if (previous) v.previous = previous;
      if (waiting) v.waiting = waiting;
      else if (!current && initPending && this.#sandbox) v.waiting = { reason: 'PodInitializing' };
      if (init && current?.state === 'exited' && current.exitCode === 0) v.ready = true;
      return v;
    });
  }

  computeStatus(): PodStatus {
    return podStatus({
      pod: this.pod,
      hostIPs: this.#hostIPs(),
      podIPs: this.#podIPs(),
      sandboxReady: !!this.#sandbox && !this.#terminated,
      startTime: this.#startTime,
      initContainers: this.#views(true),
      containers: this.#views(false),
      terminal: this.#terminated,
      now: new Date(),
    });
  }

  async #writeStatus(force = false): Promise<void> {
    if (this.#removed || this.#deleteSent) return;
    const status = this.computeStatus();
    const key = JSON.stringify(status);
    // Unchanged, and nobody else changed it (the node lifecycle controller may mark it unready).
    if (!force && key === this.#lastStatus && isDeepStrictEqual(this.pod.status ?? {}, this.#lastLive ?? {})) return;
    try {
      const updated = await this.#d.client.patch<Pod>(Pods, this.namespace, this.name, 'merge', { status }, {}, 'status');
      this.#lastStatus = key;
      this.#lastLive = updated.status;
      if (updated.metadata?.uid === this.uid) this.pod = { ...this.pod, metadata: { ...this.pod.metadata, resourceVersion: updated.metadata?.resourceVersion }, status: updated.status };
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  }

  // ---- logs and exec lookups ----

  /** The container's status as last computed (for logs and exec). */
  containerStatusOf(name: string): { status: ContainerStatus; init: boolean } | undefined {
    const slot = this.#slots.get(name);
    if (!slot) return undefined;
    const view = this.#views(slot.init).find((v) => v.name === name);
    return view ? { status: containerStatus(view), init: slot.init } : undefined;
  }

  /** kubelet's validateContainerLogStatus: the log to read, or why there is none. */
  logTarget(name: string, previous: boolean): { path: string; running: () => boolean } | { error: string } {
    const pod = this.name;
    const slot = this.#slots.get(name);
    const cs = this.containerStatusOf(name);
    if (!slot || !cs) return { error: `container ${JSON.stringify(name)} in pod ${JSON.stringify(pod)} is not available` };
    const st = cs.status;
    const pick = (i: Instance | undefined) => ({ path: i!.logPath, running: () => this.#d.runtime.container(i!.id)?.state === 'running' });
    const lastIsPrev = !!slot.previous && st.lastState?.terminated?.containerID?.endsWith(slot.previous.id);
    const lastInst = lastIsPrev ? slot.previous : slot.current;
    if (previous) {
      if (!st.lastState?.terminated?.containerID) return { error: `previous terminated container ${JSON.stringify(name)} in pod ${JSON.stringify(pod)} not found` };
      return pick(lastInst);
    }
    if (st.state?.running) return pick(slot.current);
    if (st.state?.terminated) return pick(slot.current);
    if (st.lastState?.terminated) return pick(lastInst);
    if (st.state?.waiting) {
      const reason = st.state.waiting.reason ?? '';
      return { error: `container ${JSON.stringify(name)} in pod ${JSON.stringify(pod)} is waiting to start: ${reason}` };
    }
    return { error: `container ${JSON.stringify(name)} in pod ${JSON.stringify(pod)} is waiting to start - no logs yet` };
  }

  /** The running instance to exec in, or the runtime's words for why not. */
  execTarget(name: string): { id: string } | { error: string } {
    const slot = this.#slots.get(name);
    if (!slot?.current || slot.current.state !== 'running') return { error: `container not found (${JSON.stringify(name)})` };
    return { id: slot.current.id };
  }

  // ---- persistence ----

  #persist(): void {
    const rec: PodRecord = {
      uid: this.uid,
      namespace: this.namespace,
      name: this.name,
      startTime: this.#startTime,
      containers: {},
      backoff: this.#d.backoff.snapshot(`${this.uid}/`),
    };
    for (const [name, s] of this.#slots) rec.containers[name] = { current: s.current, previous: s.previous };
    const path = join(this.#d.podsDir, `${this.uid}.json`);
    try {
      writeFileSync(`${path}.tmp`, JSON.stringify(rec), { mode: 0o600 });
      renameSync(`${path}.tmp`, path);
    } catch (err) {
      this.#log.warn({ err }, 'could not persist pod state');
    }
  }
}

export type { PodRecord };

/** Pod records left by an earlier agent, by uid. */
export function loadPodRecords(podsDir: string): Map<string, PodRecord> {
  const out = new Map<string, PodRecord>();
  let names: string[] = [];
  try {
    names = readdirSync(podsDir);
  } catch {
    return out;
  }
  for (const f of names) {
    if (!f.endsWith('.json')) continue;
    try {
      const rec = JSON.parse(readFileSync(join(podsDir, f), 'utf8')) as PodRecord;
      if (rec.uid) out.set(rec.uid, rec);
    } catch {
      // a torn record: ignore
    }
  }
  return out;
}
