// Tables from k8s.io/apimachinery/pkg/labels/selector_test.go, plus the messages kube-apiserver
// answers with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../errors.ts';
import {
  LabelSelectorError,
  everything,
  isEverything,
  labelSelectorAsSelector,
  matches,
  newRequirement,
  nothing,
  parseLabelSelector,
  parseLabelSelectorOrThrow,
  requiresExactMatch,
  selectorFromSet,
  selectorToString,
  type LabelRequirement,
  formatLabelSelector,
  formatLabels,
  labelsToString,
} from './labels.ts';

const req = (key: string, operator: LabelRequirement['operator'], values: string[] = []): LabelRequirement => ({ key, operator, values });

test('good selectors parse and print back without their spaces (TestSelectorParse)', () => {
  for (const s of ['x=a,y=b,z=c', '', 'x!=a,y=b', 'x=', 'x= ', 'x=,z= ', 'x= ,z= ', '!x', 'x>1', 'x>1,z<5']) {
    assert.equal(selectorToString(parseLabelSelectorOrThrow(s)), s.replaceAll(' ', ''), s);
  }
});

test('bad selectors are rejected (TestSelectorParse)', () => {
  for (const s of ['x=a||y=b', 'x==a==b', '!x=a', 'x<a']) {
    assert.throws(() => parseLabelSelectorOrThrow(s), LabelSelectorError, s);
  }
});

test('parsing sorts by key, so the order of terms does not matter (TestDeterministicParse)', () => {
  assert.equal(selectorToString(parseLabelSelectorOrThrow('x=a,a=x')), selectorToString(parseLabelSelectorOrThrow('a=x,x=a')));
});

test('selectors match label sets as apimachinery does (TestSelectorMatches)', () => {
  const yes: Array<[string, Record<string, string>]> = [
    ['', { x: 'y' }],
    ['x=y', { x: 'y' }],
    ['x=y,z=w', { x: 'y', z: 'w' }],
    ['x!=y,z!=w', { x: 'z', z: 'a' }],
    ['notin=in', { notin: 'in' }],
    ['x', { x: 'z' }],
    ['!x', { y: 'z' }],
    ['x>1', { x: '2' }],
    ['x<1', { x: '0' }],
    ['foo=bar', { foo: 'bar', baz: 'blah' }],
    ['baz=blah', { foo: 'bar', baz: 'blah' }],
    ['foo=bar,baz=blah', { foo: 'bar', baz: 'blah' }],
  ];
  const no: Array<[string, Record<string, string>]> = [
    ['x=z', {}],
    ['x=y', { x: 'z' }],
    ['x=y,z=w', { x: 'w', z: 'w' }],
    ['x!=y,z!=w', { x: 'z', z: 'w' }],
    ['x', { y: 'z' }],
    ['!x', { x: 'z' }],
    ['x>1', { x: '0' }],
    ['x<1', { x: '2' }],
    ['foo=blah', { foo: 'bar', baz: 'blah' }],
    ['baz=bar', { foo: 'bar', baz: 'blah' }],
    ['foo=bar,foobar=bar,baz=blah', { foo: 'bar', baz: 'blah' }],
  ];
  for (const [s, set] of yes) assert.equal(matches(parseLabelSelectorOrThrow(s), set), true, `${s} matches ${JSON.stringify(set)}`);
  for (const [s, set] of no) assert.equal(matches(parseLabelSelectorOrThrow(s), set), false, `${s} does not match ${JSON.stringify(set)}`);
});

test('set-based selectors parse to these requirements (TestSetSelectorParser)', () => {
  const cases: Array<[string, LabelRequirement[] | 'error']> = [
    ['', []],
    ['\rx', [req('x', 'exists')]],
    ['this-is-a-dns.domain.com/key-with-dash', [req('this-is-a-dns.domain.com/key-with-dash', 'exists')]],
    ['this-is-another-dns.domain.com/key-with-dash in (so,what)', [req('this-is-another-dns.domain.com/key-with-dash', 'in', ['so', 'what'])]],
    ['0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)', [req('0.1.2.domain/99', 'notin', ['10.10.100.1', 'tick.tack.clock'])]],
    ['foo  in\t (abc)', [req('foo', 'in', ['abc'])]],
    ['x notin\n (abc)', [req('x', 'notin', ['abc'])]],
    ['x  notin\t\t\t(abc,def)', [req('x', 'notin', ['abc', 'def'])]],
    ['x in (abc,def)', [req('x', 'in', ['abc', 'def'])]],
    ['x in (abc,)', [req('x', 'in', ['', 'abc'])]],
    ['x in ()', [req('x', 'in', [''])]],
    ['x notin (abc,,def),bar,z in (),w', [req('bar', 'exists'), req('w', 'exists'), req('x', 'notin', ['', 'abc', 'def']), req('z', 'in', [''])]],
    ['x,y in (a)', [req('x', 'exists'), req('y', 'in', ['a'])]],
    ['x=a', [req('x', '=', ['a'])]],
    ['x>1', [req('x', 'gt', ['1'])]],
    ['x<7', [req('x', 'lt', ['7'])]],
    ['x=a,y!=b', [req('x', '=', ['a']), req('y', '!=', ['b'])]],
    ['x=a,y!=b,z in (h,i,j)', [req('x', '=', ['a']), req('y', '!=', ['b']), req('z', 'in', ['h', 'i', 'j'])]],
    ['x=a||y=b', 'error'],
    ['x,,y', 'error'],
    [',x,y', 'error'],
    ['x nott in (y)', 'error'],
    ['x notin ( )', [req('x', 'notin', [''])]],
    ['x notin (, a)', [req('x', 'notin', ['', 'a'])]],
    ['a in (xyz),', 'error'],
    ['a in (xyz)b notin ()', 'error'],
    ['a ', [req('a', 'exists')]],
    ['a in (x,y,notin, z,in)', [req('a', 'in', ['in', 'notin', 'x', 'y', 'z'])]],
    ['a in (xyz abc)', 'error'],
    ['a notin(', 'error'],
    ['a (', 'error'],
    ['(', 'error'],
  ];
  for (const [s, want] of cases) {
    if (want === 'error') assert.throws(() => parseLabelSelectorOrThrow(s), LabelSelectorError, JSON.stringify(s));
    else assert.deepStrictEqual(parseLabelSelectorOrThrow(s).requirements, want, JSON.stringify(s));
  }
});

test('parse errors carry apimachinery messages, and reach clients as 400 BadRequest', () => {
  const cases: Array<[string, string]> = [
    ['x nott in (y)', "unable to parse requirement: found 'nott', expected: in, notin, =, ==, !=, gt, lt"],
    ['component not in (kube-apiserver)', "unable to parse requirement: found 'not', expected: in, notin, =, ==, !=, gt, lt"],
    ['x,,y', "found ',', expected: identifier after ','"],
    [',x', "found ',', expected: !, identifier, or 'end of string'"],
    ['a in (xyz),', "found '', expected: identifier after ','"],
    ['a in (xyz)b notin ()', "found 'b', expected: ',' or 'end of string'"],
    ['a in (xyz abc)', "unable to parse requirement: found 'abc', expected: ',' or ')'"],
    ['a notin(', "unable to parse requirement: found '', expected: ',', ')' or identifier"],
    ['a in xyz', "unable to parse requirement: found 'xyz' expected: '('"],
    ['a (', "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt"],
    ['(', "found '(', expected: !, identifier, or 'end of string'"],
    ['x=a,b=c=d', "found '=', expected: ',' or 'end of string'"],
    ['x=a||y=b', `unable to parse requirement: values[0][x]: Invalid value: "a||y": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`],
    ['!x=a', "found '=', expected: ',' or 'end of string'"],
    ['x==a==b', "found '==', expected: ',' or 'end of string'"],
    ['x=(a)', "unable to parse requirement: found '(', expected: identifier"],
    ['!', "unable to parse requirement: found '', expected: identifier"],
    ['x<a', `unable to parse requirement: values[0]: Invalid value: "a": for 'Gt', 'Lt' operators, the value must be an integer`],
    ['x in (a,=)', "unable to parse requirement: found '=', expected: ',', or identifier"],
    [
      'app:monolith',
      `unable to parse requirement: <nil>: Invalid value: "app:monolith": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
    ],
    [
      'a/b/c=d',
      `unable to parse requirement: <nil>: Invalid value: "a/b/c": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ],
    [
      'app.kubernetes_io/name=x',
      `unable to parse requirement: <nil>: Invalid value: "app.kubernetes_io/name": prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
    ],
    [
      'x=a@b',
      `unable to parse requirement: values[0][x]: Invalid value: "a@b": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
    ],
    [
      `x=${'v'.repeat(64)}`,
      `unable to parse requirement: values[0][x]: Invalid value: "${'v'.repeat(64)}": must be no more than 63 characters`,
    ],
    [
      `/x`,
      `unable to parse requirement: <nil>: Invalid value: "/x": prefix part must be non-empty`,
    ],
    [
      `${'k'.repeat(64)}`,
      `unable to parse requirement: <nil>: Invalid value: "${'k'.repeat(64)}": name part must be no more than 63 characters`,
    ],
  ];
  for (const [s, message] of cases) {
    assert.throws(() => parseLabelSelectorOrThrow(s), (e: unknown) => e instanceof LabelSelectorError && e.message === message, `${JSON.stringify(s)} → ${message}`);
    assert.throws(
      () => parseLabelSelector(s),
      (e: unknown) => e instanceof ApiError && e.code === 400 && e.reason === 'BadRequest' && e.message === message,
    );
  }
});

test('keys and values may be empty, "in" and "notin" may be values, and whitespace only separates', () => {
  assert.deepStrictEqual(parseLabelSelectorOrThrow('in in (in, notin)').requirements, [req('in', 'in', ['in', 'notin'])]);
  assert.deepStrictEqual(parseLabelSelectorOrThrow(' a = b , c != d ').requirements, [req('a', '=', ['b']), req('c', '!=', ['d'])]);
  assert.deepStrictEqual(parseLabelSelectorOrThrow('a==b').requirements, [req('a', '==', ['b'])]);
  assert.deepStrictEqual(parseLabelSelectorOrThrow('x in (b,a,b)').requirements, [req('x', 'in', ['a', 'b'])]);
});

test('requirements print in their canonical forms (TestToString)', () => {
  const sel = (...r: LabelRequirement[]) => ({ requirements: r });
  assert.equal(selectorToString(sel(req('x', 'in', ['abc', 'def']), req('y', 'notin', ['jkl']), req('z', 'exists'))), 'x in (abc,def),y notin (jkl),z');
  assert.equal(selectorToString(sel(req('x', 'notin', ['abc', 'def']), req('y', '!=', ['jkl']), req('z', '!'))), 'x notin (abc,def),y!=jkl,!z');
  assert.equal(selectorToString(sel(req('x', 'notin', ['abc']), req('y', 'in', ['jkl', 'mno']), req('z', 'notin', ['']))), 'x notin (abc),y in (jkl,mno),z notin ()');
  assert.equal(selectorToString(sel(req('x', '=', ['abc']), req('y', '==', ['jkl']), req('z', '!=', ['a']), req('z', 'exists'))), 'x=abc,y==jkl,z!=a,z');
  assert.equal(selectorToString(sel(req('x', 'gt', ['2']), req('y', 'lt', ['8']), req('z', 'exists'))), 'x>2,y<8,z');
  // Values print sorted, without changing the requirement (safeSort).
  const r = req('x', 'in', ['b', 'a']);
  assert.equal(selectorToString(sel(r)), 'x in (a,b)');
  assert.deepStrictEqual(r.values, ['b', 'a']);
});

test('requirements match label sets (TestRequirementSelectorMatching)', () => {
  const sel = (...r: LabelRequirement[]) => ({ requirements: r });
  assert.equal(matches(sel(req('x', 'in', ['foo']), req('y', 'notin', ['alpha'])), { x: 'foo', y: 'baz' }), true);
  assert.equal(matches(sel(req('x', 'in', ['foo']), req('y', 'in', ['alpha'])), { x: 'foo', y: 'baz' }), false);
  assert.equal(matches(sel(req('x', 'notin', ['']), req('y', 'exists')), { y: '' }), true);
  assert.equal(matches(sel(req('x', '!'), req('y', 'exists')), { y: '' }), true);
  assert.equal(matches(sel(req('x', 'notin', ['']), req('y', '!')), { y: '' }), false);
  assert.equal(matches(sel(req('x', 'in', [''])), { y: 'baz' }), false);
  assert.equal(matches(sel(req('z', 'gt', ['1'])), { z: '2' }), true);
  assert.equal(matches(sel(req('z', 'gt', ['1'])), { z: 'v2' }), false);
  // Integers are int64: large values compare exactly.
  assert.equal(matches(sel(req('z', 'lt', ['9223372036854775807'])), { z: '9223372036854775806' }), true);
  assert.equal(matches(sel(req('z', 'gt', ['1'])), { z: '9223372036854775808' }), false);
});

test('NewRequirement validates operators and values with field paths (TestRequirementConstructor)', () => {
  const ok: Array<[string, string, string[] | null]> = [
    ['x3', 'in', ['foo']],
    ['x4', 'notin', ['foo']],
    ['x6', 'exists', null],
    ['x7', '!', null],
    ['1foo', 'in', ['bar']],
    ['1234', 'in', ['bar']],
    ['y', 'gt', ['1']],
    ['z', 'lt', ['6']],
  ];
  for (const [k, op, v] of ok) assert.doesNotThrow(() => newRequirement(k, op, v), `${k} ${op}`);
  const bad: Array<[string, string, string[] | null, string]> = [
    ['x1', 'in', null, `values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty`],
    ['x2', 'notin', [], `values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty`],
    ['x5', '=', ['bar', 'foo'], `values: Invalid value: []string{"bar", "foo"}: exact-match compatibility requires one single value`],
    ['x8', 'exists', ['foo'], `values: Invalid value: []string{"foo"}: values set must be empty for exists and does not exist`],
    ['x13', 'gt', null, `values: Invalid value: []string(nil): for 'Gt', 'Lt' operators, exactly one value is required`],
    ['x14', 'gt', ['bar'], `values[0]: Invalid value: "bar": for 'Gt', 'Lt' operators, the value must be an integer`],
    ['x15', 'lt', ['bar'], `values[0]: Invalid value: "bar": for 'Gt', 'Lt' operators, the value must be an integer`],
    [
      'a'.repeat(254),
      'exists',
      null,
      `key: Invalid value: "${'a'.repeat(254)}": name part must be no more than 63 characters`,
    ],
    ['x18', 'unsupportedOp', null, `operator: Unsupported value: "unsupportedOp": supported values: "in", "notin", "=", "==", "!=", "gt", "lt", "exists", "!"`],
    [
      'x19',
      'in',
      ['a b', 'c'],
      `values[0][x19]: Invalid value: "a b": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
    ],
    [
      'x20',
      'gt',
      ['1', '2'],
      `values: Invalid value: []string{"1", "2"}: for 'Gt', 'Lt' operators, exactly one value is required`,
    ],
  ];
  for (const [k, op, v, message] of bad) {
    assert.throws(() => newRequirement(k, op, v), (e: unknown) => e instanceof LabelSelectorError && e.message === message, `${k}: ${message}`);
  }
  // Several errors print as an aggregate.
  assert.throws(
    () => newRequirement('x', 'gt', ['a', 'b']),
    (e: unknown) =>
      e instanceof LabelSelectorError &&
      e.message ===
        `[values: Invalid value: []string{"a", "b"}: for 'Gt', 'Lt' operators, exactly one value is required, values[0]: Invalid value: "a": for 'Gt', 'Lt' operators, the value must be an integer, values[1]: Invalid value: "b": for 'Gt', 'Lt' operators, the value must be an integer]`,
  );
});

test('a LabelSelector object becomes a selector as LabelSelectorAsSelector does', () => {
  assert.equal(labelSelectorAsSelector(undefined), nothing);
  assert.equal(matches(labelSelectorAsSelector(null), {}), false);
  assert.equal(labelSelectorAsSelector({}), everything);
  assert.equal(isEverything(labelSelectorAsSelector({ matchLabels: {}, matchExpressions: [] })), true);
  const sel = labelSelectorAsSelector({
    matchLabels: { tier: 'web', app: 'mlflow' },
    matchExpressions: [
      { key: 'env', operator: 'In', values: ['prod', 'dev'] },
      { key: 'canary', operator: 'DoesNotExist' },
      { key: 'zone', operator: 'NotIn', values: ['b'] },
      { key: 'owner', operator: 'Exists' },
    ],
  });
  assert.equal(selectorToString(sel), 'app=mlflow,!canary,env in (dev,prod),owner,tier=web,zone notin (b)');
  assert.equal(matches(sel, { app: 'mlflow', tier: 'web', env: 'dev', owner: 'me' }), true);
  assert.equal(matches(sel, { app: 'mlflow', tier: 'web', env: 'dev', owner: 'me', canary: '' }), false);
  assert.equal(matches(sel, { app: 'mlflow', tier: 'web', env: 'qa', owner: 'me' }), false);
  assert.equal(selectorToString(labelSelectorAsSelector({ matchLabels: { app: 'mlflow' } })), 'app=mlflow');
});

test('a LabelSelector object with a bad operator, key or value throws with apimachinery words', () => {
  const cases: Array<[Parameters<typeof labelSelectorAsSelector>[0], string]> = [
    [{ matchExpressions: [{ key: 'a', operator: 'Equals', values: ['b'] }] }, '"Equals" is not a valid label selector operator'],
    [{ matchExpressions: [{ key: 'a', operator: 'In' }] }, `values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty`],
    [{ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }, `values: Invalid value: []string{"x"}: values set must be empty for exists and does not exist`],
    [
      { matchLabels: { 'bad key': 'x' } },
      `key: Invalid value: "bad key": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
    ],
  ];
  for (const [ls, message] of cases) {
    assert.throws(() => labelSelectorAsSelector(ls), (e: unknown) => e instanceof LabelSelectorError && e.message === message, message);
  }
});

test('selectorFromSet selects exactly the set, and an empty set everything', () => {
  const sel = selectorFromSet({ foo: 'bar', baz: 'blah' });
  assert.equal(selectorToString(sel), 'baz=blah,foo=bar');
  assert.equal(matches(sel, { foo: 'bar', baz: 'blah', extra: '1' }), true);
  assert.equal(matches(sel, { foo: 'bar' }), false);
  assert.equal(isEverything(selectorFromSet({})), true);
  assert.equal(isEverything(selectorFromSet(undefined)), true);
  assert.equal(matches(selectorFromSet({}), { foo: 'bar' }), true);
});

test('requiresExactMatch exposes the single value a selector pins a key to, for indexes', () => {
  const sel = parseLabelSelectorOrThrow('app=web,tier in (a),env in (x,y),zone!=b,kubernetes.io/service-name==foo');
  assert.equal(requiresExactMatch(sel, 'app'), 'web');
  assert.equal(requiresExactMatch(sel, 'tier'), 'a');
  assert.equal(requiresExactMatch(sel, 'kubernetes.io/service-name'), 'foo');
  assert.equal(requiresExactMatch(sel, 'env'), undefined);
  assert.equal(requiresExactMatch(sel, 'zone'), undefined);
  assert.equal(requiresExactMatch(sel, 'missing'), undefined);
});

test('labels that are absent or inherited from Object.prototype do not count as present', () => {
  const sel = parseLabelSelectorOrThrow('constructor');
  assert.equal(matches(sel, {}), false);
  assert.equal(matches(parseLabelSelectorOrThrow('!toString'), {}), true);
  assert.equal(matches(parseLabelSelectorOrThrow('a!=b'), undefined), true);
});

test('label sets and LabelSelector objects print as kubectl describe and the tables show them', () => {
  assert.equal(labelsToString({ b: '2', a: '1' }), 'a=1,b=2');
  assert.equal(formatLabels({ b: '2', a: '1' }), 'a=1,b=2');
  assert.equal(formatLabels({}), '<none>');
  assert.equal(formatLabels(undefined), '<none>');
  assert.equal(formatLabelSelector({ matchLabels: { app: 'web' } }), 'app=web');
  assert.equal(formatLabelSelector({}), '<none>');
  assert.equal(formatLabelSelector(undefined), '<none>');
  assert.equal(formatLabelSelector({ matchExpressions: [{ key: 'a', operator: 'Bogus' }] }), '<error>');
});
