#!/usr/bin/env node
// `npm run release` (after `npm run version-packages` and its commit): packs every publishable
// package (scripts/pack.mjs, into .pack), checks the tarballs (scripts/check-publish.mjs), then
// publishes each tarball with `npm publish` — never a package folder, whose package.json still
// holds the monorepo's scripts — ergo-ts first, the generator last, so a dependency is on the
// registry before anything that names it. Then `changeset tag` tags the release in git.
// `--dry-run` is passed on to npm publish (nothing is published or tagged then). The flow is in
// docs/contributing.md ("Releases").
import { execFileSync } from 'node:child_process';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dryRun = process.argv.includes('--dry-run');
const out = join(root, '.pack');

const tarballs = JSON.parse(
  execFileSync(process.execPath, [join(root, 'scripts', 'pack.mjs'), out], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }),
);
const packed = join(out, 'packed.json');
execFileSync(process.execPath, [join(root, 'scripts', 'check-publish.mjs'), '--packed', packed], { stdio: 'inherit' });

/** ergo-ts, then the add-on packages (its peers), then create-ergo-ts (it names them all). */
const order = Object.keys(tarballs).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
function rank(name) {
  if (name === 'ergo-ts') return 0;
  if (name === 'create-ergo-ts') return 2;
  return 1;
}
for (const name of order) {
  console.log(`release: npm publish ${tarballs[name]}${dryRun ? ' --dry-run' : ''}`);
  execFileSync('npm', ['publish', tarballs[name], ...(dryRun ? ['--dry-run'] : [])], { cwd: root, stdio: 'inherit' });
}
if (!dryRun) execFileSync('npx', ['changeset', 'tag'], { cwd: root, stdio: 'inherit' });
console.log(`release: ${order.length} packages ${dryRun ? 'checked (dry run)' : 'published and tagged'}`);
