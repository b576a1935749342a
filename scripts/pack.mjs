#!/usr/bin/env node
// Packs every publishable workspace package into one folder, as `npm publish` would ship it, so
// checks can install the tarballs into a fresh consumer project (no registry needed). Run after
// `npm run build`. Usage: node scripts/pack.mjs <out-dir>; prints a JSON map
// { "<package name>": "<absolute tarball path>" } on stdout.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(process.argv[2] ?? join(root, '.pack'));
mkdirSync(out, { recursive: true });

/** Every non-private package under packages/ (each a workspace of the root). */
function publishablePackages() {
  const dir = join(root, 'packages');
  return readdirSync(dir)
    .map((name) => join(dir, name))
    .filter((p) => existsSync(join(p, 'package.json')))
    .map((p) => ({ dir: p, manifest: JSON.parse(readFileSync(join(p, 'package.json'), 'utf8')) }))
    .filter((p) => p.manifest.private !== true);
}

const result = {};
for (const { dir, manifest } of publishablePackages()) {
  const json = execFileSync('npm', ['pack', '--json', '--pack-destination', out], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [info] = JSON.parse(json);
  result[manifest.name] = join(out, info.filename);
}
process.stdout.write(JSON.stringify(result, null, 2) + '\n');
