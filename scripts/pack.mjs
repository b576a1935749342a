#!/usr/bin/env node
// Packs every publishable workspace package into one folder, exactly as it is to be published:
// each package's files (what its `files` list selects, as `npm pack` lists them) are staged in a
// temporary folder with a cleaned manifest, and packed from there. The cleaned manifest drops what
// only the monorepo uses (`scripts`, `devDependencies`), so the tarball carries no monorepo paths,
// no install scripts and no dependency on a private workspace; the repository's package.json files
// keep them. The manifest is then checked (scripts/manifest-rules.mjs): a rule broken fails the
// pack. `npm publish <tarball>` publishes a tarball made here (docs/contributing.md, "Releases").
// Run after `npm run build`. Usage: node scripts/pack.mjs <out-dir>; prints a JSON map
// { "<package name>": "<absolute tarball path>" } on stdout and writes it to <out-dir>/packed.json
// (the other checks take it with --packed instead of packing again).
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

import { cleanManifest, manifestProblems, workspacePackages } from './manifest-rules.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(process.argv[2] ?? join(root, '.pack'));
mkdirSync(out, { recursive: true });

// npm's own settings for these runs: the environment of an `npm run` (npm_config_*, npm_package_*)
// would otherwise leak into them, with warnings about settings npm no longer knows.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
function npm(args, cwd) {
  return execFileSync('npm', [...args, '--ignore-scripts', '--json', '--loglevel=error'], {
    cwd,
    env,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

const packages = workspacePackages(root);
const publishable = packages.filter((p) => p.manifest.private !== true);

// What npm would put in each tarball (one npm run for all of them).
const listed = JSON.parse(
  npm(['pack', '--dry-run', ...publishable.flatMap((p) => ['--workspace', p.manifest.name])], root),
);

const stage = mkdtempSync(join(tmpdir(), 'ergo-ts-stage-'));
const problems = [];
try {
  const staged = [];
  for (const { dir, manifest } of publishable) {
    const entry = listed.find((l) => l.name === manifest.name);
    if (entry === undefined) throw new Error(`npm pack listed no files for ${manifest.name}`);
    const to = join(stage, manifest.name.replace(/^@/, '').replace('/', '+'));
    for (const { path } of entry.files) {
      if (path === 'package.json') continue;
      mkdirSync(dirname(join(to, path)), { recursive: true });
      cpSync(join(dir, path), join(to, path), { preserveTimestamps: true });
    }
    const clean = cleanManifest(manifest);
    problems.push(...manifestProblems(clean, packages).map((p) => `${manifest.name}: ${p}`));
    writeFileSync(join(to, 'package.json'), JSON.stringify(clean, null, 2) + '\n');
    staged.push(to);
  }
  if (problems.length > 0) {
    for (const p of problems) console.error(`pack: ${p}`);
    console.error('pack: FAILED (the rules are in scripts/manifest-rules.mjs)');
    process.exit(1);
  }
  // Earlier tarballs of these packages go: a folder holding one version of each is unambiguous
  // (create-ergo-ts --from <folder> picks the tarballs by name).
  const prefixes = publishable.map((p) => `${p.manifest.name.replace(/^@/, '').replace('/', '-')}-`);
  for (const f of readdirSync(out))
    if (f.endsWith('.tgz') && prefixes.some((p) => f.startsWith(p) && /^\d/.test(f.slice(p.length))))
      rmSync(join(out, f));
  const packed = JSON.parse(npm(['pack', '--pack-destination', out, ...staged], stage));
  const result = {};
  for (const info of packed) {
    const tgz = join(out, info.filename);
    if (!existsSync(tgz)) throw new Error(`npm pack did not write ${tgz}`);
    result[info.name] = tgz;
  }
  writeFileSync(join(out, 'packed.json'), JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
} finally {
  rmSync(stage, { recursive: true, force: true });
}
