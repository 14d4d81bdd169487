// The root CA certificate publisher in a real `svcnet server`, through the real kubectl: every
// namespace holds kube-root-ca.crt whose ca.crt is the CA the kubeconfig trusts (the one that
// verifies the API server); a new namespace gets it; deleted it comes back; its data changed is
// put back (a user's label stays); and a restart leaves it as it was.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startSvcnet, kubectl, kubectlOk, type Svcnet } from './lib/svcnet.ts';
import { waitFor } from './lib/agent.ts';

const description =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.';

let s: Svcnet;
let ca: string;

before(async () => {
  s = await startSvcnet({ args: ['--no-agent'], env: { SVCNET_LOG_LEVEL: 'warn' } });
  const m = /certificate-authority-data:\s*(\S+)/.exec(readFileSync(s.kubeconfig, 'utf8'));
  assert.ok(m, 'the kubeconfig names its CA');
  ca = Buffer.from(m[1], 'base64').toString('utf8');
  assert.match(ca, /^-----BEGIN CERTIFICATE-----/);
});

after(async () => {
  if (s) {
    if (s.proc.exitCode === null && s.proc.signalCode === null) await s.stop();
    s.cleanup();
  }
});

/** kube-root-ca.crt's `ca.crt` in `ns` ("" while there is none). */
async function publishedCA(ns: string): Promise<string> {
  const r = await kubectl(s, ['get', 'configmap', 'kube-root-ca.crt', '-n', ns, '-o', 'jsonpath={.data.ca\\.crt}']);
  return r.code === 0 ? r.stdout : '';
}

interface ConfigMapJson {
  metadata: { uid: string; resourceVersion: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  data: Record<string, string>;
}

async function rootCAConfigMap(ns: string): Promise<ConfigMapJson> {
  return JSON.parse(await kubectlOk(s, ['get', 'configmap', 'kube-root-ca.crt', '-n', ns, '-o', 'json'])) as ConfigMapJson;
}

test('every namespace there is holds kube-root-ca.crt with the kubeconfig\'s CA and the description', async () => {
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    await waitFor(`kube-root-ca.crt in ${ns}`, async () => (await publishedCA(ns)) === ca);
  }
  const cm = await rootCAConfigMap('default');
  assert.deepEqual(Object.keys(cm.data), ['ca.crt']);
  assert.equal(cm.metadata.annotations?.['kubernetes.io/description'], description);
});

test('a new namespace gets it', async () => {
  await kubectlOk(s, ['create', 'namespace', 'fresh']);
  await waitFor('kube-root-ca.crt in fresh', async () => (await publishedCA('fresh')) === ca);
});

test('deleted, it comes back', async () => {
  await kubectlOk(s, ['create', 'namespace', 'del']);
  await waitFor('kube-root-ca.crt in del', async () => (await publishedCA('del')) === ca);
  const before = await rootCAConfigMap('del');
  await kubectlOk(s, ['delete', 'cm', 'kube-root-ca.crt', '-n', 'del']);
  const again = await waitFor('kube-root-ca.crt made again', async () => {
    const r = await kubectl(s, ['get', 'cm', 'kube-root-ca.crt', '-n', 'del', '-o', 'jsonpath={.metadata.uid}']);
    return r.code === 0 && r.stdout !== '' && r.stdout !== before.metadata.uid ? r.stdout : undefined;
  });
  assert.notEqual(again, before.metadata.uid);
  assert.equal(await publishedCA('del'), ca);
});

test('its data changed by a user is put back, with the description; the user\'s label stays', async () => {
  await kubectlOk(s, ['create', 'namespace', 'tamper']);
  await waitFor('kube-root-ca.crt in tamper', async () => (await publishedCA('tamper')) === ca);
  await kubectlOk(s, ['label', 'cm', 'kube-root-ca.crt', '-n', 'tamper', 'team=blue']);
  await kubectlOk(s, ['patch', 'cm', 'kube-root-ca.crt', '-n', 'tamper', '--type=merge', '-p', JSON.stringify({ data: { 'ca.crt': 'not a CA', extra: 'x' }, metadata: { annotations: { 'kubernetes.io/description': null } } })]);
  await waitFor('the data restored', async () => {
    const cm = await rootCAConfigMap('tamper');
    return cm.data['ca.crt'] === ca && Object.keys(cm.data).length === 1 && cm.metadata.annotations?.['kubernetes.io/description'] === description ? cm : undefined;
  });
  const cm = await rootCAConfigMap('tamper');
  assert.equal(cm.metadata.labels?.team, 'blue');
});

test('a restart of the server leaves it unchanged', async () => {
  await waitFor('kube-root-ca.crt in default', async () => (await publishedCA('default')) === ca);
  const before = await rootCAConfigMap('default');
  assert.equal(await s.stop(), 0);
  await s.restart();
  // The controller is at work once a namespace made now gets its ConfigMap; the existing ones were queued first.
  await kubectlOk(s, ['create', 'namespace', 'after-restart']);
  await waitFor('kube-root-ca.crt in after-restart', async () => (await publishedCA('after-restart')) === ca);
  const now = await rootCAConfigMap('default');
  assert.equal(now.metadata.uid, before.metadata.uid);
  assert.equal(now.metadata.resourceVersion, before.metadata.resourceVersion, 'not rewritten');
  assert.deepEqual(now.data, { 'ca.crt': ca });
  assert.equal(readFileSync(s.kubeconfig, 'utf8').includes(Buffer.from(ca).toString('base64')), true, 'the same CA after the restart');
});
