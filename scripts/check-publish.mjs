#!/usr/bin/env node
// `npm run check:publish`: each tarball scripts/pack.mjs makes is what `npm publish` would send,
// and publishing it is clean: its manifest keeps the rules of scripts/manifest-rules.mjs, and
// `npm publish --dry-run <tarball>` ends with exit code 0 and no warning at all (npm prints one for
// anything it would fix, drop or refuse). The dry runs talk to a stand-in registry on 127.0.0.1
// that knows no package (so each version is new) and accepts a placeholder token (so npm does not
// warn that nobody is logged in); a dry run never uploads, and the stand-in fails the check if
// anything tries. Nothing reaches a real registry. Run after `npm run build`.
// Usage: node scripts/check-publish.mjs [--packed <json>]: the JSON map pack.mjs printed, to check
// tarballs already made (npm run check packs once for this and for check-docs).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve, dirname, basename } from 'node:path';
import { fileURLToPath } from 'node:url';

import { manifestProblems, workspacePackages } from './manifest-rules.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const packedAt = args.indexOf('--packed');
/**
 * A dry run that has not ended by then has failed (it hangs). Generous on purpose: CI runs this
 * beside the lint and the tests on 2 cores, where one dry run has taken over 2 minutes.
 */
const DRY_RUN_LIMIT_MS = 600_000;
/** Dry runs at once: ten npm processes at once starve each other (and the check beside them). */
const DRY_RUNS_AT_ONCE = 2;

const work = mkdtempSync(join(tmpdir(), 'ergo-ts-publish-'));
const failures = [];
const server = createServer((req, res) => {
  if (req.method !== 'GET' && req.method !== 'HEAD') failures.push(`the dry run sent ${req.method} ${req.url}`);
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end('{"error":"not found"}');
});
try {
  const tarballs =
    packedAt >= 0
      ? JSON.parse(readFileSync(args[packedAt + 1], 'utf8'))
      : JSON.parse(
          execFileSync(process.execPath, [join(root, 'scripts', 'pack.mjs'), join(work, 'pack')], {
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'inherit'],
          }),
        );
  const packages = workspacePackages(root);
  const publishable = packages.filter((p) => p.manifest.private !== true).map((p) => p.manifest.name);
  for (const name of publishable) if (tarballs[name] === undefined) failures.push(`${name}: no tarball`);

  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const registry = `http://127.0.0.1:${server.address().port}/`;
  const npmrc = join(work, 'npmrc');
  writeFileSync(npmrc, `registry=${registry}\n//127.0.0.1:${server.address().port}/:_authToken=dry-run-placeholder\n`);
  // Only npm's defaults and this npmrc: the environment of an `npm run` (npm_config_*) and the
  // user's npmrc are not what a publish of these packages depends on.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  env.npm_config_userconfig = npmrc;
  env.npm_config_globalconfig = join(work, 'no-global-npmrc');

  const queue = Object.entries(tarballs);
  const checkOne = async ([name, tgz]) => {
    const manifest = JSON.parse(execFileSync('tar', ['-xzOf', tgz, 'package/package.json'], { encoding: 'utf8' }));
    for (const p of manifestProblems(manifest, packages)) failures.push(`${name}: ${p}`);
    const r = await runNpm(['publish', '--dry-run', '--tag', 'latest', tgz], env);
    const warnings = r.out.split('\n').filter((l) => /^npm (warn|error|ERR!)/i.test(l));
    if (r.code !== 0 || warnings.length > 0) {
      failures.push(
        `${name}: npm publish --dry-run ${basename(tgz)} ${r.code === 0 ? 'warned' : `failed (${r.code})`}:\n${(warnings.length > 0 ? warnings : r.out.split('\n').slice(-15)).map((l) => `    ${l}`).join('\n')}`,
      );
    } else {
      const size = /package size:\s*(.+)/.exec(r.out)?.[1]?.trim() ?? '?';
      const files = /total files:\s*(\d+)/.exec(r.out)?.[1] ?? '?';
      console.log(`check-publish: ${name}@${manifest.version}: clean (${files} files, ${size})`);
    }
  };
  const worker = async () => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) await checkOne(next);
  };
  await Promise.all(Array.from({ length: DRY_RUNS_AT_ONCE }, worker));
} finally {
  server.close();
  rmSync(work, { recursive: true, force: true });
}
if (failures.length > 0) {
  for (const f of failures) console.error(`check-publish: ${f}`);
  console.error('check-publish: FAILED');
  process.exit(1);
}
console.log('check-publish: ok');

/** Runs npm; resolves with its exit code and its output (stdout and stderr interleaved). */
function runNpm(argv, env) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('npm', argv, { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      out += `\n(killed: no end within ${DRY_RUN_LIMIT_MS / 1000} s)`;
      child.kill('SIGKILL');
    }, DRY_RUN_LIMIT_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? signal, out });
    });
  });
}
