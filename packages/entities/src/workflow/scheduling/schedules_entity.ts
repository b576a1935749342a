// A workflow schedule as a durable entity (kind `wf.schedule`, key: the schedule id), so the
// runtime gives it what a schedule needs: one owner at a time (the key's lease), a state in the
// store, and a durable timer (a reminder) that fires on whichever member owns the key, after a
// kill -9 or a whole-cluster restart too.
//
// The state holds a cursor: every nominal time at or before it has been dealt with (started,
// skipped by the overlap policy, or missed beyond the catch-up window). A fire of the `tick`
// reminder starts the runs due since the cursor, each under the id `<scheduleId>-<time>` (or
// `<workflowId>-<time>` when the schedule names one) with id reuse 'never', then saves the new cursor with the next `tick` in one transaction (the host
// saves the handler's state, the fire's id and the staged reminder together). A crash between a
// start and that save leaves the cursor behind: the next fire starts the same times again, which
// finds their instances there and starts nothing. So no nominal time inside the catch-up window
// is started twice or lost.

import { defineProtocol, schema } from 'ergo-ts';

import { ErrEntityUnstorable, ErrEntityIncorrect } from '../../contract/errors.js';
import { clockOf, defineEntity, refuseCall } from '../../kinds/entity.js';
import { ReminderEntity, stageCancelOf, stageReminderOf } from '../../kinds/reminders.js';
import type { ReminderFire } from '../../kinds/reminder_types.js';
import {
  ErrWorkflowClosed,
  ErrWorkflowIncorrect,
  ErrWorkflowNotFound,
  ErrWorkflowValueTooLarge,
} from '../model/errors.js';
import type { ResultReply } from '../model/record.js';
import { ErrScheduleExists, ErrScheduleNotFound } from './schedules_types.js';
import {
  checkOverlap,
  checkRunWorkflowId,
  countNominal,
  jitterOf,
  nextNominal,
  runIdOf,
  upcoming,
  type OverlapPolicy,
  type ScheduleDef,
} from './schedules_spec.js';
import type {
  ScheduleRequest,
  ScheduleState,
  ScheduleRun,
  ScheduleItem,
  ScheduleDescription,
} from './schedules_types.js';

/** The schedules' entity kind name. */
export const SCHEDULE_KIND = 'wf.schedule';

/** Runs started (or skipped) by one fire at most; the next fire, at once, goes on. */
const BATCH = 32;
/** How often a schedule with buffered runs looks whether the running one ended. */
const BUFFER_POLL_MS = 1000;
/** How long after a failed start (the instance's owner unavailable) it is tried again. */
const RETRY_MS = 1000;
/** A start's, a status read's, a cancel's timeout. */
const CALL_MS = 5000;
/** Runs kept in `recent`. */
const RECENT = 20;
/** Times a backfill may ask for at once. */
export const MAX_BACKFILL = 1000;

const TICK = 'tick';
const ScheduleReminders = { tick: schema.object({ at: schema.number() }) };

/** The schedules' protocol: one typed request (schedules_types.ts). */
export const ScheduleProtocol = defineProtocol('ergo-ts.workflow-schedule', {
  calls: { request: { request: schema.type<ScheduleRequest>(), reply: schema.unknown() } },
});

/** Errors a start can never get over (a refused input, an unknown kind): the run is recorded failed. */
const PERMANENT = [ErrWorkflowIncorrect, ErrWorkflowValueTooLarge, ErrEntityIncorrect, ErrEntityUnstorable];

function emptyState(): ScheduleState {
  return {
    status: 'none',
    note: '',
    createdAt: 0,
    updatedAt: 0,
    cursor: 0,
    pending: [],
    buffer: [],
    running: [],
    recent: [],
    counts: { started: 0, skipped: 0, missed: 0, failed: 0, cancelled: 0 },
  };
}

/** A copy the handlers may change in place (the saved state stays as it was until assigned). */
function copy(s: ScheduleState): ScheduleState {
  return {
    ...s,
    pending: [...s.pending],
    buffer: [...s.buffer],
    running: [...s.running],
    recent: [...s.recent],
    counts: { ...s.counts },
  };
}

function record(s: ScheduleState, run: ScheduleRun): void {
  s.recent.push(run);
  if (s.recent.length > RECENT) s.recent.splice(0, s.recent.length - RECENT);
}

/** The entity of one schedule (see the file's comment). */
export class ScheduleEntity extends ReminderEntity<typeof ScheduleProtocol, ScheduleState, typeof ScheduleReminders> {
  #now(): number {
    return clockOf(this).now();
  }

  /** The id of the run at `t`: `<workflowId or schedule id>-<time>`. */
  #runId(def: ScheduleDef, t: number): string {
    return runIdOf(def.workflowId ?? this.key, t);
  }

  /** The id of `item`'s run: the one fixed when it was asked, else by the current definition. */
  #itemId(def: ScheduleDef, item: ScheduleItem): string {
    return item.id ?? this.#runId(def, item.t);
  }

  /**
   * Refuses a spec with no nominal time after `now` (its `endAt` past, or before its next time):
   * kept, it would be a schedule that never runs, shown as active. Checked here, on the clock the
   * schedule runs by, not the caller's.
   */
  #checkRunsAgain(spec: ScheduleDef['spec'], now: number): void {
    if (nextNominal(spec, now) === undefined)
      throw ErrWorkflowIncorrect.with(
        `schedule ${this.key}: its spec has no time left to run at (endAt ${
          spec.endAt === undefined ? 'absent' : new Date(spec.endAt).toISOString()
        }, now ${new Date(now).toISOString()})`,
      );
  }

  override async handleCall(r: ScheduleRequest): Promise<unknown> {
    try {
      return await this.#call(r);
    } catch (err) {
      // A bad argument from a caller that skipped the client's checks: refused, the entity goes on.
      if (ErrWorkflowIncorrect.is(err)) throw refuseCall(err as Error);
      throw err;
    }
  }

  async #call(r: ScheduleRequest): Promise<unknown> {
    if (typeof r !== 'object' || r === null || typeof r.op !== 'string')
      throw refuseCall(ErrWorkflowIncorrect.with('schedule: not a schedule request'));
    const now = this.#now();
    if (r.op === 'create') {
      if (this.state.status !== 'none' && this.state.status !== 'deleted') {
        // The same create again (its answer was lost, the owner moved): it landed, so answer it.
        if (r.requestId !== undefined && this.state.createdBy === r.requestId)
          return this.#describe(this.state, now, undefined);
        throw refuseCall(ErrScheduleExists.with(`schedule ${this.key} exists`));
      }
      this.#checkRunsAgain(r.def.spec, now);
      if (r.def.workflowId !== undefined) checkRunWorkflowId(r.def.workflowId);
      const s: ScheduleState = {
        ...emptyState(),
        def: r.def,
        status: r.paused === true ? 'paused' : 'active',
        note: r.note ?? '',
        createdAt: now,
        updatedAt: now,
        cursor: now,
        ...(r.requestId === undefined ? {} : { createdBy: r.requestId }),
      };
      // Answered with the description it keeps: a second call to describe it could fail apart.
      return this.#settle(s, now, this.#describe(s, now, undefined));
    }
    if (this.state.def === undefined || this.state.status === 'none' || this.state.status === 'deleted')
      throw refuseCall(ErrScheduleNotFound.with(`schedule ${this.key}: no such schedule`));
    const s = copy(this.state);
    const def = s.def!;
    switch (r.op) {
      case 'describe':
        return this.#describe(s, now, r.next);
      case 'pause':
        s.status = 'paused';
        s.note = r.note ?? s.note;
        s.updatedAt = now;
        return this.#settle(s, now, 'paused');
      case 'unpause':
        // Times that passed while paused are not caught up (as Temporal's): the cursor moves to now.
        if (s.status === 'paused') s.cursor = Math.max(s.cursor, now);
        s.status = 'active';
        s.note = r.note ?? s.note;
        s.updatedAt = now;
        return this.#settle(s, now, 'active');
      case 'trigger': {
        const id = this.#runId(def, now);
        s.pending.push({ t: now, by: 'trigger', overlap: checkOverlap(r.overlap ?? def.overlap), id });
        return this.#settle(s, now, { workflowId: id });
      }
      case 'backfill': {
        const overlap = checkOverlap(r.overlap ?? 'allowAll');
        const times: number[] = [];
        for (let t = nextNominal(def.spec, r.start - 1); t !== undefined && t <= r.end; t = nextNominal(def.spec, t)) {
          if (times.length === MAX_BACKFILL)
            throw refuseCall(
              ErrWorkflowIncorrect.with(`schedule ${this.key}: a backfill covers at most ${MAX_BACKFILL} times`),
            );
          times.push(t);
        }
        for (const t of times) s.pending.push({ t, by: 'backfill', overlap, id: this.#runId(def, t) });
        return this.#settle(s, now, { times: times.length });
      }
      case 'update':
        if (r.def.spec !== undefined) this.#checkRunsAgain(r.def.spec, now);
        if (r.def.workflowId !== undefined) checkRunWorkflowId(r.def.workflowId);
        s.def = { ...def, ...r.def };
        if (r.note !== undefined) s.note = r.note;
        // A new spec counts from now: times before are not started for it.
        s.cursor = Math.max(s.cursor, now);
        s.updatedAt = now;
        return this.#settle(s, now, 'updated');
      case 'delete':
        stageCancelOf(this, TICK);
        this.state = {
          ...emptyState(),
          def,
          status: 'deleted',
          createdAt: s.createdAt,
          updatedAt: now,
          cursor: s.cursor,
        };
        return 'deleted';
      default:
        throw refuseCall(ErrWorkflowIncorrect.with('schedule: unknown request'));
    }
  }

  /** Keeps `s` and arms its next tick: at once when something is due, else at its next time. */
  async #settle<T>(s: ScheduleState, now: number, reply: T): Promise<T> {
    await this.#arm(s, now, s.pending.length > 0 ? now : undefined);
    this.state = s;
    return reply;
  }

  override async handleReminder(_fire: ReminderFire<typeof ScheduleReminders>): Promise<void> {
    // The fire took the stored tick: the handler stages the next one, saved with its state.
    const s = copy(this.state);
    const now = this.#now();
    if (s.def === undefined || s.status === 'none' || s.status === 'deleted') {
      stageCancelOf(this, TICK);
      return;
    }
    let soon: number | undefined;
    try {
      const left = await this.#advance(s, s.def, now);
      if (left) soon = now;
    } catch (err) {
      // An instance's owner is unavailable (its member died, the key moves): what was started is
      // kept (the cursor stops before the time that failed) and the rest is tried again shortly.
      this.log.warning(
        'schedule %s: a start failed, trying again in %d ms: %s',
        this.key,
        RETRY_MS,
        (err as Error).message,
      );
      soon = now + RETRY_MS;
    }
    if (s.buffer.length > 0) soon = Math.min(soon ?? Infinity, now + BUFFER_POLL_MS);
    await this.#arm(s, now, soon);
    this.state = s;
  }

  /** Stages the tick at the next nominal time (plus its jitter), or at `soon` when earlier. */
  async #arm(s: ScheduleState, now: number, soon: number | undefined): Promise<void> {
    if (s.def === undefined || s.status === 'none' || s.status === 'deleted') {
      stageCancelOf(this, TICK);
      return;
    }
    // Paused: no nominal time is due, but triggers, backfills and buffered runs still are.
    const next = s.status === 'active' ? nextNominal(s.def.spec, s.cursor) : undefined;
    let at = next === undefined ? undefined : next + jitterOf(this.key, next, s.def.spec.jitterMs);
    if (soon !== undefined) at = Math.min(at ?? Infinity, soon);
    if (s.buffer.length > 0) at = Math.min(at ?? Infinity, now + BUFFER_POLL_MS);
    if (at === undefined) stageCancelOf(this, TICK);
    else await stageReminderOf(this, TICK, { afterMs: Math.max(1, Math.ceil(at - now)) }, { at });
  }

  /**
   * Deals with what is due in `s` at `now` (changed in place): buffered runs once nothing runs,
   * triggers and backfills, then (unless paused) the nominal times after the cursor. True when the batch ran out
   * before everything due was dealt with.
   */
  async #advance(s: ScheduleState, def: ScheduleDef, now: number): Promise<boolean> {
    let budget = BATCH;
    if (s.running.length > 0) s.running = await this.#stillRunning(def.workflow, s.running);
    while (s.buffer.length > 0 && s.running.length === 0 && budget-- > 0) {
      await this.#start(s, def, s.buffer[0]!, now);
      s.buffer.shift();
    }
    while (s.pending.length > 0 && budget-- > 0) {
      await this.#act(s, def, s.pending[0]!, now);
      s.pending.shift();
    }
    if (s.status !== 'active') return s.pending.length > 0;
    // Times older than the catch-up window are skipped, counted, never started.
    const oldest = now - def.catchupWindowMs;
    if (s.cursor < oldest - 1) {
      const missed = countNominal(def.spec, s.cursor, oldest - 1);
      if (missed > 0) {
        s.counts.missed += missed;
        record(s, { t: oldest - 1, by: 'schedule', outcome: 'missed', at: now, count: missed });
      }
      s.cursor = oldest - 1;
    }
    for (;;) {
      const t = nextNominal(def.spec, s.cursor);
      if (t === undefined || t + jitterOf(this.key, t, def.spec.jitterMs) > now) return false;
      if (budget-- <= 0) return true;
      await this.#act(s, def, { t, by: 'schedule', overlap: def.overlap }, now);
      s.cursor = t; // after the start is stored (saved with the state, at the handler's end)
    }
  }

  /** One due run under its overlap policy. */
  async #act(s: ScheduleState, def: ScheduleDef, item: ScheduleItem, now: number): Promise<void> {
    const overlap: OverlapPolicy = item.overlap;
    if (overlap === 'allowAll' || s.running.length === 0) return this.#start(s, def, item, now);
    switch (overlap) {
      case 'skip':
        // Started before a crash lost the save? Then it counts as started, not skipped.
        if (await this.#exists(def.workflow, this.#itemId(def, item))) return this.#start(s, def, item, now);
        s.counts.skipped++;
        record(s, { t: item.t, by: item.by, outcome: 'skipped', at: now, id: this.#itemId(def, item) });
        return;
      case 'bufferOne':
        if (s.buffer.length > 0) {
          s.counts.skipped++;
          record(s, { t: item.t, by: item.by, outcome: 'skipped', at: now, id: this.#itemId(def, item) });
          return;
        }
        s.buffer.push(item);
        return;
      case 'bufferAll':
        s.buffer.push(item);
        return;
      case 'cancelOther':
      case 'terminateOther':
        for (const r of s.running) await this.#cancel(def.workflow, r.id, overlap);
        s.counts.cancelled += s.running.length;
        s.running = [];
        return this.#start(s, def, item, now);
    }
  }

  /** Starts the run of `item` (idempotent: its id is fixed by the time); a permanent refusal is recorded. */
  async #start(s: ScheduleState, def: ScheduleDef, item: ScheduleItem, now: number): Promise<void> {
    const id = this.#itemId(def, item);
    let created: boolean;
    try {
      const r = (await this.entities.call(
        { kind: def.workflow, key: id },
        { '~wf': 'start', input: def.input, reuse: 'never' } as never,
        { timeout: CALL_MS },
      )) as { created: boolean };
      created = r.created;
    } catch (err) {
      if (!PERMANENT.some((e) => e.is(err))) throw err;
      s.counts.failed++;
      record(s, { t: item.t, by: item.by, outcome: 'failed', at: now, id, error: (err as Error).message });
      return;
    }
    s.counts.started++;
    record(s, { t: item.t, by: item.by, outcome: created ? 'started' : 'existed', at: now, id });
    if (def.overlap !== 'allowAll' || item.overlap !== 'allowAll') s.running.push({ id, t: item.t });
  }

  async #status(workflow: string, id: string): Promise<ResultReply['status'] | 'absent'> {
    try {
      const r = (await this.entities.call({ kind: workflow, key: id }, { '~wf': 'result', waitMs: 0 } as never, {
        timeout: CALL_MS,
      })) as ResultReply;
      return r.status;
    } catch (err) {
      if (ErrWorkflowNotFound.is(err)) return 'absent';
      throw err;
    }
  }

  async #exists(workflow: string, id: string): Promise<boolean> {
    return (await this.#status(workflow, id)) !== 'absent';
  }

  async #stillRunning(workflow: string, running: ScheduleState['running']): Promise<ScheduleState['running']> {
    const left: ScheduleState['running'] = [];
    for (const r of running) if ((await this.#status(workflow, r.id)) === 'pending') left.push(r);
    return left;
  }

  /** Cancels the run `id` (`cancelOther`: its compensations run) or terminates it (`terminateOther`: none runs). */
  async #cancel(workflow: string, id: string, why: OverlapPolicy): Promise<void> {
    const reason = `schedule ${this.key}: overlap policy ${why}`;
    try {
      await this.entities.call(
        { kind: workflow, key: id },
        { '~wf': why === 'terminateOther' ? 'terminate' : 'cancel', reason } as never,
        { timeout: CALL_MS },
      );
    } catch (err) {
      if (!ErrWorkflowClosed.is(err) && !ErrWorkflowNotFound.is(err)) throw err;
    }
  }

  #describe(s: ScheduleState, now: number, next: number | undefined): ScheduleDescription {
    const def = s.def!;
    const n = typeof next === 'number' && Number.isInteger(next) && next >= 0 ? Math.min(next, 100) : 5;
    return {
      id: this.key,
      workflow: def.workflow,
      input: def.input,
      ...(def.workflowId === undefined ? {} : { workflowId: def.workflowId }),
      spec: def.spec,
      policies: { overlap: def.overlap, catchupWindowMs: def.catchupWindowMs },
      paused: s.status === 'paused',
      note: s.note,
      createdAt: s.createdAt,
      updatedAt: s.updatedAt,
      cursor: s.cursor,
      counts: s.counts,
      running: s.running.map((r) => r.id),
      buffered: s.buffer.map((b) => b.t),
      pending: s.pending.length,
      recent: [...s.recent].reverse(),
      next: s.status === 'active' ? upcoming(def.spec, Math.max(s.cursor, now), n) : [],
    };
  }
}

/** The index row of a schedule: searchable by status and workflow (the client's `list`). */
function indexOf(s: ScheduleState) {
  if (s.status === 'none' || s.def === undefined) return undefined;
  return {
    status: s.status,
    started: s.createdAt,
    ...(s.status === 'deleted' ? { ended: s.updatedAt } : {}),
    attributes: { workflow: s.def.workflow },
  };
}

/**
 * The schedules' entity kind: give it to `startEntities` on every member (`kinds: [Order,
 * WorkflowSchedules]`) to run schedules there (docs/workflows.md, "Schedules").
 */
export const WorkflowSchedules = defineEntity(SCHEDULE_KIND, {
  protocol: ScheduleProtocol,
  entity: ScheduleEntity,
  initialState: emptyState,
  passivateAfterMs: 60_000,
  reminders: ScheduleReminders,
  index: indexOf,
});
