// Snapshot of every generated file for the command of the README example, so a template
// change shows up as a reviewable diff. Regenerate with UPDATE_SNAPSHOT=1 after checking that
// the change is intended (the matrix test proves the new output still builds and runs).

import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { parseCliArgs } from '../src/args.js';
import { resolveProject } from '../src/create.js';
import { generateFiles } from '../src/generate.js';

import { README_EXAMPLE } from './fixtures.js';

const SNAPSHOT = fileURLToPath(new URL('../../test/snapshots/readme-example.txt', import.meta.url));

function render(files: Map<string, string>): string {
  return [...files].map(([path, content]) => `=== ${path} ===\n${content}`).join('\n');
}

test('the files generated for the README example match the snapshot', async () => {
  const io = { cwd: '/tmp', out: () => undefined, err: () => undefined, interactive: false };
  const { project } = await resolveProject(parseCliArgs(README_EXAMPLE), README_EXAMPLE, io);
  const actual = render(generateFiles(project, '0.1.0'));
  if (process.env['UPDATE_SNAPSHOT'] === '1' || !existsSync(SNAPSHOT)) {
    assert.notEqual(
      process.env['CI'],
      'true',
      'the snapshot is missing (run the test once with UPDATE_SNAPSHOT=1 and commit it)',
    );
    writeFileSync(SNAPSHOT, actual);
  }
  const expected = readFileSync(SNAPSHOT, 'utf8');
  const a = actual.split('\n');
  const e = expected.split('\n');
  const first = a.findIndex((line, i) => line !== e[i]);
  assert.ok(
    first < 0 && a.length === e.length,
    `generated files differ from test/snapshots/readme-example.txt at line ${first + 1}:\n  expected: ${e[first] ?? '<end>'}\n  actual:   ${a[first] ?? '<end>'}\n(UPDATE_SNAPSHOT=1 rewrites it)`,
  );
});
