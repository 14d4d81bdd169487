import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isApiError, type ApiError } from '../../api/index.ts';
import { managerFromUserAgent, patchTypeFor, supportedPatchTypes, validatePatchOptions, type PatchOptions, type PatchType } from './index.ts';

function apiError(f: () => unknown): ApiError {
  try {
    f();
  } catch (e) {
    if (isApiError(e)) return e;
    throw e;
  }
  assert.fail('expected an ApiError');
}

describe('patchTypeFor', () => {
  const ok: Array<[string, string, PatchType]> = [
    ['application/json-patch+json', '', 'json'],
    ['application/merge-patch+json', 'apps', 'merge'],
    ['application/strategic-merge-patch+json', 'discovery.k8s.io', 'strategic'],
    ['application/apply-patch+yaml', 'metallb.io', 'apply'],
    ['application/merge-patch+json; charset=utf-8', '', 'merge'],
  ];
  for (const [ct, group, want] of ok) {
    test(`reads ${ct} for group "${group}" as ${want}`, () => assert.equal(patchTypeFor(ct, group), want));
  }

  test('answers 415 for strategic merge on a custom resource, listing what it accepts', () => {
    const e = apiError(() => patchTypeFor('application/strategic-merge-patch+json', 'metallb.io'));
    assert.equal(e.code, 415);
    assert.equal(e.reason, 'UnsupportedMediaType');
    assert.equal(e.message, 'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml');
  });

  test('answers 415 for a content type that is no patch', () => {
    const e = apiError(() => patchTypeFor('application/json', ''));
    assert.equal(
      e.message,
      'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml',
    );
    assert.equal(apiError(() => patchTypeFor(undefined, '')).code, 415);
  });

  test('offers strategic merge for built-in groups only', () => {
    assert.deepEqual(supportedPatchTypes('coordination.k8s.io'), ['json', 'merge', 'strategic', 'apply']);
    assert.deepEqual(supportedPatchTypes('metallb.io'), ['json', 'merge', 'apply']);
  });
});

describe('validatePatchOptions', () => {
  const bad: Array<[PatchType, PatchOptions, string]> = [
    ['apply', {}, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch'],
    ['merge', { force: false }, 'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch'],
    ['json', { fieldManager: 'x'.repeat(129) }, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Too long: may not be more than 128 bytes'],
    ['json', { fieldManager: 'a\tb' }, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Invalid value: "a\\tb": invalid character U+0009 (at position 1)'],
    ['json', { dryRun: ['Some'] }, 'PatchOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: "Some": supported values: "All"'],
    ['strategic', { fieldValidation: 'Loose' }, 'PatchOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "Loose": supported values: "Ignore", "Strict", "Warn"'],
  ];
  for (const [type, opts, message] of bad) {
    test(`refuses ${JSON.stringify(opts)} for a ${type} patch with 422`, () => {
      const e = apiError(() => validatePatchOptions(type, opts));
      assert.equal(e.code, 422);
      assert.equal(e.message, message);
    });
  }

  test('accepts what kubectl sends', () => {
    validatePatchOptions('apply', { fieldManager: 'kubectl', force: false, fieldValidation: 'Strict' });
    validatePatchOptions('strategic', { fieldManager: 'kubectl-patch' });
    validatePatchOptions('merge', { dryRun: ['All'] });
  });
});

describe('managerFromUserAgent', () => {
  const cases: Array<[string | undefined, string]> = [
    ['kubectl/v1.32.4 (linux/amd64) kubernetes/59526cd', 'kubectl'],
    ['kube-controller-manager/v1.30.0 (linux/amd64) kubernetes/abc/system:serviceaccount:kube-system:deployment-controller', 'kube-controller-manager'],
    ['curl/8.5.0', 'curl'],
    ['no-slash', 'no-slash'],
    ['tab\there/1', 'tabhere'],
    [undefined, ''],
    ['x'.repeat(200), 'x'.repeat(128)],
  ];
  for (const [ua, want] of cases) test(`takes ${JSON.stringify(want)} from ${JSON.stringify(ua)}`, () => assert.equal(managerFromUserAgent(ua), want));
});
