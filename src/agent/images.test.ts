import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ImageTable, imageStatusName, isAgnhostImage, normalizeImage, resolveCommand, splitCommandLine } from './images.ts';

test('command lines split as a shell would, without expansion', () => {
  assert.deepEqual(splitCommandLine(`mlflow server --host $(POD_IP) --port 5000`), ['mlflow', 'server', '--host', '$(POD_IP)', '--port', '5000']);
  assert.deepEqual(splitCommandLine(`sh -c 'echo "a b"; exit 1' "x\\"y" a\\ b ''`), ['sh', '-c', 'echo "a b"; exit 1', 'x"y', 'a b', '']);
  assert.throws(() => splitCommandLine(`echo 'open`), /unterminated/);
});

test('image references normalize as docker\'s do', () => {
  assert.deepEqual(normalizeImage('nginx'), { repo: 'docker.io/library/nginx', tag: '', digest: '' });
  assert.deepEqual(normalizeImage('mlflow/mlflow:2.1'), { repo: 'docker.io/mlflow/mlflow', tag: '2.1', digest: '' });
  assert.deepEqual(normalizeImage('localhost:5000/x@sha256:ab'), { repo: 'localhost:5000/x', tag: '', digest: 'sha256:ab' });
  assert.equal(imageStatusName('busybox'), 'docker.io/library/busybox:latest');
  assert.ok(isAgnhostImage('registry.k8s.io/e2e-test-images/agnhost:2.53'));
  assert.ok(!isAgnhostImage('agnhost'));
});

test('the image table matches exact, tagged and untagged entries', () => {
  const t = new ImageTable('/x/images.yaml', {
    'mlflow/mlflow': 'mlflow server --port 5000',
    'docker.io/mlflow/mlflow:2.0': 'old-mlflow',
    busybox: { command: 'sh -c', args: ['sleep 3600'] },
  });
  assert.deepEqual(t.lookup('mlflow/mlflow:latest')?.command, ['mlflow', 'server', '--port', '5000']);
  assert.deepEqual(t.lookup('mlflow/mlflow:2.0')?.command, ['old-mlflow']);
  assert.deepEqual(t.lookup('docker.io/library/busybox:1.36'), { command: ['sh', '-c'], args: ['sleep 3600'] });
  assert.equal(t.lookup('nginx'), undefined);
});

test('what runs: command, else the image table, else the built-in agnhost, else ImageNotMapped', () => {
  const t = new ImageTable('/x/images.yaml', { 'mlflow/mlflow': 'agnhost netexec --http-port 5000', busybox: { command: 'sh -c', args: ['sleep 1'] } });
  assert.deepEqual(resolveCommand({ name: 'c', image: 'busybox', command: ['echo'], args: ['hi'] }, t, 'n'), { kind: 'run', argv: ['echo', 'hi'], source: 'command' });
  assert.deepEqual(resolveCommand({ name: 'c', image: 'mlflow/mlflow' }, t, 'n'), { kind: 'run', argv: ['agnhost', 'netexec', '--http-port', '5000'], builtin: 'agnhost', source: 'image-table' });
  assert.deepEqual(resolveCommand({ name: 'c', image: 'busybox', args: ['echo x'] }, t, 'n'), { kind: 'run', argv: ['sh', '-c', 'echo x'], source: 'image-table' });
  assert.deepEqual(resolveCommand({ name: 'c', image: 'registry.k8s.io/e2e-test-images/agnhost:2.53', args: ['serve-hostname'] }, t, 'n'), { kind: 'run', argv: ['agnhost', 'serve-hostname'], builtin: 'agnhost', source: 'builtin' });
  assert.deepEqual(resolveCommand({ name: 'c', image: 'registry.k8s.io/e2e-test-images/agnhost:2.53', command: ['/agnhost', 'pause'] }, t, 'n'), { kind: 'run', argv: ['agnhost', 'pause'], builtin: 'agnhost', source: 'builtin' });
  const r = resolveCommand({ name: 'c', image: 'nginx:1.25' }, t, 'node-a');
  assert.equal(r.kind, 'unmapped');
  if (r.kind === 'unmapped') {
    assert.equal(r.reason, 'ImageNotMapped');
    assert.match(r.message, /image "nginx:1\.25" is not mapped to a program on node "node-a"/);
    assert.match(r.message, /Map it in \/x\/images\.yaml \(a line such as "nginx: <command line>"/);
  }
});
