// Temporal-shaped workflows for temporal.messages.test.ts: a signal that comes before the body
// registered its handler (the body held in an activity the test releases), a query with several
// arguments, and bodies a workflow execution or run timeout ends.

import * as wf from '../src/workflow/index.js';
import { Context } from '../src/activity/index.js';

/** A promise and its resolve. */
export interface Deferred {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Per key: each attempt of `gate` that entered (n-th from 0), and the release the test gives. */
const entered = new Map<string, Deferred[]>();
const released = new Map<string, Deferred>();

/** The deferred of attempt `n` (from 0) of `gate(key)` entering. */
function entry(key: string, n: number): Deferred {
  const list = entered.get(key) ?? [];
  entered.set(key, list);
  while (list.length <= n) list.push(deferred());
  return list[n]!;
}

/** Settles once attempt `n` (from 0) of `gate(key)` entered: the body waits there. */
export function gateEntered(key: string, n = 0): Promise<void> {
  return entry(key, n).promise;
}

/** Lets `gate(key)`'s attempts (this one and later ones) return. */
export function releaseGate(key: string): void {
  const d = released.get(key) ?? deferred();
  released.set(key, d);
  d.resolve();
}

const attemptsOf = new Map<string, number>();

export const activities = {
  /** Returns once the test released `key`; an attempt the Worker's stop aborts throws. */
  async gate(key: string): Promise<void> {
    const n = attemptsOf.get(key) ?? 0;
    attemptsOf.set(key, n + 1);
    entry(key, n).resolve();
    const d = released.get(key) ?? deferred();
    released.set(key, d);
    const abort = Context.current().cancellationSignal;
    await new Promise<void>((resolve, reject) => {
      void d.promise.then(resolve);
      abort.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
    });
  },
};

const acts = wf.proxyActivities<typeof activities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 1 },
});

export const hello = wf.defineSignal<[string]>('hello');
export const seen = wf.defineQuery<string, [string, number]>('seen');
export const first = wf.defineQuery<string, [unknown]>('first');

/**
 * Registers its `hello` handler only once `gate(key)` returned, then awaits a promise the handler
 * settles (the driver's idle wait hands the kept signal over): returns what the signal carried.
 */
export async function lateHandler(key: string): Promise<string> {
  await acts.gate(key);
  let got = '';
  wf.setHandler(seen, (prefix, n) => `${prefix}${got}${'!'.repeat(n)}`);
  wf.setHandler(first, (v) => JSON.stringify(v));
  await new Promise<void>((resolve) =>
    wf.setHandler(hello, (v) => {
      got = v;
      resolve();
    }),
  );
  return got;
}

/** As {@link lateHandler}, the body waiting in `condition` rather than on a promise. */
export async function lateCondition(key: string): Promise<string> {
  await acts.gate(key);
  let got = '';
  wf.setHandler(hello, (v) => {
    got = v;
  });
  await wf.condition(() => got !== '');
  return got;
}

/** Waits for ever (a condition nothing makes true): only a timeout ends it. */
export async function stuck(): Promise<void> {
  await wf.condition(() => false);
}

/** Continues as new `left` times, then waits for ever. */
export async function chain(left: number): Promise<void> {
  if (left > 0) await wf.continueAsNew<typeof chain>(left - 1);
  await wf.condition(() => false);
}
