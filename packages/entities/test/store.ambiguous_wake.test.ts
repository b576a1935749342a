// An operation whose outcome a lost connection left unknown (store/ambiguous_commit.ts `decide`)
// is sent again as soon as the store's server answered another operation, not after its pause
// (20 ms doubling to 1 s): after a failover, the journal writes of the workflows in flight are
// what the closed loop of callers waits for (issue 81, "throughput is back within 10 s"). The
// timers are mocked: a pause here never ends by itself, so only the answer can end it.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { ServerAnswers, decide } from '../src/store/ambiguous_commit.js';

/** node-postgres's error for a connection that died under a request (its outcome unknown). */
const lost = (): Error => new Error('Connection terminated unexpectedly');

test(
  'an undecided operation is sent again at once when another operation of the store got an answer',
  {
    timeout: 20_000,
  },
  async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const answers = new ServerAnswers();
    const tries: boolean[] = [];
    const out = decide(
      'write',
      30_000,
      () => undefined,
      (unsure) => {
        tries.push(unsure);
        if (tries.length > 1) return Promise.resolve('landed');
        // The new primary answered another operation while this one's connection died.
        answers.answered();
        return Promise.reject(lost());
      },
      answers,
    );
    assert.equal(await out, 'landed');
    assert.deepEqual(tries, [false, true], 'tried again, as an attempt whose outcome was unknown');
  },
);

test(
  'an answer wakes every operation waiting for one',
  {
    timeout: 20_000,
  },
  async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const answers = new ServerAnswers();
    let failing = true;
    const tries = [0, 0, 0];
    let started!: () => void;
    const allStarted = new Promise<void>((r) => (started = r));
    const outs = tries.map((_, i) =>
      decide(
        `write ${i}`,
        30_000,
        () => undefined,
        () => {
          tries[i]!++;
          if (tries.every((n) => n > 0)) started();
          return failing ? Promise.reject(lost()) : Promise.resolve(i);
        },
        answers,
      ),
    );
    await allStarted;
    // Every one failed its first try and pauses (a pause that never ends by itself: timers mocked).
    failing = false;
    answers.answered();
    assert.deepEqual(await Promise.all(outs), [0, 1, 2]);
    assert.deepEqual(tries, [2, 2, 2]);
  },
);
