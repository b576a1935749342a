// The checkout's publishable packages as tarballs (scripts/pack.mjs), for the tests that install
// them the way users do. Packing costs about 11 s of CPU (an `npm pack` of every package), and
// several files of one test run need the same tarballs: inside a run of scripts/run-tests.mjs,
// which gives every file the folder ERGO_TEST_RUN_DIR for the run's whole length, the first file
// to ask packs into it and the others wait for that pack. Each caller then gets copies in a
// folder of its own, so nothing a test does to its tarballs (npm caches keyed by their path, a
// generator that lists the folder) reaches another file. Run on its own (no ERGO_TEST_RUN_DIR),
// a file packs for itself. ERGO_PACK_DIR, when set, is used in place of the run's folder: CI
// (.ci/run) gives one to both the tests and `npm run check` (scripts/pack-shared.mjs), which would
// otherwise each pack the same checkout.

import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

import { eventually } from './eventually.js';

/** How long a file waits for another file's pack (a hang guard: a pack takes seconds). */
export const PACK_WAIT_MS = 300_000;

/**
 * The publishable packages of the checkout at `root`, packed by its scripts/pack.mjs, as copies
 * in the folder `into` (created): `{ "<package name>": "<tarball path in into>" }`. Within one run
 * of scripts/run-tests.mjs the packing is done once for all the files that ask (see the top of
 * this file). Rejects with pack.mjs's output when the pack failed.
 */
export async function packedTarballs(root: string, into: string): Promise<Record<string, string>> {
  const runDir = process.env.ERGO_PACK_DIR ?? process.env.ERGO_TEST_RUN_DIR;
  if (runDir === undefined || !existsSync(runDir)) return pack(root, into);
  const done = join(runDir, 'pack');
  const failed = join(runDir, 'pack.failed');
  let first = true;
  try {
    mkdirSync(join(runDir, 'pack.lock'));
  } catch {
    first = false;
  }
  if (first) {
    const work = join(runDir, 'pack.work');
    try {
      await pack(root, work);
    } catch (err) {
      writeFileSync(failed, err instanceof Error ? err.message : String(err));
      throw err;
    }
    // Whole or not at all: the others look for `pack`, which appears in one rename.
    renameSync(work, done);
  } else {
    await eventually(() => existsSync(done) || existsSync(failed), 'the tarballs another test file is packing', {
      timeoutMs: PACK_WAIT_MS,
      intervalMs: 200,
    });
    if (!existsSync(done)) throw new Error(`another test file's pack failed:\n${readFileSync(failed, 'utf8')}`);
  }
  return copied(done, into);
}

/** Copies a pack folder's tarballs into `into`; the map of each package to its copy. */
function copied(from: string, into: string): Record<string, string> {
  mkdirSync(into, { recursive: true });
  for (const f of readdirSync(from)) if (f.endsWith('.tgz')) copyFileSync(join(from, f), join(into, f));
  const packed = JSON.parse(readFileSync(join(from, 'packed.json'), 'utf8')) as Record<string, string>;
  return Object.fromEntries(Object.entries(packed).map(([name, path]) => [name, join(into, basename(path))]));
}

/** `node scripts/pack.mjs out` in `root`; its map of tarballs, or a rejection with its output. */
function pack(root: string, out: string): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'scripts', 'pack.mjs'), out], {
      cwd: root,
      env: Object.fromEntries(
        Object.entries(process.env).filter(([k]) => k !== 'NODE_V8_COVERAGE' && k !== 'NODE_TEST_CONTEXT'),
      ),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let all = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      all += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => (all += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve(JSON.parse(stdout) as Record<string, string>);
      else reject(new Error(`node scripts/pack.mjs ${out} failed (${code ?? signal}):\n${all.slice(-4000)}`));
    });
  });
}
