// Retention: ended instances deleted after their kind's `retention.closedFor`, by the cluster
// itself. The sweeper is a workflow (`WorkflowRetention`, the kind `workflow-retention`, one
// instance `sweeper`): so exactly one member runs it at a time — the owner of its key — and it
// resumes on another member when that one dies. Each member that hosts the kind starts it when it
// starts with its runtime option `workflowRetention` (a running sweeper is left as it is, or
// started again when it runs with other settings). Its body sweeps, then sleeps durably, forever
// (continuing as new every few sweeps). A sweep deletes, for each kind with a retention, the
// instances ended (completed, failed, cancelled) before now − closedFor, through the store's
// `stateIndex.purge`: at most `batchSize` keys per transaction (each key checked again under its
// write lock: an instance started again meanwhile is kept), a pause between transactions, at most
// `maxBatches` transactions per sweep step — so the store is never held long. A running instance
// is never deleted, nor one ended within its period. The lease row of a deleted key stays, and its
// state row without its value (a few bytes: its fencing tokens and version go on if the id is
// started again; the engine reads a missing value as an instance never started).

import { describeThrown } from '../../contract/thrown.js';
import type { StateIndex } from '../../contract/state_index.js';
import type { EntityKind } from '../../kinds/entity.js';
import { RETENTION_KIND } from '../model/batch_types.js';
import { ErrWorkflowIncorrect, ErrWorkflowNotFound } from '../model/errors.js';
import { readChecked } from '../model/bounds.js';
import type { WorkflowClient } from '../client/client.js';
import type { AnyWorkflowKind } from '../model/define.js';
import { defineWorkflow } from '../instance/define_workflow.js';

/** The sweeper instance's id. */
export const RETENTION_SWEEPER_ID = 'sweeper';

/** How the sweeper sweeps (the defaults: {@link RETENTION_DEFAULTS}). */
export interface RetentionSettings {
  /** Keys deleted per transaction. */
  readonly batchSize: number;
  /** Transactions per sweep step at most (then the step ends and the next sweep goes on). */
  readonly maxBatches: number;
  /** The pause between two transactions, in ms. */
  readonly pauseMs: number;
  /** How long the sweeper sleeps between sweeps that found nothing more to delete, in ms. */
  readonly everyMs: number;
}

/** Defaults of {@link RetentionSettings}: 100 keys a transaction, 50 ms apart, 20 a step, a sweep a minute. */
export const RETENTION_DEFAULTS: RetentionSettings = Object.freeze({
  batchSize: 100,
  maxBatches: 20,
  pauseMs: 50,
  everyMs: 60_000,
});

/** Sweeps one run of the sweeper makes before it continues as new. */
const SWEEPS_PER_RUN = 50;
const ENDED = ['completed', 'failed', 'cancelled', 'timedOut'] as const;

/** What a sweep did: keys deleted per kind, and whether it stopped at `maxBatches` with more to go. */
export interface SweepResult {
  readonly deleted: Readonly<Record<string, number>>;
  readonly more: boolean;
}

/** The runtime a sweep reads: its workflow client (the store and kinds) and its clock. */
interface SweepRuntime {
  readonly workflows: WorkflowClient;
  readonly clock: { now(): number };
}

/**
 * One sweep on `entities` (a member's runtime), with `options` over {@link RETENTION_DEFAULTS}:
 * deletes the ended instances past their kind's retention at `now` (default the runtime's clock), in bounded transactions (see the top of this
 * file). What the sweeper's step runs; callable directly (a test, a maintenance script). Rejects
 * with ERR_WORKFLOW_INCORRECT for something that is not a runtime, options as the runtime option
 * `workflowRetention` would refuse (an unknown field, a value that is not such an integer) or a
 * `now` that is not epoch ms; else with the store's error.
 */
export async function sweepRetention(
  entities: unknown,
  options: Partial<RetentionSettings> = {},
  now?: number,
): Promise<SweepResult> {
  // Read and checked before anything is deleted: a bad option was ignored (a sweep with defaults).
  const { settings, rt, at } = readChecked('sweepRetention', () => {
    const settings: RetentionSettings = {
      ...RETENTION_DEFAULTS,
      ...retentionSettings(options, 'sweepRetention: options'),
    };
    const rt = entities as Partial<SweepRuntime> | null;
    if (
      typeof rt !== 'object' ||
      rt === null ||
      typeof rt.workflows?.runtimeView !== 'function' ||
      typeof rt.clock?.now !== 'function'
    )
      throw ErrWorkflowIncorrect.with(
        `sweepRetention: entities is a runtime of startEntities, got ${describeThrown(entities)}`,
      );
    if (now !== undefined && (typeof now !== 'number' || !Number.isSafeInteger(now) || now < 0))
      throw ErrWorkflowIncorrect.with(`sweepRetention: now is epoch ms (an integer ≥ 0), got ${describeThrown(now)}`);
    return { settings, rt: rt as SweepRuntime, at: now ?? rt.clock.now() };
  });
  const view = rt.workflows.runtimeView();
  const idx: StateIndex | undefined = view?.store.stateIndex;
  const deleted: Record<string, number> = {};
  if (view === undefined || idx?.purge === undefined) return { deleted, more: false };
  let batches = 0;
  for (const k of view.kinds() as EntityKind<any, any>[]) {
    const keep = (k as Partial<AnyWorkflowKind>).workflow?.retention?.closedForMs;
    if (keep === undefined) continue;
    const endedBefore = Math.max(0, at - keep);
    for (;;) {
      if (batches >= settings.maxBatches) return { deleted, more: true };
      if (batches > 0 && settings.pauseMs > 0) await new Promise((r) => setTimeout(r, settings.pauseMs));
      batches++;
      const keys = await idx.purge(k.name, { statuses: ENDED, endedBefore, limit: settings.batchSize });
      if (keys.length > 0) deleted[k.name] = (deleted[k.name] ?? 0) + keys.length;
      if (keys.length < settings.batchSize) break;
    }
  }
  return { deleted, more: false };
}

/** The sweeper's input: its settings, and what it deleted so far (carried across continue-as-new). */
export interface RetentionInput extends Partial<RetentionSettings> {
  readonly total?: number;
}

/**
 * The retention sweeper (see the top of this file). Register it on the members beside kinds that
 * declare `retention`: `startEntities(node, { kinds: [Order, WorkflowRetention] })`.
 */
export const WorkflowRetention = defineWorkflow(
  RETENTION_KIND,
  {
    attributes: { deleted: 'number', lastSweep: 'number' },
    retry: { maxAttempts: Infinity, initialMs: 1000, maxMs: 60_000 },
    idReuse: 'always',
  },
  async (ctx, input: RetentionInput): Promise<never> => {
    const { total: carried, ...given } = input;
    const settings: RetentionSettings = { ...RETENTION_DEFAULTS, ...given };
    let total = carried ?? 0;
    for (let i = 1; ; i++) {
      const r = await ctx.step('sweep', () => sweepRetention(ctx.entities, settings));
      total += Object.values(r.deleted).reduce((a, b) => a + b, 0);
      await ctx.setAttributes({ deleted: total, lastSweep: ctx.now() });
      if (i >= SWEEPS_PER_RUN) return ctx.continueAsNew({ ...input, total });
      await ctx.sleep(r.more ? settings.pauseMs : settings.everyMs);
    }
  },
);

const SETTING_MIN: Readonly<Record<keyof RetentionSettings, number>> = Object.freeze({
  batchSize: 1,
  maxBatches: 1,
  pauseMs: 0,
  everyMs: 1,
});

/**
 * The runtime option `workflowRetention` checked: an object whose fields, each optional, are
 * integers (`batchSize`, `maxBatches`, `everyMs` at least 1; `pauseMs` at least 0); a copy of
 * the fields given (`what`: the name refusals give them). @throws ErrWorkflowIncorrect naming the field.
 */
export function retentionSettings(o: unknown, what = 'workflowRetention'): Partial<RetentionSettings> {
  return readChecked(what, () => {
    if (o === undefined) return {};
    if (typeof o !== 'object' || o === null || Array.isArray(o))
      throw ErrWorkflowIncorrect.with(`${what} must be an object`);
    const out: Partial<Record<keyof RetentionSettings, number>> = {};
    for (const [k, v] of Object.entries(o)) {
      if (!Object.hasOwn(SETTING_MIN, k))
        throw ErrWorkflowIncorrect.with(`${what}.${k}: unknown (${Object.keys(SETTING_MIN).join(', ')})`);
      const min = SETTING_MIN[k as keyof RetentionSettings];
      if (v === undefined) continue;
      if (!Number.isSafeInteger(v) || (v as number) < min)
        throw ErrWorkflowIncorrect.with(`${what}.${k} must be an integer of at least ${min}, got ${describeThrown(v)}`);
      out[k as keyof RetentionSettings] = v as number;
    }
    return Object.freeze(out);
  });
}

/** Whether sweeper input `input` runs with `settings` (both over the defaults; `total` aside). */
function sameSettings(input: unknown, settings: Partial<RetentionSettings>): boolean {
  const had: Partial<RetentionSettings> = typeof input === 'object' && input !== null ? input : {};
  return (Object.keys(SETTING_MIN) as (keyof RetentionSettings)[]).every(
    (k) => (had[k] ?? RETENTION_DEFAULTS[k]) === (settings[k] ?? RETENTION_DEFAULTS[k]),
  );
}

/** Runs the sweeper with `settings`: started when absent or ended, restarted when it runs with others. */
async function runSweeper(client: WorkflowClient, settings: Partial<RetentionSettings>): Promise<void> {
  const h = client.handleOf(RETENTION_KIND, RETENTION_SWEEPER_ID);
  const d = await h.describe().catch((err: unknown) => {
    if ((err as { code?: unknown } | null)?.code === ErrWorkflowNotFound.code) return undefined;
    throw err;
  });
  if (d?.status === 'running') {
    if (sameSettings(d.input, settings)) return;
    await h.cancel('restarted with the workflowRetention settings of a member that started');
    await h.result().catch(() => undefined);
  }
  await client.start(WorkflowRetention, RETENTION_SWEEPER_ID, settings, { idReuse: 'always' });
}

/**
 * Runs the sweeper with this member's `settings` (its runtime option `workflowRetention`; a
 * member that hosts `WorkflowRetention` calls it as it starts): started if not running, left as it
 * is when it runs with the same settings, cancelled and started again with these when it runs
 * with others. Asked again with a growing pause until done or `stopped()`; logged.
 */
export function ensureRetention(
  client: WorkflowClient,
  settings: Partial<RetentionSettings>,
  log: (format: string, ...args: unknown[]) => void,
  stopped: () => boolean,
): void {
  const attempt = (n: number): void => {
    if (stopped()) return;
    runSweeper(client, settings).then(
      () => undefined,
      (err: unknown) => {
        if (n === 5) log('entities: the retention sweeper could not be started yet: %s', describeThrown(err));
        setTimeout(() => attempt(n + 1), Math.min(30_000, 100 * 2 ** n)).unref();
      },
    );
  };
  attempt(0);
}
