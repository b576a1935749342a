// The workflow of the queue tests across OS processes (entities.workflows.queues.dist.test.ts,
// run by entity_node.ts): one step in the queue its input names. Each attempt marks itself
// running in the directory WF_QDIR (a file per attempt naming its process, made before it counts
// and removed before it returns: inside the slot it holds) and appends how many of live
// processes it saw running to
// `<WF_QDIR>/seen.log`; the most ever seen is a lower bound of the queue's concurrency at that
// moment, and never more than it. An attempt on the node its input's `hangOn` names never returns.

import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import { defineWorkflow } from '../src/index.js';

/** A queued step's input. */
export interface QueuedInput {
  readonly tag: string;
  readonly queue: string;
  /** How long the step holds its slot, in ms (a workload, not a bound: nothing is timed). */
  readonly holdMs?: number;
  /** The node on which the step never returns (it holds its slot until that node dies). */
  readonly hangOn?: string;
}

/** How many marks in `mark` are of live processes (a member killed with kill -9 left its own). */
function runningIn(mark: string): number {
  let n = 0;
  for (const f of readdirSync(mark)) {
    try {
      process.kill(Number(readFileSync(join(mark, f), 'utf8')), 0);
      n++;
    } catch {
      // removed meanwhile, or its process is gone
    }
  }
  return n;
}

/** One step in `input.queue`; returns `<tag>@<node that ran it>`. */
export const WfQueued = defineWorkflow('wfqueued', async (ctx, input: QueuedInput): Promise<string> =>
  ctx.step(
    'work',
    async ({ idempotencyKey, attempt }) => {
      const node = process.env.ENT_NAME ?? '?';
      const dir = process.env.WF_QDIR;
      const mark = dir === undefined || dir === '' ? undefined : join(dir, 'running');
      const me = mark === undefined ? undefined : join(mark, `${idempotencyKey.replace(/\W/g, '_')}-${attempt}`);
      if (mark !== undefined && me !== undefined) {
        mkdirSync(mark, { recursive: true });
        writeFileSync(me, String(process.pid));
        appendFileSync(join(dir!, 'seen.log'), `${runningIn(mark)} ${input.tag} ${node}\n`);
      }
      try {
        if (input.hangOn === node) await new Promise(() => undefined);
        if (input.holdMs !== undefined) await delay(input.holdMs);
        return `${input.tag}@${node}`;
      } finally {
        if (me !== undefined) rmSync(me, { force: true });
      }
    },
    { queue: input.queue, retry: { initialMs: 50, maxAttempts: 10 } },
  ),
);

/** An activity's input: `render` returns `<tag>@<node that ran it>`. */
export interface RoutedInput {
  readonly tag: string;
}

/** One activity, `render`, in queue `gpu`: it runs on a member that serves `gpu`. */
export const WfRouted = defineWorkflow(
  'wfrouted',
  { activities: { render: (input: RoutedInput) => `${input.tag}@${process.env.ENT_NAME ?? '?'}` } },
  async (ctx, input: RoutedInput): Promise<string> =>
    ctx.activity<string>('render', input, { queue: 'gpu', retry: { initialMs: 50, maxMs: 200, maxAttempts: 100 } }),
);
