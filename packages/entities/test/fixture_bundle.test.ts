// scripts/bundle-fixtures.mjs, which bundles the nodes the entities tests fork for a test run,
// leaves no temporary file behind: a build that fails (esbuild's error), a rename that fails, or a
// run killed between esbuild's write and its rename (its file is swept by the next run). Each case
// bundles two tiny fixtures of its own in a temporary folder.

import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

type BundleFixtures = (o?: { dir?: string; names?: string[] }) => Promise<string | undefined>;

const script = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../scripts/bundle-fixtures.mjs');
const { bundleFixtures } = (await import(pathToFileURL(script).href)) as { bundleFixtures: BundleFixtures };

/** A folder with fixtures `good` (bundles) and `bad` (imports a module that is not there). */
function fixtures(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'bundle-fixtures-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'good.js'), "export const good = 'good';\n");
  writeFileSync(join(dir, 'bad.js'), "export { missing } from './not_there.js';\n");
  return dir;
}

const temporaries = (dir: string): string[] => readdirSync(join(dir, 'bundled')).filter((f) => f.endsWith('.tmp'));

test('a fixture esbuild cannot bundle: the call rejects with its error, the others are in place, no temporary file', async (t) => {
  const dir = fixtures(t);
  await assert.rejects(bundleFixtures({ dir, names: ['good', 'bad'] }), /not_there\.js/);
  assert.deepEqual(readdirSync(join(dir, 'bundled')), ['good.js']);
});

test('a rename that fails (a folder where the bundle goes): the call rejects, its temporary file is removed', async (t) => {
  const dir = fixtures(t);
  mkdirSync(join(dir, 'bundled', 'good.js', 'in_the_way'), { recursive: true });
  await assert.rejects(bundleFixtures({ dir, names: ['good'] }), (e: NodeJS.ErrnoException) => e.syscall === 'rename');
  assert.deepEqual(temporaries(dir), []);
});

test("a dead run's temporary file is swept; a live run's is left to it", async (t) => {
  const dir = fixtures(t);
  mkdirSync(join(dir, 'bundled'));
  // Above Linux's largest pid (2^22): no process has it.
  const dead = `good.js.${2 ** 22 + 1}.tmp`;
  const live = `good.js.${process.ppid}.tmp`;
  for (const f of [dead, live]) writeFileSync(join(dir, 'bundled', f), '// half written\n');
  assert.equal(await bundleFixtures({ dir, names: ['good'] }), join(dir, 'bundled'));
  assert.deepEqual(readdirSync(join(dir, 'bundled')).sort(), ['good.js', live].sort());
});

test('every fixture bundled: the folder is returned; a missing fixture: undefined, nothing written', async (t) => {
  const dir = fixtures(t);
  assert.equal(await bundleFixtures({ dir, names: ['good'] }), join(dir, 'bundled'));
  assert.deepEqual(readdirSync(join(dir, 'bundled')), ['good.js']);
  assert.equal(await bundleFixtures({ dir, names: ['good', 'absent'] }), undefined);
  assert.deepEqual(temporaries(dir), []);
});
