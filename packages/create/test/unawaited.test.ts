// Issue 34 item 5: the scaffolder's Promises (run, resolveProject) are safe to leave un-awaited.
// Each failure — a command line without a node name, a target path under a regular file — is
// provoked once with the Promise ignored (the strict runner fails the run on an unhandled
// rejection, and the `after` hook names any it saw) and once awaited, where it still rejects
// with its code.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { parseCliArgs, resolveProject, run, type RunIO } from '../src/index.js';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
const dir = mkdtempSync(join(tmpdir(), 'create-unawaited-'));

before(() => {
  process.on('unhandledRejection', onUnhandled);
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
  process.off('unhandledRejection', onUnhandled);
  assert.deepEqual(unhandled, [], 'an ignored Promise of create-ergo-ts reached unhandledRejection');
});

const io: RunIO = { cwd: dir, out: () => undefined, err: () => undefined, interactive: false };

/** Calls `op` twice: the first Promise ignored, the second awaited and checked for `code`. */
async function ignoredThenAwaited(op: () => Promise<unknown>, code: string): Promise<void> {
  void op();
  await assert.rejects(op(), { code });
}

test('resolveProject without a node name: ignored is safe, awaited rejects ERR_CREATE_NODE_NAME', async () => {
  const argv = ['--with-actor', 'Cart'];
  await ignoredThenAwaited(() => resolveProject(parseCliArgs(argv), argv, io), 'ERR_CREATE_NODE_NAME');
});

test('run writing under a regular file: ignored is safe, awaited rejects ENOTDIR', async () => {
  writeFileSync(join(dir, 'blocker'), 'a file, not a directory');
  const argv = ['Shop', '--with-actor', 'Cart', '--path', 'blocker'];
  await ignoredThenAwaited(() => run(argv, io), 'ENOTDIR');
});
