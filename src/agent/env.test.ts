import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigMap, Container, Pod, Secret, Service } from 'kubernetes-types/core/v1.js';
import { ContainerConfigError, containerEnv, expand, expandCommand, fieldRefValue, mappingFor, parseQuantity, serviceEnvVars, servicesForPod, type EnvContext } from './env.ts';

test('$(VAR) expands as kubelet\'s expansion package does', () => {
  const m = mappingFor(new Map([['VAR_A', 'A'], ['VAR_B', 'B'], ['EMPTY', '']]));
  const cases: [string, string][] = [
    ['$(VAR_A)', 'A'],
    ['___$(VAR_B)___', '___B___'],
    ['$(VAR_A)-$(VAR_B)', 'A-B'],
    ['$(EMPTY)', ''],
    ['$(UNKNOWN)', '$(UNKNOWN)'],
    ['$$(VAR_A)', '$(VAR_A)'],
    ['$$$(VAR_A)', '$A'],
    ['$(VAR_A', '$(VAR_A'],
    ['$VAR_A', '$VAR_A'],
    ['foo$', 'foo$'],
    ['$()', '$()'],
    ['$$', '$'],
    ['', ''],
  ];
  for (const [input, want] of cases) assert.equal(expand(input, m), want, input);
});

const svc = (ns: string, name: string, ip: string, ports: { port: number; name?: string; protocol?: string }[]): Service => ({
  metadata: { namespace: ns, name },
  spec: { clusterIP: ip, ports: ports.map((p) => ({ ...p, protocol: p.protocol as 'TCP' })) },
});

test('service variables follow envvars.FromServices, docker-link variables included', () => {
  const env = new Map(serviceEnvVars([svc('mlflow', 'mlflow-service', '10.96.0.20', [{ port: 5000 }, { port: 9000, name: 'metrics-port', protocol: 'UDP' }])]));
  assert.deepEqual(Object.fromEntries(env), {
    MLFLOW_SERVICE_SERVICE_HOST: '10.96.0.20',
    MLFLOW_SERVICE_SERVICE_PORT: '5000',
    MLFLOW_SERVICE_SERVICE_PORT_METRICS_PORT: '9000',
    MLFLOW_SERVICE_PORT: 'tcp://10.96.0.20:5000',
    MLFLOW_SERVICE_PORT_5000_TCP: 'tcp://10.96.0.20:5000',
    MLFLOW_SERVICE_PORT_5000_TCP_PROTO: 'tcp',
    MLFLOW_SERVICE_PORT_5000_TCP_PORT: '5000',
    MLFLOW_SERVICE_PORT_5000_TCP_ADDR: '10.96.0.20',
    MLFLOW_SERVICE_PORT_9000_UDP: 'udp://10.96.0.20:9000',
    MLFLOW_SERVICE_PORT_9000_UDP_PROTO: 'udp',
    MLFLOW_SERVICE_PORT_9000_UDP_PORT: '9000',
    MLFLOW_SERVICE_PORT_9000_UDP_ADDR: '10.96.0.20',
  });
  assert.equal(new Map(serviceEnvVars([svc('a', 'v6', 'fd00::1', [{ port: 80 }])])).get('V6_PORT'), 'tcp://[fd00::1]:80');
});

test('a pod sees its namespace\'s Services when enableServiceLinks, and always default/kubernetes', () => {
  const all = [
    svc('default', 'kubernetes', '10.96.0.1', [{ port: 443, name: 'https' }]),
    svc('mlflow', 'mlflow-service', '10.96.0.20', [{ port: 5000 }]),
    svc('other', 'elsewhere', '10.96.0.30', [{ port: 80 }]),
    { metadata: { namespace: 'mlflow', name: 'headless' }, spec: { clusterIP: 'None', ports: [{ port: 80 }] } },
  ];
  assert.deepEqual(servicesForPod(all, 'mlflow', true).map((s) => s.metadata?.name), ['kubernetes', 'mlflow-service']);
  assert.deepEqual(servicesForPod(all, 'mlflow', false).map((s) => s.metadata?.name), ['kubernetes']);
});

const pod: Pod = {
  metadata: { name: 'web-1', namespace: 'mlflow', uid: 'u-1', labels: { app: 'web', tier: 'x' }, annotations: { note: 'a"b' } },
  spec: { nodeName: 'node-a', serviceAccountName: 'sa', containers: [] },
};

function ctx(extra: Partial<EnvContext> = {}): EnvContext {
  const cms: Record<string, ConfigMap> = { cfg: { metadata: { name: 'cfg' }, data: { mode: 'fast', 'bad key': 'x', LEVEL: '3' } } };
  const secrets: Record<string, Secret> = { creds: { metadata: { name: 'creds' }, data: { password: Buffer.from('s3cret').toString('base64') } } };
  return {
    pod,
    podIPs: ['127.244.0.2'],
    hostIPs: ['127.0.0.1'],
    services: [svc('mlflow', 'mlflow-service', '127.96.0.20', [{ port: 5000 }])],
    configMap: async (_ns, name) => cms[name],
    secret: async (_ns, name) => secrets[name],
    allocatable: { cpu: 4, memory: 8 * 2 ** 30 },
    ...extra,
  };
}

test('fieldRef values are the pod\'s own', () => {
  const c = { pod, podIPs: ['127.244.0.2'], hostIPs: ['127.0.0.1'] };
  assert.equal(fieldRefValue('metadata.name', c), 'web-1');
  assert.equal(fieldRefValue('metadata.namespace', c), 'mlflow');
  assert.equal(fieldRefValue('metadata.uid', c), 'u-1');
  assert.equal(fieldRefValue('spec.nodeName', c), 'node-a');
  assert.equal(fieldRefValue('spec.serviceAccountName', c), 'sa');
  assert.equal(fieldRefValue('status.podIP', c), '127.244.0.2');
  assert.equal(fieldRefValue('status.hostIP', c), '127.0.0.1');
  assert.equal(fieldRefValue("metadata.labels['tier']", c), 'x');
  assert.equal(fieldRefValue('metadata.labels', c), 'app="web"\ntier="x"');
  assert.equal(fieldRefValue('metadata.annotations', c), 'note="a\\"b"');
});

test('a container\'s environment: envFrom, env with valueFrom and expansion, then service variables', async () => {
  const warnings: string[] = [];
  const c: Container = {
    name: 'c',
    envFrom: [{ configMapRef: { name: 'cfg' }, prefix: 'CFG_' }],
    env: [
      { name: 'MY_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      { name: 'GREETING', value: 'hi $(MY_NAME) at $(IP):$(MLFLOW_SERVICE_SERVICE_PORT) $(NOPE) $$(IP)' },
      { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
      { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'mode' } } },
      { name: 'MAYBE', valueFrom: { configMapKeyRef: { name: 'missing', key: 'k', optional: true } } },
      { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
      { name: 'MLFLOW_SERVICE_SERVICE_HOST', value: 'overridden' },
    ],
  };
  const env = await containerEnv(c, ctx({ warn: (_r, m) => warnings.push(m) }));
  assert.equal(env.get('CFG_mode'), 'fast');
  assert.equal(env.get('CFG_LEVEL'), '3');
  assert.equal(env.has('CFG_bad key'), false);
  assert.match(warnings[0], /Keys \[CFG_bad key\] from the EnvFrom configMap mlflow\/cfg were skipped/);
  assert.equal(env.get('GREETING'), 'hi web-1 at 127.244.0.2:5000 $(NOPE) $(IP)');
  assert.equal(env.get('PASSWORD'), 's3cret');
  assert.equal(env.get('MODE'), 'fast');
  assert.equal(env.has('MAYBE'), false);
  assert.equal(env.get('MEM'), '8192');
  assert.equal(env.get('MLFLOW_SERVICE_SERVICE_HOST'), 'overridden');
  assert.equal(env.get('MLFLOW_SERVICE_PORT'), 'tcp://127.96.0.20:5000');
  assert.deepEqual(expandCommand(['echo', '$(MY_NAME)', '$(POD_IP)'], new Map([...env, ['POD_IP', '127.244.0.2']])), ['echo', 'web-1', '127.244.0.2']);
});

test('missing ConfigMaps, Secrets and keys are kubelet\'s CreateContainerConfigError messages', async () => {
  const cases: [Container['env'], string][] = [
    [[{ name: 'X', valueFrom: { configMapKeyRef: { name: 'gone', key: 'k' } } }], 'configmap "gone" not found'],
    [[{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'k' } } }], "couldn't find key k in ConfigMap mlflow/cfg"],
    [[{ name: 'X', valueFrom: { secretKeyRef: { name: 'gone', key: 'k' } } }], 'secret "gone" not found'],
    [[{ name: 'X', valueFrom: { secretKeyRef: { name: 'creds', key: 'k' } } }], "couldn't find key k in Secret mlflow/creds"],
  ];
  for (const [env, msg] of cases) {
    await assert.rejects(containerEnv({ name: 'c', env }, ctx()), (e: unknown) => e instanceof ContainerConfigError && e.message === msg);
  }
  await assert.rejects(containerEnv({ name: 'c', envFrom: [{ secretRef: { name: 'nope' } }] }, ctx()), /secret "nope" not found/);
  const ok = await containerEnv({ name: 'c', envFrom: [{ secretRef: { name: 'nope', optional: true } }] }, ctx());
  assert.equal(ok.has('PASSWORD'), false);
});

test('quantities parse with binary and decimal suffixes', () => {
  assert.equal(parseQuantity('500m'), 0.5);
  assert.equal(parseQuantity('2'), 2);
  assert.equal(parseQuantity('1Gi'), 2 ** 30);
  assert.equal(parseQuantity('128M'), 128e6);
  assert.equal(parseQuantity('1e3'), 1000);
  assert.equal(parseQuantity('x'), undefined);
});
