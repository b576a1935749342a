// Where a call writes into its target (issue 35, item 7): the record the target's mailbox took
// last, the Ref of the request being handled and the list of calls the target holds live in a
// small holder taken from a shared free list while the target handles mail or holds a call, and
// handed back when it sleeps holding nothing (Mailbox `Taken`). With millions of processes in
// the old generation, each of those young writes into the process itself was a remembered-set
// entry that the next scavenge visited. These tests pin the seam: a holder that still lists held
// calls (a deferred reply, a normal exit that leaves the reply to another process) is never
// handed to another process, and the calls it lists still settle or fail by the usual rules.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import {
  Actor,
  ErrProcessTerminated,
  type HandlerResult,
  ProcessState,
  ReplyLater,
  TerminateReasonNormal,
  type PID,
  type Ref,
} from '../src/index.js';
import { engineOf, type ProcessImpl } from '../src/node/internals.js';
import { deferred, noUnhandled, rejectsWith, withNode } from './helpers.js';

noUnhandled();

/** Answers every call with its request. */
class Echo extends Actor {
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    return request;
  }
}

/**
 * Holds every request (tells `held` its caller and ref) and answers nothing itself; 'answer'
 * answers the held one, 'stop' ends it normally, 'crash' abnormally.
 */
class Holder extends Actor {
  held: (x: [PID, Ref]) => void = () => {};
  private pending: [PID, Ref] | null = null;
  override handleCall(from: PID, ref: Ref): unknown {
    this.pending = [from, ref];
    this.held([from, ref]);
    return ReplyLater;
  }
  override handleMessage(_from: PID, message: unknown): HandlerResult {
    if (message === 'answer' && this.pending !== null) this.sendResponse(...this.pending, 'late');
    if (message === 'stop') return TerminateReasonNormal;
    if (message === 'crash') return new Error('crash');
    return undefined;
  }
}

/** Answers a call on another process' behalf: its message is [caller, ref, value]. */
class Replier extends Actor {
  override handleMessage(_from: PID, message: unknown): void {
    const [to, ref, value] = message as [PID, Ref, unknown];
    this.sendResponse(to, ref, value);
  }
}

/** Resolves after the current scheduler drain has ended (the target went back to sleep). */
function turnAfter(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

async function spawnHolder(
  node: Parameters<Parameters<typeof withNode>[0]>[0],
  held: (x: [PID, Ref]) => void,
): Promise<PID> {
  return node.spawn(() => {
    const h = new Holder();
    h.held = held;
    return h;
  });
}

/** Calls every Echo in `pids` and checks that each went back to sleep holding nothing. */
async function callAndCheckIdle(node: Parameters<Parameters<typeof withNode>[0]>[0], pids: PID[]): Promise<void> {
  const engine = engineOf(node);
  for (let i = 0; i < pids.length; i++) assert.equal(await node.call(pids[i]!, i), i);
  await turnAfter();
  for (const pid of pids) {
    const p: ProcessImpl = engine.localProcess(pid);
    assert.equal(p.state(), ProcessState.Sleep);
    assert.equal(p.heldCalls, null, `${pid} holds no call`);
    assert.equal(p.mb.currentRef, null, `${pid} handles no request`);
    assert.equal(p.mb.hasTaken(), false, `${pid} handed its holder back`);
  }
}

describe('held calls live in a recycled holder, never in the process', () => {
  test('a target that answered at once keeps no holder; a fresh process has none either', () =>
    withNode(async (node) => {
      const pids: PID[] = [];
      for (let i = 0; i < 20; i++) pids.push(await node.spawn(Echo));
      for (const pid of pids) assert.equal(engineOf(node).localProcess(pid).mb.hasTaken(), false);
      await callAndCheckIdle(node, pids);
      // The holders went back to the free list and serve the next calls.
      await callAndCheckIdle(node, pids);
    }));

  test('a deferred reply keeps its holder while other targets reuse theirs; each list stays its own', () =>
    withNode(async (node) => {
      const heldA = deferred<[PID, Ref]>();
      const heldB = deferred<[PID, Ref]>();
      const a = await spawnHolder(node, heldA.resolve);
      const b = await spawnHolder(node, heldB.resolve);
      const pa: ProcessImpl = engineOf(node).localProcess(a);
      const pb: ProcessImpl = engineOf(node).localProcess(b);
      const replyA = node.call(a, 'qa');
      const replyB = node.call(b, 'qb');
      const [, refA] = await heldA.promise;
      const [, refB] = await heldB.promise;
      await turnAfter();
      assert.equal(pa.mb.currentRef, refA);
      assert.equal(pb.mb.currentRef, refB);
      assert.notEqual(pa.heldCalls, null);
      assert.notEqual(pa.heldCalls, pb.heldCalls, 'two holders, two lists');
      // Many calls to other processes meanwhile: none of them gets a holder that lists A's or B's call.
      const echoes: PID[] = [];
      for (let i = 0; i < 20; i++) echoes.push(await node.spawn(Echo));
      await callAndCheckIdle(node, echoes);
      assert.equal(pa.heldCalls!.ref, refA, 'A still lists its own call');
      assert.equal(pb.heldCalls!.ref, refB, 'B still lists its own call');
      node.send(a, 'answer');
      assert.equal(await replyA, 'late');
      await turnAfter();
      assert.equal(pa.heldCalls, null);
      assert.equal(pa.mb.hasTaken(), false, 'answered: A handed its holder back');
      assert.notEqual(pb.heldCalls, null, 'B still holds its call');
      node.send(b, 'answer');
      assert.equal(await replyB, 'late');
    }));

  test('a normal exit leaves a deferred call to another replier; its holder is not reused meanwhile', () =>
    withNode(async (node) => {
      const held = deferred<[PID, Ref]>();
      const h = await spawnHolder(node, held.resolve);
      const ph: ProcessImpl = engineOf(node).localProcess(h);
      const reply = node.call(h, 'q');
      const [caller, ref] = await held.promise;
      node.send(h, 'stop');
      await turnAfter();
      assert.equal(ph.state(), ProcessState.Terminated);
      // The call is not failed by a normal exit (the reply may come from elsewhere) ...
      assert.equal(ph.heldCalls?.ref, ref, 'the ended holder still lists the pending call');
      // ... and fresh processes handling mail now never see that list.
      const echoes: PID[] = [];
      for (let i = 0; i < 20; i++) echoes.push(await node.spawn(Echo));
      await callAndCheckIdle(node, echoes);
      const r = await node.spawn(Replier);
      node.send(r, [caller, ref, 'from elsewhere']);
      assert.equal(await reply, 'from elsewhere');
      assert.equal(ph.heldCalls, null, 'settled: off the ended process list');
    }));

  test('an abnormal exit fails the deferred call it holds and hands its holder back', () =>
    withNode(async (node) => {
      const held = deferred<[PID, Ref]>();
      const h = await spawnHolder(node, held.resolve);
      const ph: ProcessImpl = engineOf(node).localProcess(h);
      const reply = node.call(h, 'q');
      await held.promise;
      node.send(h, 'crash');
      await rejectsWith(reply, ErrProcessTerminated.code);
      assert.equal(ph.heldCalls, null);
      assert.equal(ph.mb.hasTaken(), false);
    }));
});
