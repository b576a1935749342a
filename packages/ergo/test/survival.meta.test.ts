// Issue 26 items 4, 5, 6, 8, 9, 10 and issue 19 item 6: each scenario runs in a node in a child OS
// process (survival.ts), which must stay alive, answer calls and stop cleanly; the scenario's
// result says the meta (or request) that failed did so alone, in the documented way.

import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { survives } from './survival.js';

const S = new URL('./survival.meta.scenarios.js', import.meta.url).href;

test('tcp server: a client resetting a connection accepted before spawnMeta leaves the process alive', async () => {
  const out = await survives(S, 'tcpPendingReset');
  assert.deepEqual(out.result, { closed: true });
});

test('udp server: a MessageUDP to port 0 is logged and dropped; the next datagram goes out', async () => {
  const out = await survives(S, 'udpPortZero');
  assert.deepEqual(out.result, { text: 'good' });
  assert.match(out.stdout, /send to udp:\/\/127\.0\.0\.1:0 failed|send to .*:0 failed/);
});

test('port: a splitFuncStdout that throws ends that port (logged), not the process', async () => {
  const out = await survives(S, 'portSplitThrows');
  assert.deepEqual(out.result, { started: true });
  assert.match(out.stdout, /split function threw: split bug/);
});

test('web server: a route that throws or rejects answers 500 (logged), one writing after its end is harmless, and the server serves on', async () => {
  const out = await survives(S, 'webListenerThrows');
  assert.deepEqual(out.result, { thrown: 500, rejected: 500, twice: 'once', ok: 'fine' });
  assert.match(out.stdout, /GET \/throw: the request listener failed: route bug/);
  assert.match(out.stdout, /GET \/reject: the request listener failed: async route bug/);
});

test('web handler: a worker writing after the 504 of a pipelined, still queued response leaves the process alive', async () => {
  const out = await survives(S, 'webLateWrite');
  assert.deepEqual(out.result, { timedOut: true });
});

test('client metas (TCP, SSE) spawned from an async init reach their parent once init returns', async () => {
  const out = await survives(S, 'metaFromInit');
  assert.deepEqual(out.result, { seen: ['sse-connect', 'tcp-connect', 'tcp-data'] });
});

test('web worker: a worker that throws answers 500, and the requests queued at it 503 at once', async () => {
  const out = await survives(S, 'webWorkerThrows');
  assert.deepEqual(out.result, { statuses: [500, 503, 503] });
});

test('default logger: stdout and stderr closed by their reader (node app | head -1) leave the process alive', async () => {
  const child = fork(fileURLToPath(new URL('./survival.meta.epipe_child.js', import.meta.url)), [], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // The first log line arrived: close both reading ends, as `head -1` does after one line.
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  child.stdout!.destroy();
  child.stderr!.destroy();
  const answer = new Promise<unknown>((resolve) => child.on('message', (m) => m !== 'ready' && resolve(m)));
  child.send('closed');
  const alive = await Promise.race([answer, exited.then((code) => ({ died: code }))]);
  assert.deepEqual(alive, { alive: true, reply: { echo: 'still here' } });
  child.send('stop');
  assert.equal(await exited, 0);
});
