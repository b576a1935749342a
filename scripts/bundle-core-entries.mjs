// The entries of the core's bundle (scripts/bundle-core.mjs builds it, scripts/bundle-preload.mjs
// sends the tests' imports to it): one per subpath of packages/ergo's `exports` map, whose `types`
// names tsc's declaration (its .js beside it is the entry) and whose `default` the bundle's file,
// plus the cluster worker the launcher starts by path and the CLI behind `bin`. And the core's test
// files that can run on the bundle (the bundle pass of scripts/run-tests.mjs).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';

/** The bundle's entries of the package in `pkgDir`: output name → absolute path of tsc's .js. */
export function bundleEntries(pkgDir) {
  const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  const entries = {};
  for (const [subpath, target] of Object.entries(manifest.exports)) {
    if (typeof target === 'string') continue; // ./package.json
    const m = /^\.\/dist\/bundle\/([\w-]+)\.js$/.exec(target.default);
    if (m === null) throw new Error(`bundle: exports["${subpath}"].default is not ./dist/bundle/<name>.js`);
    if (!target.types.endsWith('.d.ts')) throw new Error(`bundle: exports["${subpath}"].types is not a .d.ts`);
    entries[m[1]] = join(pkgDir, target.types.replace(/\.d\.ts$/, '.js'));
  }
  entries.worker = join(pkgDir, 'dist', 'src', 'cluster', 'worker.js');
  entries.cli = join(pkgDir, 'dist', 'src', 'cluster', 'cli.js');
  return entries;
}

/**
 * The compiled test files of the package in `pkgDir` (dist/test/*.test.js) that reach dist/src
 * only through the bundle's entries, following their relative imports through dist/test: the
 * files the bundle pass can run on the bundle (scripts/bundle-preload.mjs). A file that imports
 * an internal module (directly or through a helper) tests dist/src only.
 */
export function entryOnlyTests(pkgDir) {
  const testDir = join(pkgDir, 'dist', 'test');
  const entries = new Set(Object.values(bundleEntries(pkgDir)));
  const internal = new Map(); // file → the internal module it reaches, or null
  const reachesInternal = (file, path) => {
    if (internal.has(file)) return internal.get(file);
    if (path.has(file)) return null; // an import circle: the file's other imports decide
    path.add(file);
    let found = null;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*|new URL\()'(\.{1,2}\/[^']+)'/g)) {
      const target = resolve(dirname(file), m[1]);
      if (target.startsWith(join(pkgDir, 'dist', 'src') + sep)) {
        if (!entries.has(target)) found = target;
      } else if (target.endsWith('.js') && existsSync(target)) found = reachesInternal(target, path);
      if (found !== null) break;
    }
    path.delete(file);
    internal.set(file, found);
    return found;
  };
  return readdirSync(testDir)
    .filter((f) => f.endsWith('.test.js'))
    .sort()
    .map((f) => join(testDir, f))
    .filter((f) => reachesInternal(f, new Set()) === null);
}
