// @kubernetes/client-node 1.4.0 (a devDependency; 2.x crashes on Node 20) loads under tsx as
// ESM. This checks only the import and the pieces end-to-end tests use; the tests that
// create, list, watch and delete through it belong with the API server's tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';

test('@kubernetes/client-node imports and builds a CoreV1Api and a Watch from a kubeconfig file', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'svcnet-client-node-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'config');
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
current-context: svcnet
clusters:
- name: svcnet
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: ${Buffer.from('not a real CA').toString('base64')}
users:
- name: admin
  user:
    token: t0ken
contexts:
- name: svcnet
  context: {cluster: svcnet, user: admin, namespace: default}
`,
  );
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(file);
  assert.equal(kc.getCurrentContext(), 'svcnet');
  assert.equal(kc.getCurrentCluster()?.server, 'https://127.0.0.1:6443');
  assert.equal(kc.getCurrentUser()?.token, 't0ken');

  const core = kc.makeApiClient(k8s.CoreV1Api);
  assert.equal(typeof core.listNamespacedService, 'function');
  assert.equal(typeof core.createNamespacedService, 'function');
  assert.equal(typeof core.deleteNamespacedService, 'function');
  const watch = new k8s.Watch(kc);
  assert.equal(typeof watch.watch, 'function');
});
