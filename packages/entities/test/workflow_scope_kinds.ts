// The workflow kinds the cancellation scope tests run (entities.workflows.scopes.test.ts): a step
// raced against a signal and cancelled in its scope (the body goes on and completes), a signal wait
// bounded by a durable `withTimeout`, and a cleanup step in a non-cancellable scope after the run's
// cancel reached a wait inside a cancellable one.

import { schema } from 'ergo-ts';

import { defineWorkflow } from '../src/index.js';

/** A signal wait's own timeout, long enough never to end first: its wait is journaled open (the tests see it). */
const DAY = 86_400_000;

/** Attempts of the `slow` step that started, by instance (this process). */
export const slowStarts = new Map<string, number>();

/** Resolves once `slow` of instance `id` has started `n` attempts (each start is an event). */
export function slowStarted(id: string, n: number): Promise<void> {
  return new Promise((resolve) => {
    const look = (): void => {
      if ((slowStarts.get(id) ?? 0) >= n) resolve();
      else setImmediate(look);
    };
    look();
  });
}

/**
 * Starts the `slow` step (it runs until its signal is aborted) in a cancellable scope, waits for
 * the `go` signal, cancels the scope, and goes on: an `after` step, then its result.
 */
export const WfRaceStep = defineWorkflow(
  'wfracestep',
  { signals: { go: schema.unknown() } },
  async (ctx, input: { mode: 'wait' | 'abandon' }): Promise<{ slow: string; after: string }> => {
    const scope = ctx.cancellationScope();
    const slow = scope.run(() =>
      ctx.step(
        'slow',
        (info) => {
          slowStarts.set(ctx.id, (slowStarts.get(ctx.id) ?? 0) + 1);
          return new Promise<string>((_, reject) => {
            info.signal.addEventListener('abort', () => reject(info.signal.reason as Error));
          });
        },
        { cancellation: input.mode, retry: false },
      ),
    );
    slow.catch(() => undefined); // looked at below
    await ctx.signal('go');
    scope.cancel('the go signal came first');
    const outcome = await slow.then(
      (v) => `returned ${v}`,
      (e: Error & { code?: string }) => `${e.code}`,
    );
    const after = await ctx.step('after', () => `ran, scope cancelled: ${scope.cancelled}`);
    return { slow: outcome, after };
  },
);

/** Waits for `approve` within `ms` (a durable withTimeout), then for one more `approve`. */
export const WfApproveWithin = defineWorkflow(
  'wfapprovewithin',
  { signals: { approve: schema.string() } },
  async (ctx, input: { ms: number }): Promise<{ first: string; second: string }> => {
    let first: string;
    try {
      first = await ctx.withTimeout(input.ms, () => ctx.signal('approve', { timeoutMs: DAY }));
    } catch (e) {
      first = `timed out: ${(e as { code?: string }).code}`;
    }
    const second = await ctx.signal('approve');
    return { first, second };
  },
);

/** Waits in a cancellable scope; the run's cancel reaches it, and a cleanup step runs in a non-cancellable one. */
export const WfCleanup = defineWorkflow(
  'wfcleanup',
  { signals: { never: schema.unknown() } },
  async (ctx): Promise<string> => {
    try {
      await ctx.cancellationScope().run(() => ctx.signal('never', { timeoutMs: DAY }));
      return 'signalled';
    } catch (e) {
      await ctx.nonCancellable(() => ctx.step('cleanup', () => 'cleaned'));
      throw e;
    }
  },
);
