// The esbuild bundle bin/svcnet starts from (startup: ~0.4 s instead of ~1.5 s of tsx compiling
// every module). It is only ever used when it was built from exactly the sources on disk: the
// stamp is a hash of every source file's path, size and mtime, checked on each start, and each
// build lives in its own dist/<stamp>/ (never changed once in place, so concurrent starts never
// see half a bundle). A missing bundle is built (about half a second) or, when that cannot
// happen, tsx runs the sources. Lazily imported modules stay lazy (code splitting). `npm ci`
// builds it (prepare). Run directly: `node scripts/bundle.mjs`.
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const lockPath = join(dist, 'svcnet.lock');

/** The entry module of the bundle built from sources with this stamp. */
export function bundlePath(stamp) {
  return join(dist, stamp.slice(0, 16), 'svcnet.mjs');
}

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) walk(p, out);
    else out.push(`${relative(root, p)}:${st.size}:${st.mtimeMs}`);
  }
  return out;
}

/** A hash of what the bundle is built from: every file under src/, the lock file and this script. */
export function sourceStamp() {
  const files = walk(join(root, 'src'), []);
  for (const f of ['package-lock.json', 'package.json', 'scripts/bundle.mjs']) {
    const st = statSync(join(root, f));
    files.push(`${f}:${st.size}:${st.mtimeMs}`);
  }
  files.sort();
  return createHash('sha256').update(files.join('\n')).digest('hex');
}

export function bundleIsFresh(stamp = sourceStamp()) {
  try {
    return statSync(bundlePath(stamp)).isFile();
  } catch {
    return false;
  }
}

/** Builds the bundle; false when another process is building it or esbuild is missing. */
export async function buildBundle() {
  mkdirSync(dist, { recursive: true });
  let lock;
  try {
    lock = openSync(lockPath, 'wx');
  } catch {
    // Another start is building it (or died doing so: a lock older than a minute is stale).
    try {
      if (Date.now() - statSync(lockPath).mtimeMs > 60_000) rmSync(lockPath, { force: true });
    } catch {
      // gone already
    }
    return false;
  }
  try {
    const stamp = sourceStamp();
    const { build } = await import('esbuild');
    const tmp = join(dist, `tmp-${process.pid}`);
    rmSync(tmp, { recursive: true, force: true });
    await build({
      entryPoints: { svcnet: join(root, 'src/cli/main.ts') },
      outdir: tmp,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      splitting: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      logLevel: 'error',
      banner: { js: `// Built by scripts/bundle.mjs from the sources with stamp ${stamp}; do not edit.` },
      plugins: [
        {
          // Each module keeps its own import.meta.url (files found next to the sources).
          name: 'module-url',
          setup(b) {
            b.onLoad({ filter: /\.ts$/ }, (args) => {
              const text = readFileSync(args.path, 'utf8');
              if (!text.includes('import.meta.url')) return undefined;
              return { contents: text.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)), loader: 'ts' };
            });
          },
        },
      ],
    });
    const dest = dirname(bundlePath(stamp));
    try {
      renameSync(tmp, dest);
    } catch {
      rmSync(tmp, { recursive: true, force: true }); // built meanwhile by another start
    }
    // Older builds go once they are ten minutes old (a process may still be loading one).
    for (const name of readdirSync(dist)) {
      const p = join(dist, name);
      if (p === dest || !statSync(p).isDirectory()) continue;
      if (Date.now() - statSync(p).mtimeMs > 600_000) rmSync(p, { recursive: true, force: true });
    }
    return true;
  } finally {
    closeSync(lock);
    rmSync(lockPath, { force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const ok = await buildBundle();
  if (!ok) {
    console.error('svcnet bundle: another build is running');
    process.exit(1);
  }
}
