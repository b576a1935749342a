// ERGO-API §5.3 (TestT2Actor / TestTrapExit) as a scenario: trap-exit toggles; a trapping
// child receives a sibling's exit(shutdown) as MessageExitPID in handleMessage and keeps running;
// the same exit from its parent terminates it, and terminate's reason unwraps to shutdown.
// (Exit signals in depth: exits.test.ts.)

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import {
  Actor,
  ExitReason,
  MessageExitPID,
  TerminateReasonShutdown,
  unwrapReason,
  type PID,
  type Ref,
} from '../src/index.js';
import { deferred, Inbox, withNode, noUnhandled } from './helpers.js';

noUnhandled();

class Trapper extends Actor {
  constructor(
    readonly inbox: Inbox,
    readonly ended: (r: Error) => void,
  ) {
    super();
  }
  override init() {
    const before = this.trapExit();
    this.setTrapExit(true);
    const on = this.trapExit();
    this.setTrapExit(false);
    const off = this.trapExit();
    this.setTrapExit(true);
    this.inbox.push(['toggles', before, on, off], this.pid);
  }
  override handleMessage(from: PID, m: unknown) {
    this.inbox.push(m, from);
  }
  override handleCall() {
    return 'alive';
  }
  override terminate(r: Error) {
    this.ended(r);
  }
}

/** Spawns the trapping child and a sibling; sends exits on request. */
class Driver extends Actor {
  override async handleCall(_f: PID, _r: Ref, req: unknown) {
    const [op, arg, arg2] = req as [string, unknown, unknown];
    if (op === 'spawn') return this.spawn(arg as () => Actor);
    if (op === 'exit') {
      this.sendExit(arg as PID, arg2 as Error);
      return 'sent';
    }
    return undefined;
  }
}

describe('§5.3 TestT2Actor / TestTrapExit', () => {
  test('toggle; sibling exit is trapped; parent exit terminates with reason shutdown', () =>
    withNode(async (node) => {
      const inbox = new Inbox();
      const ended = deferred<Error>();
      const parent = await node.spawn(Driver);
      const child = (await node.call(parent, ['spawn', () => new Trapper(inbox, ended.resolve)])) as PID;
      const [toggles] = await inbox.count(1);
      assert.deepEqual(toggles!.message, ['toggles', false, true, false]);

      const sibling = await node.spawn(Driver);
      assert.equal(await node.call(sibling, ['exit', child, TerminateReasonShutdown]), 'sent');
      const [, trapped] = await inbox.count(2);
      assert.ok(trapped!.message instanceof MessageExitPID);
      assert.ok((trapped!.message as MessageExitPID).pid.equals(sibling));
      assert.equal((trapped!.message as MessageExitPID).reason, TerminateReasonShutdown);
      assert.ok(trapped!.from.equals(sibling));
      assert.equal(await node.call(child, 'ping'), 'alive', 'still running');

      assert.equal(await node.call(parent, ['exit', child, TerminateReasonShutdown]), 'sent');
      const r = await ended.promise;
      assert.ok(r instanceof ExitReason);
      assert.equal(unwrapReason(r), TerminateReasonShutdown);
      assert.equal(inbox.items.length, 2, "the parent's exit was not delivered as a message");
    }));
});
