import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerStatus, Pod } from 'kubernetes-types/core/v1.js';
import { containerStatus, podConditions, podPhase, podStatus, type ContainerView } from './status.ts';

const pod = (restartPolicy: 'Always' | 'OnFailure' | 'Never', init: string[] = [], main: string[] = ['a']): Pod => ({
  metadata: { name: 'p', namespace: 'ns', uid: 'u' },
  spec: { restartPolicy, initContainers: init.map((name) => ({ name })), containers: main.map((name) => ({ name })) },
  status: { qosClass: 'BestEffort', conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }] },
});

const running = (name: string): ContainerStatus => ({ name, ready: true, restartCount: 0, image: 'i', imageID: 'i', state: { running: {} } });
const exited = (name: string, exitCode: number): ContainerStatus => ({ name, ready: false, restartCount: 0, image: 'i', imageID: 'i', state: { terminated: { exitCode } } });
const waiting = (name: string, lastExit?: number): ContainerStatus => ({
  name,
  ready: false,
  restartCount: 0,
  image: 'i',
  imageID: 'i',
  state: { waiting: { reason: 'X' } },
  lastState: lastExit === undefined ? {} : { terminated: { exitCode: lastExit } },
});

test('the phase follows kubelet\'s getPhase', () => {
  const cases: [string, Pod, ContainerStatus[], ContainerStatus[], boolean, string][] = [
    ['nothing started', pod('Always'), [], [waiting('a')], false, 'Pending'],
    ['running', pod('Always'), [], [running('a')], false, 'Running'],
    ['restarting after a crash', pod('Always'), [], [waiting('a', 1)], false, 'Running'],
    ['Always with all exited', pod('Always'), [], [exited('a', 0)], false, 'Running'],
    ['OnFailure, succeeded', pod('OnFailure'), [], [exited('a', 0)], false, 'Succeeded'],
    ['OnFailure, failed and restarting', pod('OnFailure'), [], [exited('a', 1)], false, 'Running'],
    ['Never, failed', pod('Never'), [], [exited('a', 1)], false, 'Failed'],
    ['terminal, all succeeded', pod('Always'), [], [exited('a', 0)], true, 'Succeeded'],
    ['terminal, one failed', pod('Always', [], ['a', 'b']), [], [exited('a', 0), exited('b', 137)], true, 'Failed'],
    ['init running', pod('Always', ['i']), [running('i')], [waiting('a')], false, 'Pending'],
    ['init failed under Never', pod('Never', ['i']), [exited('i', 1)], [waiting('a')], false, 'Failed'],
    ['init done', pod('Always', ['i']), [exited('i', 0)], [running('a')], false, 'Running'],
    ['a container unknown', pod('Always', [], ['a', 'b']), [], [running('a')], false, 'Pending'],
  ];
  for (const [name, p, init, main, terminal, want] of cases) assert.equal(podPhase(p, init, main, terminal), want, name);
});

test('conditions carry kubelet\'s reasons and messages', () => {
  const p = pod('Always', ['setup'], ['a', 'b']);
  const byType = (cs: ReturnType<typeof podConditions>) => Object.fromEntries(cs.map((c) => [c.type, c]));
  const init = byType(podConditions(p, 'Pending', [running('setup')], [waiting('a'), waiting('b')], true));
  assert.equal(init.Initialized.status, 'False');
  assert.equal(init.Initialized.reason, 'ContainersNotInitialized');
  assert.equal(init.Initialized.message, 'containers with incomplete status: [setup]');
  assert.equal(init.Ready.message, 'containers with unready status: [a b]');
  assert.equal(init.ContainersReady.reason, 'ContainersNotReady');
  assert.equal(init.PodReadyToStartContainers.status, 'True');
  const up = byType(podConditions(p, 'Running', [exited('setup', 0)], [running('a'), running('b')], true));
  assert.deepEqual([up.Initialized.status, up.Ready.status, up.ContainersReady.status, up.PodScheduled.status], ['True', 'True', 'True', 'True']);
  const done = byType(podConditions(pod('Never'), 'Succeeded', [], [exited('a', 0)], false));
  assert.equal(done.Ready.reason, 'PodCompleted');
  assert.equal(done.PodReadyToStartContainers.status, 'False');
});

test('container statuses show running, waiting with the last termination, and terminated', () => {
  const base: ContainerView = { name: 'c', image: 'docker.io/library/busybox:latest', imageID: 'x', ready: true, started: true };
  const run = containerStatus({ ...base, current: { id: 'abc', state: 'running', startedAt: '2026-01-01T00:00:01.123456789Z', attempt: 2 }, previous: { id: 'old', state: 'exited', startedAt: '2026-01-01T00:00:00Z', finishedAt: '2026-01-01T00:00:00.5Z', exitCode: 1 } });
  assert.deepEqual(run.state, { running: { startedAt: '2026-01-01T00:00:01Z' } });
  assert.equal(run.restartCount, 2);
  assert.equal(run.containerID, 'svcnet://abc');
  assert.equal(run.lastState?.terminated?.reason, 'Error');
  assert.equal(run.ready, true);
  const backoff = containerStatus({ ...base, current: { id: 'abc', state: 'exited', startedAt: '2026-01-01T00:00:01Z', finishedAt: '2026-01-01T00:00:02Z', exitCode: 2, attempt: 1 }, waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s' } });
  assert.equal(backoff.state?.waiting?.reason, 'CrashLoopBackOff');
  assert.equal(backoff.lastState?.terminated?.exitCode, 2);
  assert.equal(backoff.ready, false);
  assert.equal(backoff.started, false);
  const done = containerStatus({ ...base, current: { id: 'abc', state: 'exited', startedAt: '2026-01-01T00:00:01Z', finishedAt: '2026-01-01T00:00:02Z', exitCode: 0, attempt: 0 } });
  assert.equal(done.state?.terminated?.reason, 'Completed');
  const creating = containerStatus(base);
  assert.deepEqual(creating.state, { waiting: { reason: 'ContainerCreating' } });
  assert.equal(creating.containerID, undefined);
});

test('the status keeps transition times of unchanged conditions and others\' conditions', () => {
  const p = pod('Always');
  p.status!.conditions!.push({ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:05Z' }, { type: 'example.com/gate', status: 'True' });
  const st = podStatus({
    pod: p,
    hostIPs: ['127.0.0.1'],
    podIPs: ['127.244.0.2'],
    sandboxReady: true,
    startTime: '2026-01-01T00:00:00.5Z',
    initContainers: [],
    containers: [{ name: 'a', image: 'i', imageID: 'i', ready: true, started: true, current: { id: 'x', state: 'running', startedAt: '2026-01-01T00:00:01Z', attempt: 0 } }],
    terminal: false,
    now: new Date('2026-01-01T00:01:00Z'),
  });
  assert.equal(st.phase, 'Running');
  assert.equal(st.podIP, '127.244.0.2');
  assert.deepEqual(st.podIPs, [{ ip: '127.244.0.2' }]);
  assert.equal(st.startTime, '2026-01-01T00:00:00Z');
  assert.equal(st.qosClass, 'BestEffort');
  const ready = st.conditions!.find((c) => c.type === 'Ready')!;
  assert.equal(ready.lastTransitionTime, '2026-01-01T00:00:05Z');
  assert.equal(st.conditions!.find((c) => c.type === 'ContainersReady')!.lastTransitionTime, '2026-01-01T00:01:00Z');
  assert.equal(st.conditions!.find((c) => c.type === 'PodScheduled')!.lastTransitionTime, '2026-01-01T00:00:00Z');
  assert.ok(st.conditions!.some((c) => c.type === 'example.com/gate'));
});
