#!/usr/bin/env node
// The browser bundle of the core (issue 73): `ergo-ts/browser` for a page or a Web Worker, one
// minified ES module, packages/ergo/dist/browser/ergo.js (with its source map). esbuild bundles
// tsc's output (dist/src/browser.js, which `npm run build` compiled first) for platform 'browser',
// with lib/host_browser.js in lib/host.js' place (the engine's few host pieces: formatting, the
// macrotask, the console as the output streams; see host.ts). The build fails when any `node:`
// module (or a bare Node built-in name) is reached, naming the module that imports it, and when
// the gzip size passes the budget docs/browser.md states; it prints the size.
//
// Class names are not kept (esbuild's keepNames costs about 10 % of the size): a user's own
// classes, whose names logs print, are in the user's code and bundle.
//
// A second bundle is the tab's side of the gateway (issue 73): @ergo-ts/tabs' `src/tab/browser.ts`,
// the core inside (`ergo-ts` and `ergo-ts/browser` both resolve to the core's browser entry, so
// the page has one copy of every class), packages/tabs/dist/browser/tab.js, under its own budget.
// A third is the light tab (issue 80): `src/light/index.ts`, no node inside (`ergo-ts` resolves
// to the core's address, error and protocol modules alone), packages/tabs/dist/browser/light.js,
// under its own budget.
//
// The build is skipped when its outputs are newer than every input (dist/src's JavaScript and
// this script), as bundle-core.mjs does: `npm run check` builds beside running tests.
//
// Usage: node scripts/bundle-browser.mjs [--force]

import { builtinModules } from 'node:module';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkgDir = join(root, 'packages', 'ergo');
const srcDir = join(pkgDir, 'dist', 'src');
const outDir = join(pkgDir, 'dist', 'browser');
const tabsDir = join(root, 'packages', 'tabs');
const tabsSrcDir = join(tabsDir, 'dist', 'src');

/** The budget of ergo.js gzipped (level 9), in bytes: docs/browser.md states it, a test checks it. */
export const BROWSER_GZIP_BUDGET = 72 * 1024;
/** The budget of tabs' tab.js (the core inside) gzipped, in bytes: docs/browser.md states it. */
export const TAB_GZIP_BUDGET = 80 * 1024;
/** The budget of tabs' light.js (the light tab: no node inside) gzipped, in bytes: docs/browser.md states it. */
export const LIGHT_GZIP_BUDGET = 16 * 1024;

/**
 * The core's modules the light tab takes (`ergo-ts` in its graph resolves to these alone, never
 * the engine): addresses, errors, typed protocols and schemas (and EDF's tags, below). A name the light tab
 * imports that none of them exports fails the build.
 */
const LIGHT_CORE = [
  'gen/pid',
  'gen/processid',
  'gen/ref',
  'gen/event',
  'gen/failure',
  'gen/errors',
  'gen/protocol',
  'gen/schema',
];

const bundles = [
  {
    entry: join(srcDir, 'browser.js'),
    outDir,
    outFile: join(outDir, 'ergo.js'),
    inputs: [srcDir],
    budget: BROWSER_GZIP_BUDGET,
  },
  {
    entry: join(tabsSrcDir, 'tab', 'browser.js'),
    outDir: join(tabsDir, 'dist', 'browser'),
    outFile: join(tabsDir, 'dist', 'browser', 'tab.js'),
    inputs: [srcDir, tabsSrcDir],
    budget: TAB_GZIP_BUDGET,
  },
  {
    entry: join(tabsSrcDir, 'light', 'index.js'),
    outDir: join(tabsDir, 'dist', 'browser'),
    outFile: join(tabsDir, 'dist', 'browser', 'light.js'),
    inputs: [srcDir, tabsSrcDir],
    budget: LIGHT_GZIP_BUDGET,
    light: true,
  },
];

function newestInput(dir, newest = 0) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = newestInput(p, newest);
    else if (e.name.endsWith('.js')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const b of bundles) {
    const stamp = stampOf(b.outFile);
    const inputs = Math.max(...b.inputs.map((d) => newestInput(d)), statSync(fileURLToPath(import.meta.url)).mtimeMs);
    const fresh =
      !process.argv.includes('--force') &&
      existsSync(stamp) &&
      existsSync(b.outFile) &&
      statSync(stamp).mtimeMs >= inputs;
    if (!fresh) await bundle(b);
  }
}

/** The file that records a bundle's build (tab.js and light.js share a directory). */
function stampOf(outFile) {
  return join(dirname(outFile), `.inputs-${basename(outFile, '.js')}`);
}

/** Removes a bundle's own files (its map, its stamp), not its neighbours'. */
function removeBundle(outFile) {
  for (const f of [outFile, `${outFile}.map`, stampOf(outFile)]) rmSync(f, { force: true });
}

async function bundle({ entry, outDir, outFile, budget, light = false }) {
  const stamp = stampOf(outFile);
  const { build } = await import('esbuild');
  const nodeNames = new Set(builtinModules);
  const hostBrowser = join(srcDir, 'lib', 'host_browser.js');
  const coreBrowser = join(srcDir, 'browser.js');
  const reached = [];
  const platform = {
    name: 'browser-platform',
    setup(b) {
      // The engine's host pieces: the browser's file in place of Node's.
      b.onResolve({ filter: /(^|\/)host\.js$/ }, (args) =>
        resolve(args.resolveDir, args.path) === join(srcDir, 'lib', 'host.js') ? { path: hostBrowser } : undefined,
      );
      // The core for the tabs' entry: its browser entry, one copy, whichever subpath is imported.
      // For the light tab: its leaf modules alone (LIGHT_CORE), no engine.
      b.onResolve({ filter: /^ergo-ts(\/browser)?$/ }, () =>
        light ? { path: 'ergo-ts', namespace: 'light-core' } : { path: coreBrowser },
      );
      b.onLoad({ filter: /^ergo-ts$/, namespace: 'light-core' }, () => ({
        contents: [
          ...LIGHT_CORE.map((m) => `export * from ${JSON.stringify(join(srcDir, `${m}.js`))};`),
          `export { Tag as EdfTag, JsTag as EdfJsTag } from ${JSON.stringify(join(srcDir, 'net', 'edf', 'tags.js'))};`,
        ].join('\n'),
        resolveDir: srcDir,
        loader: 'js',
      }));
      // A Node built-in reached from the browser entry: recorded with its importer, the build fails.
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        const name = args.path.startsWith('node:') ? args.path.slice(5) : args.path;
        if (!args.path.startsWith('node:') && !nodeNames.has(name.split('/')[0])) return undefined;
        reached.push(`${relative(root, args.importer)} imports ${args.path}`);
        return { path: args.path, external: true };
      });
    },
  };
  removeBundle(outFile);
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile: outFile,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    plugins: [platform],
  });
  if (result.errors.length > 0) process.exit(1);
  if (reached.length > 0) {
    removeBundle(outFile);
    throw new Error(`bundle-browser: the browser entry reaches Node's modules:\n  ${reached.join('\n  ')}`);
  }
  embedForeignSources(outFile);
  const bytes = readFileSync(outFile);
  const gzip = gzipSync(bytes, { level: 9 }).length;
  const modules = Object.keys(result.metafile.inputs).length;
  console.log(
    `bundle-browser: ${relative(root, outFile)}: ${modules} modules, ${(bytes.length / 1024).toFixed(1)} KiB minified, ` +
      `${(gzip / 1024).toFixed(1)} KiB gzip (budget ${budget / 1024} KiB)`,
  );
  if (gzip > budget) {
    removeBundle(outFile);
    throw new Error(
      `bundle-browser: ${relative(root, outFile)}: ${gzip} bytes gzip, over the budget of ${budget} (docs/browser.md)`,
    );
  }
  writeFileSync(stamp, `${modules} modules, ${bytes.length} bytes, ${gzip} gzip\n`);
}

/**
 * The map of a bundle holding another package's code (tabs' tab.js holds the core) names sources
 * its own tarball does not ship: their text goes into the map (`sourcesContent`), so a page's
 * debugger shows them and the published map is whole (scripts/check-docs.mjs checks it).
 */
function embedForeignSources(outFile) {
  const file = `${outFile}.map`;
  const map = JSON.parse(readFileSync(file, 'utf8'));
  const pkgRoot = resolve(dirname(outFile), '..', '..');
  let embedded = 0;
  const contents = map.sources.map((s) => {
    const abs = resolve(dirname(outFile), map.sourceRoot ?? '', s);
    if (abs.startsWith(pkgRoot + sep)) return null;
    embedded++;
    return readFileSync(abs, 'utf8');
  });
  if (embedded === 0) return;
  map.sourcesContent = contents;
  writeFileSync(file, JSON.stringify(map));
}
