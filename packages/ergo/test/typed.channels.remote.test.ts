// Typed errors, refusals and data across nodes, with the receiving node in a second OS process
// (test/typed_channels_fixture.ts): a call's declared failure reaches the caller typed and the
// callee goes on; a schema that throws and a union's refusal answer ERR_PROTOCOL_VIOLATION with
// a text that neither leaks the schema's own error nor names one option only; typed arrays and
// sparse arrays come back exactly; an Actor.define process answers and fails per call.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { CallFailure, ErrProtocolViolation, ProcessID, tryCall, type Atom, type Node } from '../src/index.js';
import { within } from './helpers.js';
import { netNode, routeTo } from './net_helpers.js';
import { Bank, Put } from './typed_channels_protocol.js';

const FIXTURE = fileURLToPath(new URL('./typed_channels_fixture.js', import.meta.url));
/** Not about timeouts: a hang guard for the first connection on a loaded machine. */
const PATIENT = { timeout: 30_000 };

async function setUp(t: { after(fn: () => unknown): void }): Promise<{ a: Node; child: ChildProcess; peer: string }> {
  const proc = fork(FIXTURE, [], {
    env: { ...process.env, TYPED_FIXTURE_NAME: `typedch${process.pid}@localhost` },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  t.after(() => proc.kill('SIGKILL'));
  const [ready] = (await within(once(proc, 'message'), 'fixture ready', 30_000)) as [{ name: string; port: number }];
  const a = await netNode('typedchparent', { cookie: 'typed-secret' });
  t.after(() => a.stop());
  a.network().addRoute(ready.name, routeTo(ready.port), 0);
  return { a, child: proc, peer: ready.name };
}

function isViolation(e: unknown): e is Error & { code: string } {
  return e instanceof Error && (e as { code?: string }).code === ErrProtocolViolation.code;
}

test('typed channels remote: errors, refusals, data and Actor.define across two OS processes', async (t) => {
  const { a, child, peer } = await setUp(t);

  await t.test('a declared failure reaches the caller typed; the callee carries on', async () => {
    const bank = Bank.processID('bank', peer);
    const ok = await tryCall(a, bank, { withdraw: 4 }, PATIENT);
    assert.deepEqual(ok, { ok: true, value: 6 });
    const failed = await tryCall(a, bank, { withdraw: 100 }, PATIENT);
    assert.deepEqual(failed, { ok: false, error: { kind: 'insufficient', balance: 6 } });
    // Plain call: rejects with the CallFailure itself (no ERR_ code: it is not a framework error).
    await assert.rejects(a.call(bank, { withdraw: 100 }, PATIENT), (e: unknown) => {
      assert.ok(e instanceof CallFailure);
      assert.deepEqual(e.error, { kind: 'insufficient', balance: 6 });
      assert.equal((e as { code?: string }).code, undefined);
      return true;
    });
    // The bank did not stop: it still answers.
    assert.equal(await a.call(bank, 'balance', PATIENT), 6);
    // A framework error is not a failure: tryCall rejects with it.
    const untyped: ProcessID = bank;
    await assert.rejects(tryCall(a, untyped, { withdraw: 'all' }, PATIENT), isViolation);
  });

  await t.test("a union's refusal names every option, not one", async () => {
    const union = new ProcessID('union' as Atom, peer as Atom);
    assert.equal(await a.call(union, 'ping', PATIENT), 'ok');
    assert.equal(await a.call(union, Object.assign(new Put(), { key: 'k' }), PATIENT), 'ok');
    const lines = once(child, 'message');
    await assert.rejects(a.call(union, 'pong', PATIENT), isViolation);
    child.send({ cmd: 'lines' });
    const [{ lines: logged }] = (await within(lines, 'lines', 30_000)) as [{ lines: string[] }];
    const line = logged.find((l) => l.includes('union'));
    assert.ok(line !== undefined, logged.join('\n'));
    assert.doesNotMatch(line, /expected Put, got string/);
    assert.match(line, /expected one of: Put \| "ping"; got string/);
  });

  await t.test('a schema that throws answers ERR_PROTOCOL_VIOLATION, not its own text', async () => {
    await assert.rejects(a.call(new ProcessID('thrower' as Atom, peer as Atom), 'x', PATIENT), (e: unknown) => {
      assert.ok(isViolation(e), String(e));
      assert.doesNotMatch(e.message, /blew up/);
      return true;
    });
  });

  await t.test('typed arrays and sparse arrays come back exactly', async () => {
    const echo = new ProcessID('echo' as Atom, peer as Atom);
    const sparse: unknown[] = [1, , 3];
    sparse[9] = 'x';
    const sent = {
      i32: new Int32Array([1, -2, 2147483647]),
      f64: new Float64Array([1.5, Number.NaN, -0]),
      u16: new Uint16Array([65535]),
      big: new BigInt64Array([-5n]),
      clamped: new Uint8ClampedArray([255, 0]),
      sparse,
      dense: [undefined, 2],
    };
    const got = (await a.call(echo, sent, PATIENT)) as typeof sent;
    assert.ok(got.i32 instanceof Int32Array);
    assert.ok(got.f64 instanceof Float64Array);
    assert.ok(got.u16 instanceof Uint16Array);
    assert.ok(got.big instanceof BigInt64Array);
    assert.ok(got.clamped instanceof Uint8ClampedArray);
    assert.deepEqual(got, sent);
    assert.ok(Object.is(got.f64[2], -0));
    assert.equal(got.sparse.length, 10);
    assert.equal(1 in got.sparse, false, 'a hole stays a hole');
    assert.equal(0 in got.dense, true, 'an undefined element stays an element');
    // What has no exact form is refused with a stable code, not changed.
    await assert.rejects(a.call(echo, { v: new DataView(new ArrayBuffer(2)) }, PATIENT), (e: unknown) => {
      assert.equal((e as { code?: string }).code, 'ERR_EDF_UNREGISTERED');
      return true;
    });
  });

  await t.test('Actor.define answers and fails per call at the wire', async () => {
    const defined = new ProcessID('defined' as Atom, peer as Atom);
    assert.equal(await a.call(defined, { add: 3 }, PATIENT), 3);
    assert.deepEqual(await tryCall(a, defined, { take: 5 }, PATIENT), { ok: false, error: { short: 2 } });
    assert.equal(await a.call(defined, { take: 1 }, PATIENT), 2);
    await assert.rejects(a.call(defined, { add: 1.5 }, PATIENT), isViolation);
  });
});
