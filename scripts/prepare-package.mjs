#!/usr/bin/env node
// `prepare` of every package under packages/: builds the package when it is installed from its
// directory (`npm install /path/to/clone/packages/ergo` links the folder and runs `prepare` there),
// so a fresh clone installs without a manual `npm ci && npm run build` first. When the monorepo
// itself is being installed, the root's own `prepare` (npm run build) builds everything once, so
// this does nothing then (two tsc -b runs over the same project at once would race).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = process.cwd();
const installingRoot = process.env.npm_config_local_prefix && resolve(process.env.npm_config_local_prefix) === root;
if (installingRoot && process.env.npm_command !== 'pack') process.exit(0);

const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
if (!existsSync(tsc)) {
  // A fresh clone: the compiler is one of the monorepo's dev dependencies. --ignore-scripts keeps
  // the root's prepare (a full build) out of it; only this package and its references are built.
  console.error(`prepare: installing the monorepo's dev dependencies in ${root} to build ${pkg}`);
  execFileSync('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
}
execFileSync(process.execPath, [tsc, '-b', pkg], { cwd: root, stdio: 'inherit' });
