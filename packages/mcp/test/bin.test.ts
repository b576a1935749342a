// Issue 63: `ergo-ts-mcp` runs from a clone, as docs/mcp.md says. npm links a workspace's bin at
// `npm ci` only if the bin's file exists then, and `npm ci` installs before it builds: a bin in
// dist/ was never linked. The bin is a committed shim (bin/ergo-ts-mcp.js) importing dist; this
// checks the manifest points at it, that the checkout's node_modules/.bin has the link
// (test-support's linkedBin), and that the command runs through that link.

import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';

import { linkedBin } from '@ergo-ts/test-support';

import { MCP_VERSION } from '../src/index.js';

const PACKAGE = fileURLToPath(new URL('../../', import.meta.url));
const ROOT = join(PACKAGE, '..', '..');

test('the ergo-ts-mcp bin is a committed file, linked in node_modules/.bin, and runs', async () => {
  const link = linkedBin(PACKAGE, 'ergo-ts-mcp');
  const { stderr } = await promisify(execFile)(process.execPath, [link, '--version'], { cwd: ROOT });
  assert.equal(stderr.trim(), `ergo-ts-mcp ${MCP_VERSION}`);
});
