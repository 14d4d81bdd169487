// The root CA publisher: its rule (table-driven) and the controller over the fake client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigMap, Namespace } from 'kubernetes-types/core/v1.js';
import { ConfigMaps, Namespaces } from '../../api/index.ts';
import { FakeClient } from '../../client/index.ts';
import { startControllers } from '../manager.ts';
import { RootCACertPublisher } from './controller.ts';
import { description, descriptionAnnotation, rootCACertConfigMapName, rootCAConfigMapAction } from './core.ts';
import { untilPasses } from '../../util/index.ts';

const ca = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const active: Namespace = { metadata: { name: 'a' }, status: { phase: 'Active' } };
const good = (): ConfigMap => ({ metadata: { name: rootCACertConfigMapName, namespace: 'a', annotations: { [descriptionAnnotation]: description } }, data: { 'ca.crt': ca } });

test('an active namespace without the ConfigMap gets it, with the CA and the description', () => {
  assert.deepEqual(rootCAConfigMapAction(active, undefined, ca), {
    action: 'create',
    configMap: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt', annotations: { 'kubernetes.io/description': description } }, data: { 'ca.crt': ca } },
  });
  assert.match(description, /^Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints/);
});

test('a terminating, deleted or unknown namespace gets nothing', () => {
  assert.deepEqual(rootCAConfigMapAction({ metadata: { name: 'a', deletionTimestamp: '2024-01-01T00:00:00Z' }, status: { phase: 'Terminating' } }, undefined, ca), { action: 'none' });
  assert.deepEqual(rootCAConfigMapAction({ metadata: { name: 'a' }, status: { phase: 'Terminating' } }, good(), ca), { action: 'none' });
  assert.deepEqual(rootCAConfigMapAction(undefined, undefined, ca), { action: 'none' });
});

test('a correct ConfigMap is left alone, also with labels and annotations of its own', () => {
  assert.deepEqual(rootCAConfigMapAction(active, good(), ca), { action: 'none' });
  const extra = good();
  extra.metadata!.labels = { team: 'x' };
  extra.metadata!.annotations!['example.com/note'] = 'kept';
  assert.deepEqual(rootCAConfigMapAction(active, extra, ca), { action: 'none' });
});

test('changed data is put back (extra keys removed), other labels and annotations kept', () => {
  const cases: Array<[string, ConfigMap['data']]> = [
    ['changed', { 'ca.crt': 'not a CA' }],
    ['extra key', { 'ca.crt': ca, 'x': 'y' }],
    ['missing', { other: ca }],
    ['none', undefined],
  ];
  for (const [what, data] of cases) {
    const cm = good();
    cm.metadata!.labels = { team: 'x' };
    cm.metadata!.annotations!['example.com/note'] = 'kept';
    cm.metadata = { ...cm.metadata, resourceVersion: '7' };
    cm.data = data;
    const got = rootCAConfigMapAction(active, cm, ca);
    assert.equal(got.action, 'update', what);
    assert.ok(got.action === 'update');
    assert.deepEqual(got.configMap.data, { 'ca.crt': ca }, what);
    assert.deepEqual(got.configMap.metadata?.labels, { team: 'x' }, what);
    assert.deepEqual(got.configMap.metadata?.annotations, { [descriptionAnnotation]: description, 'example.com/note': 'kept' }, what);
    assert.equal(got.configMap.metadata?.resourceVersion, '7', `${what}: an update of the version seen`);
    assert.deepEqual(cm.data, data, `${what}: the cached object is not modified`);
  }
});

test('a missing or empty description is put back; another description is kept while the data is right (as kube)', () => {
  const variants: Array<Record<string, string> | undefined> = [undefined, { [descriptionAnnotation]: '' }, { other: 'x' }];
  for (const annotations of variants) {
    const cm = good();
    cm.metadata!.annotations = annotations;
    const got = rootCAConfigMapAction(active, cm, ca);
    assert.ok(got.action === 'update', JSON.stringify(annotations));
    assert.equal(got.configMap.metadata?.annotations?.[descriptionAnnotation], description);
  }
  const other = good();
  other.metadata!.annotations![descriptionAnnotation] = 'mine';
  assert.deepEqual(rootCAConfigMapAction(active, other, ca), { action: 'none' });
  other.data = { 'ca.crt': 'old' };
  const got = rootCAConfigMapAction(active, other, ca);
  assert.ok(got.action === 'update');
  assert.equal(got.configMap.metadata?.annotations?.[descriptionAnnotation], description, 'restored with the data');
});

test('the controller publishes in every namespace, restores a deleted or changed one, and skips terminating namespaces', async () => {
  const client = new FakeClient();
  await client.create<Namespace>(Namespaces, undefined, { metadata: { name: 'default' }, status: { phase: 'Active' } });
  await client.create<Namespace>(Namespaces, undefined, { metadata: { name: 'going', deletionTimestamp: '2024-01-01T00:00:00Z', finalizers: ['kubernetes'] }, status: { phase: 'Terminating' } });
  await client.create<ConfigMap>(ConfigMaps, 'default', { metadata: { name: 'mine', namespace: 'default' }, data: { a: 'b' } });
  const running = await startControllers(client, { serviceCIDRs: ['10.96.0.0/12'], clusterDomain: 'cluster.local', mode: 'host', rootCA: ca }, [new RootCACertPublisher()]);
  const cmIn = (ns: string) => client.objects<ConfigMap>(ConfigMaps).find((c) => c.metadata?.namespace === ns && c.metadata.name === rootCACertConfigMapName);
  try {
    const first = await untilPasses(() => {
      const c = cmIn('default');
      assert.ok(c);
      return c;
    });
    assert.deepEqual(first.data, { 'ca.crt': ca });
    assert.equal(first.metadata?.annotations?.[descriptionAnnotation], description);
    assert.deepEqual(client.objects<ConfigMap>(ConfigMaps).find((c) => c.metadata?.name === 'mine')?.data, { a: 'b' }, 'other ConfigMaps untouched');

    await client.create<Namespace>(Namespaces, undefined, { metadata: { name: 'new' }, status: { phase: 'Active' } });
    await untilPasses(() => assert.deepEqual(cmIn('new')?.data, { 'ca.crt': ca }));

    await client.delete(ConfigMaps, 'default', rootCACertConfigMapName);
    await untilPasses(() => assert.deepEqual(cmIn('default')?.data, { 'ca.crt': ca }));

    const cur = cmIn('default')!;
    await client.update<ConfigMap>(ConfigMaps, { ...cur, metadata: { ...cur.metadata, labels: { team: 'x' } }, data: { 'ca.crt': 'tampered' } });
    await untilPasses(() => {
      const c = cmIn('default')!;
      assert.deepEqual(c.data, { 'ca.crt': ca });
      assert.deepEqual(c.metadata?.labels, { team: 'x' });
    });

    // Everything settled: the terminating namespace got nothing.
    assert.equal(cmIn('going'), undefined);
    assert.ok(!client.calls.some((c) => c.verb === 'create' && c.resource === 'configmaps' && c.namespace === 'going'), 'no create tried in a terminating namespace');
  } finally {
    await running.stop();
  }
});
