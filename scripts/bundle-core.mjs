#!/usr/bin/env node
// The core package's bundled build (issue 64: a node process should import and start in tens of
// ms of CPU). `import 'ergo-ts'` used to load about 180 ES modules one by one from dist/src; Node's
// ESM loader (resolution, package.json lookups, realpath) was half of the import's CPU. esbuild
// bundles tsc's output (dist/src, which `npm run build` compiled first) into packages/ergo/
// dist/bundle/: one file per subpath of the package's `exports` map, the cluster worker the
// launcher starts by path (`new URL('./worker.js', import.meta.url)`) and the CLI behind `bin`,
// plus shared chunks, so a class stays one class across subpaths. Every file sits in one flat
// folder, so that URL resolves beside whichever chunk the launcher lands in.
//
// Source maps chain to tsc's (which point at the shipped src/*.ts), so stack traces and
// debuggers show the TypeScript. Class names are kept: logs, Inspect and the Observer print a
// behaviour's class name. esbuild writes a top-level class as `var X = class {` (named X) or, when
// its body refers to itself, `var X = class _X {` (named _X); the second kind gets a static block
// naming it X (`fixClassNames`). esbuild's own `keepNames` does that for every function and
// closure, each time one is created: about 10 % more CPU for the import, and a property
// definition per closure made at run time.
//
// The exports map is the list of entries (scripts/bundle-core-entries.mjs). The build is skipped
// when every output is newer than every input (dist/src's JavaScript, package.json and these
// scripts), so `npm run check`'s build, which runs beside the tests in CI, writes nothing into
// dist/ the tests read.
//
// Usage: node scripts/bundle-core.mjs [--force]

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleEntries } from './bundle-core-entries.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkgDir = join(root, 'packages', 'ergo');
const outDir = join(pkgDir, 'dist', 'bundle');
const stamp = join(pkgDir, 'dist', '.bundle-inputs');

function newestInput(dir, newest = 0) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = newestInput(p, newest);
    else if (e.name.endsWith('.js')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * Entries that also import the main entry's module graph (`ergo-ts`), so that esbuild puts
 * nearly all the code they share with it into one chunk: `import 'ergo-ts'` loads 6 files instead
 * of 18, and Node's ESM loader (resolution, reads, module records) costs per file — about a fifth
 * less CPU for the import with the compile cache warm (docs/deploy.md, "What a node process spends
 * to start"). The price: one of these imported alone loads the core with it (each is used beside
 * `ergo-ts`, which starts the node, anyway). Not the ones that must stay small: `register` and the
 * worker run before the compile cache is on, the CLI turns it on itself, `cluster` is the
 * launcher's parent process.
 */
const JOINED = ['act', 'meta', 'net', 'testing', 'logger'];
const JOINED_NS = 'ergo-joined';
/** Class names declared in dist/src (declaresClass), read once when first asked. */
let classNames;
const entries = bundleEntries(pkgDir);
const inputs = Math.max(
  newestInput(join(pkgDir, 'dist', 'src')),
  statSync(join(pkgDir, 'package.json')).mtimeMs,
  statSync(fileURLToPath(import.meta.url)).mtimeMs,
  statSync(join(root, 'scripts', 'bundle-core-entries.mjs')).mtimeMs,
);
const fresh =
  !process.argv.includes('--force') &&
  existsSync(stamp) &&
  statSync(stamp).mtimeMs >= inputs &&
  Object.keys(entries).every((name) => existsSync(join(outDir, `${name}.js`)));
if (!fresh) await bundle();

async function bundle() {
  const { build } = await import('esbuild');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  // Each entry of JOINED is its module plus a bare import of the main entry's (a virtual module).
  const entryPoints = { ...entries };
  for (const name of JOINED) entryPoints[name] = `${JOINED_NS}:${name}`;
  const joined = {
    name: 'joined-entries',
    setup(b) {
      b.onResolve({ filter: new RegExp(`^${JOINED_NS}:`) }, (a) => ({ path: a.path, namespace: JOINED_NS }));
      b.onLoad({ filter: /.*/, namespace: JOINED_NS }, (a) => {
        const name = a.path.slice(JOINED_NS.length + 1);
        const own = JSON.stringify(entries[name]);
        return {
          contents: `export * from ${own};\nimport ${JSON.stringify(entries.index)};\n`,
          resolveDir: root,
          loader: 'js',
        };
      });
    },
  };
  const result = await build({
    entryPoints,
    plugins: [joined],
    outdir: outDir,
    absWorkingDir: root,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    packages: 'external',
    sourcemap: 'linked',
    sourcesContent: false,
    chunkNames: 'chunk-[hash]',
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  if (result.errors.length > 0) process.exit(1);
  for (const file of Object.keys(result.metafile.outputs)) if (file.endsWith('.js')) fixClassNames(resolve(root, file));
  // Every module of the bundle must come from dist/src: a bare import left external would be a
  // runtime dependency, which the core does not have.
  for (const [file, out] of Object.entries(result.metafile.outputs))
    for (const imp of out.imports)
      if (imp.external && !imp.path.startsWith('node:'))
        throw new Error(`bundle-core: ${relative(root, file)} imports ${imp.path}, which is not a Node built-in`);
  writeFileSync(stamp, `${Object.keys(result.metafile.inputs).length} modules\n`);
}

/**
 * Names each `var X = class _X` of a bundle file X, in a static block opening its body, on the
 * line that opens it (the source map's lines stay true). Fails on a top-level class whose name
 * esbuild changed to avoid a collision (`var X2 = class`), which this cannot repair.
 */
function fixClassNames(file) {
  const text = readFileSync(file, 'utf8');
  let fixed = 0;
  const out = text.replace(/^var ([\w$]+) = class _\1( extends [^\n{]+)? \{$/gm, (line, name) => {
    fixed++;
    return `${line} static { Object.defineProperty(this, "name", { value: "${name}" }); }`;
  });
  const renamed = /^var ([\w$]+?)\d+ = class\b/m.exec(out);
  if (renamed !== null && declaresClass(renamed[1]))
    throw new Error(`bundle-core: ${relative(root, file)}: ${renamed[0]} (a class renamed by esbuild)`);
  if (/^var ([\w$]+) = class _(?!.* static \{ Object\.defineProperty\(this, "name")/m.test(out))
    throw new Error(
      `bundle-core: ${relative(root, file)}: a class named _X left (its line is not \`var X = class _X ... {\`)`,
    );
  if (fixed > 0) writeFileSync(file, out);
}

/** True when a class of that name is declared in dist/src. */
function declaresClass(name) {
  if (classNames === undefined) {
    classNames = new Set();
    const walk = (dir) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('.js'))
          for (const m of readFileSync(p, 'utf8').matchAll(/\bclass ([\w$]+)/g)) classNames.add(m[1]);
      }
    };
    walk(join(pkgDir, 'dist', 'src'));
  }
  return classNames.has(name);
}
