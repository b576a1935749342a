#!/usr/bin/env node
// Builds the Observer's browser UI into dist/ui: type-checks ui/ (tsc --noEmit), bundles
// ui/src/main.tsx with esbuild (Preact JSX, uPlot), copies index.html, and writes a gzip and a
// brotli copy of every file beside it, so the package ships the UI prebuilt and compressed and
// its users need no build step.
//
// It does nothing when the last build is newer than every input (ui/, this script, the root
// lockfile): the root build runs it, and CI builds three times (npm ci's prepare, then `npm run
// check`), each run 7 CPU-s (the ui type-check, esbuild, brotli at quality 11), and a rebuild
// deletes dist/ui while the Observer's tests may be serving it. `--force` rebuilds anyway.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, readdirSync, rmSync, existsSync, statSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const root = resolve(pkg, '..', '..');

const out = join(pkg, 'dist', 'ui');
// Outside dist/ui, which the package ships: the time of the last complete build.
const stamp = join(pkg, 'dist', '.ui-built');
if (!process.argv.includes('--force') && upToDate()) process.exit(0);
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
if (!process.argv.includes('--no-check') && existsSync(tsc)) {
  execFileSync(process.execPath, [tsc, '-p', join(pkg, 'ui', 'tsconfig.json')], { stdio: 'inherit' });
}

const { build } = await import('esbuild');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  // The shared worker that holds the browser's one event stream (no imports: a classic script).
  entryPoints: { app: join(pkg, 'ui', 'src', 'main.tsx'), worker: join(pkg, 'ui', 'src', 'worker.ts') },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2020'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outdir: out,
  legalComments: 'eof',
  logLevel: 'warning',
});
writeFileSync(join(out, 'index.html'), readFileSync(join(pkg, 'ui', 'index.html')));

for (const name of readdirSync(out)) {
  const body = readFileSync(join(out, name));
  writeFileSync(join(out, `${name}.gz`), gzipSync(body, { level: 9 }));
  writeFileSync(
    join(out, `${name}.br`),
    brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }),
  );
}
const sizes = readdirSync(out)
  .filter((n) => n.startsWith('app.js'))
  .map((n) => `${n} ${readFileSync(join(out, n)).length} B`);
if (process.argv.includes('--verbose')) console.log(`observer ui: ${sizes.join(', ')}`);
writeFileSync(stamp, `${new Date().toISOString()}\n`);

/** Whether dist/ui was built after every input last changed. */
function upToDate() {
  if (!existsSync(stamp) || !existsSync(out)) return false;
  const built = statSync(stamp).mtimeMs;
  const inputs = [fileURLToPath(import.meta.url), join(root, 'package-lock.json')];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true }))
      if (e.isDirectory()) walk(join(dir, e.name));
      else inputs.push(join(dir, e.name));
  };
  walk(join(pkg, 'ui'));
  return inputs.every((f) => !existsSync(f) || statSync(f).mtimeMs <= built);
}
