// Removes what tsc emitted for a source file that no longer exists. `tsc -b` writes dist/ but never
// deletes from it: after a source file is moved, renamed or deleted, its old .js/.d.ts stayed in
// dist/, where a test glob, check-docs or a stale import still found it (it has failed check-docs
// for more than one contributor). Run by `npm run build` after tsc; a clean clone has nothing to
// prune. Only tsc's own outputs are touched: a file counts as tsc's when its source map says it
// was compiled from a .ts file beside the package's root (bundles and the Observer's UI have their
// own folders and are never looked at).
//
//   node scripts/prune-dist.mjs [--dry-run]

import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dryRun = process.argv.includes('--dry-run');

/** The folders tsc compiles into: every package's dist/ plus the examples' and the bench's. */
function outDirs() {
  const dirs = [join(root, 'examples', 'dist'), join(root, 'bench', 'dist')];
  for (const p of readdirSync(join(root, 'packages'))) dirs.push(join(root, 'packages', p, 'dist'));
  return dirs.filter((d) => existsSync(d));
}

/** Folders inside dist/ that are not tsc's (bundle-core.mjs's, the Observer's UI build). */
const NOT_TSC = new Set(['bundle', 'ui']);

function* mapsUnder(dir, top) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (dir === top && NOT_TSC.has(entry.name)) continue;
      yield* mapsUnder(path, top);
    } else if (entry.name.endsWith('.js.map')) yield path;
  }
}

/** The source a tsc source map names (its one `sources` entry), or undefined when it is not tsc's. */
function sourceOf(mapPath) {
  try {
    const map = JSON.parse(readFileSync(mapPath, 'utf8'));
    if (!Array.isArray(map.sources) || map.sources.length !== 1) return undefined;
    const src = resolve(dirname(mapPath), map.sourceRoot ?? '', map.sources[0]);
    return /\.(c|m)?tsx?$/.test(src) ? src : undefined;
  } catch {
    return undefined;
  }
}

let pruned = 0;
for (const dist of outDirs()) {
  for (const map of [...mapsUnder(dist, dist)]) {
    const src = sourceOf(map);
    if (src === undefined || existsSync(src)) continue;
    const base = map.slice(0, -'.js.map'.length);
    for (const f of [`${base}.js`, `${base}.js.map`, `${base}.d.ts`, `${base}.d.ts.map`]) {
      if (!existsSync(f) || !statSync(f).isFile()) continue;
      if (dryRun) console.log(`would remove ${relative(root, f)}`);
      else rmSync(f);
    }
    pruned++;
  }
}
if (pruned > 0)
  console.log(`prune-dist: ${dryRun ? 'would remove' : 'removed'} the outputs of ${pruned} deleted source file(s)`);
