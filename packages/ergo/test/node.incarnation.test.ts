// A node that takes up an earlier incarnation (NodeOptions.incarnation) and spawnReserved: the
// creation given, new PIDs and Refs from firstID on (never an id below it), a process put back
// under a reserved id and name so a PID of the earlier incarnation reaches it, and every wrong
// use refused with a code and nothing left behind.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { Actor, ErrIncorrect, ErrTaken, PID, spawnReserved, startNode, type Alias, type Ref } from '../src/index.js';
import { noUnhandled, rejectsWith } from './helpers.js';

noUnhandled();

class Counter extends Actor {
  count = 0;
  override init(start: number): void {
    this.count = start;
  }
  override handleCall(_from: PID, _ref: Ref, req: unknown): unknown {
    if (req === 'get') return this.count;
    if (req === 'alias') return this.createAlias();
    return undefined;
  }
}

const FIRST = 2 ** 32;

test('an incarnation: its creation, and new PIDs and Refs from firstID on', async () => {
  const node = await startNode('inc1@localhost', { systemApp: false, incarnation: { creation: 1234, firstID: FIRST } });
  try {
    assert.equal(node.pid.creation, 1234);
    const pid = await node.spawn(Counter, {}, 0);
    assert.equal(pid.creation, 1234);
    assert.equal(pid.id, FIRST);
    const alias = (await node.call(pid, 'alias')) as Alias;
    assert.ok(alias.id[0] >= FIRST, `alias id ${alias.id[0]}`);
    // Listing by id walks the table, not every id from 1000 up to firstID.
    assert.deepEqual(
      node.processListShortInfo(1000, 10).map((i) => i.pid.id),
      [FIRST],
    );
  } finally {
    await node.stop();
  }
});

test('spawnReserved puts a process under an id of the earlier incarnation, with its name', async () => {
  const node = await startNode('inc2@localhost', { systemApp: false, incarnation: { creation: 77, firstID: FIRST } });
  try {
    const old = new PID(node.name, 1005, 77);
    const pid = await spawnReserved(node, 1005, 'counter', Counter, {}, 41);
    assert.ok(pid.equals(old));
    assert.equal(await node.call(old, 'get'), 41);
    assert.ok(node.processPID('counter').equals(old));
    // A new spawn takes the next id from firstID, never a reserved one.
    const next = await node.spawn(Counter, {}, 0);
    assert.equal(next.id, FIRST);
    await rejectsWith(spawnReserved(node, 1005, '', Counter, {}, 0), ErrTaken.code);
    await rejectsWith(spawnReserved(node, 1006, 'counter', Counter, {}, 0), ErrTaken.code);
    assert.equal(node.processList().length, 2, 'a refused spawn leaves nothing');
    await rejectsWith(spawnReserved(node, FIRST, '', Counter, {}, 0), ErrIncorrect.code);
    await rejectsWith(spawnReserved(node, 1000, '', Counter, {}, 0), ErrIncorrect.code);
    await rejectsWith(spawnReserved(node, 1006.5, '', Counter, {}, 0), ErrIncorrect.code);
    // Typed as spawn is: the init's arguments are checked.
    // @ts-expect-error init takes a number
    await spawnReserved(node, 1007, '', Counter, {}, 'x');
  } finally {
    await node.stop();
  }
});

test('spawnReserved on a node without an incarnation, and bad incarnations, are refused', async () => {
  const node = await startNode('inc3@localhost', { systemApp: false });
  try {
    await rejectsWith(spawnReserved(node, 1005, '', Counter, {}, 0), ErrIncorrect.code);
  } finally {
    await node.stop();
  }
  for (const incarnation of [
    { creation: 0, firstID: FIRST },
    { creation: 2 ** 32, firstID: FIRST },
    { creation: 1.5, firstID: FIRST },
    { creation: 5, firstID: 1001 },
    { creation: 5, firstID: 2 ** 53 },
    null,
  ])
    await rejectsWith(
      startNode('inc4@localhost', { systemApp: false, incarnation: incarnation as never }),
      ErrIncorrect.code,
    );
});
