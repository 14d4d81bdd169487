// kubectl 1.33 parses `top pod --selector/--field-selector` on the client with the same
// apimachinery code (labels.Parse, fields.ParseSelector) that kube-apiserver 1.33 runs, so it is
// a live oracle for our parsers: for each selector, kubectl's verdict and error text must be
// ours. A stub on 127.0.0.1 answers 404 to everything, so a selector kubectl accepts ends in
// "the server could not find the requested resource" instead of a parse error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { LabelSelectorError, parseLabelSelectorOrThrow } from '../src/api/selectors/labels.ts';
import { FieldSelectorError, parseFieldSelectorSyntax } from '../src/api/selectors/fields.ts';

function kubectlBinary(): string | undefined {
  try {
    const bin = join(dirname(realpathSync('/usr/bin/kubectl')), 'kubectl.1.33');
    return existsSync(bin) ? bin : undefined;
  } catch {
    return undefined;
  }
}

const kubectl = kubectlBinary();
const skip = kubectl ? false : 'needs kubectl.1.33 beside the binary /usr/bin/kubectl links to';

let server: Server | undefined;
let work = '';
let kubeconfig = '';

before(async () => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'svcnet-sel-'));
  server = createServer((_req, res) => {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'not found' }));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  kubeconfig = join(work, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    `apiVersion: v1\nkind: Config\nclusters: [{name: stub, cluster: {server: "http://127.0.0.1:${port}"}}]\nusers: [{name: t, user: {token: t}}]\ncontexts: [{name: stub, context: {cluster: stub, user: t}}]\ncurrent-context: stub\n`,
  );
});

after(async () => {
  if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
  if (work) rmSync(work, { recursive: true, force: true });
});

/** kubectl's verdict: undefined when it accepted the selector, else its error text. */
function kubectlVerdict(flag: '--selector' | '--field-selector', s: string): Promise<string | undefined> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work, KUBECONFIG: kubeconfig };
  const args = ['--kubeconfig', kubeconfig, '--cache-dir', join(work, 'cache'), '--request-timeout=10s', 'top', 'pod', `${flag}=${s}`];
  return new Promise((resolve, reject) => {
    execFile(kubectl!, args, { env, cwd: work, timeout: 30_000 }, (_err, stdout, stderr) => {
      const out = `${stdout}${stderr}`.trim();
      if (out.includes('the server could not find the requested resource')) resolve(undefined);
      else if (out.startsWith('error: ')) resolve(out.slice('error: '.length));
      else reject(new Error(`unexpected kubectl output for ${JSON.stringify(s)}: ${out}`));
    });
  });
}

function ourVerdict(parse: (s: string) => unknown, errorClass: new (m: string) => Error, s: string): string | undefined {
  try {
    parse(s);
    return undefined;
  } catch (e) {
    if (e instanceof errorClass) return e.message;
    throw e;
  }
}

/** Runs at most two kubectl processes at once (the machine has two cores). */
async function compareAll(flag: '--selector' | '--field-selector', inputs: readonly string[], ours: (s: string) => string | undefined): Promise<void> {
  const mismatches: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < inputs.length) {
      const s = inputs[next++];
      const theirs = await kubectlVerdict(flag, s);
      const mine = ours(s);
      if (theirs !== mine) mismatches.push(`${JSON.stringify(s)}:\n  kubectl: ${theirs ?? '(accepted)'}\n  svcnet:  ${mine ?? '(accepted)'}`);
    }
  };
  await Promise.all([worker(), worker()]);
  assert.deepStrictEqual(mismatches, []);
}

/** A fixed pseudo-random generator, so the generated cases are the same on every run. */
function generator(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2 ** 31);
}

function randomSelectors(pieces: readonly string[], count: number, seed: number): string[] {
  const next = generator(seed);
  const out = new Set<string>();
  while (out.size < count) {
    const n = 1 + (next() % 6);
    let s = '';
    for (let i = 0; i < n; i++) s += pieces[next() % pieces.length];
    out.add(s);
  }
  return [...out];
}

const labelCases = [
  'x=a,y=b,z=c', '', 'x!=a,y=b', 'x=', 'x= ', 'x=,z= ', '!x', 'x>1', 'x>1,z<5', 'x=a||y=b', 'x==a==b', '!x=a', 'x<a',
  'x nott in (y)', 'x in (abc,)', 'x in ()', 'x notin (abc,,def),bar,z in (),w', 'x,,y', ',x,y', 'a in (xyz),',
  'a in (xyz)b notin ()', 'a in (x,y,notin, z,in)', 'a in (xyz abc)', 'a notin(', 'a (', '(', 'app:monolith', 'a/b/c=d',
  'app.kubernetes_io/name=x', 'x=a@b', `x=${'v'.repeat(64)}`, '/x', 'k'.repeat(64), `${'p'.repeat(254)}/k`, 'x in xyz',
  'x=(a)', '!', 'x in (a,=)', 'x>-1', 'x<9223372036854775808', 'x>+5', 'in in (in)', 'x!y', 'x<=1', 'x=>1', '!!x',
  'example.com/a=b', 'Example.com/a=b', 'x==', 'x=a b', 'x in (a b', '\tx\n=\r a', 'x,', '!,x',
];

test('kubectl 1.33 and svcnet agree on these label selectors, messages included', { skip }, async () => {
  await compareAll('--selector', labelCases, (s) => ourVerdict(parseLabelSelectorOrThrow, LabelSelectorError, s));
});

test('kubectl 1.33 and svcnet agree on generated label selectors', { skip }, async () => {
  const pieces = ['a', 'x', 'b1', 'in', 'notin', ' in ', ' notin ', '(', ')', ',', '=', '==', '!=', '!', '>', '<', ' ', '1', '-', 'a.b/c', '@', ':', '_', 'A'];
  await compareAll('--selector', randomSelectors(pieces, 60, 42), (s) => ourVerdict(parseLabelSelectorOrThrow, LabelSelectorError, s));
});

const fieldCases = [
  'x=a,y=b,z=c', '', 'x!=a,y=b', 'x=a||y\\=b', 'x=a\\=\\=b', 'x=a||y=b', 'x==a==b', 'x=a,b', 'x in (a)', 'x', 'x=\\', 'x=\\a',
  'x=a\\,b', 'x=a,', ',x=a', 'x!=', '=', '=a', 'a=b=c', 'a==', 'a!==b', 'metadata.name=foo,status.phase!=Running', '함=수,목=록',
];

test('kubectl 1.33 and svcnet agree on these field selectors, messages included', { skip }, async () => {
  await compareAll('--field-selector', fieldCases, (s) => ourVerdict(parseFieldSelectorSyntax, FieldSelectorError, s));
});

test('kubectl 1.33 and svcnet agree on generated field selectors', { skip }, async () => {
  const pieces = ['a', 'x', '.', '=', '==', '!=', '!', ',', '\\', '\\,', '\\=', '\\\\', ' ', 'b', '1'];
  await compareAll('--field-selector', randomSelectors(pieces, 40, 7), (s) => ourVerdict(parseFieldSelectorSyntax, FieldSelectorError, s));
});
