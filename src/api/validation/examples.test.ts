// Every manifest of the seed (/work/shared/examples, or SVCNET_EXAMPLES) defaults and validates
// cleanly, the way `kubectl apply -f` would create it on a fresh cluster.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Service } from 'kubernetes-types/core/v1.js';
import { findResourceByKind, Services, type KubeObject } from '../index.ts';
import { defaultObject, initServiceIPFamilies } from '../defaults/index.ts';
import { normalizeClusterIPs, prepareForCreate } from '../strategy/index.ts';
import { defaultClusterConfig, validateCreate, webhookDenial } from './index.ts';

const dir = process.env.SVCNET_EXAMPLES ?? '/work/shared/examples';

function manifests(): { file: string; obj: KubeObject }[] {
  const out: { file: string; obj: KubeObject }[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      const obj = doc.toJS() as KubeObject | null;
      if (obj) out.push({ file, obj });
    }
  }
  return out;
}

test('every seed manifest defaults and validates cleanly', (t) => {
  if (!existsSync(dir)) {
    t.skip(`no example manifests at ${dir}`);
    return;
  }
  const all = manifests();
  assert.ok(all.length >= 10, `found only ${all.length} manifests`);
  for (const { file, obj } of all) {
    const r = findResourceByKind(obj.apiVersion ?? '', obj.kind ?? '');
    assert.ok(r, `${file}: ${obj.apiVersion}/${obj.kind} is not a served resource`);
    defaultObject(r, obj);
    prepareForCreate(r, obj);
    if (r === Services) {
      normalizeClusterIPs(obj as Service);
      assert.deepEqual(initServiceIPFamilies(obj as Service, undefined, defaultClusterConfig), [], `${file}: IP families`);
    }
    assert.deepEqual(validateCreate(r, obj), [], `${file}: ${obj.kind} ${obj.metadata?.name}`);
    assert.equal(webhookDenial(r, obj), undefined, `${file}: webhook`);
  }
});

test('the seed Deployment keeps its 2 replicas and gets a rolling update strategy', (t) => {
  if (!existsSync(dir)) {
    t.skip(`no example manifests at ${dir}`);
    return;
  }
  const dep = manifests().find((m) => m.obj.kind === 'Deployment')?.obj as { spec?: { replicas?: number; strategy?: { type?: string } } } | undefined;
  assert.ok(dep);
  const r = findResourceByKind('apps/v1', 'Deployment');
  assert.ok(r);
  defaultObject(r, dep as KubeObject);
  assert.equal(dep.spec?.replicas, 2);
  assert.equal(dep.spec?.strategy?.type, 'RollingUpdate');
});
