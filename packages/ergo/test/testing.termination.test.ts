// Ergo's testing/unit termination_test.go scenarios, ported: normal, shutdown and abnormal
// terminations returned by handlers, no handling after termination, and exit signals sent by the
// actor asserted with shouldSendExit / shouldNotSendExit.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import {
  Actor,
  ErrNotAllowed,
  ErrProcessTerminated,
  PID,
  TerminateReasonNormal,
  TerminateReasonShutdown,
  isError,
} from '../src/index.js';
import { spawnTest } from '../src/testing/index.js';

class NormalTermination extends Actor {
  override handleMessage(_from: PID, message: unknown): Error | undefined {
    return message === 'process' ? undefined : TerminateReasonNormal;
  }
}
class ShutdownActor extends Actor {
  override handleMessage(_from: PID, message: unknown): Error | undefined {
    return message === 'shutdown' ? TerminateReasonShutdown : undefined;
  }
}
class ErrorActor extends Actor {
  override handleMessage(_from: PID, message: unknown): Error | undefined {
    return message === 'error' ? new Error('custom error occurred') : undefined;
  }
}
class ExitMessage {
  constructor(
    readonly to: PID,
    readonly reason: Error,
  ) {}
}
class ExitTestActor extends Actor {
  override handleMessage(_from: PID, message: unknown): void {
    if (message instanceof ExitMessage) this.sendExit(message.to, message.reason);
  }
}

const sender = new PID('sender', 1, 1);

describe('testing kit, Ergo termination scenarios', () => {
  test('TestTermination_ActorErrorHandling: a normal stop, then no more handling', async () => {
    const actor = await spawnTest(NormalTermination);
    await actor.sendMessage(sender, 'process');
    assert.equal(actor.isTerminated(), false);
    assert.equal(actor.terminationReason(), undefined);
    actor.shouldNotTerminate().assert();

    await actor.sendMessage(sender, 'unknown_message');
    assert.equal(actor.isTerminated(), true);
    assert.equal(actor.terminationReason(), TerminateReasonNormal);
    actor.shouldTerminate().withReason(TerminateReasonNormal).once();

    const before = actor.eventCount();
    await assert.rejects(actor.sendMessage(sender, 'process'), (e) => isError(e, ErrProcessTerminated));
    assert.equal(actor.eventCount(), before);
  });

  test('TestTermination_ShutdownHandling', async () => {
    const actor = await spawnTest(ShutdownActor);
    await actor.sendMessage(sender, 'shutdown');
    assert.equal(actor.terminationReason(), TerminateReasonShutdown);
    actor.shouldTerminate().withReason(TerminateReasonShutdown).once();
  });

  test('TestTermination_AbnormalTermination: a returned error is the reason', async () => {
    const actor = await spawnTest(ErrorActor);
    await actor.sendMessage(sender, 'error');
    assert.match(actor.terminationReason()!.message, /custom error/);
    actor
      .shouldTerminate()
      .reasonMatching((r) => r.message.includes('custom error'))
      .once();
    assert.throws(
      () => actor.shouldTerminate().withReason(TerminateReasonNormal).once(),
      /recorded terminate events \(1 of/,
    );
  });

  test('TestSendExit_Operations: exits sent by the actor', async () => {
    const actor = await spawnTest(ExitTestActor);
    actor.clearEvents();
    const target = new PID('test', 123, 1);
    await actor.sendMessage(sender, new ExitMessage(target, TerminateReasonShutdown));
    actor.shouldSendExit().to(target).withReason(TerminateReasonShutdown).once();
    actor
      .shouldNotSendExit()
      .to(new PID('other', 999, 1))
      .assert();
  });

  test('an exit to its own parent is refused as on a real node (the handler panics)', async () => {
    const actor = await spawnTest(ExitTestActor);
    await actor.sendMessage(sender, new ExitMessage(actor.behavior.parent, TerminateReasonNormal));
    actor.shouldNotSendExit().assert();
    actor.shouldLog().containing(ErrNotAllowed.message).once();
  });
});
