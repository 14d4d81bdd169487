import { test } from 'node:test';
import assert from 'node:assert/strict';
import { missingServiceAccounts } from './core.ts';

test('an active namespace without a default ServiceAccount gets one; a terminating one gets none', () => {
  const active = { metadata: { name: 'a' }, status: { phase: 'Active' } };
  assert.deepEqual(missingServiceAccounts(active, () => false), [{ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } }]);
  assert.deepEqual(missingServiceAccounts(active, (n) => n === 'default'), []);
  assert.deepEqual(missingServiceAccounts({ metadata: { name: 'a', deletionTimestamp: 'x' }, status: { phase: 'Terminating' } }, () => false), []);
  assert.deepEqual(missingServiceAccounts(undefined, () => false), []);
});
