// Issue 71, item 4: "a step ran twice on the survivor of a kill, 2 ms apart (same process, attempt
// 1 both, the journal holds it once)". A run that ends (its activation ended: a failed journal
// write, a lost lease, a move back here) cannot stop a step function already called; the next run
// of the instance on the same node reached the same step and called it again beside the first.
// Now it waits for the first call and takes its value (or calls again once the first threw).
// On the test kit: `restart()` ends the activation while the step's function waits on a gate, as
// an activation ended mid-step does; the next activation replays the journal and reaches the step.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { defineWorkflow } from '../src/index.js';
import { startTestEntities } from '../src/testing/index.js';
import { eventually } from '@ergo-ts/test-support';

import { inFlight } from '../src/workflow/body/in_flight.js';

/** A promise a test settles by hand. */
function gate<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** Per instance: each call of its `charge` step (the key it got) and the gate the call waits on. */
const calls = new Map<string, { key: string; gate: ReturnType<typeof gate<string>> }[]>();
const called = new Map<string, ReturnType<typeof gate<void>>>();
const calledOnce = (id: string): ReturnType<typeof gate<void>> =>
  called.get(id) ?? (called.set(id, gate()), called.get(id)!);

const Pay = defineWorkflow('wf-in-flight', async (ctx) => {
  const receipt = await ctx.step(
    'charge',
    ({ idempotencyKey }) => {
      const g = gate<string>();
      calls.set(ctx.id, [...(calls.get(ctx.id) ?? []), { key: idempotencyKey, gate: g }]);
      calledOnce(ctx.id).resolve();
      return g.promise;
    },
    { retry: { maxAttempts: 3, initialMs: 1 } },
  );
  return `paid ${receipt}`;
});

async function kit() {
  calls.clear();
  called.clear();
  // A restart's hand-off waits for a step in flight (up to handOffTimeoutMs): here it must not, so
  // that the ended run's call is still running when the next run reaches the step.
  return startTestEntities({ kinds: [Pay], leaseTtlMs: 3_600_000, handOffTimeoutMs: 1 });
}

test('a step still running from an ended run is not called again beside it: the next run takes its value', async () => {
  await using k = await kit();
  const wf = await k.workflows.start(Pay, 'p1', undefined);
  await calledOnce('p1').promise;
  await k.restart(); // the activation ends mid-step; its call goes on
  const done = wf.advanceUntilDone();
  // The next run reached the step: it waits for the first call (before: it made a second).
  await eventually(() => inFlight().waiting === 1 || calls.get('p1')!.length > 1, 'the next run reaches the step');
  assert.equal(calls.get('p1')!.length, 1, 'one call of the charge, not two side by side');
  calls.get('p1')![0]!.gate.resolve('c1');
  assert.equal(await done, 'paid c1', "the next run took the first call's value");
  assert.equal(calls.get('p1')!.length, 1);
  const rec = await wf.record();
  assert.deepEqual(
    rec!.journal.map((e) => [e.n, e.v]),
    [['charge', 'c1']],
  );
  assert.deepEqual(inFlight(), { running: 0, waiting: 0 });
});

test('when the first call throws, the next run calls the step itself (once)', async () => {
  await using k = await kit();
  const wf = await k.workflows.start(Pay, 'p2', undefined);
  await calledOnce('p2').promise;
  await k.restart();
  const done = wf.advanceUntilDone();
  await eventually(() => inFlight().waiting === 1 || calls.get('p2')!.length > 1, 'the next run reaches the step');
  assert.equal(calls.get('p2')!.length, 1);
  calls.get('p2')![0]!.gate.reject(new Error('declined'));
  // The second call comes once the first threw: same operation, same key.
  await eventually(() => calls.get('p2')!.length === 2, 'the next run calls the step');
  const [first, second] = calls.get('p2')!;
  assert.equal(second!.key, first!.key);
  second!.gate.resolve('c2');
  assert.equal(await done, 'paid c2');
  assert.deepEqual(inFlight(), { running: 0, waiting: 0 });
});
