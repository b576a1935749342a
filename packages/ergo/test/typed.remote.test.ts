// Typed protocols at the boundary, with the receiving node in a separate OS process: a message or
// call that does not match the protocol of its target is not delivered, a call is answered with
// ERR_PROTOCOL_VIOLATION, the receiving node logs it once per (sender node, type) with the failing
// field's path, and nothing else is lost. A burst of 10,000 bad messages neither floods the log
// nor grows the receiver's memory.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { ErrProtocolViolation, type Node, type ProcessID } from '../src/index.js';
import { within } from './helpers.js';
import { netNode, routeTo } from './net_helpers.js';
import { Inc, TypedCounter } from './typed_protocol.js';

const FIXTURE = fileURLToPath(new URL('./typed_fixture.js', import.meta.url));

/**
 * For every call here: none is about timeouts, and the default 5 s covers the first connection
 * and, in the burst test, 10,000 messages queued ahead of the call, which a loaded machine may
 * not get through in time.
 */
const PATIENT = { timeout: 30_000 };

interface Stats {
  kind: 'stats';
  lines: number;
  heap: number;
  text: string[];
}

async function startChild(t: {
  after(fn: () => void): void;
}): Promise<{ proc: ChildProcess; name: string; port: number }> {
  const proc = fork(FIXTURE, [], {
    env: { ...process.env, TYPED_FIXTURE_NAME: `typed${process.pid}@localhost` },
    execArgv: [...process.execArgv, '--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  t.after(() => proc.kill('SIGKILL'));
  // A liveness guard: a child Node loading the package takes seconds on a loaded machine (under c8 too).
  const [ready] = (await within(once(proc, 'message'), 'fixture ready', 30_000)) as [{ name: string; port: number }];
  return { proc, name: ready.name, port: ready.port };
}

async function stats(proc: ChildProcess): Promise<Stats> {
  const reply = once(proc, 'message');
  proc.send({ cmd: 'stats' });
  const [m] = (await within(reply, 'stats', 30_000)) as [Stats];
  return m;
}

function inc(by: unknown): Inc {
  return Object.assign(new Inc(), { by });
}

async function setUp(t: { after(fn: () => unknown): void }): Promise<{
  a: Node;
  child: ChildProcess;
  counter: ProcessID<typeof TypedCounter>;
}> {
  const c = await startChild(t);
  const a = await netNode('typedparent', { cookie: 'typed-secret' });
  t.after(() => a.stop());
  a.network().addRoute(c.name, routeTo(c.port), 0);
  return { a, child: c.proc, counter: TypedCounter.processID('counter', c.name) };
}

test('typed remote: valid traffic is delivered; a bad call is refused with the code and one log line', async (t) => {
  const { a, child, counter } = await setUp(t);
  a.send(counter, inc(2));
  a.send(counter, inc(3));
  assert.equal(await a.call(counter, 'get', PATIENT), 5);
  assert.equal(await a.call(counter, inc(4), PATIENT), 9);

  // A request whose field breaks the schema: the TypeScript compiler refuses it for the typed
  // ProcessID, so it goes through an untyped one (as a Go peer or a buggy node would send it).
  const untyped: ProcessID = counter;
  await assert.rejects(a.call(untyped, inc(1.5), PATIENT), (e: Error & { code?: string }) => {
    assert.equal(e.code, ErrProtocolViolation.code);
    return true;
  });
  await assert.rejects(a.call(untyped, 'size', PATIENT), { code: 'ERR_PROTOCOL_VIOLATION' });
  const s = await stats(child);
  assert.equal(s.lines, 2, `one line per (node, type): ${s.text.join('\n')}`);
  assert.match(s.text[0]!, /request \| Inc \| typedparent.* \| by \| expected integer/);
  // Nothing else was lost and the counter did not change.
  assert.equal(await a.call(counter, 'get', PATIENT), 9);
});

test('typed remote: an EDF struct whose any-field carries the wrong type is not delivered', async (t) => {
  const { a, child, counter } = await setUp(t);
  const untyped: ProcessID = counter;
  a.send(counter, inc(1));
  // Encoded by the EDF codec as the Go struct with a string in its `any` field: what a Go peer
  // (or another ergo-ts node with a different declaration) can put on the wire.
  a.send(untyped, inc('ten'));
  a.send(untyped, [1, 2, 3]);
  a.send(counter, 'reset');
  a.send(counter, inc(7));
  assert.equal(await a.call(counter, 'get', PATIENT), 7);
  const s = await stats(child);
  assert.equal(s.lines, 2, s.text.join('\n'));
  assert.match(s.text[0]!, /message \| Inc \| .* \| by \| expected number, got string/);
  assert.match(s.text[1]!, /message \| Array \| /);
});

test('typed remote: 10,000 invalid messages: one log line, no memory growth, later traffic intact', async (t) => {
  const { a, child, counter } = await setUp(t);
  const untyped: ProcessID = counter;
  const send = (n: number): void => {
    for (let i = 0; i < n; i++) a.send(untyped, inc(`bad${i}`));
  };
  // Warm-up (first connection, caches, JIT), then a baseline.
  send(1_000);
  assert.equal(await a.call(counter, 'get', PATIENT), 0);
  const before = await stats(child);
  send(10_000);
  a.send(counter, inc(1));
  assert.equal(await a.call(counter, 'get', PATIENT), 1);
  const after = await stats(child);
  assert.equal(after.lines, 1, 'the burst is logged once');
  const growth = after.heap - before.heap;
  // What is refused is dropped: the heap after a GC stays flat (10,000 retained messages with
  // their errors would be several MB).
  assert.ok(growth < 2 * 1024 * 1024, `heap grew by ${growth} bytes`);
});
