// LoadBalancer addresses as MetalLB assigns them, through the real `bin/svcnet server` and the
// real kubectl: the seed's grafana Service gets an EXTERNAL-IP from the seed's pool in either
// MetalLB format, from the loopback pool in host mode without one, and stays <pending> with
// MetalLB's AllocationFailed event in netns mode without one. Also release and reuse, type
// changes, requested addresses, sharing, pool status and a kill -9 restart. Addresses such as
// 192.168.1.200 are only written into statuses: nothing is sent to them.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSvcnet, kubectl, examplesDir, type Svcnet } from './lib/svcnet.ts';
import { eventually } from '../src/util/index.ts';

const example = (f: string) => join(examplesDir, f);

/** Polls until fn returns a value (not undefined), or fails with the last thing seen. */
async function ok(s: Svcnet, args: string[], input?: string): Promise<string> {
  const r = await kubectl(s, args, input === undefined ? {} : { input });
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** The grafana row of `kubectl get svc -n monitoring` as its columns. */
async function grafanaRow(s: Svcnet): Promise<{ type: string; externalIP: string; ports: string }> {
  const out = await ok(s, ['get', 'svc', '-n', 'monitoring']);
  const lines = out.trim().split('\n');
  assert.match(lines[0], /^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE$/);
  const row = lines.find((l) => l.startsWith('grafana-service '));
  assert.ok(row, out);
  const [, type, , externalIP, ports] = row.split(/\s+/);
  return { type: type, externalIP: externalIP, ports: ports };
}

function inSeedPool(ip: string): boolean {
  const m = /^192\.168\.1\.(\d+)$/.exec(ip);
  return !!m && Number(m[1]) >= 200 && Number(m[1]) <= 250;
}

async function externalIP(s: Svcnet, ns: string, name: string): Promise<string> {
  return (await ok(s, ['get', 'svc', name, '-n', ns, '-o', 'jsonpath={.status.loadBalancer.ingress[*].ip}'])).trim();
}

function lbService(name: string, ns: string, extra: { annotations?: Record<string, string>; loadBalancerIP?: string; port?: number; protocol?: string } = {}): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns, annotations: extra.annotations ?? {} },
    spec: { type: 'LoadBalancer', selector: { app: name }, ports: [{ port: extra.port ?? 80, protocol: extra.protocol ?? 'TCP' }], ...(extra.loadBalancerIP ? { loadBalancerIP: extra.loadBalancerIP } : {}) },
  });
}

async function events(s: Svcnet, ns: string, name: string): Promise<string> {
  return ok(s, ['get', 'events', '-n', ns, '--field-selector', `involvedObject.name=${name}`, '-o', 'custom-columns=TYPE:.type,REASON:.reason,MESSAGE:.message', '--no-headers']);
}

describe('host mode with the legacy ConfigMap (examples 00, 03, 06)', () => {
  let s: Svcnet;

  before(async () => {
    s = await startSvcnet();
  });

  after(async () => {
    await s?.stop();
    s?.cleanup();
  });

  test('without a pool the seed’s LoadBalancer gets a loopback address, then one from the ConfigMap’s range once 06 is applied', async () => {
    await ok(s, ['apply', '-f', example('00-namespaces.yaml'), '-f', example('03-grafana-loadbalancer.yaml')]);
    const first = await eventually('a loopback EXTERNAL-IP', async () => {
      const r = await grafanaRow(s);
      return r.externalIP === s!.net!.firstLoadBalancerIP ? r : undefined;
    });
    assert.equal(first.externalIP, s!.net!.firstLoadBalancerIP, 'the first address of the loopback pool (127.240.0.1 by default)');
    assert.equal(first.type, 'LoadBalancer');

    await ok(s, ['apply', '-f', example('06-metallb-legacy-configmap.yaml')]);
    const row = await eventually('an EXTERNAL-IP from 192.168.1.200-250', async () => {
      const r = await grafanaRow(s);
      return inSeedPool(r.externalIP) ? r : undefined;
    });
    assert.equal(row.externalIP, '192.168.1.200');
    assert.match(row.ports, /^80:3\d{4}\/TCP$/);
    const ann = await ok(s, ['get', 'svc', 'grafana-service', '-n', 'monitoring', '-o', 'jsonpath={.metadata.annotations.metallb\\.io/ip-allocated-from-pool} {.status.loadBalancer.ingress[0].ipMode}']);
    assert.equal(ann, 'default VIP');
    const describe = await ok(s, ['describe', 'svc', 'grafana-service', '-n', 'monitoring']);
    assert.match(describe, /LoadBalancer Ingress:\s+192\.168\.1\.200/);
    assert.match(describe, /Normal\s+IPAllocated\s+\S+\s+metallb-controller\s+Assigned IP \["192\.168\.1\.200"\]/);
    assert.match(describe, /Normal\s+ClearAssignment\s+.*current IP for "monitoring\/grafana-service" not allowed by config/);
  });

  test('a deleted LoadBalancer frees its address for the next one', async () => {
    await ok(s, ['create', 'namespace', 'lb-reuse']);
    await ok(s, ['apply', '-f', '-'], lbService('one', 'lb-reuse'));
    const ip = await eventually('an address for one', async () => (await externalIP(s, 'lb-reuse', 'one')) || undefined);
    assert.ok(inSeedPool(ip) && ip !== '192.168.1.200', ip);
    await ok(s, ['delete', 'svc', 'one', '-n', 'lb-reuse']);
    await ok(s, ['apply', '-f', '-'], lbService('two', 'lb-reuse'));
    assert.equal(await eventually('an address for two', async () => (await externalIP(s, 'lb-reuse', 'two')) || undefined), ip);
  });

  test('a type change to ClusterIP clears the status and the pool annotation, and frees the address', async () => {
    await ok(s, ['create', 'namespace', 'lb-type']);
    await ok(s, ['apply', '-f', '-'], lbService('flip', 'lb-type'));
    const ip = await eventually('an address', async () => (await externalIP(s, 'lb-type', 'flip')) || undefined);
    await ok(s, ['patch', 'svc', 'flip', '-n', 'lb-type', '-p', '{"spec":{"type":"ClusterIP"}}']);
    await eventually('the pool annotation gone', async () => {
      const a = await ok(s, ['get', 'svc', 'flip', '-n', 'lb-type', '-o', 'jsonpath={.metadata.annotations}']);
      return a.includes('ip-allocated-from-pool') ? undefined : true;
    });
    assert.equal(await externalIP(s, 'lb-type', 'flip'), '');
    const out = await ok(s, ['get', 'svc', 'flip', '-n', 'lb-type', '--no-headers']);
    assert.match(out, /^flip\s+ClusterIP\s+\S+\s+<none>\s+80\/TCP/);
    await ok(s, ['apply', '-f', '-'], lbService('next', 'lb-type'));
    assert.equal(await eventually('the freed address reused', async () => (await externalIP(s, 'lb-type', 'next')) || undefined), ip);
  });

  test('a requested address is honoured; one outside the pool stays <pending> with the reason in describe', async () => {
    await ok(s, ['create', 'namespace', 'lb-req']);
    await ok(s, ['apply', '-f', '-'], lbService('want', 'lb-req', { loadBalancerIP: '192.168.1.240' }));
    assert.equal(await eventually('the requested address', async () => (await externalIP(s, 'lb-req', 'want')) || undefined), '192.168.1.240');
    await ok(s, ['apply', '-f', '-'], lbService('annotated', 'lb-req', { annotations: { 'metallb.io/loadBalancerIPs': '192.168.1.241' } }));
    assert.equal(await eventually('the annotated address', async () => (await externalIP(s, 'lb-req', 'annotated')) || undefined), '192.168.1.241');
    await ok(s, ['apply', '-f', '-'], lbService('outside', 'lb-req', { loadBalancerIP: '10.1.2.3' }));
    await ok(s, ['apply', '-f', '-'], lbService('taken', 'lb-req', { loadBalancerIP: '192.168.1.240', port: 81 }));
    const ev = await eventually('AllocationFailed events', async () => {
      const e = (await events(s, 'lb-req', 'outside')) + (await events(s, 'lb-req', 'taken'));
      return e.includes('outside') && e.includes('taken') ? e : undefined;
    });
    assert.match(ev, /Warning\s+AllocationFailed\s+Failed to allocate IP for "lb-req\/outside": \["10\.1\.2\.3"\] is not allowed in config/);
    assert.match(ev, /Warning\s+AllocationFailed\s+Failed to allocate IP for "lb-req\/taken": can't change sharing key for "lb-req\/taken", address also in use by lb-req\/want/);
    const row = (await ok(s, ['get', 'svc', 'outside', '-n', 'lb-req', '--no-headers'])).trim();
    assert.match(row, /^outside\s+LoadBalancer\s+\S+\s+<pending>\s+80:3\d{4}\/TCP/);
  });

  test('Services with the same allow-shared-ip key share one address on different protocols', async () => {
    await ok(s, ['create', 'namespace', 'lb-share']);
    const shared = { 'metallb.io/allow-shared-ip': 'dns' };
    await ok(s, ['apply', '-f', '-'], lbService('dns-tcp', 'lb-share', { annotations: shared, port: 53, protocol: 'TCP', loadBalancerIP: '192.168.1.250' }));
    await ok(s, ['apply', '-f', '-'], lbService('dns-udp', 'lb-share', { annotations: shared, port: 53, protocol: 'UDP', loadBalancerIP: '192.168.1.250' }));
    assert.equal(await eventually('tcp', async () => (await externalIP(s, 'lb-share', 'dns-tcp')) || undefined), '192.168.1.250');
    assert.equal(await eventually('udp', async () => (await externalIP(s, 'lb-share', 'dns-udp')) || undefined), '192.168.1.250');
    // Without the key the same address is refused.
    await ok(s, ['apply', '-f', '-'], lbService('intruder', 'lb-share', { port: 54, loadBalancerIP: '192.168.1.250' }));
    const ev = await eventually('the refusal', async () => {
      const e = await events(s, 'lb-share', 'intruder');
      return e.includes('AllocationFailed') ? e : undefined;
    });
    assert.match(ev, /can't change sharing key for "lb-share\/intruder", address also in use by lb-share\/dns-tcp,lb-share\/dns-udp/);
  });

  test('Services of another loadBalancerClass are left <pending> and untouched', async () => {
    await ok(s, ['create', 'namespace', 'lb-class']);
    const svc = JSON.parse(lbService('classy', 'lb-class')) as { spec: Record<string, unknown> };
    svc.spec.loadBalancerClass = 'example.com/other';
    await ok(s, ['apply', '-f', '-'], JSON.stringify(svc));
    await ok(s, ['apply', '-f', '-'], lbService('marker', 'lb-class'));
    await eventually('the marker allocated (the controller has seen both)', async () => (await externalIP(s, 'lb-class', 'marker')) || undefined);
    assert.equal(await externalIP(s, 'lb-class', 'classy'), '');
    assert.equal((await events(s, 'lb-class', 'classy')).trim(), '');
  });
});

describe('the IPAddressPool format (examples 00, 03, 07) and a kill -9 restart', () => {
  let s: Svcnet;

  before(async () => {
    s = await startSvcnet();
  });

  after(async () => {
    await s?.stop();
    s?.cleanup();
  });

  test('the seed’s LoadBalancer gets an EXTERNAL-IP from the IPAddressPool, which counts it in its status', async () => {
    await ok(s, ['apply', '-f', example('00-namespaces.yaml'), '-f', example('07-metallb-ipaddresspool.yaml')]);
    await ok(s, ['apply', '-f', example('03-grafana-loadbalancer.yaml')]);
    const row = await eventually('an EXTERNAL-IP from 192.168.1.200-250', async () => {
      const r = await grafanaRow(s);
      return inSeedPool(r.externalIP) ? r : undefined;
    });
    assert.equal(row.externalIP, '192.168.1.200');
    assert.match(row.ports, /^80:3\d{4}\/TCP$/);
    const status = await eventually('the pool status', async () => {
      const out = await ok(s, ['get', 'ipaddresspool', 'default', '-n', 'metallb-system', '-o', 'jsonpath={.status}']);
      return out.includes('assignedIPv4') ? (JSON.parse(out) as Record<string, number>) : undefined;
    });
    assert.deepEqual(status, { assignedIPv4: 1, assignedIPv6: 0, availableIPv4: 50, availableIPv6: 0 });
  });

  test('after kill -9 every Service keeps its address and a new one gets a different address', async () => {
    await ok(s, ['create', 'namespace', 'lb-restart']);
    for (const n of ['a', 'b', 'c']) await ok(s, ['apply', '-f', '-'], lbService(n, 'lb-restart'));
    const before = await eventually('three addresses', async () => {
      const ips = await Promise.all(['a', 'b', 'c'].map((n) => externalIP(s, 'lb-restart', n)));
      return ips.every(Boolean) ? ips : undefined;
    });
    await ok(s, ['delete', 'svc', 'a', '-n', 'lb-restart']);
    await s.kill9();
    await s.restart();
    await ok(s, ['apply', '-f', '-'], lbService('d', 'lb-restart'));
    await ok(s, ['apply', '-f', '-'], lbService('e', 'lb-restart'));
    const after = await eventually('addresses after the restart', async () => {
      const ips = await Promise.all(['b', 'c', 'd', 'e'].map((n) => externalIP(s, 'lb-restart', n)));
      return ips.every(Boolean) ? ips : undefined;
    });
    assert.deepEqual(after.slice(0, 2), before.slice(1), 'b and c keep theirs');
    const all = [...after, await externalIP(s, 'monitoring', 'grafana-service')];
    assert.equal(new Set(all).size, all.length, `no address twice: ${all.join(' ')}`);
    assert.ok(after.slice(2).includes(before[0]), 'a’s freed address went to a new Service');
  });
});

describe('netns mode without a pool', () => {
  let s: Svcnet | undefined;
  let dir = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'svcnet-lb-netns-'));
    // The control plane runs without root; the node agent's data plane is not needed here.
    s = await startSvcnet({ args: ['--mode', 'netns', '--no-agent'], dataDir: dir });
  });

  after(async () => {
    await s?.stop();
    s?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the seed’s LoadBalancer stays <pending> and describe says why', async () => {
    const srv = s!;
    await ok(srv, ['apply', '-f', example('00-namespaces.yaml'), '-f', example('03-grafana-loadbalancer.yaml')]);
    const describe = await eventually('the AllocationFailed event', async () => {
      const d = await ok(srv, ['describe', 'svc', 'grafana-service', '-n', 'monitoring']);
      return /AllocationFailed/.test(d) ? d : undefined;
    });
    assert.match(describe, /Warning\s+AllocationFailed\s+\S+\s+metallb-controller\s+Failed to allocate IP for "monitoring\/grafana-service": no available IPs/);
    const row = await grafanaRow(srv);
    assert.equal(row.externalIP, '<pending>');
    assert.match(row.ports, /^80:3\d{4}\/TCP$/);
    // A pool applied later serves the waiting Service.
    writeFileSync(join(dir, 'pool.yaml'), ['apiVersion: metallb.io/v1beta1', 'kind: IPAddressPool', 'metadata: {name: late, namespace: metallb-system}', 'spec: {addresses: [192.168.1.200-192.168.1.250]}'].join('\n'));
    await ok(srv, ['apply', '-f', join(dir, 'pool.yaml')]);
    assert.equal((await eventually('an address', async () => {
      const r = await grafanaRow(srv);
      return inSeedPool(r.externalIP) ? r : undefined;
    })).externalIP, '192.168.1.200');
  });
});
