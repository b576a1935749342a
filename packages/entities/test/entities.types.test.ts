// Type-level tests of the entities package: compiles test-types/ (a strict consumer project
// importing the built `@ergo-ts/entities` and `@ergo-ts/entities/testing`: event-sourced entities,
// durable state machines, reminders and the test kit) with one tsc run. Its `@ts-expect-error` lines
// must each be an error (tsc reports an unused one), and its positive cases must compile.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// dist/test → the package folder.
const pkg = join(here, '..', '..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

test('entities and its test kit: the type-level test project compiles, every @ts-expect-error is an error', async () => {
  const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile(process.execPath, [tsc, '-p', join(pkg, 'test-types'), '--pretty', 'false'], (err, stdout, stderr) =>
      resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? 1), output: stdout + stderr }),
    );
  });
  assert.equal(code, 0, `tsc reported:\n${output}`);
});
