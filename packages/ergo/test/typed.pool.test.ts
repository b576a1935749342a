// Typed protocols through a Pool, with the pool's node in a separate OS process: a Pool (or a
// ClusterPool) in front of typed workers refuses what the workers would refuse had the mail
// come to them directly (a call gets ERR_PROTOCOL_VIOLATION, a message is dropped), whoever
// forwards it: the pool's own door when it names its worker class, each worker's check as the
// pool forwards when the factory is a function. Valid traffic goes through as before.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { ErrProtocolViolation, type Node, type ProcessID } from '../src/index.js';
import { within } from './helpers.js';
import { netNode, routeTo } from './net_helpers.js';
import { Inc, Lengths, TypedCounter } from './typed_protocol.js';

const FIXTURE = fileURLToPath(new URL('./typed_pool_fixture.js', import.meta.url));
/** None of these calls is about timeouts: the bound covers a first connection on a loaded machine. */
const PATIENT = { timeout: 30_000 };

interface Stats {
  kind: 'stats';
  off: number;
  lines: number;
  text: string[];
}

async function setUp(t: { after(fn: () => unknown): void }): Promise<{ a: Node; child: ChildProcess; name: string }> {
  const proc = fork(FIXTURE, [], {
    env: { ...process.env, TYPED_FIXTURE_NAME: `typedpool${process.pid}@localhost` },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  t.after(() => proc.kill('SIGKILL'));
  const [ready] = (await within(once(proc, 'message'), 'fixture ready', 30_000)) as [{ name: string; port: number }];
  const a = await netNode('typedpoolparent', { cookie: 'typed-secret' });
  t.after(() => a.stop());
  a.network().addRoute(ready.name, routeTo(ready.port), 0);
  return { a, child: proc, name: ready.name };
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

for (const pool of ['pool', 'arrowpool', 'cpool']) {
  test(`typed pool (${pool}): off-protocol mail of another node never reaches a worker`, async (t) => {
    const { a, child, name } = await setUp(t);
    const typed = TypedCounter.processID(pool, name);
    // What a buggy node or a peer without the types can send: through an untyped address.
    const untyped: ProcessID = typed;
    a.send(untyped, 'not a number');
    a.send(untyped, inc('ten'));
    await assert.rejects(a.call(untyped, { evil: true }, PATIENT), { code: ErrProtocolViolation.code });
    await assert.rejects(a.call(untyped, inc(1.5), PATIENT), { code: ErrProtocolViolation.code });
    // Valid traffic is forwarded and answered by a worker, as before.
    a.send(typed, inc(2));
    a.send(typed, 'reset');
    const n: number = await a.call(typed, inc(3), PATIENT);
    assert.equal(typeof n, 'number');
    assert.equal(typeof (await a.call(typed, 'get', PATIENT)), 'number');
    // Mail is handled in order per worker: the messages sent before the calls were handled
    // (or refused) by now on the worker that got them; a stats round trip after two calls to
    // each worker settles the rest.
    await a.call(typed, 'get', PATIENT);
    await a.call(typed, 'get', PATIENT);
    const s = await stats(child);
    assert.equal(s.off, 0, 'nothing off the protocol reached a worker handler');
    assert.ok(s.lines >= 1, `the refusals are logged: ${s.text.join('\n')}`);
    assert.match(s.text.join('\n'), /typed-counter/);
  });
}

for (const target of ['lengths', 'lenpool']) {
  test(`typed transforms (${target}): mail of another node is delivered as the schema's output`, async (t) => {
    const { a, name } = await setUp(t);
    const to = Lengths.processID(target, name);
    // The caller gives the schema's input (a string); the handler gets its output (the length).
    const n: number = await a.call(to, { s: 'abcd' }, PATIENT);
    assert.equal(n, 4);
    a.send(to, { s: 'xyz' });
    assert.equal(await a.call(to, 'last', PATIENT), 3);
    const untyped: ProcessID = to;
    await assert.rejects(a.call(untyped, { s: 5 }, PATIENT), { code: ErrProtocolViolation.code });
  });
}
