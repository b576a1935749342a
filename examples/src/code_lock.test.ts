// The code lock (code_lock.ts): unit tests on the test kit's clock (timeouts fire when the test
// moves time, nothing waits on a real timer), and the runnable demo on a real node.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { PID, startNode } from 'ergo-ts';
import { spawnTest, spawnProbe } from 'ergo-ts/testing';
import { CodeLock, type CodeLockOptions } from './code_lock.js';
import { runCodeLock } from './code_lock_main.js';

const door = new PID('test@localhost', 500, 1234567890);
const user = new PID('test@localhost', 501, 1234567890);
const OPTIONS: Partial<CodeLockOptions> = {
  openMs: 10_000,
  inactivityMs: 30_000,
  maxAttempts: 3,
  lockoutMs: 60_000,
  door,
};

async function lock() {
  const l = await spawnTest(CodeLock, { args: [[1, 2, 3, 4], OPTIONS] });
  const press = async (...buttons: number[]) => {
    for (const button of buttons) await l.sendMessage(user, { button });
  };
  const state = async () => (await l.call(user, 'state')).response;
  /** Moves the clock and delivers the timeouts that fired. */
  const after = async (ms: number) => {
    l.advanceTime(ms);
    await l.deliverSelfMessages();
  };
  return { l, press, state, after };
}

test('code lock: starts locked; the right code opens it; the state timeout relocks it', async () => {
  const { l, press, state, after } = await lock();
  l.shouldSend().to(door).message({ door: 'locked' }).once(); // the enter callback of the initial state
  assert.equal(await state(), 'locked');
  assert.equal((await l.call(user, 'code-length')).response, 4);
  await press(1, 2, 3, 4);
  assert.equal(await state(), 'open');
  l.shouldSend().to(door).message({ door: 'unlocked' }).once();
  await after(9_999);
  assert.equal(await state(), 'open');
  await after(1);
  assert.equal(await state(), 'locked');
  l.shouldSend().to(door).message({ door: 'locked' }).times(2);
  l.shouldNotTerminate().assert();
});

test('code lock: a wrong code keeps it locked; a typing pause forgets the buttons pressed', async () => {
  const { press, state, after } = await lock();
  await press(4, 3, 2, 1);
  assert.equal(await state(), 'locked');
  await press(9, 9); // half a code, then a pause longer than the message timeout
  await after(30_000);
  await press(1, 2, 3, 4); // without the clear, 9 9 1 2 would be a wrong code
  assert.equal(await state(), 'open');
});

test('code lock: a press resets the inactivity timer', async () => {
  const { press, state, after } = await lock();
  await press(1, 2);
  await after(20_000);
  await press(3); // a new message timeout of 30 s replaces the old one
  await after(20_000);
  await press(4);
  assert.equal(await state(), 'open');
});

test('code lock: buttons pressed while open are postponed and replayed once it relocks', async () => {
  const { l, press, state, after } = await lock();
  await press(1, 2, 3, 4);
  await press(1, 2, 3, 4); // open: postponed
  assert.equal(await state(), 'open');
  assert.deepEqual(await l.behavior.handleInspect(user), { state: 'open', postponed: '4' });
  await after(10_000); // relocks, replays 1 2 3 4 in the locked state: open again
  assert.equal(await state(), 'open');
  l.shouldSend().to(door).message({ door: 'unlocked' }).times(2);
});

test('code lock: too many wrong codes lock it out until the generic timeout', async () => {
  const { press, state, after } = await lock();
  await press(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0); // three wrong codes
  await press(1, 2, 3, 4); // ignored: locked out
  assert.equal(await state(), 'locked');
  await after(60_000);
  await press(1, 2, 3, 4);
  assert.equal(await state(), 'open');
});

test('code lock: the runnable demo on a real node', async () => {
  const node = await startNode('codelock@localhost', { log: { level: 'warning' } });
  try {
    const probe = await spawnProbe(node);
    const pid = await runCodeLock(node, { openMs: 50, door: probe.pid });
    await probe.waitForMessage({ door: 'locked' }, { timeout: 20_000 }); // entering the initial state
    await probe.waitForMessage({ door: 'unlocked' }, { timeout: 20_000 });
    await probe.waitForMessage({ door: 'locked' }, { timeout: 20_000 }); // the state timeout
    assert.equal(await node.call(pid, 'state'), 'locked');
    assert.equal(await node.call(pid, 'code-length'), 4);
  } finally {
    await node.stop();
  }
});
