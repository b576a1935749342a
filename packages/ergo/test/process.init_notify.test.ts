// Notifications to a process that is still inside init: a child spawned (with linkChild) during
// its parent's init may end before the parent's init finishes; the parent must still hear of it.
// Regression: the exit was dropped because init processes are not in the process table yet.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import {
  Actor,
  ErgoError,
  MessageExitPID,
  Supervisor,
  SupervisorStrategy,
  SupervisorType,
  startNode,
  type PID,
  type SupervisorSpec,
} from '../src/index.js';

const CRASH = new ErgoError('TEST_CRASH', 'crash');

test('a child that dies during its parent init reaches the parent as an exit', async () => {
  const node = await startNode('initnotify@localhost', { systemApp: false, log: { defaultLogger: { disable: true } } });
  try {
    let trapped: (m: MessageExitPID) => void;
    const got = new Promise<MessageExitPID>((r) => (trapped = r));
    class Short extends Actor {
      override init(): void {
        this.send(this.pid, 'die');
      }
      override handleMessage(): Error {
        return CRASH;
      }
    }
    class Parent extends Actor {
      override async init(): Promise<void> {
        this.setTrapExit(true);
        await this.spawn(Short, { linkChild: true });
        // Give the child time to die while we are still in init.
        await new Promise((r) => setImmediate(r));
      }
      override handleMessage(_from: PID, m: unknown): void {
        if (m instanceof MessageExitPID) trapped(m);
      }
    }
    await node.spawn(Parent);
    const m = await got;
    assert.equal(m.reason, CRASH);
  } finally {
    await node.stopForce();
  }
});

test('a supervisor restarts a child that crashes right after init, again and again', async () => {
  const node = await startNode('initnotify2@localhost', {
    systemApp: false,
    log: { defaultLogger: { disable: true } },
  });
  try {
    let left = 50;
    let finished: () => void;
    const done = new Promise<void>((r) => (finished = r));
    class Crasher extends Actor {
      override init(): void {
        if (left > 0) {
          left--;
          this.send(this.pid, 'crash');
        } else finished();
      }
      override handleMessage(): Error {
        return CRASH;
      }
    }
    class Sup extends Supervisor {
      override init(): SupervisorSpec {
        return {
          type: SupervisorType.OneForOne,
          restart: { strategy: SupervisorStrategy.Transient, intensity: 1000, period: 5 },
          children: [{ name: 'crasher', factory: Crasher }],
        };
      }
    }
    await node.spawn(Sup);
    await done;
    assert.equal(left, 0);
    assert.equal(node.processList().length, 2, 'supervisor and the last crasher are alive');
  } finally {
    await node.stopForce();
  }
});
