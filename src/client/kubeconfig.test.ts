import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeconfigError, defaultKubeconfigPath, loadKubeconfig, parseKubeconfig } from './kubeconfig.ts';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

function config(user: string, cluster = `    server: https://127.0.0.1:6443\n    certificate-authority-data: ${b64('CA PEM')}`): string {
  return `apiVersion: v1
kind: Config
current-context: dev
contexts:
- name: dev
  context: {cluster: local, user: me, namespace: team}
- name: other
  context: {cluster: local}
clusters:
- name: local
  cluster:
${cluster}
users:
- name: me
  user:
${user}
`;
}

test('the current context gives the server, CA, namespace and bearer token', () => {
  const c = parseKubeconfig(config('    token: abc'), '/k/config');
  assert.equal(c.server, 'https://127.0.0.1:6443');
  assert.equal(c.ca?.toString(), 'CA PEM');
  assert.equal(c.token, 'abc');
  assert.equal(c.namespace, 'team');
  assert.equal(c.insecureSkipTLSVerify, undefined);
});

test('another context can be chosen; a context without a user is anonymous', () => {
  const c = parseKubeconfig(config('    token: abc'), '/k/config', { context: 'other' });
  assert.equal(c.token, undefined);
  assert.equal(c.namespace, undefined);
});

test('client certificate and key come from -data or from files relative to the kubeconfig', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'svcnet-kubeconfig-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'client.crt'), 'CERT PEM');
  writeFileSync(join(dir, 'ca.crt'), 'CA FROM FILE');
  writeFileSync(join(dir, 'token'), 'tok');
  const file = join(dir, 'config');
  writeFileSync(
    file,
    config(
      `    client-certificate: client.crt\n    client-key-data: ${b64('KEY PEM')}\n    tokenFile: token`,
      '    server: https://10.0.0.1:6443\n    certificate-authority: ca.crt\n    insecure-skip-tls-verify: true\n    tls-server-name: kubernetes',
    ),
  );
  const c = loadKubeconfig(file);
  assert.equal(c.cert?.toString(), 'CERT PEM');
  assert.equal(c.key?.toString(), 'KEY PEM');
  assert.equal(c.ca?.toString(), 'CA FROM FILE');
  assert.equal(c.tokenFile, join(dir, 'token'));
  assert.equal(c.insecureSkipTLSVerify, true);
  assert.equal(c.tlsServerName, 'kubernetes');
});

test('errors name the file and what is missing', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'svcnet-kubeconfig-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cases: [string, RegExp][] = [
    ['kind: Config\n', /^kubeconfig \/k\/config: current-context is not set/],
    ['current-context: x\ncontexts: []\n', /current-context names context "x", which is not in contexts/],
    [config('    token: a', '    insecure-skip-tls-verify: true'), /cluster "local" has no server/],
    [config('    token: a', '    server: not a url'), /cluster "local"\.server is not a URL/],
    [config('    client-certificate-data: ' + b64('C')), /user "me" has client-certificate but no client-key/],
    [config('    client-certificate: missing.crt\n    client-key-data: eA=='), /user "me"\.client-certificate: cannot read .*missing\.crt/],
    [config('    exec: {command: gke-gcloud-auth-plugin}'), /exec or auth-provider plugin, which svcnet does not support/],
    [config('    token: 5'), /user "me"\.token must be a string/], // YAML reads an unquoted 5 as a number
    ['[1, 2]', /not a kubeconfig/],
    ['a: [', /not valid YAML/],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => parseKubeconfig(text, '/k/config'), (e: unknown) => e instanceof KubeconfigError && re.test(e.message), text);
  }
  assert.throws(() => loadKubeconfig(join(dir, 'absent')), /kubeconfig .*absent: cannot read/);
});

test('the default path is $KUBECONFIG first entry, else ~/.kube/config', () => {
  assert.equal(defaultKubeconfigPath({ KUBECONFIG: '/a/one:/b/two' }), '/a/one');
  assert.match(defaultKubeconfigPath({}), /\.kube\/config$/);
});
