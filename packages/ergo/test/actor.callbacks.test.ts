// The Actor callbacks (issue 2, item 7): init with the spawn args, handleMessage / handleCall
// with the sender and the call ref, handleInspect (sync or async, served from the urgent queue),
// terminate (once, after the process left the node, with the reason), default callbacks that
// only warn, and sync/async callbacks mixed freely.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import { Actor, PID, ProcessState, Ref, TerminateReasonNormal, type Node } from '../src/index.js';
import { deferred, LogCapture, probe, withNode, noUnhandled } from './helpers.js';

noUnhandled();

describe('Actor callbacks', () => {
  test('init gets the args; handleMessage gets the sender; handleCall gets the caller and a Ref', () =>
    withNode(async (node) => {
      const seen: unknown[] = [];
      const got = deferred<void>();
      class A extends Actor {
        a = 0;
        b = '';
        override init(a: number, b: string) {
          this.a = a;
          this.b = b;
        }
        override handleMessage(from: PID, m: unknown) {
          seen.push(['message', from, m, this.a, this.b]);
          got.resolve();
        }
        override handleCall(from: PID, ref: Ref, req: unknown) {
          return [from, ref, req];
        }
      }
      const pid = await node.spawn(A, {}, 7, 'seven');
      node.send(pid, 'hi');
      await got.promise;
      const [, from, m, a, b] = seen[0] as [string, PID, unknown, number, string];
      assert.ok(from.equals(node.pid));
      assert.deepEqual([m, a, b], ['hi', 7, 'seven']);
      const [cf, ref, req] = (await node.call(pid, { q: 1 })) as [PID, Ref, unknown];
      assert.ok(cf.equals(node.pid));
      assert.ok(ref instanceof Ref);
      assert.equal(ref.node, node.name);
      assert.deepEqual(req, { q: 1 });
    }));

  test('async init, async handlers and async handleCall replies', () =>
    withNode(async (node) => {
      class A extends Actor {
        ready = false;
        override async init() {
          await Promise.resolve();
          this.ready = true;
        }
        override async handleCall(_f: PID, _r: Ref, req: unknown) {
          await new Promise((r) => setImmediate(r));
          return [this.ready, req];
        }
      }
      const pid = await node.spawn(A);
      assert.deepEqual(await Promise.all([node.call(pid, 1), node.call(pid, 2)]), [
        [true, 1],
        [true, 2],
      ]);
    }));

  test('handleInspect answers inspect (sync and async), served before queued mail', () =>
    withNode(async (node) => {
      const order: string[] = [];
      const gate = deferred<void>();
      const parked = deferred<void>();
      const queuedSeen = deferred<void>();
      class Target extends Actor {
        override async handleMessage(_f: PID, m: unknown) {
          order.push(String(m));
          if (m === 'queued') queuedSeen.resolve();
          if (m === 'park') {
            parked.resolve();
            await gate.promise;
          }
        }
        override handleInspect(from: PID, ...items: string[]) {
          order.push('inspect');
          return { from: from.toString(), items: items.join(',') };
        }
      }
      class AsyncTarget extends Actor {
        override async handleInspect() {
          await Promise.resolve();
          return { async: 'yes' };
        }
      }
      const target = await node.spawn(Target);
      const asyncTarget = await node.spawn(AsyncTarget);
      const out = deferred<unknown[]>();
      const inspector = await node.spawn(
        probe(async (_m, _f, self) => {
          const r1 = await self.inspect(target, 'a', 'b');
          const r2 = await self.inspect(asyncTarget);
          const r3 = await self.inspect(new PID('elsewhere@host', 1001, 1)).catch((e: { code: string }) => e.code);
          out.resolve([r1, r2, r3]);
        }),
      );
      node.send(target, 'park');
      await parked.promise;
      node.send(target, 'queued');
      node.send(inspector, 'go');
      await new Promise((r) => setImmediate(r));
      gate.resolve();
      const [r1, r2, r3] = await out.promise;
      assert.deepEqual(r1, { from: inspector.toString(), items: 'a,b' });
      assert.deepEqual(r2, { async: 'yes' });
      assert.equal(r3, 'ERR_NOT_ALLOWED');
      await queuedSeen.promise;
      assert.deepEqual(order, ['park', 'inspect', 'queued']);
    }));

  test('terminate runs once, after the process left the node, with the reason', () =>
    withNode(async (node) => {
      let calls = 0;
      const seen = deferred<{ reason: Error; inTable: boolean; state: number }>();
      class A extends Actor {
        override handleMessage() {
          return TerminateReasonNormal;
        }
        override terminate(reason: Error) {
          calls++;
          let inTable = true;
          try {
            node.processInfo(this.pid);
          } catch {
            inTable = false;
          }
          seen.resolve({ reason, inTable, state: this.state() });
        }
      }
      const pid = await node.spawn(A);
      node.send(pid, 'stop');
      node.send(pid, 'more mail that is never handled');
      const s = await seen.promise;
      assert.equal(s.reason, TerminateReasonNormal);
      assert.equal(s.inTable, false);
      assert.equal(s.state, ProcessState.Terminated);
      assert.throws(() => node.kill(pid), { code: 'ERR_PROCESS_UNKNOWN' });
      await new Promise((r) => setImmediate(r));
      assert.equal(calls, 1);
    }));

  test('default callbacks log a warning and keep the actor running', async () => {
    const log = new LogCapture();
    await withNode(
      async (node: Node) => {
        class Bare extends Actor {}
        const pid = await node.spawn(Bare);
        node.send(pid, 'unexpected');
        await assert.rejects(node.call(pid, 'no handler', { timeout: 20 }), { code: 'ERR_TIMEOUT' });
        assert.match(log.text(), /\[warning\].*unhandled message/);
        assert.match(log.text(), /\[warning\].*unhandled request/);
        assert.equal(node.processState(pid), ProcessState.Sleep);
        node.kill(pid);
        assert.equal(node.info().processesTotal, 0);
      },
      {},
      log,
    );
  });

  test('the process API is not usable before the engine binds the process', () => {
    class Early extends Actor {
      constructor() {
        super();
        this.send(new PID('x@y', 1001, 1), 'too early');
      }
    }
    assert.throws(() => new Early(), TypeError);
  });
});
