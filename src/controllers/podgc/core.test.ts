import { test } from 'node:test';
import assert from 'node:assert/strict';
import { podGCReason } from './core.ts';

test('pods on vanished nodes and unscheduled terminating pods are collected; others are not', () => {
  const nodes = new Set(['n1']);
  const has = (n: string) => nodes.has(n);
  assert.equal(podGCReason({ spec: { nodeName: 'gone', containers: [] } }, has), 'orphaned');
  assert.equal(podGCReason({ spec: { nodeName: 'n1', containers: [] } }, has), undefined);
  assert.equal(podGCReason({ metadata: { deletionTimestamp: 'x' }, spec: { containers: [] } }, has), 'unscheduledTerminating');
  assert.equal(podGCReason({ spec: { containers: [] } }, has), undefined);
});
