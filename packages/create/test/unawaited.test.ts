// Issue 34 item 5: the scaffolder's Promises (run, resolveProject) are safe to leave un-awaited.
// Each failure — a command line without a node name, a target path under a regular file — is
// provoked once with the Promise ignored (the strict runner fails the run on an unhandled
// rejection, and the `after` hook names any it saw) and once awaited, where it still rejects
// with its code.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { UnhandledWatch, ignoredThenAwaited } from '@ergo-ts/test-support';

import { parseCliArgs, resolveProject, run, type RunIO } from '../src/index.js';

const watch = new UnhandledWatch('create-ergo-ts');
const dir = mkdtempSync(join(tmpdir(), 'create-unawaited-'));

before(() => {
  watch.start();
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
  watch.stop();
});

const io: RunIO = { cwd: dir, out: () => undefined, err: () => undefined, interactive: false };

test('resolveProject without a node name: ignored is safe, awaited rejects ERR_CREATE_NODE_NAME', async () => {
  const argv = ['--with-actor', 'Cart'];
  await ignoredThenAwaited(() => resolveProject(parseCliArgs(argv), argv, io), 'ERR_CREATE_NODE_NAME');
});

test('run writing under a regular file: ignored is safe, awaited rejects ENOTDIR', async () => {
  writeFileSync(join(dir, 'blocker'), 'a file, not a directory');
  const argv = ['Shop', '--with-actor', 'Cart', '--path', 'blocker'];
  await ignoredThenAwaited(() => run(argv, io), 'ENOTDIR');
});
