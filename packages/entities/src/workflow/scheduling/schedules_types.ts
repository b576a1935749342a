// The shapes of workflow schedules shared by their entity (schedules_entity.ts) and their client
// (schedules_client.ts): the state a schedule keeps, the requests it answers, what `describe`
// returns, and the schedules' errors (each with a stable code; a bad argument is
// ERR_WORKFLOW_INCORRECT, as everywhere in the workflow API).

import { defineError } from 'ergo-ts';

import type { OverlapPolicy, ScheduleDef, ScheduleSpec } from './schedules_spec.js';

/** A schedule id that was never created (or was deleted). */
export const ErrScheduleNotFound = defineError('ERR_SCHEDULE_NOT_FOUND', 'workflow schedule: no such schedule');

/** `create` of an id that has a schedule (delete it first, or `update` it). */
export const ErrScheduleExists = defineError('ERR_SCHEDULE_EXISTS', 'workflow schedule: the schedule exists');

/** What started a run: its nominal time, a `trigger`, or a `backfill`. */
export type ScheduleRunSource = 'schedule' | 'trigger' | 'backfill';

/** A run to deal with: its nominal time and the overlap policy it goes by. */
export interface ScheduleItem {
  readonly t: number;
  readonly by: ScheduleRunSource;
  readonly overlap: OverlapPolicy;
  /** The run's workflow id, fixed when asked (a trigger answers it): an `update` in between does not change it. */
  readonly id?: string;
}

/**
 * What became of one nominal time: `started` (a new instance), `existed` (its instance was there:
 * started before a crash, or by an earlier backfill), `skipped` (the overlap policy), `missed`
 * (older than the catch-up window: `count` times up to `t`), `failed` (the start was refused for
 * good: `error`).
 */
export interface ScheduleRun {
  /** The nominal time, epoch ms. */
  readonly t: number;
  readonly by: ScheduleRunSource;
  readonly outcome: 'started' | 'existed' | 'skipped' | 'missed' | 'failed';
  /** When the schedule dealt with it, epoch ms. */
  readonly at: number;
  /** The workflow id of the run. */
  readonly id?: string;
  readonly count?: number;
  readonly error?: string;
}

/** How many runs a schedule started, skipped, missed, failed, and how many running ones it cancelled or terminated (`cancelled`: both). */
export interface ScheduleCounts {
  started: number;
  skipped: number;
  missed: number;
  failed: number;
  cancelled: number;
}

/** @internal The state of a schedule's entity. */
export interface ScheduleState {
  def?: ScheduleDef;
  status: 'none' | 'active' | 'paused' | 'deleted';
  note: string;
  createdAt: number;
  updatedAt: number;
  /** The request id of the `create` that made it: that create sent again answers, not refuses. */
  createdBy?: string;
  /** Every nominal time at or before it has been dealt with. */
  cursor: number;
  /** Triggers and backfills not yet dealt with, in order. */
  pending: ScheduleItem[];
  /** Runs the overlap policy keeps until the running one ends. */
  buffer: ScheduleItem[];
  /** Runs started that may still run (tracked unless every policy is allowAll). */
  running: { id: string; t: number }[];
  recent: ScheduleRun[];
  counts: ScheduleCounts;
}

/** @internal A request to a schedule's entity. */
export type ScheduleRequest =
  | {
      readonly op: 'create';
      readonly def: ScheduleDef;
      readonly paused?: boolean;
      readonly note?: string;
      /** Drawn once per `create` call: the same call sent again after a lost answer is not refused. */
      readonly requestId?: string;
    }
  | { readonly op: 'describe'; readonly next?: number }
  | { readonly op: 'pause'; readonly note?: string }
  | { readonly op: 'unpause'; readonly note?: string }
  | { readonly op: 'trigger'; readonly overlap?: OverlapPolicy }
  | { readonly op: 'backfill'; readonly start: number; readonly end: number; readonly overlap?: OverlapPolicy }
  | { readonly op: 'update'; readonly def: Partial<ScheduleDef>; readonly note?: string }
  | { readonly op: 'delete' };

/** A schedule as `describe` shows it. */
export interface ScheduleDescription {
  readonly id: string;
  /** The workflow kind it starts. */
  readonly workflow: string;
  readonly input: unknown;
  /** The runs' workflow id before `-<time>`, when the schedule names one (else the schedule id). */
  readonly workflowId?: string;
  readonly spec: ScheduleSpec;
  readonly policies: { readonly overlap: OverlapPolicy; readonly catchupWindowMs: number };
  readonly paused: boolean;
  /** The note of the last create, pause, unpause or update that gave one. */
  readonly note: string;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Every nominal time at or before it has been dealt with. */
  readonly cursor: number;
  readonly counts: ScheduleCounts;
  /** The workflow ids of its runs still running (tracked unless the overlap policy is allowAll). */
  readonly running: readonly string[];
  /** The nominal times of runs buffered by the overlap policy. */
  readonly buffered: readonly number[];
  /** Triggers and backfill times not yet dealt with. */
  readonly pending: number;
  /** The last runs dealt with, newest first (at most 20). */
  readonly recent: readonly ScheduleRun[];
  /** The next nominal times (none while paused). */
  readonly next: readonly number[];
}

/** One schedule in a listing: read from the store's state index, no call to its entity. */
export interface ScheduleSummary {
  readonly id: string;
  readonly workflow: string;
  /** The runs' workflow id before `-<time>`, when the schedule names one. */
  readonly workflowId?: string;
  readonly status: 'active' | 'paused';
  readonly note: string;
  readonly spec: ScheduleSpec;
  readonly overlap: OverlapPolicy;
  readonly createdAt: number;
  readonly counts: ScheduleCounts;
  /** The newest run dealt with. */
  readonly last?: ScheduleRun;
}
