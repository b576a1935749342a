// The `ergo-observer` command runs from a clone (npm ci links it): its bin is a committed shim,
// bin/ergo-observer.js, importing dist (see test-support's linked_bin.ts for why). This checks the
// manifest and the node_modules/.bin link, and runs the command through that link.

import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';

import { linkedBin } from '@ergo-ts/test-support';

const PACKAGE = fileURLToPath(new URL('../../', import.meta.url));

test('the ergo-observer bin is a committed file, linked in node_modules/.bin, and runs', async () => {
  const link = linkedBin(PACKAGE, 'ergo-observer');
  const { stdout } = await promisify(execFile)(process.execPath, [link, '--help'], { cwd: PACKAGE });
  assert.match(stdout, /^usage: ergo-observer/);
});
