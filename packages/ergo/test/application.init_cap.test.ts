// Ergo 3.2: "Remote spawn and application processes limited to max 15 seconds" of ProcessInit.
// An application member whose async init is still pending 15 s after it began fails the start
// with ErrTimeout, whatever its own `initTimeout` says (a shorter one still applies). Time is the
// subject here, so the timers are fake.

import { strict as assert } from 'node:assert';
import { describe, mock, test } from 'node:test';

import {
  Actor,
  ApplicationState,
  createApplication,
  memberSpec,
  type Node,
  type ProcessOptions,
} from '../src/index.js';
import { REMOTE_INIT_CAP_MS } from '../src/node/core.js';
import { INIT_CAP_MS } from '../src/node/spawn.js';
import { deferred, noUnhandled, withNode, type Deferred } from './helpers.js';

noUnhandled();

/** A member whose init waits for `gate` after telling `entered`. */
class SlowMember extends Actor {
  override async init(entered: Deferred<void>, gate: Promise<void>) {
    entered.resolve();
    await gate;
  }
}

/** Starts an application with one slow member; resolves with what the start did after `ms` of fake time. */
async function startAfter(node: Node, name: string, options: ProcessOptions | undefined, ms: number): Promise<unknown> {
  const entered = deferred<void>();
  const gate = deferred<void>();
  await node.applicationLoad(
    createApplication({
      name,
      group: [memberSpec({ name: `${name}_member`, factory: SlowMember, options, args: [entered, gate.promise] })],
    }),
  );
  mock.timers.enable({ apis: ['setTimeout'] });
  let settled: unknown = 'pending';
  try {
    const starting = node.applicationStart(name).then(
      () => (settled = 'started'),
      (e: { code?: string; message?: string }) => (settled = e),
    );
    await entered.promise;
    mock.timers.tick(ms - 1);
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, 'pending', `still starting 1 ms before ${ms} ms`);
    mock.timers.tick(1);
    await new Promise((r) => setImmediate(r));
    assert.notEqual(settled, 'pending', `the start is over at ${ms} ms`);
    await starting;
  } finally {
    mock.timers.reset();
    gate.resolve();
  }
  return settled;
}

describe('application members: init capped at 15 s (Ergo 3.2)', () => {
  test('the cap is the one remote spawns use', () => {
    assert.equal(INIT_CAP_MS, 15_000);
    assert.equal(REMOTE_INIT_CAP_MS, INIT_CAP_MS);
  });

  for (const [what, options, expected] of [
    ['no initTimeout', undefined, INIT_CAP_MS],
    ['a longer initTimeout is lowered to the cap', { initTimeout: 60_000 }, INIT_CAP_MS],
    ['a shorter initTimeout still applies', { initTimeout: 2_000 }, 2_000],
  ] as const) {
    test(`${what}: the start fails with ErrTimeout after ${expected} ms`, () =>
      withNode(async (node) => {
        const name = `capped_${expected}_${options?.initTimeout ?? 0}`;
        const e = (await startAfter(node, name, options, expected)) as { code?: string; message?: string };
        assert.equal(e.code, 'ERR_TIMEOUT');
        assert.match(e.message ?? '', new RegExp(`${expected} ms`));
        assert.equal(node.applicationInfo(name).state, ApplicationState.Loaded);
        assert.throws(() => node.processPID(`${name}_member`), { code: 'ERR_PROCESS_UNKNOWN' });
      }));
  }

  test('the member options given in the spec are left as they were', () =>
    withNode(async (node) => {
      const options: ProcessOptions = { initTimeout: 60_000 };
      class Quick extends Actor {}
      await node.applicationLoad(createApplication({ name: 'untouched', group: [{ factory: Quick, options }] }));
      await node.applicationStart('untouched');
      assert.deepEqual(options, { initTimeout: 60_000 });
    }));
});
