// The standalone command (`ergo-observer`, the package's bin) in its own OS process: a hidden
// node that observes a node it connects to by name, host and port, with the cookie from $COOKIE.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

import { startNode, type Atom } from 'ergo-ts';

import { StreamClient, post } from './helpers.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));

test('ergo-observer: a hidden node observing the node named by --node, cookie from COOKIE', async () => {
  const target = await startNode(`clitarget${process.pid}@localhost` as Atom, {
    log: { defaultLogger: { disable: true } },
    network: { cookie: 'cli-cookie', acceptors: [{ host: '127.0.0.1', port: 0 }], registrar: null },
  });
  const port = Number(/:(\d+)$/.exec(target.network().acceptors()[0]!.info().interface)![1]);
  const child = spawn(
    process.execPath,
    [
      CLI,
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--registrar-port',
      '0',
      '--node',
      target.name,
      '--node-host',
      '127.0.0.1',
      '--node-port',
      String(port),
    ],
    { env: { ...process.env, COOKIE: 'cli-cookie' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      readline.createInterface({ input: child.stdout }).on('line', (l) => {
        const m = /^open (http:\/\/\S+)$/.exec(l);
        if (m !== null) resolve(m[1]!);
      });
      child.on('exit', (code) => reject(new Error(`ergo-observer exited ${code}: ${stderr}`)));
    });
    const s = await StreamClient.open(url);
    const c = await s.waitFor('connected');
    assert.equal(c.node.name, target.name, 'the session starts on --node');
    assert.match(c.self, /^observer-[0-9a-f]{6}@localhost$/);
    const r = await post(url, '/api/subscribe', { type: 'node_info', args: {} }, { 'x-observer-session': s.session });
    assert.equal(r.status, 200, r.body.error);
    const info = await s.waitFor('node_info');
    assert.equal(info.node, target.name);
    assert.ok(
      target
        .network()
        .nodes()
        .some((n) => n.startsWith('observer-')),
      'the observer connected in',
    );
    s.close();
    assert.doesNotMatch(stderr, /warning: a cookie on the command line/);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await target.stop();
  }
});
