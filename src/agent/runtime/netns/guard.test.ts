import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { assertNetnsModeAllowed, svcnetNamespaceOfSelf } from './guard.ts';

test('netns mode is refused outside a namespace svcnet made, unless allowed explicitly', () => {
  assert.equal(svcnetNamespaceOfSelf(), undefined, 'the test runs in the host namespace');
  assert.throws(() => assertNetnsModeAllowed(false), /this is not a network namespace svcnet made/);
  assert.doesNotThrow(() => assertNetnsModeAllowed(true));
});

test('inside a namespace svcnet made (svcnet-*), netns mode is allowed', (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('needs root to make a network namespace');
    return;
  }
  const ns = `svcnet-guard-${randomBytes(3).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', ns]);
  t.after(() => execFileSync('ip', ['netns', 'del', ns]));
  const script = `import('${new URL('./guard.ts', import.meta.url).pathname}').then((m) => process.stdout.write(String(m.svcnetNamespaceOfSelf())))`;
  const out = execFileSync('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', '-e', script], { encoding: 'utf8' });
  assert.equal(out, ns);
});
