// What an idle process keeps after its run (issue 35, item 7): with millions of idle processes a
// call to one of them used to leave its mailbox's first queue (three objects) and the request's
// Ref behind for the rest of its life (~350 B each, promoted to the old generation). A process
// that goes to sleep with nothing queued now lets both go (Mailbox.sleep), except the Ref of a
// request it still holds (a deferred reply: that request is still being handled). Its running
// time is kept as two small integers, not a boxed double (one object less per process); the
// hidden-class check runs in a child with V8's natives syntax.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import { Actor, ProcessState, ReplyLater, TerminateReasonNormal, type PID, type Ref } from '../src/index.js';
import { engineOf, type ProcessImpl } from '../src/node/internals.js';
import { freeQueueCount } from '../src/node/mailbox.js';
import { deferred, noUnhandled, runScript, withNode } from './helpers.js';

noUnhandled();

/** Answers every call with its request. */
class Echo extends Actor {
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    return request;
  }
}

/** Holds every request (answers later, on an 'answer' message) and tells `held` its ref. */
class Holder extends Actor {
  held: (ref: Ref) => void = () => {};
  private pending: [PID, Ref] | null = null;
  override handleCall(from: PID, ref: Ref): unknown {
    this.pending = [from, ref];
    this.held(ref);
    return ReplyLater;
  }
  override handleMessage(_from: PID, message: unknown): void {
    if (message === 'answer' && this.pending !== null) this.sendResponse(...this.pending, 'late');
  }
}

/** Ends on its first message: it terminates awake, without going back to sleep. */
class Quitter extends Actor {
  override handleMessage(): Error {
    return TerminateReasonNormal;
  }
}

/** Resolves after the current scheduler drain has ended (the target went back to sleep). */
function turnAfter(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe('an idle process keeps nothing of its last run', () => {
  test('after answering calls it holds no main queue and no request Ref; the queue is reused', () =>
    withNode(async (node) => {
      const targets: PID[] = [];
      for (let i = 0; i < 50; i++) targets.push(await node.spawn(Echo));
      const engine = engineOf(node);
      const impls = targets.map((p) => engine.localProcess(p));
      for (const p of impls) assert.equal(p.mb.hasMainQueue(), false, 'a fresh process has no queue');
      for (let i = 0; i < targets.length; i++) assert.equal(await node.call(targets[i]!, i), i);
      await turnAfter();
      for (const p of impls) {
        assert.equal(p.state(), ProcessState.Sleep, 'the target sleeps');
        assert.equal(p.mb.hasMainQueue(), false, 'the drained first queue was handed back');
        assert.equal(p.mb.currentRef, null, 'the answered request is no longer held');
        assert.equal(p.mb.liveRequestIds().size, 0);
      }
      assert.ok(freeQueueCount() > 0, 'the handed back queues wait on the free list');
      // A later call finds its queue on the free list and still works.
      assert.equal(await node.call(targets[0]!, 'again'), 'again');
    }));

  test('a process that ends awake hands its never-grown main queue back to the free list', () =>
    withNode(async (node) => {
      // A call first: its target hands a queue back at sleep, so the free list is not empty.
      const echo = await node.spawn(Echo);
      assert.equal(await node.call(echo, 'x'), 'x');
      await turnAfter();
      const pid = await node.spawn(Quitter);
      const p: ProcessImpl = engineOf(node).localProcess(pid);
      const before = freeQueueCount();
      assert.ok(before > 0);
      // Its message takes a queue from the free list; its handler ends it before it sleeps.
      node.send(pid, 'quit');
      await eventually(() => p.state() === ProcessState.Terminated, 'the quitter terminated');
      // Otherwise the next process to get mail makes a new queue, young, which the scavenges
      // then find written into every old process it passes through.
      assert.equal(freeQueueCount(), before, 'the queue went back to the free list');
    }));

  test('a process that holds a request keeps its Ref until it answers', () =>
    withNode(async (node) => {
      const got = deferred<Ref>();
      const pid = await node.spawn(() => {
        const h = new Holder();
        h.held = got.resolve;
        return h;
      });
      const p: ProcessImpl = engineOf(node).localProcess(pid);
      const reply = node.call(pid, 'q');
      const ref = await got.promise;
      await turnAfter();
      assert.equal(p.mb.currentRef, ref, 'the held request is still being handled');
      assert.deepEqual([...p.mb.liveRequestIds()], [ref.id[0]]);
      assert.notEqual(p.heldCalls, null, 'the call is held');
      node.send(pid, 'answer');
      assert.equal(await reply, 'late');
      await turnAfter();
      assert.equal(p.heldCalls, null);
      assert.equal(p.mb.currentRef, null, 'answered: nothing held any more');
    }));
});

describe('runningTime is two small integers', () => {
  test('charges add up across whole milliseconds', () =>
    withNode(async (node) => {
      const p = engineOf(node).localProcess(await node.spawn(Echo));
      const base = p.runningTime;
      p.charge(0.0004);
      p.charge(0.0007);
      assert.equal(Math.round((p.runningTime - base) * 1e6), 1100);
      p.charge(1.9995);
      p.charge(2500.25);
      assert.equal(Math.round((p.runningTime - base) * 1e6), Math.round((0.0011 + 1.9995 + 2500.25) * 1e6));
    }));

  test('a charged process keeps the hidden class of a fresh one (no boxed double, no map change)', async () => {
    const r = await runScript(
      `
      import { Actor, startNode } from 'INDEX';
      import { engineOf } from 'INTERNALS';
      class Echo extends Actor { handleCall(_f, _r, q) { return q; } }
      const node = await startNode('rt@localhost', { log: { defaultLogger: { disable: true } } });
      const pa = await node.spawn(Echo);
      const a = engineOf(node).localProcess(pa);
      const b = engineOf(node).localProcess(await node.spawn(Echo));
      for (let i = 0; i < 1000; i++) await node.call(pa, i);
      a.charge(0.123456789);
      a.charge(3000.5);
      const same = %HaveSameMap(a, b);
      await node.stopForce();
      process.stdout.write(same ? 'same' : 'different');
      `,
      ['--allow-natives-syntax'],
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'same');
  });
});
