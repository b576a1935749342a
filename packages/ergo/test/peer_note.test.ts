// A fresh clone without the Go peer (issue 19 item 11): `npm test` prints one line saying what is
// skipped and how to get the peer, and the skipping tests name no path outside the repository.
// Simulated by running the helpers from a temporary directory where the default peer path does
// not exist, with ERGO_PEER and CI unset.

import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

test('without the Go peer: one note line for the run, skip reasons without a path', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'ergo-peer-note-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  // The clone's layout below `root`: the helper package under packages/, linked from node_modules
  // as npm's workspaces do, so its default peer path resolves inside `root`.
  const repo = join(root, 'repo');
  const support = join(repo, 'packages', 'test-support');
  const supportSrc = fileURLToPath(new URL('../../../test-support/', import.meta.url));
  mkdirSync(join(support, 'dist', 'src'), { recursive: true });
  copyFileSync(join(supportSrc, 'package.json'), join(support, 'package.json'));
  // Every module of the package, its folders included (its index re-exports them all).
  cpSync(join(supportSrc, 'dist', 'src'), join(support, 'dist', 'src'), {
    recursive: true,
    filter: (from) => !/\.(d\.ts|map)$/.test(from),
  });
  mkdirSync(join(repo, 'node_modules', '@ergo-ts'), { recursive: true });
  symlinkSync(join('..', '..', 'packages', 'test-support'), join(repo, 'node_modules', '@ergo-ts', 'test-support'));
  const dir = join(repo, 'packages', 'ergo', 'dist', 'test');
  mkdirSync(dir, { recursive: true });
  const here = fileURLToPath(new URL('.', import.meta.url));
  copyFileSync(join(here, 'peer_note.js'), join(dir, 'peer_note.js'));
  writeFileSync(join(repo, 'packages', 'ergo', 'package.json'), '{"type":"module"}');
  writeFileSync(
    join(dir, 'skip.js'),
    "import { requirePeer } from '@ergo-ts/test-support';\n" +
      "requirePeer({ skip: (m) => console.log('SKIP ' + m) });\n",
  );
  const env = { ...process.env };
  delete env.ERGO_PEER;
  delete env.CI;
  const note = execFileSync(process.execPath, [join(dir, 'peer_note.js')], { env, encoding: 'utf8' });
  const lines = note.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, note);
  assert.match(lines[0]!, /ERGO_PEER=/);
  assert.match(lines[0]!, /docs\/testing\.md/);
  assert.doesNotMatch(lines[0]!, new RegExp(root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  const skip = execFileSync(process.execPath, [join(dir, 'skip.js')], { env, encoding: 'utf8' });
  assert.equal(skip.trim(), 'SKIP needs the Go Ergo peer (set ERGO_PEER)');
});
