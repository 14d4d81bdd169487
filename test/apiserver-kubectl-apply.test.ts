// Every manifest in examples/ applies unchanged with the real kubectl (the dispatcher on PATH,
// which picks the binary matching the server's /version, and kubectl 1.27 and 1.33 directly):
// client-side apply twice (the second time `unchanged`), then --server-side over the same
// objects, and --server-side from scratch. Output and exit codes are what a cluster gives.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startSvcnet, kubectl, examplesDir, type Svcnet } from './lib/svcnet.ts';

const files = readdirSync(examplesDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

/** What `kubectl apply -f` prints for each file the first time, in order, on a fresh cluster. */
const firstPass: Record<string, string[]> = {
  '00-namespaces.yaml': ['namespace/mlflow created', 'namespace/monitoring created'],
  '01-mlflow-clusterip.yaml': ['service/mlflow-service created'],
  '02-mlflow-nodeport.yaml': ['service/mlflow-service configured'],
  '03-grafana-loadbalancer.yaml': ['service/grafana-service created'],
  '04-external-db-externalname.yaml': ['service/external-db created'],
  '05-mlflow-deployment.yaml': ['deployment.apps/mlflow created', 'service/mlflow-service configured'],
  '06-metallb-legacy-configmap.yaml': ['configmap/config created'],
  '07-metallb-ipaddresspool.yaml': ['ipaddresspool.metallb.io/default created', 'l2advertisement.metallb.io/default created'],
};

const unchanged = (lines: string[]) => lines.map((l) => l.replace(/ (created|configured)$/, ' unchanged'));
const serverSide = (lines: string[]) => lines.map((l) => l.replace(/ (created|configured)$/, ' serverside-applied'));

it('the examples are the ones this test knows', () => {
  assert.deepEqual(files, Object.keys(firstPass));
});

for (const version of [undefined, '1.27', '1.33'] as const) {
  const who = version ? `kubectl ${version}` : 'the kubectl on PATH';
  describe(`examples with ${who}`, () => {
    let s: Svcnet;
    before(async () => {
      s = await startSvcnet();
    });
    after(async () => {
      await s?.stop();
      s?.cleanup();
    });
    const k = (args: string[]) => kubectl(s, args, { version });

    it('applies each file, then again with every object unchanged', async () => {
      for (const f of files) {
        const path = join(examplesDir, f);
        const first = await k(['apply', '-f', path]);
        assert.equal(first.stderr, '', `${f}: ${first.stderr}`);
        assert.equal(first.code, 0);
        assert.equal(first.stdout, firstPass[f].map((l) => `${l}\n`).join(''), f);
        const again = await k(['apply', '-f', path]);
        assert.equal(again.code, 0, again.stderr);
        assert.equal(again.stdout, unchanged(firstPass[f]).map((l) => `${l}\n`).join(''), `${f} applied twice`);
      }
      // The last file to touch mlflow-service (05) left out its type: back to ClusterIP, no node port.
      const svc = JSON.parse((await k(['get', 'svc', '-n', 'mlflow', 'mlflow-service', '-o', 'json'])).stdout) as { spec: { type: string; ports: { nodePort?: number }[] } };
      assert.equal(svc.spec.type, 'ClusterIP');
      assert.equal(svc.spec.ports[0].nodePort, undefined);
    });

    it('applies every file with --server-side over the client-side applied objects', async () => {
      for (const f of files) {
        const r = await k(['apply', '--server-side', '-f', join(examplesDir, f)]);
        assert.equal(r.stderr, '', `${f}: ${r.stderr}`);
        assert.equal(r.code, 0);
        assert.equal(r.stdout, serverSide(firstPass[f]).map((l) => `${l}\n`).join(''), f);
      }
    });

    it('applies the whole directory client-side again after the server-side applies', async () => {
      // Server-side apply by kubectl rewrote last-applied-configuration (without the empty
      // annotations kubectl's client-side apply records), so objects may show as configured.
      const r = await k(['apply', '-f', examplesDir]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trimEnd().split('\n');
      assert.equal(lines.length, 11);
      for (const l of lines) assert.match(l, / (configured|unchanged)$/);
      // 02 and 05 disagree about mlflow-service; everything else is now settled.
      const again = await k(['apply', '-f', examplesDir]);
      assert.equal(again.code, 0, again.stderr);
      for (const l of again.stdout.trimEnd().split('\n')) assert.match(l, l.startsWith('service/mlflow-service') ? / configured$/ : / unchanged$/);
    });
  });
}

describe('server-side apply on a fresh server', () => {
  let s: Svcnet;
  before(async () => {
    s = await startSvcnet();
  });
  after(async () => {
    await s?.stop();
    s?.cleanup();
  });

  it('applies every file with --server-side, twice, and the objects carry kubectl as their field manager', async () => {
    for (const f of files) {
      for (let pass = 0; pass < 2; pass++) {
        const r = await kubectl(s, ['apply', '--server-side', '-f', join(examplesDir, f)]);
        assert.equal(r.stderr, '', `${f}: ${r.stderr}`);
        assert.equal(r.code, 0);
        assert.equal(r.stdout, serverSide(firstPass[f]).map((l) => `${l}\n`).join(''), f);
      }
    }
    const svc = JSON.parse((await kubectl(s, ['get', 'svc', '-n', 'monitoring', 'grafana-service', '-o', 'json', '--show-managed-fields'])).stdout) as {
      metadata: { managedFields: { manager: string; operation: string }[]; annotations?: Record<string, string> };
      spec: { type: string; ports: { nodePort?: number }[] };
    };
    assert.equal(svc.spec.type, 'LoadBalancer');
    assert.ok((svc.spec.ports[0].nodePort ?? 0) >= 30000);
    assert.ok(svc.metadata.managedFields.some((m) => m.manager === 'kubectl' && m.operation === 'Apply'));
    assert.equal(svc.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'], undefined);
  });

  it('reports a conflict with another manager as kube-apiserver does, and --force-conflicts takes the field', async () => {
    const nodePort = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: grafana-service\n  namespace: monitoring\nspec:\n  type: NodePort\n';
    const own = await kubectl(s, ['apply', '--server-side', '-f', join(examplesDir, '00-namespaces.yaml'), '-f', join(examplesDir, '03-grafana-loadbalancer.yaml')]);
    assert.equal(own.code, 0, own.stderr);
    const r = await kubectl(s, ['apply', '--server-side', '--field-manager', 'other', '-f', '-'], { input: nodePort });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: Apply failed with 1 conflict: conflict with "kubectl": \.spec\.type\n/);
    const forced = await kubectl(s, ['apply', '--server-side', '--field-manager', 'other', '--force-conflicts', '-f', '-'], { input: nodePort });
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(forced.stdout, 'service/grafana-service serverside-applied\n');
    const type = await kubectl(s, ['get', 'svc', '-n', 'monitoring', 'grafana-service', '-o', 'jsonpath={.spec.type}']);
    assert.equal(type.stdout, 'NodePort');
    const back = await kubectl(s, ['apply', '--server-side', '--force-conflicts', '-f', join(examplesDir, '03-grafana-loadbalancer.yaml')]);
    assert.equal(back.code, 0, back.stderr);
  });
});
