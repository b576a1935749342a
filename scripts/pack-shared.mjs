#!/usr/bin/env node
// `npm run check`'s pack step when ERGO_PACK_DIR names a folder shared with the test run (CI,
// .ci/run): the checkout is packed once (scripts/pack.mjs) for both, by whichever asks first,
// through @ergo-ts/test-support's packedTarballs, which the tests that install the tarballs use
// too; the other waits for that pack. The tarballs are copied into <out-dir>, and <out-dir>/
// packed.json names them there, as pack.mjs's own would. Needs test-support built (`npm run
// build`). Usage: node scripts/pack-shared.mjs <out-dir>
import { writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = process.argv[2];
if (out === undefined || process.env.ERGO_PACK_DIR === undefined) {
  console.error('usage: ERGO_PACK_DIR=<shared dir> node scripts/pack-shared.mjs <out-dir>');
  process.exit(2);
}
// The check runs at nice 10 beside the tests (.ci/run); if it packs first, test files wait for
// this pack, so it runs at the tests' priority (its children too) where it may.
try {
  setPriority(0);
} catch {
  // Not root: its own priority.
}
const { packedTarballs } = await import(
  pathToFileURL(join(root, 'packages', 'test-support', 'dist', 'src', 'packed.js')).href
);
try {
  const result = await packedTarballs(root, resolve(out));
  writeFileSync(join(out, 'packed.json'), JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
}
