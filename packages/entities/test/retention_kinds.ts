// The retention kill test's kinds and commands (entities.workflows.retention.dist.test.ts, run in
// entity_node.ts by its 'retention' command): `wfretshort`, kept 1 s after it ended (its ended
// instances expire while the test runs), and `wfretlong`, kept an hour (its ended instances stay
// within their period for the whole test). Both end as their input says: `ok` completes, `fail`
// fails, `cancel` waits and is cancelled, `wait` runs until its `end` signal. They passivate
// 300 ms after their last request (an activation in memory answers a deleted one's describe).

import { schema } from 'ergo-ts';

import { defineWorkflow, type WorkflowClient } from '../src/index.js';

/** How an instance of the kinds below ends. */
export type RetHow = 'ok' | 'fail' | 'cancel' | 'wait';

async function body(ctx: { signal(name: 'end'): Promise<string> }, input: { how: RetHow }): Promise<string> {
  if (input.how === 'ok') return 'ok';
  if (input.how === 'fail') throw new Error('told to fail');
  return ctx.signal('end');
}

/** Kept 1 s after it ended. */
export const WfRetShort = defineWorkflow(
  'wfretshort',
  { signals: { end: schema.string() }, retention: { closedFor: '1s' }, passivateAfterMs: 300 },
  body,
);
/** Kept an hour after it ended. */
export const WfRetLong = defineWorkflow(
  'wfretlong',
  { signals: { end: schema.string() }, retention: { closedFor: '1h' }, passivateAfterMs: 300 },
  body,
);

/** The 'retention' command's request (see {@link retentionCommand}). */
export type RetentionRequest =
  | {
      readonly op: 'make';
      readonly kind: 'wfretshort' | 'wfretlong';
      readonly ids: readonly string[];
      readonly how: RetHow;
    }
  | { readonly op: 'describe'; readonly kind: string; readonly id: string }
  | { readonly op: 'count'; readonly kind: string }
  | { readonly op: 'list'; readonly kind: string };

/**
 * Runs one request on `w`. make: starts `ids` (20 at a time), ends them as `how` says and answers
 * the latest end time (0 for `wait`). describe, count, list: the client's answers
 * (describe's rejection carries its code to the test).
 */
export async function retentionCommand(w: WorkflowClient, req: RetentionRequest): Promise<unknown> {
  switch (req.op) {
    case 'make': {
      const kind = req.kind === 'wfretshort' ? WfRetShort : WfRetLong;
      let last = 0;
      for (let i = 0; i < req.ids.length; i += 20)
        await Promise.all(
          req.ids.slice(i, i + 20).map(async (id) => {
            await w.start(kind, id, { how: req.how }, { timeout: 20_000 });
            if (req.how === 'wait') return;
            if (req.how === 'cancel') await w.handle(kind, id).cancel('told to', { timeout: 20_000 });
            await w
              .handle(kind, id)
              .result({ timeout: 60_000 })
              .catch(() => undefined);
            last = Math.max(last, (await w.handle(kind, id).describe({ timeout: 20_000 })).endedAt!);
          }),
        );
      return last;
    }
    case 'describe':
      return w.handleOf(req.kind, req.id).describe({ timeout: 20_000 });
    case 'count':
      return w.count({ kind: req.kind });
    case 'list':
      return w.list({ kind: req.kind, limit: 1000 });
  }
}
