// Handler results and panics (issue 2, items 7 and 9): returning a termination reason stops the
// process (normal/shutdown quietly, others logged); throwing or rejecting anywhere (init,
// handlers, terminate, odd thenables) is a panic: logged with its stack, the process ends with
// TerminateReasonPanic, the node and every other process go on, and no unhandled rejection or
// uncaught exception ever escapes — also under load.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import {
  Actor,
  ErgoError,
  ErrProcessUnknown,
  isError,
  Stop,
  TerminateReasonNormal,
  TerminateReasonPanic,
  TerminateReasonShutdown,
  type PID,
} from '../src/index.js';
import type { Node } from '../src/index.js';
import { deferred, Inbox, LogCapture, probe, noUnhandled, withNode, within } from './helpers.js';

noUnhandled();

/** Spawns a probe whose message handler runs `fn`, and resolves its terminate reason. */
async function victim(node: Node, fn: (m: unknown) => unknown): Promise<{ pid: PID; reason: Promise<Error> }> {
  const reason = deferred<Error>();
  const pid = await node.spawn(probe(fn, undefined, (r) => reason.resolve(r)));
  return { pid, reason: reason.promise };
}

describe('returning a termination reason', () => {
  test('normal and shutdown stop quietly; a custom error stops and is logged; Stop(reason) too', async () => {
    const log = new LogCapture();
    await withNode(
      async (node) => {
        const n = await victim(node, () => TerminateReasonNormal);
        node.send(n.pid, 'x');
        assert.equal(await n.reason, TerminateReasonNormal);
        const s = await victim(node, () => new Stop(TerminateReasonShutdown));
        node.send(s.pid, 'x');
        assert.equal(await s.reason, TerminateReasonShutdown);
        assert.equal(log.text(), '', 'normal/shutdown are not logged');

        const custom = new Error('custom reason');
        const c = await victim(node, async () => {
          await Promise.resolve();
          return custom;
        });
        node.send(c.pid, 'x');
        assert.equal(await c.reason, custom);
        assert.match(log.text(), /terminated abnormally.*custom reason/);
        assert.equal(node.info().processesTotal, 0);
      },
      {},
      log,
    );
  });

  test('other return values are not reasons: the process carries on', () =>
    withNode(async (node) => {
      const inbox = new Inbox();
      const pid = await node.spawn(probe((m, f) => (inbox.push(m, f), m)));
      for (const v of [1, 'str', { not: 'a promise' }, true, null]) node.send(pid, v);
      await inbox.count(5);
      assert.equal(await node.call(pid, 'alive'), 'alive');
    }));
});

describe('panics', () => {
  test('a throw in handleMessage: logged with its stack, reason panic, the node and others go on', async () => {
    const log = new LogCapture();
    await withNode(
      async (node) => {
        const bystander = await node.spawn(probe());
        const v = await victim(node, () => {
          throw new Error('sync handler bug');
        });
        node.send(v.pid, 'x');
        assert.equal(await v.reason, TerminateReasonPanic);
        const text = log.text();
        assert.match(text, /\[panic\]/);
        assert.match(text, /sync handler bug/);
        assert.match(text, /\n\s+at /, 'the stack is logged');
        assert.ok(text.includes(v.pid.toString()));
        assert.throws(() => node.processInfo(v.pid), { code: 'ERR_PROCESS_UNKNOWN' });
        assert.equal(await node.call(bystander, 'ok'), 'ok');
        assert.ok(node.isAlive());
      },
      {},
      log,
    );
  });

  test('a rejected async handler, a thrown non-Error, a thenable whose then throws', async () => {
    const log = new LogCapture();
    await withNode(
      async (node) => {
        const a = await victim(node, async () => {
          await Promise.resolve();
          throw new Error('async handler bug');
        });
        const b = await victim(node, () => {
          throw 'a string, not an Error';
        });
        const c = await victim(node, () => ({
          then() {
            throw new Error('then exploded');
          },
        }));
        const d = await victim(node, () => Promise.reject(undefined));
        for (const v of [a, b, c, d]) node.send(v.pid, 'x');
        for (const v of [a, b, c, d]) assert.equal(await v.reason, TerminateReasonPanic);
        const text = log.text();
        assert.match(text, /async handler bug/);
        assert.match(text, /a string, not an Error/);
        assert.match(text, /then exploded/);
        assert.equal(node.info().processesTotal, 0);
      },
      {},
      log,
    );
  });

  test('a thrown or rejected value that cannot be turned into a string is still a panic (regression)', async () => {
    // String(Object.create(null)) throws: the panic path must not, or the scheduler drain dies
    // (every other process stalls) and the error escapes as an uncaught exception/rejection.
    const log = new LogCapture();
    await withNode(
      async (node) => {
        const sync = await victim(node, () => {
          throw Object.create(null);
        });
        const async_ = await victim(node, () => Promise.reject(Object.create(null)));
        class BadInit extends Actor {
          override init(): void {
            throw Object.create(null);
          }
        }
        // Wrapped like a handler's panic (issue 8): an ErgoError whose cause is the thrown value.
        await assert.rejects(
          () => node.spawnRegister('bad-init', BadInit),
          (e: unknown) =>
            e instanceof ErgoError &&
            e.code === 'ERR_THROWN_VALUE' &&
            typeof e.cause === 'object' &&
            e.cause !== null &&
            Object.getPrototypeOf(e.cause) === null,
        );
        assert.throws(
          () => node.processPID('bad-init'),
          { code: 'ERR_PROCESS_UNKNOWN' },
          'the failed init released its name',
        );
        node.send(sync.pid, 'x');
        node.send(async_.pid, 'x');
        assert.equal(await sync.reason, TerminateReasonPanic);
        assert.equal(await async_.reason, TerminateReasonPanic);
        const other = new Inbox();
        const o = await node.spawn(probe(other.push));
        node.send(o, 'still running');
        assert.deepEqual(
          (await other.count(1)).map((s) => s.message),
          ['still running'],
          'the scheduler goes on',
        );
        assert.match(log.text(), /non-error thrown: \[object Object\]/);
      },
      {},
      log,
    );
  });

  test('a throw in handleCall: the process panics, the caller is told at once', () =>
    withNode(async (node) => {
      const reason = deferred<Error>();
      const pid = await node.spawn(
        probe(
          undefined,
          () => {
            throw new TypeError('call bug');
          },
          (r) => reason.resolve(r),
        ),
      );
      await assert.rejects(
        node.call(pid, 'x'),
        (e: { code: string; cause: unknown }) =>
          e.code === 'ERR_PROCESS_TERMINATED' && e.cause === TerminateReasonPanic,
      );
      assert.equal(await reason.promise, TerminateReasonPanic);
    }));

  test('a throw in init rejects the spawn with that error and is logged with its stack', async () => {
    const log = new LogCapture();
    await withNode(
      async (node) => {
        const boom = new RangeError('init bug');
        class BadInit extends Actor {
          override init() {
            throw boom;
          }
        }
        assert.equal(await node.spawn(BadInit).catch((e: unknown) => e), boom);
        class BadAsyncInit extends Actor {
          override async init() {
            await Promise.resolve();
            throw boom;
          }
        }
        assert.equal(await node.spawn(BadAsyncInit).catch((e: unknown) => e), boom);
        assert.match(log.text(), /init bug/);
        assert.match(log.text(), /\n\s+at /);
        assert.equal(node.info().processesTotal, 0);
      },
      {},
      log,
    );
  });

  test('a throw or rejection in terminate is logged and goes nowhere else', async () => {
    const log = new LogCapture();
    await withNode(
      async (node) => {
        const ran = deferred<void>();
        class BadTerminate extends Actor {
          override terminate() {
            ran.resolve();
            throw new Error('terminate bug');
          }
        }
        const asyncRan = deferred<void>();
        class BadAsyncTerminate extends Actor {
          override async terminate() {
            await Promise.resolve();
            asyncRan.resolve();
            throw new Error('async terminate bug');
          }
        }
        const a = await node.spawn(BadTerminate);
        const b = await node.spawn(BadAsyncTerminate);
        node.kill(a);
        node.send(b, 'x'); // default handleMessage only warns
        node.kill(b);
        await ran.promise;
        await asyncRan.promise;
        await new Promise((r) => setImmediate(r));
        assert.match(log.text(), /terminate bug/);
        assert.match(log.text(), /async terminate bug/);
        assert.ok(node.isAlive());
        const p = await node.spawn(probe());
        assert.equal(await node.call(p, 1), 1);
      },
      {},
      log,
    );
  });

  test('a panicking handler under load does not disturb the others', () =>
    withNode(async (node) => {
      const GOOD = 50;
      const BAD = 50;
      const PER = 100;
      const got = new Map<string, number[]>();
      let goodDone = 0;
      const allGood = deferred<void>();
      const good: PID[] = [];
      for (let i = 0; i < GOOD; i++) {
        const seen: number[] = [];
        const pid = await node.spawn(
          probe((m) => {
            seen.push(m as number);
            if (seen.length === PER && ++goodDone === GOOD) allGood.resolve();
          }),
        );
        got.set(pid.key, seen);
        good.push(pid);
      }
      const bad: { pid: PID; reason: Promise<Error> }[] = [];
      for (let i = 0; i < BAD; i++) {
        bad.push(
          await victim(
            node,
            i % 2 === 0
              ? (m) => {
                  if ((m as number) >= 10) throw new Error(`bad ${i}`);
                }
              : async (m) => {
                  await Promise.resolve();
                  if ((m as number) >= 10) throw new Error(`bad async ${i}`);
                },
          ),
        );
      }
      // a producer that interleaves sends to good and bad processes; once they are all dead, a
      // last round to the bad ones ('again') must fail for each of them
      const unknownAfterDeath = { n: 0 };
      const againDone = deferred<void>();
      const producer = await node.spawn(
        probe(async (m, _f, self) => {
          if (m === 'again') {
            for (const b of bad) {
              try {
                self.send(b.pid, 'late');
              } catch (e) {
                assert.ok(isError(e, ErrProcessUnknown));
                unknownAfterDeath.n++;
              }
            }
            againDone.resolve();
            return;
          }
          for (let k = 0; k < PER; k++) {
            for (const g of good) self.send(g, k);
            for (const b of bad) {
              try {
                self.send(b.pid, k);
              } catch (e) {
                assert.ok(isError(e, ErrProcessUnknown));
                unknownAfterDeath.n++;
              }
            }
            if (k % 10 === 0) await new Promise((r) => setImmediate(r));
          }
        }),
      );
      node.send(producer, 'go');
      await allGood.promise;
      for (const g of good)
        assert.deepEqual(
          got.get(g.key),
          Array.from({ length: PER }, (_, i) => i),
        );
      for (const b of bad) assert.equal(await b.reason, TerminateReasonPanic);
      // Sends during the storm may or may not find a bad process dead yet (a loaded machine runs
      // the producer's whole loop before the bad ones reach message 10); after their deaths,
      // every send fails.
      const duringStorm = unknownAfterDeath.n;
      node.send(producer, 'again');
      await within(againDone.promise, "the producer's sends to the dead");
      assert.equal(unknownAfterDeath.n - duringStorm, BAD, 'sends to dead processes failed with ErrProcessUnknown');
      assert.equal(node.info().processesTotal, GOOD + 1);
    }));
});
