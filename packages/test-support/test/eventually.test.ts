// The shared bounded waits: `eventually` resolves with the probe's first truthy value (sync or
// async probe, a condition that turns true later), and on expiry rejects with a message naming
// what it waited for, the bound and the probe's last error; `within` passes a settled promise
// through and names what did not settle. Conditions turn true from real timers or I/O, never
// from counting probes.

import { strict as assert } from 'node:assert';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { eventually, WaitTimeoutError, within } from '../src/index.js';

/** Asserts `p` rejects with a WaitTimeoutError and returns it. */
async function timeoutOf(p: Promise<unknown>): Promise<WaitTimeoutError> {
  const e = await p.then(
    () => assert.fail('expected a rejection'),
    (err: unknown) => err,
  );
  assert.ok(e instanceof WaitTimeoutError, `not a WaitTimeoutError: ${String(e)}`);
  assert.equal(e.code, 'ERR_TEST_WAIT_TIMEOUT');
  return e;
}

test('eventually: resolves once a condition set later by a timer turns true', async () => {
  let ready = false;
  setTimeout(() => (ready = true), 30);
  const v = await eventually(() => ready, 'the flag');
  assert.equal(v, true);
  assert.equal(ready, true);
});

test('eventually: resolves with the first truthy value the probe returns', async () => {
  const seen: string[] = [];
  setTimeout(() => seen.push('first'), 20);
  const got: string = await eventually(() => seen[0], 'a first entry');
  assert.equal(got, 'first');
});

test('eventually: an async probe is awaited; its value comes back', async () => {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = await eventually(async () => {
      await new Promise((r) => setImmediate(r));
      const a = server.address();
      return typeof a === 'object' && a !== null ? a.port : undefined;
    }, 'the listening port');
    assert.ok(port > 0);
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test('eventually: a probe that throws until the condition holds still resolves', async () => {
  let ready = false;
  setTimeout(() => (ready = true), 20);
  const v = await eventually(() => {
    if (!ready) throw new Error('not yet');
    return 'up';
  }, 'the service');
  assert.equal(v, 'up');
});

test('eventually: rejects naming what and the bound when never true', async () => {
  const e = await timeoutOf(eventually(() => false, 'the moon to turn blue', { timeoutMs: 50 }));
  assert.match(e.message, /^timed out after 50 ms \(\d+ probes\) waiting for the moon to turn blue$/);
  assert.equal(e.cause, undefined);
});

test("eventually: the failure carries the probe's last error in the message and as cause", async () => {
  let n = 0;
  const e = await timeoutOf(
    eventually(
      async () => {
        n++;
        throw Object.assign(new Error(`refused #${n}`), { code: 'ECONNREFUSED' });
      },
      'the peer',
      { timeoutMs: 50, intervalMs: 1 },
    ),
  );
  assert.match(e.message, /waiting for the peer; last probe error: Error: refused #\d+$/);
  assert.ok(e.cause instanceof Error);
  // The last error, not the first: the one thrown by the final probe.
  assert.equal(e.cause.message, `refused #${n}`);
  assert.ok(e.message.endsWith(`refused #${n}`));
});

test('eventually: falsy values (0, empty string, null) keep it polling', async () => {
  const values: unknown[] = [0, '', null, undefined, false];
  let v: unknown = values.shift();
  const timer = setInterval(() => {
    v = values.length > 0 ? values.shift() : 7;
    if (v === 7) clearInterval(timer);
  }, 5);
  assert.equal(await eventually(() => v, 'a truthy value'), 7);
});

test('eventually: a probe that never settles is bounded too', async () => {
  const e = await timeoutOf(eventually(() => new Promise<boolean>(() => {}), 'a hung probe', { timeoutMs: 30 }));
  assert.match(e.message, /waiting for a hung probe; the last probe did not settle$/);
});

test('eventually: no timer of its own is active while a probe runs (a probe may count handles)', async () => {
  const timeouts = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const base = timeouts();
  const seen: number[] = [];
  // The probes themselves are the subject here: three of them, sync then async.
  await eventually(() => (seen.push(timeouts()), seen.length >= 3), 'three sync probes');
  await eventually(async () => (seen.push(timeouts()), seen.length >= 6), 'three async probes');
  assert.deepEqual(seen, Array(6).fill(base));
});

test('eventually: bad options are refused with a stable code', () => {
  assert.throws(() => eventually(() => true, 'x', { timeoutMs: -1 }), {
    name: 'RangeError',
    code: 'ERR_TEST_WAIT_OPTION',
  });
  assert.throws(() => eventually(() => true, 'x', { intervalMs: Number.NaN }), { code: 'ERR_TEST_WAIT_OPTION' });
});

test('within: passes the value or the rejection through; names what did not settle', async () => {
  assert.equal(await within(Promise.resolve(3), 'three'), 3);
  await assert.rejects(within(Promise.reject(new Error('boom')), 'boom'), /^Error: boom$/);
  const e = await timeoutOf(within(new Promise(() => {}), 'the reply', 20));
  assert.equal(e.message, 'timed out after 20 ms waiting for the reply');
});
