// Pods refused as kube-apiserver 1.33 refuses them, and the Pod update rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Container, Pod, PodSpec } from 'kubernetes-types/core/v1.js';
import { Pods, invalid } from '../index.ts';
import { defaultObject } from '../defaults/index.ts';
import { prepareForCreate, prepareForUpdate } from '../strategy/index.ts';
import { validateCreate, validatePodBinding, validateUpdate } from './index.ts';

const gk = { group: '', kind: 'Pod' };

function pod(spec: Partial<PodSpec>, name = 'web'): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: structuredClone({ containers: [{ name: 'app', image: 'nginx:1.27' }], ...spec }) };
}

function withContainer(c: Partial<Container>): Pod {
  return pod({ containers: [{ name: 'app', image: 'nginx:1.27', ...c }] });
}

function createMessage(p: Pod): string | undefined {
  defaultObject(Pods, p);
  prepareForCreate(Pods, p);
  const errs = validateCreate(Pods, p);
  return errs.length ? invalid(gk, p.metadata?.name ?? '', errs).message : undefined;
}

const portRange = 'must be between 1 and 65535, inclusive';

const invalidPods: { name: string; obj: Pod; message: string }[] = [
  {
    name: 'an upper-case name',
    obj: pod({}, 'Web'),
    message:
      "Pod \"Web\" is invalid: metadata.name: Invalid value: \"Web\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
  },
  { name: 'no containers', obj: pod({ containers: [] }), message: 'Pod "web" is invalid: spec.containers: Required value' },
  { name: 'a container without a name', obj: withContainer({ name: '' }), message: 'Pod "web" is invalid: spec.containers[0].name: Required value' },
  {
    name: 'an upper-case container name',
    obj: withContainer({ name: 'App' }),
    message:
      "Pod \"web\" is invalid: spec.containers[0].name: Invalid value: \"App\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
  },
  {
    name: 'two containers with one name',
    obj: pod({ containers: [{ name: 'app', image: 'a:1' }, { name: 'app', image: 'b:1' }] }),
    message: 'Pod "web" is invalid: spec.containers[1].name: Duplicate value: "app"',
  },
  { name: 'a container without image', obj: withContainer({ image: '' }), message: 'Pod "web" is invalid: spec.containers[0].image: Required value' },
  {
    name: 'an image with a trailing space',
    obj: withContainer({ image: 'nginx:1.27 ' }),
    message: 'Pod "web" is invalid: spec.containers[0].image: Invalid value: "nginx:1.27 ": must not have leading or trailing whitespace',
  },
  { name: 'a port without containerPort', obj: withContainer({ ports: [{ containerPort: 0 }] }), message: 'Pod "web" is invalid: spec.containers[0].ports[0].containerPort: Required value' },
  {
    name: 'containerPort 70000',
    obj: withContainer({ ports: [{ containerPort: 70000 }] }),
    message: `Pod "web" is invalid: spec.containers[0].ports[0].containerPort: Invalid value: 70000: ${portRange}`,
  },
  {
    name: 'a port name of 16 characters',
    obj: withContainer({ ports: [{ name: 'abcdefghijklmnop', containerPort: 80 }] }),
    message: 'Pod "web" is invalid: spec.containers[0].ports[0].name: Invalid value: "abcdefghijklmnop": must be no more than 15 characters',
  },
  {
    name: 'two ports with one name',
    obj: withContainer({ ports: [{ name: 'http', containerPort: 80 }, { name: 'http', containerPort: 81 }] }),
    message: 'Pod "web" is invalid: spec.containers[0].ports[1].name: Duplicate value: "http"',
  },
  {
    name: 'protocol http',
    obj: withContainer({ ports: [{ containerPort: 80, protocol: 'http' }] }),
    message: 'Pod "web" is invalid: spec.containers[0].ports[0].protocol: Unsupported value: "http": supported values: "SCTP", "TCP", "UDP"',
  },
  {
    name: 'the same host port twice',
    obj: pod({ containers: [{ name: 'a', image: 'a:1', ports: [{ containerPort: 80, hostPort: 8080 }] }, { name: 'b', image: 'b:1', ports: [{ containerPort: 81, hostPort: 8080 }] }] }),
    message: 'Pod "web" is invalid: spec.containers[1].ports[0].hostPort: Duplicate value: "TCP//8080"',
  },
  { name: 'an env var without name', obj: withContainer({ env: [{ name: '', value: 'x' }] }), message: 'Pod "web" is invalid: spec.containers[0].env[0].name: Required value' },
  {
    name: 'an env var name with =',
    obj: withContainer({ env: [{ name: 'A=B', value: 'x' }] }),
    message: "Pod \"web\" is invalid: spec.containers[0].env[0].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='",
  },
  {
    name: 'an env var with both value and valueFrom',
    obj: withContainer({ env: [{ name: 'A', value: 'x', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] }),
    message: 'Pod "web" is invalid: spec.containers[0].env[0].valueFrom: Invalid value: "": may not be specified when `value` is not empty',
  },
  {
    name: 'an env var from an unknown field',
    obj: withContainer({ env: [{ name: 'A', valueFrom: { fieldRef: { fieldPath: 'spec.foo' } } }] }),
    message: 'Pod "web" is invalid: spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Invalid value: "spec.foo": error converting fieldPath: field label not supported: spec.foo',
  },
  {
    name: 'an env var from status.phase',
    obj: withContainer({ env: [{ name: 'A', valueFrom: { fieldRef: { fieldPath: 'status.phase' } } }] }),
    message:
      'Pod "web" is invalid: spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Unsupported value: "status.phase": supported values: "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"',
  },
  {
    name: 'a probe without handler',
    obj: withContainer({ livenessProbe: { periodSeconds: 5 } }),
    message: 'Pod "web" is invalid: spec.containers[0].livenessProbe: Required value: must specify a handler type',
  },
  {
    name: 'a probe with two handlers',
    obj: withContainer({ readinessProbe: { httpGet: { port: 80 }, tcpSocket: { port: 80 } } }),
    message: 'Pod "web" is invalid: spec.containers[0].readinessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type',
  },
  {
    name: 'a liveness probe with successThreshold 2',
    obj: withContainer({ livenessProbe: { tcpSocket: { port: 80 }, successThreshold: 2 } }),
    message: 'Pod "web" is invalid: spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1',
  },
  {
    name: 'a probe with a negative period',
    obj: withContainer({ readinessProbe: { tcpSocket: { port: 80 }, periodSeconds: -1 } }),
    message: 'Pod "web" is invalid: spec.containers[0].readinessProbe.periodSeconds: Invalid value: -1: must be greater than or equal to 0',
  },
  {
    name: 'an httpGet probe on port 0',
    obj: withContainer({ readinessProbe: { httpGet: { port: 0 } } }),
    message: `Pod "web" is invalid: spec.containers[0].readinessProbe.httpGet.port: Invalid value: 0: ${portRange}`,
  },
  {
    name: 'an httpGet probe over FTP',
    obj: withContainer({ readinessProbe: { httpGet: { port: 80, scheme: 'FTP' } } }),
    message: 'Pod "web" is invalid: spec.containers[0].readinessProbe.httpGet.scheme: Unsupported value: "FTP": supported values: "HTTP", "HTTPS"',
  },
  {
    name: 'a readiness probe with a termination grace period',
    obj: withContainer({ readinessProbe: { tcpSocket: { port: 80 }, terminationGracePeriodSeconds: 10 } }),
    message: 'Pod "web" is invalid: spec.containers[0].readinessProbe.terminationGracePeriodSeconds: Invalid value: 10: must not be set for readinessProbes',
  },
  {
    name: 'imagePullPolicy Sometimes',
    obj: withContainer({ imagePullPolicy: 'Sometimes' }),
    message: 'Pod "web" is invalid: spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"',
  },
  {
    name: 'a mount of a volume that does not exist',
    obj: withContainer({ volumeMounts: [{ name: 'data', mountPath: '/data' }] }),
    message: 'Pod "web" is invalid: spec.containers[0].volumeMounts[0].name: Not found: "data"',
  },
  {
    name: 'restartPolicy Sometimes',
    obj: pod({ restartPolicy: 'Sometimes' }),
    message: 'Pod "web" is invalid: spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
  },
  {
    name: 'dnsPolicy Cluster',
    obj: pod({ dnsPolicy: 'Cluster' }),
    message: 'Pod "web" is invalid: spec.dnsPolicy: Unsupported value: "Cluster": supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"',
  },
  {
    name: 'dnsPolicy None without dnsConfig',
    obj: pod({ dnsPolicy: 'None' }),
    message: 'Pod "web" is invalid: spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None',
  },
  {
    name: 'activeDeadlineSeconds 0',
    obj: pod({ activeDeadlineSeconds: 0 }),
    message: 'Pod "web" is invalid: spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive',
  },
  {
    name: 'a toleration with seconds but not NoExecute',
    obj: pod({ tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 10 }] }),
    message: "Pod \"web\" is invalid: spec.tolerations[0].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set",
  },
  {
    name: 'a volume named twice',
    obj: pod({ volumes: [{ name: 'v', emptyDir: {} }, { name: 'v', emptyDir: {} }] }),
    message: 'Pod "web" is invalid: spec.volumes[1].name: Duplicate value: "v"',
  },
];

for (const c of invalidPods) {
  test(`a Pod with ${c.name} is refused with Kubernetes' message`, () => {
    assert.equal(createMessage(structuredClone(c.obj)), c.message);
  });
}

test('a Pod as kubectl run makes it is accepted and gets admission defaults', () => {
  const p = pod({ containers: [{ name: 'app', image: 'registry.k8s.io/e2e-test-images/agnhost:2.53', args: ['netexec'], ports: [{ containerPort: 8080 }] }] });
  assert.equal(createMessage(p), undefined);
  assert.equal(p.spec?.serviceAccountName, 'default');
  assert.equal(p.spec?.priority, 0);
  assert.equal(p.spec?.preemptionPolicy, 'PreemptLowerPriority');
  assert.deepEqual(
    p.spec?.tolerations?.map((t) => [t.key, t.tolerationSeconds]),
    [
      ['node.kubernetes.io/not-ready', 300],
      ['node.kubernetes.io/unreachable', 300],
    ],
  );
  assert.deepEqual(p.status, { phase: 'Pending', qosClass: 'BestEffort' });
});

function stored(p: Pod): Pod {
  assert.equal(createMessage(p), undefined);
  p.metadata = { ...p.metadata, resourceVersion: '1', uid: 'u1' };
  return p;
}

function updateMessage(next: Pod, old: Pod, sub?: string): string | undefined {
  defaultObject(Pods, next);
  prepareForUpdate(Pods, next, old, sub);
  const errs = validateUpdate(Pods, next, old, sub);
  return errs.length ? invalid(gk, 'web', errs).message : undefined;
}

test('a Pod update may change a container image', () => {
  const old = stored(pod({}));
  const next = structuredClone(old);
  (next.spec?.containers[0] as Container).image = 'nginx:1.28';
  assert.equal(updateMessage(next, old), undefined);
});

test('a Pod update may not add a container', () => {
  const old = stored(pod({}));
  const next = structuredClone(old);
  next.spec?.containers.push({ name: 'side', image: 'busybox:1' });
  assert.equal(updateMessage(next, old), 'Pod "web" is invalid: spec.containers: Forbidden: pod updates may not add or remove containers');
});

test('a Pod update may not change other spec fields', () => {
  const old = stored(pod({}));
  const next = structuredClone(old);
  (next.spec as PodSpec).restartPolicy = 'Never';
  const msg = updateMessage(next, old) ?? '';
  assert.ok(
    msg.startsWith(
      'Pod "web" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n',
    ),
    msg,
  );
  assert.match(msg, /restartPolicy: "Always" -> "Never"/);
});

test('a Pod update may add a toleration but not change one', () => {
  const old = stored(pod({}));
  const added = structuredClone(old);
  added.spec?.tolerations?.push({ key: 'dedicated', operator: 'Equal', value: 'x', effect: 'NoSchedule' });
  assert.equal(updateMessage(added, old), undefined);
  const changed = structuredClone(old);
  const t = changed.spec?.tolerations?.[0];
  if (t) t.effect = 'NoSchedule';
  assert.equal(
    updateMessage(changed, old),
    'Pod "web" is invalid: [spec.tolerations[0].effect: Invalid value: "NoSchedule": effect must be \'NoExecute\' when `tolerationSeconds` is set, spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds]',
  );
});

test('activeDeadlineSeconds may only go down', () => {
  const old = stored(pod({ activeDeadlineSeconds: 100 }));
  const next = structuredClone(old);
  (next.spec as PodSpec).activeDeadlineSeconds = 200;
  assert.equal(updateMessage(next, old), 'Pod "web" is invalid: spec.activeDeadlineSeconds: Invalid value: 200: must be less than or equal to previous value');
  const lower = structuredClone(old);
  (lower.spec as PodSpec).activeDeadlineSeconds = 50;
  assert.equal(updateMessage(lower, old), undefined);
});

test('a Pod update keeps the status; a status update keeps the spec', () => {
  const old = stored(pod({}));
  const next = structuredClone(old);
  (next as { status?: Pod['status'] }).status = { phase: 'Running' };
  assert.equal(updateMessage(next, old), undefined);
  assert.equal(next.status?.phase, 'Pending');
  const st = structuredClone(old);
  (st as { status?: Pod['status'] }).status = { phase: 'Running', podIP: '10.244.1.5', podIPs: [{ ip: '10.244.1.5' }], qosClass: 'BestEffort' };
  (st.spec as PodSpec).restartPolicy = 'Never';
  assert.equal(updateMessage(st, old, 'status'), undefined);
  assert.equal(st.status?.phase, 'Running');
  assert.equal(st.spec?.restartPolicy, 'Always');
});

test('a status update with two pod IPs of one family is refused', () => {
  const old = stored(pod({}));
  const st = structuredClone(old);
  (st as { status?: Pod['status'] }).status = { phase: 'Running', qosClass: 'BestEffort', podIPs: [{ ip: '10.244.1.5' }, { ip: '10.244.1.6' }] };
  assert.equal(
    updateMessage(st, old, 'status'),
    'Pod "web" is invalid: status.podIPs: Invalid value: []core.PodIP{core.PodIP{IP:"10.244.1.5"}, core.PodIP{IP:"10.244.1.6"}}: may specify no more than one IP for each IP family',
  );
});

test('a Pod that must not restart may not leave the terminated state', () => {
  const old = stored(pod({ restartPolicy: 'Never' }));
  (old as { status?: Pod['status'] }).status = { phase: 'Failed', qosClass: 'BestEffort', containerStatuses: [{ name: 'app', image: 'nginx:1.27', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 1 } } }] };
  const st = structuredClone(old);
  (st as { status?: Pod['status'] }).status = { phase: 'Running', qosClass: 'BestEffort', containerStatuses: [{ name: 'app', image: 'nginx:1.27', imageID: '', ready: true, restartCount: 1, state: { running: {} } }] };
  assert.equal(updateMessage(st, old, 'status'), 'Pod "web" is invalid: status.containerStatuses[0].state: Forbidden: may not be transitioned to non-terminated state');
});

test('a binding to something other than a Node is refused', () => {
  assert.equal(
    invalid({ group: '', kind: 'Binding' }, 'web', validatePodBinding({ target: { kind: 'Pod', name: 'x' } })).message,
    'Binding "web" is invalid: target.kind: Unsupported value: "Pod": supported values: "Node", "<empty>"',
  );
  assert.deepEqual(validatePodBinding({ target: { kind: 'Node', name: 'worker1' } }), []);
});
