// The deploy recipe of docs/deploy.md, run exactly as a user runs it: examples/deploy/try-it.sh
// makes four network namespaces (the test hosts' commands), starts etcd and three deploy_node.js
// nodes with mutual TLS, waits until every node answered the two others, kills one with kill -9
// and waits until the two others report it down; it exits 0 only if all of that happened, and
// removes what it made. Skips without root/ip/nft or etcd (fails under CI=true).

import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { requireHosts, within } from '@ergo-ts/test-support';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ETCD = process.env.ETCD_BIN ?? '/usr/bin/etcd';

test('examples/deploy/try-it.sh: three hosts on etcd with mutual TLS, calls every way, kill -9 noticed', async (t) => {
  if (!requireHosts(t)) return;
  if (!existsSync(ETCD)) {
    if (process.env.CI === 'true') throw new Error(`${ETCD} is missing (Debian package etcd-server)`);
    t.skip(`${ETCD} is missing (install Debian's etcd-server)`);
    return;
  }
  const child = spawn('sh', ['examples/deploy/try-it.sh'], {
    cwd: ROOT,
    env: { ...process.env, NODE: process.execPath, ETCD },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await within(
    new Promise<number | null>((resolve) => child.once('exit', resolve)),
    'try-it.sh ends',
    120_000,
  );
  assert.equal(code, 0, out);
  assert.equal(out.match(/"reply"/g)?.length, 6, out);
  assert.match(out, /found each other through etcd and answered over mutual TLS/);
  assert.match(out, /after kill -9 of n3, n1 and n2 reported it down/);
});
