// The node agent in host mode, end to end: the real `bin/svcnet server` with its in-process
// agent, the real kubectl, pods as host processes on their own loopback addresses. Covers the
// seed's mlflow pods (image table), logs, exec (plain, -i, -it under a pseudo-terminal, exit
// codes), probes, CrashLoopBackOff, graceful termination, and an unmapped image.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { Pods } from '../src/api/index.ts';
import { HttpClient } from '../src/client/index.ts';
import { startSvcnet, kubectl, run, type Svcnet } from './lib/svcnet.ts';
import { killPodProcesses, uniqueClusterCIDR, waitFor } from './lib/agent.ts';

const node = 'node-under-test';
let s: Svcnet;
let api: HttpClient;
let work: string;

function podYaml(name: string, container: string, extra = ''): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: mlflow
  labels: {app: ${name.startsWith('mlflow') ? 'mlflow' : name}}
spec:
  nodeName: ${node}
${extra}
  containers:
${container}`;
}

/** The seed's Deployment template (05-mlflow-deployment.yaml), as one pod bound to our node. */
function mlflowPod(name: string): string {
  return podYaml(name, `  - name: mlflow
    image: mlflow/mlflow
    ports:
    - containerPort: 5000`);
}

async function apply(yaml: string): Promise<void> {
  const r = await kubectl(s, ['apply', '-f', '-'], { input: yaml });
  assert.equal(r.code, 0, r.stderr);
}

async function pod(name: string): Promise<Pod> {
  return api.get<Pod>(Pods, 'mlflow', name);
}

function ready(p: Pod): boolean {
  return p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
}

async function waitReady(name: string): Promise<Pod> {
  return waitFor(`pod ${name} Ready`, async () => {
    const p = await pod(name);
    return ready(p) ? p : undefined;
  });
}

async function httpGet(url: string): Promise<string> {
  const r = await fetch(url, { signal: AbortSignal.timeout(3000) });
  return r.text();
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'svcnet-agent-host-'));
  writeFileSync(join(work, 'images.yaml'), 'mlflow/mlflow: agnhost netexec --http-port 5000\n');
  s = await startSvcnet({
    args: ['--image-table', join(work, 'images.yaml'), '--node-name', node, '--cluster-cidr', uniqueClusterCIDR(), '--crashloop-backoff-initial', '1s', '--crashloop-backoff-max', '4s'],
    env: { SVCNET_LOG_LEVEL: 'warn' },
  });
  api = HttpClient.fromKubeconfig(s.kubeconfig);
  await waitFor('the node Ready', async () => {
    const r = await kubectl(s, ['get', 'node', node, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
    return r.stdout === 'True';
  });
  const ns = await kubectl(s, ['apply', '-f', join('examples', '00-namespaces.yaml')]);
  assert.equal(ns.code, 0, ns.stderr);
  // The seed's Service (the Deployment's pods are made below, bound to this node).
  const svc = readFileSync(join('examples', '05-mlflow-deployment.yaml'), 'utf8').split(/^---$/m).find((d) => /kind: Service/.test(d))!;
  await apply(svc);
});

after(async () => {
  api?.close();
  if (s) {
    await s.stop();
    killPodProcesses(s.dataDir);
    s.cleanup();
  }
  killPodProcesses(work);
  rmSync(work, { recursive: true, force: true });
});

test('the seed\'s mlflow pods run with their own loopback addresses, both serving :5000', async () => {
  await apply(`${mlflowPod('mlflow-1')}\n---\n${mlflowPod('mlflow-2')}`);
  const [a, b] = await Promise.all([waitReady('mlflow-1'), waitReady('mlflow-2')]);
  const ipA = a.status!.podIP!;
  const ipB = b.status!.podIP!;
  assert.match(ipA, /^127\.\d+\.0\.\d+$/);
  assert.notEqual(ipA, ipB);
  assert.equal(a.status?.phase, 'Running');
  const nodeIP = (await kubectl(s, ['get', 'node', node, '-o', 'jsonpath={.status.addresses[?(@.type=="InternalIP")].address}'])).stdout;
  assert.match(nodeIP, /^127\./);
  assert.equal(a.status?.hostIP, nodeIP);
  assert.equal(a.status?.containerStatuses?.[0]?.restartCount, 0);
  assert.equal(await httpGet(`http://${ipA}:5000/hostname`), 'mlflow-1');
  assert.equal(await httpGet(`http://${ipB}:5000/hostname`), 'mlflow-2');
  const wide = await kubectl(s, ['get', 'pods', '-n', 'mlflow', '-o', 'wide']);
  assert.equal(wide.code, 0, wide.stderr);
  assert.match(wide.stdout, new RegExp(`mlflow-1\\s+1/1\\s+Running\\s+0\\s+\\S+\\s+${ipA.replaceAll('.', '\\.')}\\s+${node}`));
  assert.match(wide.stdout, new RegExp(`mlflow-2\\s+1/1\\s+Running\\s+0\\s+\\S+\\s+${ipB.replaceAll('.', '\\.')}\\s+${node}`));
  const nodeEvents = await kubectl(s, ['get', 'events', '-A', '--field-selector', `involvedObject.kind=Node,involvedObject.name=${node}`, '-o', 'jsonpath={.items[*].reason}']);
  for (const r of ['Starting', 'NodeHasSufficientMemory', 'NodeHasNoDiskPressure', 'NodeHasSufficientPID', 'NodeReady']) assert.ok(nodeEvents.stdout.split(' ').includes(r), `${r} in ${nodeEvents.stdout}`);
  const conds = (a.status?.conditions ?? []).map((c) => `${c.type}=${c.status}`).sort();
  assert.deepEqual(conds, ['ContainersReady=True', 'Initialized=True', 'PodReadyToStartContainers=True', 'PodScheduled=True', 'Ready=True']);
});

test('a pod marked unready by someone else (the node lifecycle controller) is put right by its agent', async () => {
  const p = await waitReady('mlflow-1');
  const conds = (p.status?.conditions ?? []).map((c) => (c.type === 'Ready' || c.type === 'ContainersReady' ? { ...c, status: 'False', reason: 'NodeNotReady' } : c));
  const marked = await api.patch<Pod>(Pods, 'mlflow', 'mlflow-1', 'merge', { status: { conditions: conds } }, {}, 'status');
  assert.equal(ready(marked), false);
  await waitReady('mlflow-1');
  // and it stays put: no write loop between the agent and its own informer
  const rv = (await pod('mlflow-1')).metadata!.resourceVersion;
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await pod('mlflow-1')).metadata!.resourceVersion, rv);
});

test('kubectl logs shows the container\'s output, with --tail, --timestamps and --follow', async () => {
  const ip = (await waitReady('mlflow-1')).status!.podIP!;
  await httpGet(`http://${ip}:5000/echo?msg=first`);
  const all = await kubectl(s, ['logs', '-n', 'mlflow', 'mlflow-1']);
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /Started HTTP server on port 5000/);
  assert.match(all.stdout, /GET \/echo\n$/);
  const tail = await kubectl(s, ['logs', '-n', 'mlflow', 'mlflow-1', '--tail=1', '--timestamps']);
  assert.match(tail.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z \S+ \S+ GET \/echo\n$/);
  const since = await kubectl(s, ['logs', '-n', 'mlflow', 'mlflow-1', '--since=1h', '--limit-bytes=10']);
  assert.equal(since.stdout.length, 10);
  // --follow: a request made after it started shows up, and the stream stays open.
  const f = spawn('kubectl', ['--kubeconfig', s.kubeconfig, 'logs', '-n', 'mlflow', 'mlflow-1', '-f', '--tail=0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let out = '';
    f.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((r) => setTimeout(r, 1000));
    await httpGet(`http://${ip}:5000/echo?msg=followed`);
    await waitFor('the followed line', () => out.includes('GET /echo'), 5000);
    assert.equal(f.exitCode, null);
  } finally {
    f.kill('SIGKILL');
  }
});

test('kubectl exec runs commands in the pod\'s environment, with exit codes, stdin and a terminal', async () => {
  const p = await waitReady('mlflow-1');
  const env = await kubectl(s, ['exec', '-n', 'mlflow', 'mlflow-1', '--', 'sh', '-c', 'echo $POD_IP $HOSTNAME $MLFLOW_SERVICE_SERVICE_PORT $MLFLOW_SERVICE_PORT_5000_TCP_PROTO; echo oops >&2']);
  assert.equal(env.code, 0, env.stderr);
  assert.equal(env.stdout, `${p.status!.podIP} mlflow-1 5000 tcp\n`);
  assert.equal(env.stderr, 'oops\n');
  const svcHost = await kubectl(s, ['exec', '-n', 'mlflow', 'mlflow-1', '--', 'printenv', 'MLFLOW_SERVICE_SERVICE_HOST', 'KUBERNETES_SERVICE_HOST']);
  const ips = await kubectl(s, ['get', 'svc', '-A', '--field-selector', 'metadata.name!=kube-dns', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.spec.clusterIP} {end}']);
  const ipOf: Record<string, string> = Object.fromEntries(ips.stdout.trim().split(' ').map((kv) => kv.split('=') as [string, string]));
  assert.equal(svcHost.stdout, `${ipOf['mlflow-service']}\n${ipOf.kubernetes}\n`);
  const three = await kubectl(s, ['exec', '-n', 'mlflow', 'mlflow-1', '--', 'sh', '-c', 'exit 3']);
  assert.equal(three.code, 3);
  assert.match(three.stderr, /command terminated with exit code 3/);
  const missing = await kubectl(s, ['exec', '-n', 'mlflow', 'mlflow-1', '--', 'no-such-program']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /executable file not found in \$PATH/);
  const bad = await kubectl(s, ['exec', '-n', 'mlflow', 'mlflow-1', '-c', 'nope', '--', 'true']);
  assert.match(bad.stderr, /container nope is not valid for pod mlflow-1/);
  const stdin = await kubectl(s, ['exec', '-i', '-n', 'mlflow', 'mlflow-1', '--', 'wc', '-c'], { input: 'twelve bytes' });
  assert.equal(stdin.stdout.trim(), '12');
  // The seed's "kubectl exec -it <pod> -- curl http://...:5000", to the other pod's address.
  const other = (await waitReady('mlflow-2')).status!.podIP!;
  const curl = await kubectl(s, ['exec', '-n', 'mlflow', 'mlflow-1', '--', 'curl', '-s', `http://${other}:5000/hostname`]);
  assert.equal(curl.stdout, 'mlflow-2');
  // -it under a pseudo-terminal (script gives kubectl one).
  const tty = await run('script', ['-qfec', `kubectl --kubeconfig ${s.kubeconfig} exec -it -n mlflow mlflow-1 -- sh`, '/dev/null'], { input: 'tty; echo "sum:$((6*7))"; exit 5\n' });
  assert.equal(tty.code, 5, tty.stdout + tty.stderr);
  assert.match(tty.stdout, /\/dev\/pts\/\d+/);
  assert.match(tty.stdout, /sum:42/);
});

test('kubectl logs --previous shows the instance before a restart', async () => {
  const before = await waitReady('mlflow-2');
  await httpGet(`http://${before.status!.podIP}:5000/echo?msg=before-restart`).catch(() => '');
  await httpGet(`http://${before.status!.podIP}:5000/exit?code=1`).catch(() => '');
  const after = await waitFor('mlflow-2 restarted and Ready', async () => {
    const p = await pod('mlflow-2');
    return p.status?.containerStatuses?.[0]?.restartCount === 1 && ready(p) ? p : undefined;
  });
  const last = after.status!.containerStatuses![0].lastState!.terminated!;
  assert.equal(last.exitCode, 1);
  assert.equal(last.reason, 'Error');
  assert.equal(after.status!.podIP, before.status!.podIP, 'a restart keeps the pod\'s address');
  const prev = await kubectl(s, ['logs', '-n', 'mlflow', 'mlflow-2', '--previous']);
  assert.equal(prev.code, 0, prev.stderr);
  assert.match(prev.stdout, /GET \/exit/);
  const cur = await kubectl(s, ['logs', '-n', 'mlflow', 'mlflow-2']);
  assert.doesNotMatch(cur.stdout, /GET \/exit/);
});

test('a failing readiness probe makes the pod unready within period × threshold + 1 s, and ready again', async () => {
  const flag = join(work, 'unready');
  await apply(
    podYaml(
      'probed',
      `  - name: web
    image: registry.k8s.io/e2e-test-images/agnhost:2.53
    args: [netexec, --http-port=8080, --udp-port=-1]
    readinessProbe:
      exec: {command: [sh, -c, "test ! -e ${flag}"]}
      periodSeconds: 1
      failureThreshold: 2`,
    ),
  );
  await waitReady('probed');
  const start = Date.now();
  writeFileSync(flag, '');
  const seen = await waitFor('Ready=False', async () => ((await pod('probed').then(ready)) ? undefined : Date.now()), 10_000, 50);
  assert.ok(seen - start <= 1 * 2 * 1000 + 1000 + 200, `unready after ${seen - start} ms`);
  const p = await pod('probed');
  assert.equal(p.status?.containerStatuses?.[0]?.ready, false);
  assert.equal(p.status?.containerStatuses?.[0]?.restartCount, 0);
  assert.equal(p.status?.conditions?.find((c) => c.type === 'Ready')?.message, 'containers with unready status: [web]');
  rmSync(flag);
  await waitReady('probed');
  const ev = await kubectl(s, ['get', 'events', '-n', 'mlflow', '--field-selector', 'involvedObject.name=probed,reason=Unhealthy', '-o', 'jsonpath={.items[*].message}']);
  assert.match(ev.stdout, /Readiness probe failed/);
});

test('a failing liveness probe restarts the container', async () => {
  const flag = join(work, 'dead');
  await apply(
    podYaml(
      'alive',
      `  - name: web
    image: registry.k8s.io/e2e-test-images/agnhost:2.53
    args: [pause]
    livenessProbe:
      exec: {command: [sh, -c, "test ! -e ${flag}"]}
      periodSeconds: 1
      failureThreshold: 1`,
    ),
  );
  await waitReady('alive');
  writeFileSync(flag, '');
  await waitFor('a restart', async () => ((await pod('alive')).status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1, 15_000);
  rmSync(flag);
  const ev = await kubectl(s, ['get', 'events', '-n', 'mlflow', '--field-selector', 'involvedObject.name=alive,reason=Killing', '-o', 'jsonpath={.items[*].message}']);
  assert.match(ev.stdout, /Container web failed liveness probe, will be restarted/);
});

test('a crashing container backs off as CrashLoopBackOff', async () => {
  await apply(podYaml('crasher', `  - name: c
    image: busybox
    command: [sh, -c, "echo crashing; exit 2"]
    terminationMessagePolicy: FallbackToLogsOnError`));
  const p = await waitFor('CrashLoopBackOff', async () => {
    const x = await pod('crasher');
    return x.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff' ? x : undefined;
  });
  const cs = p.status!.containerStatuses![0];
  assert.match(cs.state!.waiting!.message!, /^back-off \d+s restarting failed container=c pod=crasher_mlflow\(/);
  assert.equal(cs.lastState?.terminated?.exitCode, 2);
  assert.equal(cs.lastState?.terminated?.message, 'crashing\n', 'FallbackToLogsOnError: the log\'s end is the message');
  assert.equal(p.status?.phase, 'Running');
  const get = await kubectl(s, ['get', 'pod', 'crasher', '-n', 'mlflow']);
  assert.match(get.stdout, /crasher\s+0\/1\s+CrashLoopBackOff\s+\d+ \(\S+ ago\)/);
  const logs = await kubectl(s, ['logs', '-n', 'mlflow', 'crasher']);
  assert.match(logs.stdout, /crashing/);
  await kubectl(s, ['delete', 'pod', 'crasher', '-n', 'mlflow', '--wait=false']);
});

test('deleting a pod runs preStop, then SIGTERM, then SIGKILL after the grace period', async () => {
  const order = join(work, 'order');
  await apply(
    podYaml(
      'graceful',
      `  - name: c
    image: busybox
    command: [sh, -c, "trap 'echo term >> ${order}' TERM; echo $$ > ${order}.pid; while true; do sleep 0.1; done"]
    lifecycle:
      preStop:
        exec: {command: [sh, -c, "echo prestop >> ${order}"]}`,
      '  terminationGracePeriodSeconds: 2',
    ),
  );
  await waitReady('graceful');
  const pid = Number(readFileSync(`${order}.pid`, 'utf8'));
  const start = Date.now();
  const del = await kubectl(s, ['delete', 'pod', 'graceful', '-n', 'mlflow']);
  const took = Date.now() - start;
  assert.equal(del.code, 0, del.stderr);
  assert.deepEqual(readFileSync(order, 'utf8').trim().split('\n'), ['prestop', 'term']);
  assert.ok(took >= 2000, `deleted after ${took} ms, before the grace period ended`);
  assert.ok(took < 8000, `deleted after ${took} ms`);
  assert.equal(existsSync(`/proc/${pid}`), false, 'the process that ignored SIGTERM was killed');
  const gone = await kubectl(s, ['get', 'pod', 'graceful', '-n', 'mlflow']);
  assert.match(gone.stderr, /NotFound/);
});

test('an image the node cannot run waits with ImageNotMapped and says how to map it', async () => {
  await apply(podYaml('unmapped', `  - name: web
    image: nginx:1.25`));
  const p = await waitFor('ImageNotMapped', async () => {
    const x = await pod('unmapped');
    return x.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ImageNotMapped' ? x : undefined;
  });
  const msg = p.status!.containerStatuses![0].state!.waiting!.message!;
  assert.match(msg, /image "nginx:1\.25" is not mapped/);
  assert.ok(msg.includes(join(work, 'images.yaml')), msg);
  assert.equal(p.status?.phase, 'Pending');
  const logs = await kubectl(s, ['logs', '-n', 'mlflow', 'unmapped']);
  assert.match(logs.stderr, /container "web" in pod "unmapped" is waiting to start: ImageNotMapped/);
  // Mapping it later starts it.
  writeFileSync(join(work, 'images.yaml'), 'mlflow/mlflow: agnhost netexec --http-port 5000\nnginx: agnhost netexec --http-port 80 --udp-port=-1\n');
  const up = await waitReady('unmapped');
  assert.equal(await httpGet(`http://${up.status!.podIP}:80/hostname`), 'unmapped');
});

test('init containers run one after another before the app; a finished pod is Completed', async () => {
  const f = join(work, 'init-order');
  await apply(
    podYaml(
      'initialized',
      `  - name: main
    image: busybox
    command: [sh, -c, "echo main >> ${f}"]`,
      `  restartPolicy: Never
  initContainers:
  - name: first
    image: busybox
    command: [sh, -c, "sleep 0.3; echo first >> ${f}"]
  - name: second
    image: busybox
    command: [sh, -c, "echo second >> ${f}"]`,
    ),
  );
  const p = await waitFor('Succeeded', async () => {
    const x = await pod('initialized');
    return x.status?.phase === 'Succeeded' ? x : undefined;
  });
  assert.deepEqual(readFileSync(f, 'utf8').trim().split('\n'), ['first', 'second', 'main']);
  assert.deepEqual(p.status?.initContainerStatuses?.map((s) => [s.name, s.state?.terminated?.reason]), [
    ['first', 'Completed'],
    ['second', 'Completed'],
  ]);
  assert.equal(p.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 0);
  assert.equal(p.status?.conditions?.find((c) => c.type === 'Ready')?.reason, 'PodCompleted');
  const get = await kubectl(s, ['get', 'pod', 'initialized', '-n', 'mlflow']);
  assert.match(get.stdout, /initialized\s+0\/1\s+Completed\s+0/);
  const logs = await kubectl(s, ['logs', '-n', 'mlflow', 'initialized', '-c', 'first']);
  assert.equal(logs.code, 0, logs.stderr);
});

test('a sidecar (restartable init container) starts before the app and runs beside it', async () => {
  await apply(
    podYaml(
      'with-sidecar',
      `  - name: app
    image: registry.k8s.io/e2e-test-images/agnhost:2.53
    args: [netexec, --http-port=8080, --udp-port=-1]`,
      `  initContainers:
  - name: sidecar
    image: registry.k8s.io/e2e-test-images/agnhost:2.53
    restartPolicy: Always
    args: [netexec, --http-port=9090, --udp-port=-1]
    startupProbe:
      tcpSocket: {port: 9090}
      periodSeconds: 1`,
    ),
  );
  const p = await waitReady('with-sidecar');
  const side = p.status!.initContainerStatuses![0];
  assert.equal(side.name, 'sidecar');
  assert.ok(side.state?.running, 'the sidecar keeps running');
  assert.equal(side.started, true);
  assert.equal(p.status?.phase, 'Running');
  assert.equal(await httpGet(`http://${p.status.podIP}:9090/hostname`), 'with-sidecar');
  assert.equal(await httpGet(`http://${p.status.podIP}:8080/hostname`), 'with-sidecar');
  const get = await kubectl(s, ['get', 'pod', 'with-sidecar', '-n', 'mlflow']);
  assert.match(get.stdout, /with-sidecar\s+2\/2\s+Running/);
});

test('changing a running container\'s image restarts it', async () => {
  await apply(podYaml('retagged', `  - name: c
    image: busybox:1.36
    command: [sleep, "3600"]`));
  const before = await waitReady('retagged');
  const r = await kubectl(s, ['set', 'image', 'pod/retagged', '-n', 'mlflow', 'c=busybox:1.37']);
  assert.equal(r.code, 0, r.stderr);
  const after = await waitFor('the restart', async () => {
    const p = await pod('retagged');
    const cs = p.status?.containerStatuses?.[0];
    return cs?.restartCount === 1 && cs.ready ? p : undefined;
  });
  assert.notEqual(after.status!.containerStatuses![0].containerID, before.status!.containerStatuses![0].containerID);
  assert.equal(after.status!.containerStatuses![0].image, 'docker.io/library/busybox:1.37');
  const ev = await kubectl(s, ['get', 'events', '-n', 'mlflow', '--field-selector', 'involvedObject.name=retagged,reason=Killing', '-o', 'jsonpath={.items[*].message}']);
  assert.match(ev.stdout, /Container c definition changed, will be restarted/);
});
