// kubectl's writing commands against svcnet, each with the output and exit code a cluster
// gives: create (namespace, service nodeport, deployment, configmap), expose, scale, label,
// annotate, patch (strategic, merge, json), edit (scripted KUBE_EDITOR) and delete (a
// namespace with contents, too), with the dispatcher on PATH and kubectl 1.27 and 1.33.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSvcnet, kubectl, type Svcnet } from './lib/svcnet.ts';

let s: Svcnet;

before(async () => {
  s = await startSvcnet();
});

after(async () => {
  await s?.stop();
  s?.cleanup();
});

interface Obj {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string>; resourceVersion: string; deletionTimestamp?: string };
  spec: Record<string, unknown>;
  status?: Record<string, unknown>;
}

for (const version of [undefined, '1.27', '1.33'] as const) {
  const who = version ? `kubectl ${version}` : 'the kubectl on PATH';
  const ns = `w-${version?.replace('.', '') ?? 'path'}`;
  const k = (args: string[], env?: Record<string, string>) => kubectl(s, args, { version, env });
  const ok = async (args: string[], stdout: string, env?: Record<string, string>) => {
    const r = await k(args, env);
    assert.equal(r.stderr, '', `kubectl ${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, stdout, `kubectl ${args.join(' ')}`);
  };
  const get = async (kind: string, name: string): Promise<Obj> => {
    const r = await k(['get', kind, name, '-n', ns, '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Obj;
  };

  describe(`writing with ${who}`, () => {
    it('create namespace, then again: AlreadyExists with exit code 1', async () => {
      await ok(['create', 'namespace', ns], `namespace/${ns} created\n`);
      const again = await k(['create', 'namespace', ns]);
      assert.equal(again.code, 1);
      assert.equal(again.stderr, `Error from server (AlreadyExists): namespaces "${ns}" already exists\n`);
      const sa = await k(['get', 'serviceaccount', 'default', '-n', ns, '-o', 'name']);
      assert.ok(sa.code === 0 || sa.stderr.includes('NotFound'), sa.stderr);
    });

    it('create service nodeport foo --tcp=5000:5000 makes a NodePort Service with an allocated port', async () => {
      await ok(['create', 'service', 'nodeport', 'foo', '--tcp=5000:5000', '-n', ns], 'service/foo created\n');
      const svc = await get('svc', 'foo');
      const ports = svc.spec.ports as { name: string; port: number; targetPort: number; protocol: string; nodePort: number }[];
      assert.equal(svc.spec.type, 'NodePort');
      assert.deepEqual(svc.metadata.labels, { app: 'foo' });
      assert.deepEqual(svc.spec.selector, { app: 'foo' });
      assert.equal(ports.length, 1);
      assert.deepEqual({ ...ports[0], nodePort: 0 }, { name: '5000-5000', port: 5000, targetPort: 5000, protocol: 'TCP', nodePort: 0 });
      assert.ok(ports[0].nodePort >= 30000 && ports[0].nodePort <= 32767);
      const dup = await k(['create', 'service', 'nodeport', 'foo', '--tcp=5000:5000', '-n', ns]);
      assert.equal(dup.code, 1);
      assert.equal(dup.stderr, 'error: failed to create NodePort service: services "foo" already exists\n');
    });

    it('create deployment, create configmap, expose deployment and scale deployment', async () => {
      await ok(['create', 'deployment', 'web', '--image=registry.k8s.io/e2e-test-images/agnhost:2.47', '--replicas=2', '-n', ns], 'deployment.apps/web created\n');
      const d = await get('deployment', 'web');
      assert.equal(d.spec.replicas, 2);
      assert.deepEqual(d.spec.selector, { matchLabels: { app: 'web' } });
      assert.deepEqual((d.spec.strategy as { type: string }).type, 'RollingUpdate');

      await ok(['create', 'configmap', 'cfg', '--from-literal=a=b', '--from-literal=c=d', '-n', ns], 'configmap/cfg created\n');
      const cm = JSON.parse((await k(['get', 'cm', 'cfg', '-n', ns, '-o', 'json'])).stdout) as { data: Record<string, string> };
      assert.deepEqual(cm.data, { a: 'b', c: 'd' });

      await ok(['expose', 'deployment', 'web', '--port=80', '--target-port=8080', '-n', ns], 'service/web exposed\n');
      const svc = await get('svc', 'web');
      assert.deepEqual(svc.spec.selector, { app: 'web' });
      assert.deepEqual(svc.spec.ports, [{ port: 80, protocol: 'TCP', targetPort: 8080 }]);
      assert.equal(svc.spec.type, 'ClusterIP');

      await ok(['scale', 'deployment', 'web', '--replicas=3', '-n', ns], 'deployment.apps/web scaled\n');
      const scaled = JSON.parse((await k(['get', 'deployment', 'web', '-n', ns, '-o', 'json', '--show-managed-fields'])).stdout) as { spec: { replicas: number }; metadata: { managedFields: { manager: string; operation: string; subresource?: string; fieldsV1: unknown }[] } };
      assert.equal(scaled.spec.replicas, 3);
      // As kube-apiserver records it: an Update of spec.replicas through the scale subresource.
      const viaScale = scaled.metadata.managedFields.find((m) => m.subresource === 'scale');
      assert.ok(viaScale, JSON.stringify(scaled.metadata.managedFields));
      assert.equal(viaScale.operation, 'Update');
      assert.deepEqual(viaScale.fieldsV1, { 'f:spec': { 'f:replicas': {} } });
      // kubectl checks --resource-version itself against the object it reads.
      const stale = await k(['scale', 'deployment', 'web', '--replicas=1', '--resource-version=1', '-n', ns]);
      assert.equal(stale.code, 1);
      assert.equal(stale.stderr, `error: Expected resource version to be 1, was ${(await get('deployment', 'web')).metadata.resourceVersion}\n`);
      const neg = await k(['scale', 'deployment', 'nope', '--replicas=1', '-n', ns]);
      assert.equal(neg.code, 1);
      // kubectl words this itself (1.27 drops the server's NotFound message).
      assert.equal(neg.stderr, version === '1.27' ? 'error: no objects passed to scale\n' : 'error: no objects passed to scale deployments.apps "nope" not found\n');
    });

    it('label and annotate, with and without --overwrite', async () => {
      await ok(['label', 'svc', 'foo', 'tier=backend', '-n', ns], 'service/foo labeled\n');
      const clash = await k(['label', 'svc', 'foo', 'tier=frontend', '-n', ns]);
      assert.equal(clash.code, 1);
      assert.equal(clash.stderr, "error: 'tier' already has a value (backend), and --overwrite is false\n");
      await ok(['label', 'svc', 'foo', 'tier=frontend', '--overwrite', '-n', ns], 'service/foo labeled\n');
      // kubectl 1.27 words it "annotate" (fixed in later releases).
      await ok(['annotate', 'svc', 'foo', 'note=hello world', '-n', ns], version === '1.27' ? 'service/foo annotate\n' : 'service/foo annotated\n');
      await ok(['label', 'svc', 'foo', 'tier-', '-n', ns], 'service/foo unlabeled\n');
      const svc = await get('svc', 'foo');
      assert.deepEqual(svc.metadata.labels, { app: 'foo' });
      assert.deepEqual(svc.metadata.annotations, { note: 'hello world' });
    });

    it('patch: strategic merge adds a port by its key, merge and json patches change labels, an unchanged patch says so', async () => {
      await ok(['patch', 'svc', 'foo', '-n', ns, '-p', '{"spec":{"ports":[{"name":"extra","port":6000,"targetPort":6000}]}}'], 'service/foo patched\n');
      let svc = await get('svc', 'foo');
      const ports = svc.spec.ports as { name: string; port: number; nodePort: number }[];
      assert.deepEqual(ports.map((p) => [p.name, p.port]).sort(), [['5000-5000', 5000], ['extra', 6000]]);
      assert.ok(ports.every((p) => p.nodePort >= 30000), 'every NodePort port gets a node port');
      await ok(['patch', 'svc', 'foo', '-n', ns, '-p', '{"spec":{"ports":[{"$patch":"delete","port":6000}]}}'], 'service/foo patched\n');
      assert.deepEqual(((await get('svc', 'foo')).spec.ports as { port: number }[]).map((p) => p.port), [5000]);

      await ok(['patch', 'svc', 'foo', '-n', ns, '--type=merge', '-p', '{"metadata":{"labels":{"m":"1"}}}'], 'service/foo patched\n');
      await ok(['patch', 'svc', 'foo', '-n', ns, '--type=merge', '-p', '{"metadata":{"labels":{"m":"1"}}}'], 'service/foo patched (no change)\n');
      await ok(['patch', 'svc', 'foo', '-n', ns, '--type=json', '-p', '[{"op":"add","path":"/metadata/labels/j","value":"2"},{"op":"remove","path":"/metadata/labels/m"}]'], 'service/foo patched\n');
      svc = await get('svc', 'foo');
      assert.deepEqual(svc.metadata.labels, { app: 'foo', j: '2' });

      const bad = await k(['patch', 'svc', 'foo', '-n', ns, '-p', '{"spec":{"ports":[{"port":0}]}}']);
      assert.equal(bad.code, 1);
      // Port 0 is a new list item by its merge key, so two ports now need names.
      assert.equal(
        bad.stderr,
        'The Service "foo" is invalid: \n* spec.ports[0].name: Required value\n* spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive\n* spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive\n',
      );
      const missing = await k(['patch', 'svc', 'nope', '-n', ns, '--type=merge', '-p', '{"metadata":{"labels":{"a":"b"}}}']);
      assert.equal(missing.code, 1);
      assert.equal(missing.stderr, 'Error from server (NotFound): services "nope" not found\n');
    });

    it('edit with a scripted editor saves the change; an editor that changes nothing cancels', async () => {
      const editor = join(s.dataDir, `editor-${ns}.sh`);
      writeFileSync(editor, '#!/bin/sh\nsed -i \'s/^    j: "2"$/    j: edited/\' "$1"\n');
      chmodSync(editor, 0o755);
      await ok(['edit', 'svc', 'foo', '-n', ns], 'service/foo edited\n', { KUBE_EDITOR: editor, EDITOR: editor });
      assert.equal((await get('svc', 'foo')).metadata.labels?.j, 'edited');
      const r = await k(['edit', 'svc', 'foo', '-n', ns], { KUBE_EDITOR: 'true', EDITOR: 'true' });
      assert.equal(r.code, 0);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, 'Edit cancelled, no changes made.\n');
      const invalid = join(s.dataDir, `bad-editor-${ns}.sh`);
      writeFileSync(invalid, "#!/bin/sh\nsed -i 's/^  - name: 5000-5000$/  - name: Bad_Name/' \"$1\"\n");
      chmodSync(invalid, 0o755);
      const bad = await k(['edit', 'svc', 'foo', '-n', ns], { KUBE_EDITOR: invalid, EDITOR: invalid });
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /^error: services "foo" is invalid\n/);
    });

    it('delete a service and a deployment; deleting again is NotFound', async () => {
      await ok(['delete', 'svc', 'web', '-n', ns], 'service "web" deleted\n');
      await ok(['delete', 'deployment', 'web', '-n', ns], 'deployment.apps "web" deleted\n');
      const again = await k(['delete', 'svc', 'web', '-n', ns]);
      assert.equal(again.code, 1);
      assert.equal(again.stderr, 'Error from server (NotFound): services "web" not found\n');
      const ignored = await k(['delete', 'svc', 'web', '-n', ns, '--ignore-not-found']);
      assert.equal(ignored.code, 0);
      assert.equal(ignored.stdout, '');
    });

    it('delete a namespace with contents: Terminating, the contents go, then the namespace', async () => {
      const r = await k(['delete', 'namespace', ns, '--timeout=60s']);
      assert.equal(r.stderr, '');
      assert.equal(r.code, 0);
      assert.equal(r.stdout, `namespace "${ns}" deleted\n`);
      const gone = await k(['get', 'namespace', ns]);
      assert.equal(gone.code, 1);
      assert.equal(gone.stderr, `Error from server (NotFound): namespaces "${ns}" not found\n`);
      const left = await k(['get', 'svc,cm,deploy', '-n', ns, '-o', 'name']);
      assert.equal(left.stdout, '');
    });
  });
}
