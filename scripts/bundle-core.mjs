#!/usr/bin/env node
// The core package's bundled build (issue 64: a node process should import and start in tens of
// ms of CPU). `import 'ergo-ts'` used to load about 180 ES modules one by one from dist/src; Node's
// ESM loader (resolution, package.json lookups, realpath) was half of the import's CPU. esbuild
// bundles tsc's output (dist/src, which `npm run build` compiled first) into packages/ergo/
// dist/bundle/:
//
// - core.cjs, one classic script holding every subpath of the package's `exports` map and the
//   cluster worker's code: a function expression that src/lib/code_cache.ts compiles with
//   `vm.Script` and a V8 code cache written after the process's first connection, so later
//   processes start with the connection's code compiled (issue 64, item 2: Node's compile cache
//   of ES modules holds only what V8 compiled before the module ran). Each subpath is a getter on
//   its exports whose first read runs that subpath's modules (esbuild's lazy module wrappers), so
//   a process runs the top levels of the subpaths it imports only; one script keeps a class one
//   class across subpaths. `import.meta.url` is the script's URL (a parameter).
// - core.js, the ES module that loads it, once per process (and writes the cache); the entries
//   esbuild bundled into the two, core-entry.cjs and core-entry.js, ship beside them (the source
//   maps name them);
// - one ES module per subpath (index.js, act.js, ...; worker_run.js for the worker) naming the
//   exports of its namespace of the script: `import 'ergo-ts'` reads three files;
// - ES modules of their own for what must run before the core loads or apart from it: register.js
//   (turns Node's compile cache on), worker.js (the entry the launcher starts by path, `new
//   URL('./worker.js', import.meta.url)`: it turns the cache on, then imports worker_run.js) and
//   cli.js (the command behind `bin`, importing the launcher from cluster.js).
//
// Source maps chain to tsc's (which point at the shipped src/*.ts), so stack traces and
// debuggers show the TypeScript (with `--enable-source-maps` the script is run as code from a
// string named by its file URL, the form Node maps, without the code cache). Class names are kept: logs, Inspect and the Observer print a
// behaviour's class name. esbuild writes a module's class as `X = class {` (named X) or, when
// its body refers to itself, `X = class _X {` (named _X); the second kind gets a static block
// naming it X (`fixClassNames`). Two modules' classes of one name would collide in the script's
// scope (esbuild renames one `X2`): the build fails on it. esbuild's own `keepNames` does that for every function and
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
import { fileURLToPath, pathToFileURL } from 'node:url';
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

/** Entries built as ES modules of their own, outside the core script (see the header). */
const STANDALONE = new Set(['register', 'worker', 'cli']);

/** The class names declared in dist/src (declaresClass), read once. */
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
  const common = {
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    target: 'node22',
    packages: 'external',
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  };
  const version = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;
  // The core script: every subpath's module and the worker's code, one namespace each.
  const inScript = Object.entries(entries).filter(([name]) => !STANDALONE.has(name));
  inScript.push(['worker_run', join(pkgDir, 'dist', 'src', 'cluster', 'worker_run.js')]);
  // The entries esbuild bundles are written beside the bundle and shipped with it: the source maps
  // name them. Their imports are relative, as the build machine's paths must not be shipped.
  const rel = (file) => {
    const path = relative(outDir, file).replaceAll('\\', '/');
    return JSON.stringify(path.startsWith('.') ? path : `./${path}`);
  };
  const coreEntry = join(outDir, 'core-entry.cjs');
  writeFileSync(
    coreEntry,
    [
      '// The entry of core.cjs (scripts/bundle-core.mjs): a getter per subpath, whose first read runs',
      "// that subpath's modules (and those they import, each once): a process pays for the top levels",
      '// of the subpaths it imports only.',
      'Object.defineProperties(exports, {',
      ...inScript.map(([name, file]) => `  ${name}: { enumerable: true, get: () => require(${rel(file)}) },`),
      '});',
      '',
    ].join('\n'),
  );
  const core = await build({
    ...common,
    entryPoints: [coreEntry],
    outfile: join(outDir, 'core.cjs'),
    format: 'cjs',
    // A function expression (what packages/ergo/src/lib/code_cache.ts runs), strict as ES modules are.
    banner: { js: '(function (exports, require, module, __filename, __dirname, __importMetaUrl) { "use strict";' },
    footer: { js: '})' },
    define: { 'import.meta.url': '__importMetaUrl' },
  });
  // The loader every subpath imports (one core per process), and the entries outside the script:
  // the worker's dynamic import of its code and the CLI's of the launcher go to the core's files.
  const toCore = (map) => ({
    name: 'to-core',
    setup(b) {
      b.onResolve({ filter: /^\.\/[\w]+\.js$/ }, (args) =>
        map[args.path] === undefined ? undefined : { path: map[args.path], external: true },
      );
    },
  });
  const loaderSource = join(pkgDir, 'dist', 'src', 'lib', 'code_cache.js');
  const loaderEntry = join(outDir, 'core-entry.js');
  writeFileSync(
    loaderEntry,
    [
      '// The entry of core.js (scripts/bundle-core.mjs): loads core.cjs once per process, with its code',
      '// cache, and writes the cache after the warm-up.',
      `import { codeCacheDir, loadScript, saveAfterWarmUp } from ${rel(loaderSource)};`,
      `import { fileURLToPath } from 'node:url';`,
      `const loaded = loadScript(fileURLToPath(new URL('./core.cjs', import.meta.url)), ${JSON.stringify(`ergo-ts-${version}`)}, codeCacheDir());`,
      'void saveAfterWarmUp(loaded);',
      "/** The core script's namespaces, one per subpath. */",
      'export const core = loaded.exports;',
      '',
    ].join('\n'),
  );
  const esm = { ...common, format: 'esm' };
  const results = [
    core,
    await build({
      ...esm,
      entryPoints: [loaderEntry],
      outfile: join(outDir, 'core.js'),
    }),
    await build({ ...esm, entryPoints: { register: entries.register }, outdir: outDir }),
    await build({
      ...esm,
      entryPoints: { worker: entries.worker },
      outdir: outDir,
      plugins: [toCore({ './worker_run.js': './worker_run.js' })],
    }),
    await build({
      ...esm,
      entryPoints: { cli: entries.cli },
      outdir: outDir,
      plugins: [toCore({ './launcher.js': './cluster.js' })],
    }),
  ];
  if (results.some((r) => r.errors.length > 0)) process.exit(1);
  for (const result of results)
    for (const file of Object.keys(result.metafile.outputs))
      if (/\.c?js$/.test(file)) fixClassNames(resolve(root, file));
  // Every module of the bundle must come from dist/src: a bare import left external would be a
  // runtime dependency, which the core does not have.
  for (const result of results)
    for (const [file, out] of Object.entries(result.metafile.outputs))
      for (const imp of out.imports)
        if (imp.external && !imp.path.startsWith('node:') && !imp.path.startsWith('./'))
          throw new Error(`bundle-core: ${relative(root, file)} imports ${imp.path}, which is not a Node built-in`);
  // One ES module per namespace of the script, naming its exports (the script ran once here, with
  // no code cache, to list them).
  const { loadScript } = await import(pathToFileURL(loaderSource).href);
  const namespaces = loadScript(join(outDir, 'core.cjs'), 'build', undefined).exports;
  for (const [name] of inScript) {
    const names = Object.keys(namespaces[name]);
    const lines = [
      `// ergo-ts/${name}: the exports of the core script's namespace (scripts/bundle-core.mjs).`,
      `import { core } from './core.js';`,
      `const m = core.${name};`,
    ];
    const named = names.filter((n) => n !== 'default');
    if (named.length > 0) lines.push(`export const { ${named.join(', ')} } = m;`);
    if (names.includes('default')) lines.push('export default m.default;');
    writeFileSync(join(outDir, `${name}.js`), lines.join('\n') + '\n');
  }
  writeFileSync(stamp, `${Object.keys(core.metafile.inputs).length} modules\n`);
}

/**
 * Names each `X = class _X` of a bundle file X, in a static block opening its body, on the
 * line that opens it (the source map's lines stay true). Fails on a top-level class whose name
 * esbuild changed to avoid a collision (`X2 = class`), which this cannot repair.
 */
function fixClassNames(file) {
  const text = readFileSync(file, 'utf8');
  let fixed = 0;
  const out = text.replace(/^\s*(?:var )?([\w$]+) = class _\1( extends [^\n{]+)? \{$/gm, (line, name) => {
    fixed++;
    return `${line} static { Object.defineProperty(this, "name", { value: "${name}" }); }`;
  });
  const renamed = /^\s*(?:var )?([\w$]+?)\d+ = class\b/m.exec(out);
  if (renamed !== null && declaresClass(renamed[1]))
    throw new Error(`bundle-core: ${relative(root, file)}: ${renamed[0]} (a class renamed by esbuild)`);
  if (/^\s*(?:var )?([\w$]+) = class _(?!.* static \{ Object\.defineProperty\(this, "name")/m.test(out))
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
