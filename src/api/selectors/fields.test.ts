// Tables from k8s.io/apimachinery/pkg/fields/selector_test.go, and kube-apiserver's field
// labels per resource with its messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Event, Namespace, Node, Secret, Service } from 'kubernetes-types/core/v1.js';
import { ApiError } from '../errors.ts';
import { ConfigMaps, Deployments, EndpointSlices, Events, IPAddressPools, Namespaces, Nodes, Pods, ReplicaSets, Secrets, Services } from '../resources.ts';
import {
  FieldSelectorError,
  escapeFieldValue,
  fieldSelectorToString,
  fieldsOf,
  matchesFields,
  parseFieldSelector,
  parseFieldSelectorSyntax,
  requiresExactFieldMatch,
  splitTerm,
  splitTerms,
  supportedFieldLabels,
  unescapeFieldValue,
} from './fields.ts';
import { selects, parseLabelSelector } from './index.ts';

test('terms split on unescaped commas only (TestSplitTerms)', () => {
  const cases: Array<[string, string[]]> = [
    ['a', ['a']],
    ['a=avalue', ['a=avalue']],
    ['a=avalue,b=bvalue', ['a=avalue', 'b=bvalue']],
    ['a=avalue,b==bvalue,c!=cvalue', ['a=avalue', 'b==bvalue', 'c!=cvalue']],
    ['', []],
    ['a=a,', ['a=a', '']],
    [',a=a', ['', 'a=a']],
    ['k=\\,,k2=v2', ['k=\\,', 'k2=v2']],
    ['k=\\\\,k2=v2', ['k=\\\\', 'k2=v2']],
    ['k=\\\\\\,,k2=v2', ['k=\\\\\\,', 'k2=v2']],
    ['k=\\a\\b\\', ['k=\\a\\b\\']],
    ['k=\\', ['k=\\']],
    ['함=수,목=록', ['함=수', '목=록']],
  ];
  for (const [s, want] of cases) assert.deepStrictEqual(splitTerms(s), want, s);
});

test('a term splits at its first operator (TestSplitTerm)', () => {
  const cases: Array<[string, { lhs: string; op: string; rhs: string } | undefined]> = [
    ['a=value', { lhs: 'a', op: '=', rhs: 'value' }],
    ['b==value', { lhs: 'b', op: '==', rhs: 'value' }],
    ['c!=value', { lhs: 'c', op: '!=', rhs: 'value' }],
    ['', undefined],
    ['a', undefined],
    ['k=\\,', { lhs: 'k', op: '=', rhs: '\\,' }],
    ['k=\\=', { lhs: 'k', op: '=', rhs: '\\=' }],
    ['k=\\\\\\a\\b\\=\\,\\', { lhs: 'k', op: '=', rhs: '\\\\\\a\\b\\=\\,\\' }],
    ['함=수', { lhs: '함', op: '=', rhs: '수' }],
  ];
  for (const [s, want] of cases) assert.deepStrictEqual(splitTerm(s), want, s);
});

test('values escape and unescape, and bad escapes are errors (TestEscapeValue)', () => {
  const cases: Array<[string, string]> = [
    ['', ''],
    ['a', 'a'],
    ['=', '\\='],
    [',', '\\,'],
    ['\\', '\\\\'],
    ['\\=\\,\\', '\\\\\\=\\\\\\,\\\\'],
  ];
  for (const [raw, escaped] of cases) {
    assert.equal(escapeFieldValue(raw), escaped);
    assert.equal(unescapeFieldValue(escaped), raw);
  }
  assert.throws(() => unescapeFieldValue('\\'), { message: 'invalid field selector: invalid escape sequence: \\' });
  assert.throws(() => unescapeFieldValue('\\\\\\'), { message: 'invalid field selector: invalid escape sequence: \\' });
  assert.throws(() => unescapeFieldValue('\\a'), { message: 'invalid field selector: invalid escape sequence: \\a' });
  // Go prints the rune with %v: 61 is '='.
  assert.throws(() => unescapeFieldValue('a=b'), { message: 'invalid field selector: unescaped character in value: 61' });
});

test('good selectors parse and print back; bad ones fail (TestSelectorParse)', () => {
  for (const s of ['x=a,y=b,z=c', '', 'x!=a,y=b', 'x=a||y\\=b', 'x=a\\=\\=b']) {
    assert.equal(fieldSelectorToString(parseFieldSelectorSyntax(s)), s, s);
  }
  for (const s of ['x=a||y=b', 'x==a==b', 'x=a,b', 'x in (a)', 'x in (a,b,c)', 'x']) {
    assert.throws(() => parseFieldSelectorSyntax(s), FieldSelectorError, s);
  }
  assert.throws(() => parseFieldSelectorSyntax('x=a,b'), { message: "invalid selector: 'x=a,b'; can't understand 'b'" });
  assert.throws(() => parseFieldSelectorSyntax('x in (a)'), { message: "invalid selector: 'x in (a)'; can't understand 'x in (a)'" });
});

test('terms are kept sorted, so their order does not matter (TestDeterministicParse)', () => {
  assert.equal(fieldSelectorToString(parseFieldSelectorSyntax('x=a,a=x')), fieldSelectorToString(parseFieldSelectorSyntax('a=x,x=a')));
  assert.equal(fieldSelectorToString(parseFieldSelectorSyntax('x==a')), 'x=a');
});

test('selectors match field sets (TestSelectorMatches)', () => {
  const m = (s: string, set: Record<string, string>) => matchesFields(parseFieldSelectorSyntax(s), set);
  assert.equal(m('', { x: 'y' }), true);
  assert.equal(m('x=y', { x: 'y' }), true);
  assert.equal(m('x=y,z=w', { x: 'y', z: 'w' }), true);
  assert.equal(m('x!=y,z!=w', { x: 'z', z: 'a' }), true);
  assert.equal(m('notin=in', { notin: 'in' }), true);
  assert.equal(m('x=y', { x: 'z' }), false);
  assert.equal(m('x=y,z=w', { x: 'w', z: 'w' }), false);
  assert.equal(m('x!=y,z!=w', { x: 'z', z: 'w' }), false);
  const set = { foo: 'bar', baz: 'blah', complex: '=value\\,\\' };
  assert.equal(m('foo=bar', set), true);
  assert.equal(m('baz=blah', set), true);
  assert.equal(m('foo=bar,baz=blah', set), true);
  assert.equal(m('foo=bar,baz=blah,complex=\\=value\\\\\\,\\\\', set), true);
  assert.equal(m('foo=blah', set), false);
  assert.equal(m('baz=bar', set), false);
  assert.equal(m('foo=bar,foobar=bar,baz=blah', set), false);
  // A missing field reads as "".
  assert.equal(m('missing=', set), true);
  assert.equal(m('missing!=x', set), true);
});

test('requiresExactFieldMatch gives the value an equality term pins (TestRequiresExactMatch)', () => {
  assert.equal(requiresExactFieldMatch(parseFieldSelectorSyntax(''), 'test'), undefined);
  assert.equal(requiresExactFieldMatch(parseFieldSelectorSyntax('a=b'), 'test'), undefined);
  assert.equal(requiresExactFieldMatch(parseFieldSelectorSyntax('test=b'), 'test'), 'b');
  assert.equal(requiresExactFieldMatch(parseFieldSelectorSyntax('test='), 'test'), '');
  assert.equal(requiresExactFieldMatch(parseFieldSelectorSyntax('test!=b'), 'test'), undefined);
  assert.equal(requiresExactFieldMatch(parseFieldSelectorSyntax('a=c,test=b'), 'test'), 'b');
});

function rejects400(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => e instanceof ApiError && e.code === 400 && e.reason === 'BadRequest' && e.message === message, message);
}

test('each resource accepts the field labels kube-apiserver converts, and words the others as it does', () => {
  const ok: Array<[typeof Pods, string]> = [
    [Pods, 'spec.nodeName=n1,spec.restartPolicy=Always,spec.schedulerName=s,spec.serviceAccountName=sa,spec.hostNetwork=false'],
    [Pods, 'status.phase=Running,status.podIP=10.0.0.1,status.podIPs=10.0.0.1,status.nominatedNodeName=n,metadata.name=p,metadata.namespace=d'],
    [Events, 'involvedObject.kind=Service,involvedObject.namespace=d,involvedObject.name=foo,involvedObject.uid=u,involvedObject.apiVersion=v1'],
    [Events, 'involvedObject.resourceVersion=1,involvedObject.fieldPath=f,reason=R,reportingComponent=c,source=s,type=Normal,metadata.name=e,metadata.namespace=d'],
    [Secrets, 'type=Opaque,metadata.name=s,metadata.namespace=d'],
    [Namespaces, 'status.phase=Active,metadata.name=ns'],
    [Nodes, 'spec.unschedulable=false,metadata.name=n'],
    [ReplicaSets, 'status.replicas=0,metadata.name=r,metadata.namespace=d'],
    [Services, 'spec.clusterIP=None,spec.type=ClusterIP,metadata.name=s,metadata.namespace=d'],
    [ConfigMaps, 'metadata.name=c,metadata.namespace=d'],
    [Deployments, 'metadata.name=mlflow'],
    [EndpointSlices, 'metadata.namespace=default'],
    [IPAddressPools, 'metadata.name=pool,metadata.namespace=metallb-system'],
  ];
  for (const [r, s] of ok) assert.doesNotThrow(() => parseFieldSelector(r, s), `${r.resource}: ${s}`);
  rejects400(() => parseFieldSelector(Events, 'message=whatever'), 'field label not supported: message');
  rejects400(() => parseFieldSelector(Pods, 'spec.containers=x'), 'field label not supported: spec.containers');
  rejects400(() => parseFieldSelector(Nodes, 'metadata.namespace=x'), 'field label not supported: metadata.namespace');
  rejects400(() => parseFieldSelector(Namespaces, 'metadata.namespace=x'), 'field label not supported: metadata.namespace');
  rejects400(() => parseFieldSelector(Services, 'spec.ports=80'), 'field label not supported: spec.ports');
  rejects400(() => parseFieldSelector(Secrets, 'data=x'), 'field label not supported: data');
  rejects400(() => parseFieldSelector(Deployments, 'status.replicas=1'), '"status.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"');
  rejects400(() => parseFieldSelector(ConfigMaps, 'foo.bar=baz'), '"foo.bar" is not a known field selector: only "metadata.name", "metadata.namespace"');
  rejects400(() => parseFieldSelector(IPAddressPools, 'spec.addresses=x'), 'field label not supported: spec.addresses');
  // Syntax errors come first, with fields' own words.
  rejects400(() => parseFieldSelector(Pods, 'status.phase'), "invalid selector: 'status.phase'; can't understand 'status.phase'");
  rejects400(() => parseFieldSelector(Pods, 'status.phase=a=b'), 'invalid field selector: unescaped character in value: 61');
  // The first unsupported label in sorted term order is the one named.
  rejects400(() => parseFieldSelector(Pods, 'zzz=1,aaa=2'), 'field label not supported: aaa');
});

test('the old spec.host label of pods selects spec.nodeName', () => {
  const sel = parseFieldSelector(Pods, 'spec.host=node-1');
  assert.deepStrictEqual(sel.requirements, [{ field: 'spec.nodeName', operator: '=', value: 'node-1' }]);
  assert.equal(fieldSelectorToString(sel), 'spec.nodeName=node-1');
});

test('supportedFieldLabels lists each resource’s labels', () => {
  assert.deepStrictEqual(supportedFieldLabels(Nodes), ['metadata.name', 'spec.unschedulable']);
  assert.deepStrictEqual(supportedFieldLabels(ConfigMaps), ['metadata.name', 'metadata.namespace']);
  assert.ok(supportedFieldLabels(Pods).includes('status.podIPs'));
});

test('fieldsOf gives the values the registries select on', () => {
  const pod = {
    metadata: { name: 'p', namespace: 'default' },
    spec: { nodeName: 'n1', restartPolicy: 'Always', schedulerName: 'default-scheduler', serviceAccountName: 'sa', hostNetwork: true },
    status: { phase: 'Running', podIP: '10.0.0.9', podIPs: [{ ip: '10.0.0.1' }, { ip: 'fd00::1' }], nominatedNodeName: '' },
  };
  assert.deepStrictEqual(fieldsOf(Pods, pod), {
    'metadata.name': 'p',
    'metadata.namespace': 'default',
    'spec.nodeName': 'n1',
    'spec.restartPolicy': 'Always',
    'spec.schedulerName': 'default-scheduler',
    'spec.serviceAccountName': 'sa',
    'spec.hostNetwork': 'true',
    'status.phase': 'Running',
    'status.podIP': '10.0.0.1',
    'status.nominatedNodeName': '',
  });
  assert.equal(fieldsOf(Pods, { metadata: { name: 'bare' } })['spec.hostNetwork'], 'false');
  assert.deepStrictEqual(fieldsOf(Nodes, { metadata: { name: 'n' }, spec: { unschedulable: true } } as Node), { 'metadata.name': 'n', 'spec.unschedulable': 'true' });
  assert.deepStrictEqual(fieldsOf(Namespaces, { metadata: { name: 'ns' }, status: { phase: 'Terminating' } } as Namespace), { 'metadata.name': 'ns', 'status.phase': 'Terminating' });
  assert.deepStrictEqual(fieldsOf(Secrets, { metadata: { name: 's', namespace: 'd' }, type: 'Opaque' } as Secret), { 'metadata.name': 's', 'metadata.namespace': 'd', type: 'Opaque' });
  assert.deepStrictEqual(fieldsOf(ReplicaSets, { metadata: { name: 'r', namespace: 'd' } }), { 'metadata.name': 'r', 'metadata.namespace': 'd', 'status.replicas': '0' });
  assert.deepStrictEqual(fieldsOf(Services, { metadata: { name: 's', namespace: 'd' }, spec: { clusterIP: '10.96.0.1', type: 'NodePort' } } as Service), {
    'metadata.name': 's',
    'metadata.namespace': 'd',
    'spec.clusterIP': '10.96.0.1',
    'spec.type': 'NodePort',
  });
  assert.deepStrictEqual(fieldsOf(ConfigMaps, { metadata: { name: 'c', namespace: 'd' } }), { 'metadata.name': 'c', 'metadata.namespace': 'd' });
  assert.deepStrictEqual(fieldsOf(IPAddressPools, { metadata: { name: 'pool', namespace: 'm' } }), { 'metadata.name': 'pool', 'metadata.namespace': 'm' });
});

test('event fields: source falls back to the reporting component', () => {
  const ev: Event = {
    metadata: { name: 'e', namespace: 'default' },
    involvedObject: { kind: 'Service', namespace: 'default', name: 'foo', uid: 'u-1', apiVersion: 'v1', resourceVersion: '7', fieldPath: '' },
    reason: 'Created',
    type: 'Normal',
    reportingComponent: 'service-controller',
  };
  const f = fieldsOf(Events, ev);
  assert.equal(f.source, 'service-controller');
  assert.equal(f.reportingComponent, 'service-controller');
  assert.equal(fieldsOf(Events, { ...ev, source: { component: 'kubelet' } } as Event).source, 'kubelet');
  // kubectl describe's query for a service's events.
  const sel = parseFieldSelector(Events, 'involvedObject.uid=u-1,involvedObject.name=foo,involvedObject.namespace=default,involvedObject.kind=Service');
  assert.equal(matchesFields(sel, f), true);
  assert.equal(matchesFields(parseFieldSelector(Events, 'involvedObject.kind=Pod'), f), false);
});

test('selects() applies the label and the field selector together, as a list or watch filter', () => {
  const svc: Service = { metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } }, spec: { type: 'NodePort' } };
  assert.equal(selects(Services, { labels: parseLabelSelector('app=web'), fields: parseFieldSelector(Services, 'spec.type=NodePort') }, svc), true);
  assert.equal(selects(Services, { labels: parseLabelSelector('app=db') }, svc), false);
  assert.equal(selects(Services, { fields: parseFieldSelector(Services, 'metadata.name=other') }, svc), false);
  assert.equal(selects(Services, {}, svc), true);
  // kubectl get svc foo -w watches with metadata.name.
  assert.equal(selects(Services, { fields: parseFieldSelector(Services, 'metadata.name=web') }, svc), true);
});
