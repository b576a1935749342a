// diagnostics_channel events: spawn, terminate, panic, node start/stop.

import { strict as assert } from 'node:assert';
import diagnostics from 'node:diagnostics_channel';
import { test } from 'node:test';

import { Actor, DIAGNOSTICS, TerminateReasonNormal, TerminateReasonPanic, startNode } from '../src/index.js';

test('lifecycle events are published on diagnostics channels', async () => {
  const seen: [string, Record<string, unknown>][] = [];
  // Both processes must have ended before the node stops: a stop's shutdown exit outranks the
  // 'go' messages in the mailbox, and would otherwise end them before they quit or panic.
  let terminations = 0;
  let bothEnded!: () => void;
  const ended = new Promise<void>((resolve) => (bothEnded = resolve));
  const subs = Object.values(DIAGNOSTICS).map((name) => {
    const fn = (m: unknown): void => {
      seen.push([name, m as Record<string, unknown>]);
      if (name === DIAGNOSTICS.terminate && ++terminations === 2) bothEnded();
    };
    diagnostics.subscribe(name, fn);
    return () => diagnostics.unsubscribe(name, fn);
  });
  try {
    const node = await startNode('diag@localhost', { systemApp: false, log: { defaultLogger: { disable: true } } });
    class Quits extends Actor {
      override handleMessage(): Error {
        return TerminateReasonNormal;
      }
    }
    class Panics extends Actor {
      override handleMessage(): void {
        throw new Error('boom');
      }
    }
    const a = await node.spawnRegister('quits', Quits);
    const b = await node.spawn(Panics);
    node.send(a, 'go');
    node.send(b, 'go');
    await ended;
    await node.stop();
    const names = seen.map(([n]) => n);
    assert.equal(names[0], DIAGNOSTICS.nodeStart);
    assert.equal(names.at(-1), DIAGNOSTICS.nodeStop);
    const spawns = seen.filter(([n]) => n === DIAGNOSTICS.spawn).map(([, m]) => m);
    assert.deepEqual(
      spawns.map((m) => m.behavior),
      ['Quits', 'Panics'],
    );
    assert.equal(spawns[0]!.name, 'quits');
    const ends = seen.filter(([n]) => n === DIAGNOSTICS.terminate).map(([, m]) => m);
    assert.ok(ends.some((m) => (m.pid as typeof a).equals(a) && m.reason === TerminateReasonNormal));
    assert.ok(ends.some((m) => (m.pid as typeof b).equals(b) && m.reason === TerminateReasonPanic));
    const panic = seen.find(([n]) => n === DIAGNOSTICS.panic)![1];
    assert.equal((panic.error as Error).message, 'boom');
    assert.equal(seen.find(([n]) => n === DIAGNOSTICS.nodeStop)![1].forced, false);
  } finally {
    for (const u of subs) u();
  }
});
