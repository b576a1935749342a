// The Node.js version at the door (issue 48): startNode on a Node.js older than 22 rejects at once
// with ERR_NODE_VERSION, naming the version needed and how to get it, instead of starting and
// failing later (node:sqlite missing on Node 20). The real case runs the built package under the
// machine's own older Node (/usr/bin/node, Node 20 here), or this Node told it is 20.1.0.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MIN_NODE_MAJOR, nodeVersionError } from '../src/node/node_version.js';

test('nodeVersionError: Node 20 is refused with the version needed; 22 and 24 pass', () => {
  const e = nodeVersionError('20.20.2') as Error & { code?: string };
  assert.equal(e.code, 'ERR_NODE_VERSION');
  assert.match(e.message, /needs Node\.js 22 or 24, this is Node\.js 20\.20\.2/);
  assert.match(e.message, /\.nvmrc/);
  assert.match(e.message, /npx -p node@24/);
  assert.match(nodeVersionError('18.19.0')!.message, /this is Node\.js 18\.19\.0/);
  for (const ok of ['22.0.0', '22.13.1', '24.11.0', '25.0.0']) assert.equal(nodeVersionError(ok), undefined, ok);
  assert.equal(nodeVersionError(), undefined, 'this test runs on a supported Node');
  assert.equal(MIN_NODE_MAJOR, 22);
});

/** The machine's own Node when it is older than ergo-ts supports (Debian's Node 20 here). */
async function olderNode(): Promise<{ bin: string; version: string } | undefined> {
  for (const bin of ['/usr/bin/node', '/usr/local/bin/node']) {
    if (!existsSync(bin) || bin === process.execPath) continue;
    const version = await new Promise<string>((resolve) =>
      execFile(bin, ['--version'], (err, out) => resolve(err ? '' : out.trim().replace(/^v/, ''))),
    );
    if (version !== '' && Number.parseInt(version, 10) < MIN_NODE_MAJOR) return { bin, version };
  }
  return undefined;
}

test('startNode under a Node older than 22 rejects with ERR_NODE_VERSION, nothing started', async () => {
  // The machine's own older Node when there is one; else this Node, told it is 20.1.0.
  const older = await olderNode();
  const bin = older?.bin ?? process.execPath;
  const version = older?.version ?? '20.1.0';
  const fake = older === undefined ? `Object.defineProperty(process.versions, 'node', { value: '${version}' });` : '';
  const index = fileURLToPath(new URL('../src/index.js', import.meta.url));
  const script = `${fake}
    const { startNode } = await import(${JSON.stringify(index)});
    try {
      const node = await startNode('old@localhost');
      console.log('STARTED', node.name);
      await node.stop();
    } catch (e) {
      console.log(JSON.stringify({ code: e.code, message: e.message }));
    }`;
  const out = await new Promise<string>((resolve, reject) =>
    execFile(bin, ['--input-type=module', '-e', script], { timeout: 120_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${String(err)}\n${stderr}`)) : resolve(stdout),
    ),
  );
  assert.doesNotMatch(out, /STARTED/);
  const result = JSON.parse(out.trim().split('\n').pop()!) as { code: string; message: string };
  assert.equal(result.code, 'ERR_NODE_VERSION');
  assert.match(result.message, new RegExp(`this is Node\\.js ${version.replace(/\./g, '\\.')}`));
});
