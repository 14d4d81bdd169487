// Lifecycle hooks with the real node agent (host mode, the real `bin/svcnet server` and kubectl),
// observed from the container's side: a small server (test/fixtures/agent/flipserver.py) notes
// when it starts, when its preStop or postStart endpoint is called (with the caller's User-Agent)
// and when SIGTERM arrives.
// preStop: httpGet, sleep and exec hooks run before SIGTERM and delay it as kubelet's do; a hook
// longer than the grace period is cut short; a failed hook is reported and the container still
// stopped; a liveness failure runs the hook too. (The exec hook's plain case, with SIGKILL after
// the grace period, is in agent-host.test.ts.)
// postStart: the hook runs once the container's process runs; the pod's next container starts
// only after it, and until it returns the container is shown as before its start (kubelet's sync
// is blocked in startContainer), so not Ready; an httpGet hook reaches the pod; a failing hook is
// reported, the container killed (its preStop run) and restarted with back-off.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { kubectl, kubectlOk, startNodeServer, type Svcnet } from './lib/svcnet.ts';
import { killPodProcesses, waitFor } from './lib/agent.ts';
import { pidAlive } from '../src/util/index.ts';

const node = 'hooks-node';
const ns = 'hooks';
const flipServer = resolve('test/fixtures/agent/flipserver.py');
/** What a loaded 2-core machine may add to a timing (API round trips, process start and exit). */
const marginMs = 3000;
let s: Svcnet;
let work: string;

const ok = (args: string[], input?: string): Promise<string> => kubectlOk(s, args, input);

interface Note {
  what: string;
  at: number;
  extra: string;
}

/** The container's notes ("start", "prestop", "term"), in order. */
function notes(file: string): Note[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [what, at, ...rest] = l.split(' ');
      return { what: what, at: Number(at), extra: rest.join(' ') };
    });
}

/**
 * A pod running flipserver on :8080 with `env` and `container` (more YAML for the container, 4
 * spaces in); Ready once it listens (so it has noted its start).
 */
/** The env of a flipserver container (and its neighbours): EVENTS, its notes file; PORT; extras. */
function flipEnv(name: string, indent: string, extra: Record<string, string> = {}): string {
  return Object.entries({ EVENTS: join(work, `${name}.events`), PORT: '8080', ...extra })
    .map(([k, v]) => `${indent}- {name: ${k}, value: "${v}"}`)
    .join('\n');
}

function hookedPod(name: string, opts: { grace: number; env?: Record<string, string>; container?: string; labels?: string }): string {
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${ns}, labels: {app: ${opts.labels ?? name}}}
spec:
  nodeName: ${node}
  terminationGracePeriodSeconds: ${opts.grace}
  containers:
  - name: web
    image: flipserver
    command: [python3, -u, ${flipServer}]
    ports: [{name: http, containerPort: 8080}]
    env:
${flipEnv(name, '    ', opts.env)}
    readinessProbe:
      tcpSocket: {port: http}
      periodSeconds: 1
${opts.container ?? ''}`;
}

async function waitReady(name: string): Promise<void> {
  await waitFor(`${name} Ready`, async () => (await ok(['get', 'pod', name, '-n', ns, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])) === 'True');
}

async function gone(name: string, timeoutMs = 30_000): Promise<number> {
  return waitFor(`${name} gone`, async () => {
    const r = await kubectl(s, ['get', 'pod', name, '-n', ns]);
    return /NotFound/.test(r.stderr) ? Date.now() : undefined;
  }, timeoutMs, 50);
}

async function podEvents(name: string, reason: string): Promise<string> {
  return ok(['get', 'events', '-n', ns, '--field-selector', `involvedObject.name=${name},reason=${reason}`, '-o', 'jsonpath={.items[*].message}']);
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'svcnet-agent-hooks-'));
  s = await startNodeServer(node, ns);
});

after(async () => {
  if (s) {
    await s.stop();
    s.cleanup();
  }
  killPodProcesses(work);
  rmSync(work, { recursive: true, force: true });
});

test('an httpGet preStop hook is called before SIGTERM, which waits for its answer; meanwhile the endpoint is terminating but serving', async () => {
  const delayMs = 3000;
  const grace = 15;
  // The hook answers 500: kubelet looks at no status code of a lifecycle hook, only at transport errors.
  await ok(['apply', '-f', '-'], `${hookedPod('http-hook', {
    grace,
    env: { PRESTOP_DELAY: String(delayMs / 1000), PRESTOP_STATUS: '500' },
    container: `    lifecycle:
      preStop:
        httpGet: {path: /prestop, port: http}`,
  })}
---
apiVersion: v1
kind: Service
metadata: {name: http-hook, namespace: ${ns}}
spec:
  selector: {app: http-hook}
  ports: [{port: 80, targetPort: http}]
`);
  await waitReady('http-hook');
  const ip = await ok(['get', 'pod', 'http-hook', '-n', ns, '-o', 'jsonpath={.status.podIP}']);
  const slice = async () => {
    const l = JSON.parse(await ok(['get', 'endpointslices', '-n', ns, '-l', 'kubernetes.io/service-name=http-hook', '-o', 'json'])) as { items: EndpointSlice[] };
    return l.items.flatMap((x) => x.endpoints).find((e) => e.addresses.includes(ip))?.conditions;
  };
  await waitFor('the pod ready in the EndpointSlice', async () => (await slice())?.ready === true);

  const deletedAt = Date.now();
  await ok(['delete', 'pod', 'http-hook', '-n', ns, '--wait=false']);
  // While the hook runs, the endpoint is terminating: not ready, still serving.
  const during = await waitFor('the endpoint terminating', async () => {
    const c = await slice();
    return c?.terminating ? { c, at: Date.now() } : undefined;
  }, 10_000, 50);
  assert.deepEqual(during.c, { ready: false, serving: true, terminating: true });
  const endpoints = await ok(['get', 'endpoints', 'http-hook', '-n', ns, '-o', 'jsonpath={.subsets[*].addresses[*].ip}']);
  assert.equal(endpoints, '', 'a terminating pod is no ready address of the Service');
  const goneAt = await gone('http-hook');

  const n = notes(join(work, 'http-hook.events'));
  assert.deepEqual(n.map((x) => x.what), ['start', 'prestop', 'term'], JSON.stringify(n));
  const [, prestop, term] = n as [Note, Note, Note];
  assert.equal(prestop.extra, 'kube-lifecycle/1.33', 'the hook\'s request says who calls it, as kubelet does');
  assert.ok(during.at <= prestop.at + delayMs, 'the endpoint turned terminating while the hook ran');
  assert.ok(term.at - prestop.at >= delayMs, `SIGTERM ${term.at - prestop.at} ms after the hook was called, before it answered (${delayMs} ms)`);
  assert.ok(term.at - deletedAt <= delayMs + marginMs, `SIGTERM ${term.at - deletedAt} ms after the delete`);
  assert.ok(goneAt - deletedAt < grace * 1000, `the pod went ${goneAt - deletedAt} ms after the delete: it stopped on SIGTERM, within the grace period`);
  assert.equal(await podEvents('http-hook', 'FailedPreStopHook'), '', 'an HTTP error status does not fail a lifecycle hook');
  await ok(['delete', 'service', 'http-hook', '-n', ns]);
});

test('a sleep preStop hook delays SIGTERM by its seconds', async () => {
  const sleepS = 2;
  const grace = 15;
  await ok(['apply', '-f', '-'], hookedPod('sleep-hook', {
    grace,
    container: `    lifecycle:
      preStop:
        sleep: {seconds: ${sleepS}}`,
  }));
  await waitReady('sleep-hook');
  const deletedAt = Date.now();
  await ok(['delete', 'pod', 'sleep-hook', '-n', ns, '--wait=false']);
  const goneAt = await gone('sleep-hook');
  const n = notes(join(work, 'sleep-hook.events'));
  assert.deepEqual(n.map((x) => x.what), ['start', 'term'], JSON.stringify(n));
  const termAfter = n[1].at - deletedAt;
  assert.ok(termAfter >= sleepS * 1000, `SIGTERM ${termAfter} ms after the delete, before the hook's ${sleepS} s sleep ended`);
  assert.ok(termAfter <= sleepS * 1000 + marginMs, `SIGTERM ${termAfter} ms after the delete`);
  assert.ok(goneAt - deletedAt < grace * 1000, `gone ${goneAt - deletedAt} ms after the delete`);
  assert.equal(await podEvents('sleep-hook', 'FailedPreStopHook'), '');
});

test('a preStop hook outlasting the grace period is cut short: SIGTERM at the grace period, SIGKILL 2 s later', async () => {
  const grace = 2;
  await ok(['apply', '-f', '-'], hookedPod('slow-hook', {
    grace,
    env: { IGNORE_TERM: '1' },
    container: `    lifecycle:
      preStop:
        exec: {command: [sleep, "30"]}`,
  }));
  await waitReady('slow-hook');
  const pid = Number(notes(join(work, 'slow-hook.events'))[0]?.extra);
  assert.ok(pid > 0 && pidAlive(pid));
  const deletedAt = Date.now();
  await ok(['delete', 'pod', 'slow-hook', '-n', ns, '--wait=false']);
  const goneAt = await gone('slow-hook');
  const n = notes(join(work, 'slow-hook.events'));
  assert.deepEqual(n.map((x) => x.what), ['start', 'term'], JSON.stringify(n));
  const termAfter = n[1].at - deletedAt;
  assert.ok(termAfter >= grace * 1000, `SIGTERM ${termAfter} ms after the delete, before the grace period (${grace} s) ended`);
  assert.ok(termAfter <= grace * 1000 + marginMs, `SIGTERM ${termAfter} ms after the delete: the hook was not cut at the grace period`);
  // kubelet's minimum shutdown window: 2 s between SIGTERM and SIGKILL, even past the grace period.
  assert.ok(goneAt - n[1].at >= 2000, `gone ${goneAt - n[1].at} ms after SIGTERM`);
  assert.ok(goneAt - deletedAt <= (grace + 2) * 1000 + marginMs, `gone ${goneAt - deletedAt} ms after the delete`);
  await waitFor('the container that ignored SIGTERM killed', () => !pidAlive(pid), 5000);
});

test('a failing exec preStop hook is reported as FailedPreStopHook and the container still gets SIGTERM', async () => {
  const grace = 15;
  await ok(['apply', '-f', '-'], hookedPod('failing-hook', {
    grace,
    container: `    lifecycle:
      preStop:
        exec: {command: [sh, -c, "echo no >&2; exit 3"]}`,
  }));
  await waitReady('failing-hook');
  const deletedAt = Date.now();
  await ok(['delete', 'pod', 'failing-hook', '-n', ns, '--wait=false']);
  const goneAt = await gone('failing-hook');
  assert.deepEqual(notes(join(work, 'failing-hook.events')).map((x) => x.what), ['start', 'term']);
  assert.ok(goneAt - deletedAt < grace * 1000, `gone ${goneAt - deletedAt} ms after the delete`);
  // kubelet records no details (they might hold secrets): "PreStopHook failed".
  assert.equal(await waitFor('the FailedPreStopHook event', async () => (await podEvents('failing-hook', 'FailedPreStopHook')) || undefined), 'PreStopHook failed');
});

test('a liveness failure runs the preStop hook before the container is restarted', async () => {
  const flag = join(work, 'liveness-hook.dead');
  await ok(['apply', '-f', '-'], hookedPod('liveness-hook', {
    grace: 15,
    env: { UNREADY_FLAG: flag },
    container: `    startupProbe:
      tcpSocket: {port: http}
      periodSeconds: 1
      failureThreshold: 30
    livenessProbe:
      httpGet: {path: /ready, port: http}
      periodSeconds: 1
      failureThreshold: 1
    lifecycle:
      preStop:
        httpGet: {path: /prestop, port: http}`,
  }));
  await waitReady('liveness-hook');
  const file = join(work, 'liveness-hook.events');
  writeFileSync(flag, '');
  await waitFor('SIGTERM after the liveness failure', () => notes(file).some((x) => x.what === 'term'), 15_000);
  rmSync(flag);
  await waitFor('restarted and Ready', async () => (await ok(['get', 'pod', 'liveness-hook', '-n', ns, '-o', 'jsonpath={.status.containerStatuses[0].restartCount} {.status.containerStatuses[0].ready}'])) === '1 true', 20_000);
  assert.deepEqual(notes(file).slice(0, 4).map((x) => x.what), ['start', 'prestop', 'term', 'start'], JSON.stringify(notes(file)));
  assert.match(await podEvents('liveness-hook', 'Killing'), /Container web failed liveness probe, will be restarted/);
  await ok(['delete', 'pod', 'liveness-hook', '-n', ns, '--wait=false']);
});

/** The pod's first env entries for flipserver: its notes file and port. */

interface PodJson {
  status?: {
    phase?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { name: string; ready: boolean; restartCount: number; started?: boolean; state?: { waiting?: { reason?: string; message?: string }; running?: object; terminated?: object } }[];
  };
}

async function podJson(name: string): Promise<PodJson> {
  return JSON.parse(await ok(['get', 'pod', name, '-n', ns, '-o', 'json'])) as PodJson;
}

const readyOf = (p: PodJson) => p.status?.conditions?.find((c) => c.type === 'Ready')?.status;
const containerOf = (p: PodJson, c: string) => p.status?.containerStatuses?.find((x) => x.name === c);

test('an exec postStart hook runs while the container runs; the next container starts after it, and the pod turns Ready only after it', async () => {
  const name = 'exec-poststart';
  const hookS = 3;
  const file = join(work, `${name}.events`);
  // The hook finds the container's process (the extra argument marks it; "[.]" keeps the
  // pattern from matching this shell's own command line) and notes its pid, then takes a while.
  await ok(['apply', '-f', '-'], `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${ns}}
spec:
  nodeName: ${node}
  terminationGracePeriodSeconds: 5
  containers:
  - name: web
    image: flipserver
    command: [python3, -u, ${flipServer}, ${name}]
    ports: [{name: http, containerPort: 8080}]
    env:
${flipEnv(name, '    ')}
    readinessProbe:
      tcpSocket: {port: http}
      periodSeconds: 1
    lifecycle:
      postStart:
        exec:
          command:
          - sh
          - -c
          - |
            for i in $(seq 100); do p=$(pgrep -f "flipserver[.]py ${name}") && break; sleep 0.05; done
            echo "hook $(date +%s%3N) $p" >> "$EVENTS"
            sleep ${hookS}
            echo "hookdone $(date +%s%3N)" >> "$EVENTS"
  - name: second
    image: busybox
    command: [sh, -c, 'echo "second $(date +%s%3N)" >> "$EVENTS"; exec sleep 600']
    env:
${flipEnv(name, '    ')}
`);
  await waitFor('the hook to begin', () => notes(file).some((x) => x.what === 'hook'), 20_000, 50);
  // While the hook runs kubelet writes no status: the container is shown as before its start.
  const during = await podJson(name);
  assert.ok(!notes(file).some((x) => x.what === 'hookdone'), 'the pod was read while the hook ran');
  assert.equal(during.status?.phase, 'Pending');
  assert.equal(readyOf(during), 'False');
  assert.deepEqual(containerOf(during, 'web')?.state, { waiting: { reason: 'ContainerCreating' } });
  assert.equal(containerOf(during, 'web')?.ready, false);
  assert.deepEqual(containerOf(during, 'second')?.state, { waiting: { reason: 'ContainerCreating' } });
  assert.match(await ok(['get', 'pod', name, '-n', ns, '--no-headers']), new RegExp(`^${name}\\s+0/2\\s+ContainerCreating\\s+0\\s`));

  const readyAt = await waitFor(`${name} Ready`, async () => (readyOf(await podJson(name)) === 'True' ? Date.now() : undefined), 20_000, 50);
  const n = notes(file);
  const start = n.find((x) => x.what === 'start');
  const hook = n.find((x) => x.what === 'hook');
  const hookDone = n.find((x) => x.what === 'hookdone');
  const second = n.find((x) => x.what === 'second');
  assert.ok(start && hook && hookDone && second, JSON.stringify(n));
  assert.equal(hook.extra, start.extra, 'the hook ran while the container\'s process (the pid it noted) ran');
  assert.ok(hookDone.at - hook.at >= hookS * 1000);
  assert.ok(second.at >= hookDone.at, `the second container started ${second.at - hookDone.at} ms after the hook ended: not before it`);
  assert.ok(readyAt >= hookDone.at, 'Ready only after the hook ended');
  const after = await podJson(name);
  assert.deepEqual(after.status?.containerStatuses?.map((c) => [c.name, c.ready, c.restartCount, !!c.state?.running]).sort(), [['second', true, 0, true], ['web', true, 0, true]].sort());
  assert.equal(await podEvents(name, 'FailedPostStartHook'), '');
  await ok(['delete', 'pod', name, '-n', ns, '--wait=false']);
});

test('an httpGet postStart hook calls the pod with kubelet\'s lifecycle User-Agent', async () => {
  const name = 'http-poststart';
  const file = join(work, `${name}.events`);
  // The server is a sidecar that has started (its startup probe passed) before the app
  // container starts: so the hook, fired right after the app's start, finds it listening.
  await ok(['apply', '-f', '-'], `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${ns}}
spec:
  nodeName: ${node}
  terminationGracePeriodSeconds: 5
  initContainers:
  - name: web
    image: flipserver
    restartPolicy: Always
    command: [python3, -u, ${flipServer}]
    ports: [{name: http, containerPort: 8080}]
    env:
${flipEnv(name, '    ')}
    startupProbe:
      tcpSocket: {port: http}
      periodSeconds: 1
      failureThreshold: 30
  containers:
  - name: app
    image: busybox
    command: [sleep, "600"]
    lifecycle:
      postStart:
        httpGet: {path: /poststart, port: 8080}
`);
  await waitReady(name);
  const n = notes(file);
  assert.deepEqual(n.map((x) => x.what), ['start', 'poststart'], JSON.stringify(n));
  assert.equal(n[1].extra, 'kube-lifecycle/1.33', 'the hook\'s request says who calls it, as kubelet does');
  assert.equal(await podEvents(name, 'FailedPostStartHook'), '');
  assert.equal(containerOf(await podJson(name), 'app')?.restartCount, 0);
  await ok(['delete', 'pod', name, '-n', ns, '--wait=false']);
});

test('deleting a pod while its postStart hook runs cuts the hook short: the container gets SIGTERM within the grace period, and no FailedPostStartHook is reported', async () => {
  const name = 'cut-poststart';
  const file = join(work, `${name}.events`);
  const grace = 3;
  await ok(['apply', '-f', '-'], hookedPod(name, {
    grace,
    container: `    lifecycle:
      postStart:
        exec:
          command: [sh, -c, 'echo "hook $(date +%s%3N)" >> "$EVENTS"; sleep 60']
`,
  }));
  // The hook (a shell) can note itself before python has installed its SIGTERM handler and noted
  // 'start'; a delete before that would kill the container without a 'term' note.
  await waitFor('the postStart hook running in a started container', () => {
    const n = notes(file);
    return n.some((x) => x.what === 'hook') && n.some((x) => x.what === 'start');
  }, 30_000, 50);
  const t0 = Date.now();
  await ok(['delete', 'pod', name, '-n', ns, '--wait=false']);
  const at = await gone(name, 30_000);
  // Not the hook's 60 s: the grace period, plus a margin for a loaded machine.
  assert.ok(at - t0 < (grace + 5) * 1000, `gone ${at - t0} ms after the delete`);
  assert.ok(notes(file).some((x) => x.what === 'term'), `the container got SIGTERM: ${JSON.stringify(notes(file))}`);
  assert.equal(await podEvents(name, 'FailedPostStartHook'), '', 'a cut hook is not a failed one');
});

test('a failing postStart hook: FailedPostStartHook, the container killed (preStop run) and restarted with back-off, shown as PostStartHookError then CrashLoopBackOff', async () => {
  const name = 'fail-poststart';
  const file = join(work, `${name}.events`);
  await ok(['apply', '-f', '-'], `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${ns}}
spec:
  nodeName: ${node}
  terminationGracePeriodSeconds: 5
  containers:
  - name: web
    image: flipserver
    command: [python3, -u, ${flipServer}]
    env:
${flipEnv(name, '    ')}
    lifecycle:
      postStart:
        exec:
          command: [sh, -c, 'echo "hook $(date +%s%3N)" >> "$EVENTS"; sleep 1; echo no such luck >&2; exit 3']
      preStop:
        exec:
          command: [sh, -c, 'echo "prestop $(date +%s%3N)" >> "$EVENTS"']
`);
  // Every state the container is shown in, until it waits in CrashLoopBackOff after one restart.
  const seen = new Map<string, string>();
  await waitFor('restarted once, then CrashLoopBackOff', async () => {
    const c = containerOf(await podJson(name), 'web');
    const w = c?.state?.waiting;
    if (c && w?.reason) seen.set(`${w.reason} ${c.restartCount}`, w.message ?? '');
    return w?.reason === 'CrashLoopBackOff' && c?.restartCount === 1;
  }, 30_000, 50);
  // The start error, with kubelet's message (the hook's command, exit code and output).
  const msg = seen.get('PostStartHookError 0') ?? seen.get('PostStartHookError 1');
  assert.ok(msg !== undefined, `PostStartHookError shown (saw ${JSON.stringify([...seen.keys()])})`);
  assert.match(msg, new RegExp(`^Exec lifecycle hook \\(\\[sh -c echo .*exit 3\\]\\) for Container "web" in Pod "${name}_${ns}\\([0-9a-f-]+\\)" failed - error: command 'sh -c .*' exited with 3: no such luck\\n, message: "no such luck\\\\n"$`));
  assert.match(await ok(['get', 'pod', name, '-n', ns, '--no-headers']), new RegExp(`^${name}\\s+0/1\\s+CrashLoopBackOff\\s+1 \\(\\S+ ago\\)\\s`));
  // As kubelet: no details in the event; the container stopped as killContainer does it.
  assert.match(await podEvents(name, 'FailedPostStartHook'), /^PostStartHook failed( PostStartHook failed)*$/);
  assert.match(await podEvents(name, 'Killing'), /^FailedPostStartHook( FailedPostStartHook)*$/);
  assert.match(await podEvents(name, 'BackOff'), /Back-off restarting failed container web/);
  const n = notes(file);
  assert.equal(n.filter((x) => x.what === 'hook').length, 2, JSON.stringify(n));
  assert.equal(n.filter((x) => x.what === 'start').length, 2, JSON.stringify(n));
  assert.equal(n.filter((x) => x.what === 'prestop').length, 2, 'preStop ran before each kill');
  await ok(['delete', 'pod', name, '-n', ns, '--wait=false']);
});
