// examples/ holds the seed's manifests, copied verbatim from ../shared/examples (the tests apply
// them as users would: test/apiserver-kubectl-apply.test.ts). This checks the copy is verbatim.
//
// Two checks, and why both:
// - Where ../shared/examples exists (the workspace this project is developed in), examples/ must
//   hold exactly its files, byte for byte. This is the real check: it catches both a local edit
//   and an upstream change that was not copied over.
// - The sha256 digests below are the files as they were copied. A fresh clone (e.g. in CI) may
//   have no ../shared at all; there the comparison with the original cannot be made, and the
//   test does not pretend it was: it checks only that examples/ still holds what was copied,
//   i.e. that nobody edited a manifest in this repository. The digests are checked everywhere,
//   so that updating the copy from ../shared also means updating them here (deliberately).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { examplesDir, repoRoot } from './lib/svcnet.ts';

const sharedExamples = join(repoRoot, '..', 'shared', 'examples');

/** The files of ../shared/examples as copied into examples/, by sha256. */
const copied: Record<string, string> = {
  '00-namespaces.yaml': 'f334ab49df632afcab60263eefec75254de757752a82e6d0d6e1ceb1ab978f70',
  '01-mlflow-clusterip.yaml': '056e23a6912a2bca72dd7778094119ecd217d22de535bea873451aa7a65b3ef0',
  '02-mlflow-nodeport.yaml': '4605631002211e74db64ad2bd56edd0d245caef5a7e70c77700f6394c937285e',
  '03-grafana-loadbalancer.yaml': '98eb378beed54620c1816feef01e7ed95c8507d2a947b7b1fcfbe2efa935d1da',
  '04-external-db-externalname.yaml': '3bfeec0535e20799d48f12b5575b672de2b511b88c36fd11b282ad07aa83e1fa',
  '05-mlflow-deployment.yaml': '00b55fb5a32af7fd14c1ab91b01064d41dd9bdc43e0b98a9daf2d07770688fa1',
  '06-metallb-legacy-configmap.yaml': 'eb33f15e4f6c04f9bf652a1ff9287819993052c48283d2fb05fd6b2ce2f409d3',
  '07-metallb-ipaddresspool.yaml': '7b34149f96334992f3fb65aa8f2c7178b5657b943053c9d862ac74ca9c82dfcd',
  'README.md': 'f0047cfedf6b280c8736df58fd81c813311f56ac1481f686ecaf5a1e432cfdd3',
};

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .map((e) => {
      assert.ok(e.isFile(), `${join(dir, e.name)} is not a plain file`);
      return e.name;
    })
    .sort();
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

test('examples/ holds exactly the files of ../shared/examples, byte for byte', { skip: existsSync(sharedExamples) ? false : `${sharedExamples} does not exist on this machine (a fresh clone has no ../shared); the committed digests are checked instead` }, () => {
  assert.deepEqual(files(examplesDir), files(sharedExamples), 'the same file names');
  for (const f of files(sharedExamples)) {
    assert.ok(readFileSync(join(examplesDir, f)).equals(readFileSync(join(sharedExamples, f))), `examples/${f} differs from ${join(sharedExamples, f)}`);
  }
});

test('examples/ holds the files as they were copied (sha256 of each)', () => {
  assert.deepEqual(files(examplesDir), Object.keys(copied).sort(), 'the same file names');
  for (const [f, digest] of Object.entries(copied)) assert.equal(sha256(join(examplesDir, f)), digest, `examples/${f} was changed after it was copied`);
});
