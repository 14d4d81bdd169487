// Deployments and ReplicaSets refused as kube-apiserver 1.33 refuses them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Deployment, DeploymentSpec, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import { Deployments, ReplicaSets, invalid } from '../index.ts';
import { defaultObject } from '../defaults/index.ts';
import { prepareForCreate, prepareForUpdate } from '../strategy/index.ts';
import { validateCreate, validateScale, validateUpdate } from './index.ts';

const gk = { group: 'apps', kind: 'Deployment' };

function deployment(spec: object): Deployment {
  const base: DeploymentSpec = {
    replicas: 2,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } },
  };
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' }, spec: structuredClone({ ...base, ...spec }) };
}

function createMessage(d: Deployment): string | undefined {
  defaultObject(Deployments, d);
  prepareForCreate(Deployments, d);
  const errs = validateCreate(Deployments, d);
  return errs.length ? invalid(gk, d.metadata?.name ?? '', errs).message : undefined;
}

const mismatch = 'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`';

const invalidDeployments: { name: string; obj: Deployment; message: string }[] = [
  { name: 'no selector', obj: deployment({ selector: undefined }), message: `Deployment.apps "web" is invalid: [spec.selector: Required value, ${mismatch}]` },
  { name: 'a selector that does not match the template', obj: deployment({ selector: { matchLabels: { app: 'api' } } }), message: `Deployment.apps "web" is invalid: ${mismatch}` },
  {
    name: 'an empty selector',
    obj: deployment({ selector: {} }),
    message: 'Deployment.apps "web" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment',
  },
  {
    name: 'a selector expression without values',
    obj: deployment({ selector: { matchExpressions: [{ key: 'app', operator: 'In' }] } }),
    message: "Deployment.apps \"web\" is invalid: [spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn', " + mismatch + ']',
  },
  { name: 'replicas -1', obj: deployment({ replicas: -1 }), message: 'Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0' },
  {
    name: 'a template that never restarts',
    obj: deployment({ template: { metadata: { labels: { app: 'web' } }, spec: { restartPolicy: 'Never', containers: [{ name: 'web', image: 'nginx:1.27' }] } } }),
    message: 'Deployment.apps "web" is invalid: spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
  },
  {
    name: 'a template without containers',
    obj: deployment({ template: { metadata: { labels: { app: 'web' } }, spec: { containers: [] } } }),
    message: 'Deployment.apps "web" is invalid: spec.template.spec.containers: Required value',
  },
  {
    name: 'maxUnavailable and maxSurge both 0',
    obj: deployment({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 0 } } }),
    message: 'Deployment.apps "web" is invalid: spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:""}: may not be 0 when `maxSurge` is 0',
  },
  {
    name: 'maxUnavailable 150%',
    obj: deployment({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '150%' } } }),
    message: 'Deployment.apps "web" is invalid: spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"150%"}: must not be greater than 100%',
  },
  {
    name: 'maxSurge of 20 percent written as a word',
    obj: deployment({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 'twenty' } } }),
    message:
      "Deployment.apps \"web\" is invalid: spec.strategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"twenty\"}: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
  },
  {
    name: 'a Recreate strategy with rollingUpdate',
    obj: deployment({ strategy: { type: 'Recreate', rollingUpdate: { maxSurge: 1 } } }),
    message: "Deployment.apps \"web\" is invalid: spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'",
  },
  {
    name: 'a progress deadline below minReadySeconds',
    obj: deployment({ minReadySeconds: 30, progressDeadlineSeconds: 10 }),
    message: 'Deployment.apps "web" is invalid: spec.progressDeadlineSeconds: Invalid value: 10: must be greater than minReadySeconds',
  },
];

for (const c of invalidDeployments) {
  test(`a Deployment with ${c.name} is refused with Kubernetes' message`, () => {
    assert.equal(createMessage(structuredClone(c.obj)), c.message);
  });
}

function stored(d: Deployment): Deployment {
  assert.equal(createMessage(d), undefined);
  d.metadata = { ...d.metadata, resourceVersion: '1', uid: 'u1' };
  return d;
}

test('a new Deployment has generation 1 and an empty status', () => {
  const d = stored(deployment({}));
  assert.equal(d.metadata?.generation, 1);
  assert.deepEqual(d.status, {});
});

test('changing a Deployment selector is refused: field is immutable', () => {
  const old = stored(deployment({}));
  const next = structuredClone(old);
  next.spec = { ...next.spec, selector: { matchLabels: { app: 'web', tier: 'front' } } } as DeploymentSpec;
  const tpl = next.spec.template;
  tpl.metadata = { ...tpl.metadata, labels: { app: 'web', tier: 'front' } };
  defaultObject(Deployments, next);
  prepareForUpdate(Deployments, next, old);
  assert.equal(
    invalid(gk, 'web', validateUpdate(Deployments, next, old)).message,
    'Deployment.apps "web" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", "tier":"front"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
  );
});

test('a spec change bumps the generation; a status update does not', () => {
  const old = stored(deployment({}));
  const next = structuredClone(old);
  (next.spec as DeploymentSpec).replicas = 3;
  prepareForUpdate(Deployments, next, old);
  assert.deepEqual(validateUpdate(Deployments, next, old), []);
  assert.equal(next.metadata?.generation, 2);
  const st = structuredClone(old);
  (st as { status?: Deployment['status'] }).status = { replicas: 2, readyReplicas: 2, availableReplicas: 2, updatedReplicas: 2, observedGeneration: 1 };
  (st.spec as DeploymentSpec).replicas = 5;
  prepareForUpdate(Deployments, st, old, 'status');
  assert.deepEqual(validateUpdate(Deployments, st, old, 'status'), []);
  assert.equal(st.metadata?.generation, 1);
  assert.equal(st.spec?.replicas, 2);
});

test('a Deployment status with more ready than total replicas is refused', () => {
  const old = stored(deployment({}));
  const st = structuredClone(old);
  (st as { status?: Deployment['status'] }).status = { replicas: 1, readyReplicas: 2, availableReplicas: 2 };
  prepareForUpdate(Deployments, st, old, 'status');
  assert.equal(
    invalid(gk, 'web', validateUpdate(Deployments, st, old, 'status')).message,
    'Deployment.apps "web" is invalid: [status.readyReplicas: Invalid value: 2: cannot be greater than status.replicas, status.availableReplicas: Invalid value: 2: cannot be greater than status.replicas]',
  );
});

test('a ReplicaSet whose selector does not match its template is refused', () => {
  const rs: ReplicaSet = {
    metadata: { name: 'web-7d9', namespace: 'default' },
    spec: { selector: { matchLabels: { app: 'api' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } } },
  };
  defaultObject(ReplicaSets, rs);
  prepareForCreate(ReplicaSets, rs);
  assert.equal(invalid({ group: 'apps', kind: 'ReplicaSet' }, 'web-7d9', validateCreate(ReplicaSets, rs)).message, `ReplicaSet.apps "web-7d9" is invalid: ${mismatch}`);
  assert.deepEqual(rs.status, { replicas: 0 });
  assert.equal(rs.metadata?.generation, 1);
});

test('a Scale to -1 replicas is refused as Scale.autoscaling', () => {
  assert.equal(
    invalid({ group: 'autoscaling', kind: 'Scale' }, 'web', validateScale({ metadata: { name: 'web', namespace: 'default' }, spec: { replicas: -1 } })).message,
    'Scale.autoscaling "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0',
  );
});
