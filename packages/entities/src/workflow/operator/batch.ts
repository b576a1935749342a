// Batch operations (Temporal's batch jobs): cancel, terminate, signal, resume or reset every
// instance a search query matches. A batch is itself a workflow (`WorkflowBatches`, the kind
// `workflow-batch`, hosted by the members like any kind): its body pages through the query with
// the search's cursor, one bounded page at a time, each page two journaled steps — `page` reads
// the ids and the next cursor, `act` acts on those ids — so the cursor and the ids are persisted
// before anything is done to them. When the member running it dies (kill -9), the batch resumes
// on another member from its journal: a page whose `act` had not been journaled is acted on
// again, and each action is idempotent per batch and instance (a signal's id and a reset's id are
// `batch:<batchId>`; a cancel or terminate of a cancelled instance, a resume of a running one,
// change nothing), so every matching instance is acted on once. Progress is in the batch's search
// attributes (`matched`, `done`, `failed`, `skipped`), saved with each page; a long batch
// continues as new every {@link BATCH_PAGES_PER_RUN} pages (its journal stays bounded).

import { defineWorkflow } from '../instance/define_workflow.js';
import { storedError } from '../model/errors.js';
import type { WorkflowClient } from '../client/client.js';
import {
  BATCH_CONCURRENCY,
  BATCH_KIND,
  BATCH_MAX_FAILURES,
  BATCH_PAGES_PER_RUN,
  RETENTION_KIND,
  type BatchAction,
  type BatchCounts,
  type BatchFailure,
  type BatchInput,
  type BatchOutcome,
} from '../model/batch_types.js';

const ZERO: BatchCounts = Object.freeze({ matched: 0, done: 0, failed: 0, skipped: 0 });

/** The client of the runtime running the batch (a step's `ctx.entities` is that runtime). */
function clientOf(entities: unknown): WorkflowClient {
  return (entities as { workflows: WorkflowClient }).workflows;
}

function codeOf(err: unknown): string | undefined {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

/** Errors a per-instance action is asked again after (its owner died or moved meanwhile). */
const TRANSIENT = new Set(['ERR_ENTITY_UNAVAILABLE', 'ERR_TIMEOUT', 'TIMEOUT', 'ERR_ENTITY_STOPPED']);
const ATTEMPTS = 10;

/** 'done', 'skipped' (nothing to do), or throws the action's error. */
async function actOnce(
  w: WorkflowClient,
  batchId: string,
  action: BatchAction,
  workflow: string,
  id: string,
): Promise<'done' | 'skipped'> {
  const h = w.handleOf(workflow, id);
  const key = `batch:${batchId}`;
  try {
    switch (action.type) {
      case 'cancel':
        await h.cancel(action.reason ?? `batch ${batchId}`);
        return 'done';
      case 'terminate':
        await h.terminate(action.reason ?? `batch ${batchId}`);
        return 'done';
      case 'signal':
        await h.signal(action.name as never, action.payload as never, { id: key });
        return 'done';
      case 'resume':
        return (await h.resume()) === 'resumed' ? 'done' : 'skipped';
      case 'reset':
        await h.reset({ toSeq: action.toSeq ?? 0, reason: action.reason ?? `batch ${batchId}`, id: key });
        return 'done';
    }
  } catch (err) {
    // Ended before the batch came (or a cancel/terminate of a completed one): nothing to do.
    if (codeOf(err) === 'ERR_WORKFLOW_CLOSED') return 'skipped';
    throw err;
  }
}

async function act(
  w: WorkflowClient,
  batchId: string,
  action: BatchAction,
  workflow: string,
  id: string,
): Promise<'done' | 'skipped'> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await actOnce(w, batchId, action, workflow, id);
    } catch (err) {
      if (attempt >= ATTEMPTS || !TRANSIENT.has(codeOf(err) ?? '')) throw err;
      await new Promise((r) => setTimeout(r, Math.min(2000, 50 * 2 ** attempt)));
    }
  }
}

/** Acts on `items` (at most {@link BATCH_CONCURRENCY} at once): the page's counts and failures. */
async function actOnPage(
  w: WorkflowClient,
  batchId: string,
  action: BatchAction,
  items: readonly (readonly [string, string])[],
): Promise<BatchOutcome> {
  let done = 0;
  let skipped = 0;
  const failures: BatchFailure[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const [workflow, id] = items[next++]!;
      try {
        if ((await act(w, batchId, action, workflow, id)) === 'done') done++;
        else skipped++;
      } catch (err) {
        failures.push({ workflow, id, error: storedError(err) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(BATCH_CONCURRENCY, items.length) }, worker));
  return {
    matched: items.length,
    done,
    failed: failures.length,
    skipped,
    failures: failures.slice(0, BATCH_MAX_FAILURES),
  };
}

function plus(a: BatchCounts, b: BatchCounts): BatchCounts {
  return {
    matched: a.matched + b.matched,
    done: a.done + b.done,
    failed: a.failed + b.failed,
    skipped: a.skipped + b.skipped,
  };
}

/**
 * The batch workflow (see the top of this file): register it on the members beside your kinds
 * (`startEntities(node, { kinds: [Order, WorkflowBatches] })`); start batches with
 * `entities.workflows.batch.start(...)` (batch_client.ts), not directly.
 */
export const WorkflowBatches = defineWorkflow(
  BATCH_KIND,
  {
    attributes: { action: 'string', matched: 'number', done: 'number', failed: 'number', skipped: 'number' },
    // A step acting on a page is retried on any error of its own (the actions' errors are counted, not thrown).
    retry: { maxAttempts: Infinity, initialMs: 200, maxMs: 5_000 },
    queries: {},
    idReuse: 'never',
  },
  async (ctx, input: BatchInput): Promise<BatchOutcome> => {
    let totals = input.totals ?? ZERO;
    let failures = [...(input.failures ?? [])];
    let cursor = input.cursor;
    await ctx.setAttributes({ action: input.action.type, ...totals });
    for (let pages = 1; ; pages++) {
      const page = await ctx.step('page', async () => {
        const p = await clientOf(ctx.entities).list({
          ...input.query,
          limit: input.pageSize,
          ...(cursor === undefined ? {} : { cursor }),
        });
        // A batch that names no kind never acts on batches or on the retention sweeper.
        const items = p.items
          .filter((s) => input.query.kind !== undefined || (s.workflow !== BATCH_KIND && s.workflow !== RETENTION_KIND))
          .map((s) => [s.workflow, s.id] as const);
        return { items, ...(p.next === undefined ? {} : { next: p.next }) };
      });
      const r = await ctx.step('act', () => actOnPage(clientOf(ctx.entities), ctx.id, input.action, page.items));
      totals = plus(totals, r);
      failures = [...failures, ...r.failures].slice(0, BATCH_MAX_FAILURES);
      await ctx.setAttributes({ ...totals });
      if (page.next === undefined) return { ...totals, failures };
      cursor = page.next;
      if (pages >= (input.pagesPerRun ?? BATCH_PAGES_PER_RUN))
        return ctx.continueAsNew({ ...input, cursor, totals, failures });
      if (input.pauseMs > 0) await ctx.sleep(input.pauseMs);
    }
  },
);
