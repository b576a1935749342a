// Temporal's `ScheduleClient` and `ScheduleHandle` on ergo-ts's schedules
// (`entities.workflows.schedules`): one spec per schedule (an interval, or one cron expression),
// Temporal's overlap policies, pause notes, trigger, backfill, update, delete.

import type {
  OverlapPolicy,
  ScheduleClient as ErgoSchedules,
  ScheduleDescription as ErgoDescription,
  ScheduleSpec as ErgoSpec,
} from '@ergo-ts/entities';

import { msOptionalToNumber, type Duration } from '../common/duration.js';
import { ErrTemporalIncorrect } from '../common/errors.js';
import type { Connection } from './connection.js';
import { ScheduleAlreadyRunning, ScheduleNotFoundError } from './errors.js';
import { specOf, type ScheduleSpecDescription } from './schedule_spec.js';

export type { ScheduleSpecDescription } from './schedule_spec.js';

/** Temporal's `ScheduleOverlapPolicy`. */
export const ScheduleOverlapPolicy = Object.freeze({
  SKIP: 'SKIP',
  BUFFER_ONE: 'BUFFER_ONE',
  BUFFER_ALL: 'BUFFER_ALL',
  CANCEL_OTHER: 'CANCEL_OTHER',
  TERMINATE_OTHER: 'TERMINATE_OTHER',
  ALLOW_ALL: 'ALLOW_ALL',
} as const);
/** One of {@link ScheduleOverlapPolicy}'s values. */
export type ScheduleOverlapPolicy = (typeof ScheduleOverlapPolicy)[keyof typeof ScheduleOverlapPolicy];

const OVERLAP: Record<ScheduleOverlapPolicy, OverlapPolicy> = {
  SKIP: 'skip',
  BUFFER_ONE: 'bufferOne',
  BUFFER_ALL: 'bufferAll',
  CANCEL_OTHER: 'cancelOther',
  TERMINATE_OTHER: 'terminateOther',
  ALLOW_ALL: 'allowAll',
};

function overlapOf(p: ScheduleOverlapPolicy | undefined): OverlapPolicy | undefined {
  if (p === undefined) return undefined;
  const o = OVERLAP[p];
  if (o === undefined) throw ErrTemporalIncorrect.with(`overlap policy ${String(p)}`);
  return o;
}

/** A schedule's action: start a workflow. */
export interface ScheduleAction {
  type: 'startWorkflow';
  workflowType: string | ((...args: any[]) => any);
  args?: unknown[];
  taskQueue?: string;
  /** The runs' ids are `<workflowId>-<nominal time>`, as Temporal's (default `<scheduleId>-workflow`, Temporal's). */
  workflowId?: string;
  memo?: Record<string, unknown>;
}

/** A period to backfill (Temporal's `Backfill`). */
export interface Backfill {
  start: Date;
  end: Date;
  overlap?: ScheduleOverlapPolicy;
}

/** A schedule in `list()` (Temporal's `ScheduleSummary`, the fields the listing has). */
export interface ScheduleSummary {
  scheduleId: string;
  spec: ScheduleSpecDescription;
  action: { type: 'startWorkflow'; workflowType: string };
  state: { paused: boolean; note: string };
  info: { recentActions: { workflowId: string; scheduledAt: Date }[] };
}

/** What `create` takes (Temporal's `ScheduleOptions`). */
export interface ScheduleOptions {
  scheduleId: string;
  spec: ScheduleSpecDescription;
  action: ScheduleAction;
  policies?: { overlap?: ScheduleOverlapPolicy; catchupWindow?: Duration; pauseOnFailure?: boolean };
  state?: { paused?: boolean; note?: string; remainingActions?: number };
}

/** What `describe()` gives (Temporal's `ScheduleDescription`, the fields that apply; ergo-ts's under `raw`). */
export interface ScheduleDescription {
  scheduleId: string;
  spec: ScheduleSpecDescription;
  action: ScheduleAction;
  policies: { overlap: ScheduleOverlapPolicy; catchupWindow: number };
  state: { paused: boolean; note: string };
  info: {
    numActionsTaken: number;
    numActionsMissedCatchupWindow: number;
    numActionsSkippedOverlap: number;
    runningActions: { workflow: { workflowId: string } }[];
    nextActionTimes: Date[];
    createdAt: Date;
    lastUpdatedAt: Date;
  };
  raw: ErgoDescription;
}

/** An ergo-ts spec as Temporal describes one: its interval, or its cron expression and zone. */
function specDescriptionOf(spec: ErgoSpec): ScheduleSpecDescription {
  return spec.everyMs !== undefined
    ? { intervals: [{ every: spec.everyMs, ...(spec.offsetMs === undefined ? {} : { offset: spec.offsetMs }) }] }
    : {
        cronExpressions: spec.cron === undefined ? [] : [spec.cron],
        ...(spec.timeZone === undefined || spec.timeZone === 'UTC' ? {} : { timezone: spec.timeZone }),
      };
}

function typeOf(a: ScheduleAction): string {
  return typeof a.workflowType === 'function' ? a.workflowType.name : a.workflowType;
}

/** The input a schedule's runs get: Temporal's args and memo. */
function inputOf(a: ScheduleAction): { args: unknown[]; memo?: Record<string, unknown> } {
  return { args: a.args ?? [], ...(a.memo === undefined ? {} : { memo: a.memo }) };
}

function mapped(err: unknown, id: string): unknown {
  const code = (err as { code?: unknown }).code;
  if (code === 'ERR_SCHEDULE_EXISTS') return new ScheduleAlreadyRunning('Schedule already exists and is running', id);
  if (code === 'ERR_SCHEDULE_NOT_FOUND') return new ScheduleNotFoundError((err as Error).message, id);
  return err;
}

/** Temporal's `ScheduleClient`. */
export class ScheduleClient {
  readonly #conn: Connection;

  constructor(options: { connection: Connection; namespace?: string }) {
    if (options?.connection === undefined)
      throw ErrTemporalIncorrect.with('new ScheduleClient: options.connection is required');
    this.#conn = options.connection;
  }

  async #schedules(): Promise<ErgoSchedules> {
    return (await this.#conn.env.runtime(10_000)).workflows.schedules;
  }

  /** Creates a schedule; ScheduleAlreadyRunning for an id in use. */
  async create(options: ScheduleOptions): Promise<ScheduleHandle> {
    const id = options.scheduleId;
    if (options.action?.type !== 'startWorkflow')
      throw ErrTemporalIncorrect.with('schedule action: type startWorkflow');
    const type = typeOf(options.action);
    const kind = this.#conn.env.kinds.get(type);
    if (kind === undefined)
      throw ErrTemporalIncorrect.with(`schedule action: no workflow ${type} on this connection's Worker`);
    const overlap = overlapOf(options.policies?.overlap);
    const catchupWindowMs = msOptionalToNumber(options.policies?.catchupWindow, 'catchupWindow');
    const s = await this.#schedules();
    try {
      await s.create(kind, id, {
        spec: specOf(options.spec),
        input: inputOf(options.action) as never,
        workflowId: options.action.workflowId ?? `${id}-workflow`,
        policies: {
          ...(overlap === undefined ? {} : { overlap }),
          ...(catchupWindowMs === undefined ? {} : { catchupWindowMs }),
        },
        ...(options.state?.paused === undefined ? {} : { paused: options.state.paused }),
        ...(options.state?.note === undefined ? {} : { note: options.state.note }),
      });
    } catch (err) {
      throw mapped(err, id);
    }
    return this.getHandle(id);
  }

  /**
   * The schedules (Temporal's `list`), newest first, read from the store's state index: at most
   * `pageSize` (default 1000, the engine's most).
   */
  async *list(options: { pageSize?: number } = {}): AsyncIterable<ScheduleSummary> {
    const s = await this.#schedules();
    for (const x of await s.list({ limit: Math.min(1000, options.pageSize ?? 1000) }))
      yield {
        scheduleId: x.id,
        spec: specDescriptionOf(x.spec),
        action: { type: 'startWorkflow', workflowType: x.workflow },
        state: { paused: x.status === 'paused', note: x.note },
        info: {
          recentActions: x.last?.id === undefined ? [] : [{ workflowId: x.last.id, scheduledAt: new Date(x.last.t) }],
        },
      };
  }

  /** A handle on schedule `scheduleId`. */
  getHandle(scheduleId: string): ScheduleHandle {
    return new ScheduleHandle(scheduleId, () => this.#schedules(), this.#conn);
  }
}

/** Temporal's `ScheduleHandle`. */
export class ScheduleHandle {
  readonly #s: () => Promise<ErgoSchedules>;
  readonly #conn: Connection;

  /** @internal use `ScheduleClient.getHandle`. */
  constructor(
    readonly scheduleId: string,
    schedules: () => Promise<ErgoSchedules>,
    connection: Connection,
  ) {
    this.#s = schedules;
    this.#conn = connection;
  }

  async #do<T>(f: (s: ErgoSchedules) => Promise<T>): Promise<T> {
    const s = await this.#s();
    try {
      return await f(s);
    } catch (err) {
      throw mapped(err, this.scheduleId);
    }
  }

  /** The schedule as Temporal describes it. */
  async describe(): Promise<ScheduleDescription> {
    const d = await this.#do((s) => s.describe(this.scheduleId));
    // The schedule prunes its list of running runs at its next tick (none while paused): ask each.
    const rt = await this.#conn.env.runtime(10_000);
    const running: string[] = [];
    for (const id of d.running) {
      const st = await rt.workflows
        .handleOf(d.workflow, id)
        .describe()
        .then((x) => x.status)
        .catch(() => 'gone');
      if (st === 'running') running.push(id);
    }
    const input = d.input as ReturnType<typeof inputOf>;
    const overlap = (Object.entries(OVERLAP).find(([, v]) => v === d.policies.overlap)?.[0] ??
      'SKIP') as ScheduleOverlapPolicy;
    return {
      scheduleId: d.id,
      spec: specDescriptionOf(d.spec),
      action: {
        type: 'startWorkflow',
        workflowType: d.workflow,
        args: input?.args ?? [],
        ...(d.workflowId === undefined ? {} : { workflowId: d.workflowId }),
        ...(input?.memo === undefined ? {} : { memo: input.memo }),
      },
      policies: { overlap, catchupWindow: d.policies.catchupWindowMs },
      state: { paused: d.paused, note: d.note },
      info: {
        numActionsTaken: d.counts.started,
        numActionsMissedCatchupWindow: d.counts.missed,
        numActionsSkippedOverlap: d.counts.skipped,
        runningActions: running.map((workflowId) => ({ workflow: { workflowId } })),
        nextActionTimes: d.next.map((t) => new Date(t)),
        createdAt: new Date(d.createdAt),
        lastUpdatedAt: new Date(d.updatedAt),
      },
      raw: d,
    };
  }

  /** Pauses it with a note (Temporal's default note when none). */
  async pause(note?: string): Promise<void> {
    await this.#do((s) => s.pause(this.scheduleId, note ?? 'Paused via TypeScript SDK"'));
  }

  /** Unpauses it with a note (Temporal's default note when none). */
  async unpause(note?: string): Promise<void> {
    await this.#do((s) => s.unpause(this.scheduleId, note ?? 'Unpaused via TypeScript SDK"'));
  }

  /** Starts its action now. */
  async trigger(overlap?: ScheduleOverlapPolicy): Promise<void> {
    const o = overlapOf(overlap);
    await this.#do((s) => s.trigger(this.scheduleId, o === undefined ? {} : { overlap: o }));
  }

  /** Runs the nominal times of the period, or of each period (Temporal's `Backfill | Backfill[]`). */
  async backfill(options: Backfill | Backfill[]): Promise<void> {
    for (const p of Array.isArray(options) ? options : [options]) {
      const o = overlapOf(p.overlap);
      await this.#do((s) =>
        s.backfill(this.scheduleId, { start: p.start, end: p.end, ...(o === undefined ? {} : { overlap: o }) }),
      );
    }
  }

  /** Changes it: `fn` gets the description and returns the new one (spec, action, policies). */
  async update(
    fn: (previous: ScheduleDescription) => Omit<ScheduleOptions, 'scheduleId'> | ScheduleDescription,
  ): Promise<void> {
    const next = fn(await this.describe());
    const type = typeOf(next.action);
    const kind = this.#conn.env.kinds.get(type);
    if (kind === undefined)
      throw ErrTemporalIncorrect.with(`schedule action: no workflow ${type} on this connection's Worker`);
    const overlap = overlapOf(next.policies?.overlap);
    await this.#do((s) =>
      s.update(this.scheduleId, {
        kind,
        spec: specOf(next.spec),
        input: inputOf(next.action) as never,
        workflowId: next.action.workflowId ?? `${this.scheduleId}-workflow`,
        ...(overlap === undefined ? {} : { policies: { overlap } }),
      }),
    );
  }

  /** Deletes it. */
  async delete(): Promise<void> {
    await this.#do((s) => s.delete(this.scheduleId));
  }
}
