import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AnyObject } from '../../api/index.ts';
import { schemaFor } from '../../api/schema/index.ts';
import { patchObject, updateManagedFields, type ManagedFieldsContext } from './index.ts';
import { service } from './testdata/schemas.ts';

const t0 = new Date('2024-05-01T10:00:00Z');
const t1 = new Date('2024-05-01T11:00:00.900Z');
const t2 = new Date('2024-05-01T12:00:00Z');

interface Entry {
  manager: string;
  operation: string;
  apiVersion: string;
  time?: string;
  fieldsV1: unknown;
  subresource?: string;
}

const entries = (o: AnyObject): Entry[] => (o.metadata?.managedFields ?? []) as Entry[];
const byManager = (o: AnyObject, m: string): Entry | undefined => entries(o).find((e) => e.manager === m);
const fieldsOf = (o: AnyObject, m: string): string => JSON.stringify(byManager(o, m)?.fieldsV1);

const ctx = (manager: string, now = t0, over: Partial<ManagedFieldsContext> = {}): ManagedFieldsContext => ({ schema: service, manager, now, ...over });

function svc(spec: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}): AnyObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'foo', namespace: 'default', uid: 'u1', labels: { app: 'foo' }, ...metadata },
    spec: { ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }], selector: { app: 'foo' }, type: 'ClusterIP', sessionAffinity: 'None', internalTrafficPolicy: 'Cluster', ...spec },
  };
}

function withSpec(o: AnyObject, spec: Record<string, unknown>): AnyObject {
  return { ...structuredClone(o), spec: { ...(o['spec'] as object), ...spec } };
}

describe('managedFields of a create', () => {
  test('records every field the create set as an Update entry, in kube-apiserver\'s FieldsV1', () => {
    const created = updateManagedFields(undefined, svc(), ctx('kubectl-create'));
    assert.deepEqual(entries(created), [
      {
        manager: 'kubectl-create',
        operation: 'Update',
        apiVersion: 'v1',
        time: '2024-05-01T10:00:00Z',
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
          'f:spec': {
            'f:internalTrafficPolicy': {},
            'f:ports': { '.': {}, 'k:{"port":80,"protocol":"TCP"}': { '.': {}, 'f:port': {}, 'f:protocol': {}, 'f:targetPort': {} } },
            'f:selector': {},
            'f:sessionAffinity': {},
            'f:type': {},
          },
        },
      },
    ]);
  });

  test('a created Deployment owns what is set inside spec and template, not spec and template themselves', () => {
    // A Deployment as kubectl create sends it, after kube-apiserver's defaulting.
    const d = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'nginx', namespace: 'default', labels: { app: 'nginx' } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'nginx' } },
        template: {
          metadata: { labels: { app: 'nginx' } },
          spec: {
            containers: [
              { name: 'nginx', image: 'nginx', imagePullPolicy: 'Always', resources: {}, terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File' },
            ],
            dnsPolicy: 'ClusterFirst',
            restartPolicy: 'Always',
            schedulerName: 'default-scheduler',
            securityContext: {},
            terminationGracePeriodSeconds: 30,
          },
        },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
        revisionHistoryLimit: 10,
        progressDeadlineSeconds: 600,
      },
    } as AnyObject;
    const created = updateManagedFields(undefined, d, { schema: schemaFor({ group: 'apps', version: 'v1', kind: 'Deployment' }), manager: 'kubectl-create', now: t0 });
    // The entry kube-apiserver writes for the same create.
    assert.equal(
      JSON.stringify(entries(created)[0]?.fieldsV1),
      '{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:progressDeadlineSeconds":{},"f:replicas":{},"f:revisionHistoryLimit":{},"f:selector":{},"f:strategy":{"f:rollingUpdate":{".":{},"f:maxSurge":{},"f:maxUnavailable":{}},"f:type":{}},"f:template":{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:containers":{"k:{\\"name\\":\\"nginx\\"}":{".":{},"f:image":{},"f:imagePullPolicy":{},"f:name":{},"f:resources":{},"f:terminationMessagePath":{},"f:terminationMessagePolicy":{}}},"f:dnsPolicy":{},"f:restartPolicy":{},"f:schedulerName":{},"f:securityContext":{},"f:terminationGracePeriodSeconds":{}}}}}',
    );
  });

  test('a create without a field manager is recorded for "unknown"', () => {
    assert.equal(entries(updateManagedFields(undefined, svc(), ctx('')))[0]?.manager, 'unknown');
  });

  test('the time has whole seconds', () => {
    assert.equal(entries(updateManagedFields(undefined, svc(), ctx('m', t1)))[0]?.time, '2024-05-01T11:00:00Z');
  });
});

describe('managedFields of updates and patches', () => {
  const created = updateManagedFields(undefined, svc(), ctx('kubectl-client-side-apply'));

  test('a new manager gets the fields it changed and the others lose them', () => {
    const edited = updateManagedFields(created, withSpec(created, { type: 'NodePort' }), ctx('kubectl-edit', t1));
    assert.equal(fieldsOf(edited, 'kubectl-edit'), '{"f:spec":{"f:type":{}}}');
    assert.ok(!fieldsOf(edited, 'kubectl-client-side-apply').includes('"f:type"'));
    assert.equal(byManager(edited, 'kubectl-client-side-apply')?.time, '2024-05-01T10:00:00Z');
    assert.deepEqual(
      entries(edited).map((e) => e.manager),
      ['kubectl-client-side-apply', 'kubectl-edit'],
    );
  });

  test('a manager\'s later changes join its entry with a new time', () => {
    const first = updateManagedFields(created, withSpec(created, { type: 'NodePort' }), ctx('kubectl-edit', t1));
    const second = updateManagedFields(first, withSpec(first, { sessionAffinity: 'ClientIP' }), ctx('kubectl-edit', t2));
    assert.equal(fieldsOf(second, 'kubectl-edit'), '{"f:spec":{"f:sessionAffinity":{},"f:type":{}}}');
    assert.equal(byManager(second, 'kubectl-edit')?.time, '2024-05-01T12:00:00Z');
  });

  test('a write that changes nothing leaves managedFields alone', () => {
    assert.deepEqual(updateManagedFields(created, structuredClone(created), ctx('other', t2)).metadata?.managedFields, created.metadata?.managedFields);
  });

  test('a removed field leaves every entry, and an emptied entry goes', () => {
    const labelled = updateManagedFields(created, { ...created, metadata: { ...created.metadata, labels: { app: 'foo', a: 'b' } } }, ctx('kubectl-label', t1));
    assert.equal(fieldsOf(labelled, 'kubectl-label'), '{"f:metadata":{"f:labels":{"f:a":{}}}}');
    const unlabelled = updateManagedFields(labelled, { ...labelled, metadata: { ...labelled.metadata, labels: { app: 'foo' } } }, ctx('kubectl-label', t2));
    assert.equal(byManager(unlabelled, 'kubectl-label'), undefined);
  });

  test('kubectl label (a merge patch) is recorded for kubectl-label', () => {
    const { object } = patchObject('merge', created, '{"metadata":{"labels":{"a":"b"}}}', {
      target: { group: '', version: 'v1', kind: 'Service', resource: 'services', namespace: 'default', name: 'foo' },
      schema: service,
      manager: 'kubectl-label',
      now: t1,
    });
    assert.equal(fieldsOf(object, 'kubectl-label'), '{"f:metadata":{"f:labels":{"f:a":{}}}}');
  });

  test('managedFields: [] clears the entries and the object stays untracked', () => {
    const cleared = updateManagedFields(created, { ...created, metadata: { ...created.metadata, managedFields: [] } }, ctx('m', t1));
    assert.equal(cleared.metadata?.managedFields, undefined);
    const later = updateManagedFields(cleared, withSpec(cleared, { type: 'NodePort' }), ctx('m', t2));
    assert.equal(later.metadata?.managedFields, undefined);
  });

  test('managedFields: [{}] clears them too', () => {
    const cleared = updateManagedFields(created, { ...created, metadata: { ...created.metadata, managedFields: [{}] } }, ctx('m', t1));
    assert.equal(cleared.metadata?.managedFields, undefined);
  });

  test('managedFields written with the object are taken as they are', () => {
    const mine = [{ manager: 'someone', operation: 'Apply', apiVersion: 'v1', time: '2024-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:type': {} } } }];
    const written = updateManagedFields(created, { ...created, metadata: { ...created.metadata, managedFields: mine } }, ctx('m', t1));
    assert.deepEqual(written.metadata?.managedFields, mine);
  });

  test('managedFields that do not decode are replaced by the live ones', () => {
    const bad = [{ manager: 'x', operation: 'Bogus', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: {} }];
    const written = updateManagedFields(created, { ...created, metadata: { ...created.metadata, managedFields: bad } }, ctx('m', t1));
    assert.deepEqual(written.metadata?.managedFields, created.metadata?.managedFields);
  });

  test('reset fields (status on the main resource) are not recorded', () => {
    const withStatus = { ...structuredClone(created), status: { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } } } as AnyObject;
    const out = updateManagedFields(created, withStatus, ctx('ctrl', t1, { resetFields: [['status']] }));
    assert.equal(byManager(out, 'ctrl'), undefined);
  });

  test('a status write is recorded with its subresource, from the live entries only', () => {
    // Stored Services carry status.loadBalancer, empty, as Go serializes it.
    const live = { ...structuredClone(created), status: { loadBalancer: {} } } as AnyObject;
    const withStatus = { ...structuredClone(created), status: { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } } } as AnyObject;
    withStatus.metadata = { ...withStatus.metadata, managedFields: [] };
    const out = updateManagedFields(live, withStatus, ctx('metallb-controller', t1, { subresource: 'status', resetFields: [['spec']] }));
    const e = byManager(out, 'metallb-controller');
    assert.equal(e?.subresource, 'status');
    assert.equal(JSON.stringify(e?.fieldsV1), '{"f:status":{"f:loadBalancer":{"f:ingress":{}}}}');
    assert.ok(byManager(out, 'kubectl-client-side-apply'));
  });

  test('more than ten Update managers fold the oldest into "ancient-changes"', () => {
    let obj = created;
    for (let i = 1; i <= 10; i++) {
      const labels = { ...(obj.metadata?.labels ?? {}), [`l${i}`]: 'x' };
      obj = updateManagedFields(obj, { ...obj, metadata: { ...obj.metadata, labels } }, ctx(`m${i}`, new Date(t0.getTime() + i * 60_000)));
    }
    const managers = entries(obj).map((e) => e.manager);
    assert.equal(managers.length, 10);
    assert.equal(managers[0], 'ancient-changes');
    assert.ok(!managers.includes('kubectl-client-side-apply') && !managers.includes('m1'));
    assert.ok(fieldsOf(obj, 'ancient-changes').includes('"f:l1"') && fieldsOf(obj, 'ancient-changes').includes('"f:selector"'));
  });

  test('Apply entries sort before Update entries, then by time', () => {
    const applied = patchObject('apply', created, JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'foo' }, spec: { type: 'ClusterIP' } }), {
      target: { group: '', version: 'v1', kind: 'Service', resource: 'services', namespace: 'default', name: 'foo' },
      schema: service,
      manager: 'ctrl',
      now: t2,
    }).object;
    const edited = updateManagedFields(applied, withSpec(applied, { sessionAffinity: 'ClientIP' }), ctx('kubectl-edit', t1));
    assert.deepEqual(
      entries(edited).map((e) => [e.manager, e.operation]),
      [
        ['ctrl', 'Apply'],
        ['kubectl-client-side-apply', 'Update'],
        ['kubectl-edit', 'Update'],
      ],
    );
  });
});
