// Managing workflow schedules from any node: `entities.workflows.schedules` creates, describes,
// pauses, unpauses, triggers, backfills, updates, deletes and lists them. Each call but `list` is
// a call to the schedule's entity (schedules_entity.ts), routed to its owner; `list` reads the
// store's state index. Arguments are checked here, before anything is sent: a bad one rejects
// with ERR_WORKFLOW_INCORRECT.

import { ErrEntityUnavailable } from '../../contract/errors.js';
import { describeThrown } from '../../contract/thrown.js';
import type { EntitiesClient, EntityAddress } from '../../kinds/entity.js';
import { storableSize, valueIssue } from '../model/bounds.js';
import type { AnyWorkflowKind, WorkflowInput } from '../model/define.js';
import { ErrWorkflowIncorrect, ErrWorkflowUnsupported } from '../model/errors.js';
import type { WorkflowRuntimeView } from './listing.js';
import { inputRefusal, optionsObject } from './search.js';
import { SCHEDULE_KIND, type ScheduleProtocol } from '../scheduling/schedules_entity.js';
import {
  checkOverlap,
  checkPolicies,
  checkRunWorkflowId,
  checkScheduleId,
  checkSpec,
  type OverlapPolicy,
  type ScheduleDef,
  type SchedulePolicies,
  type ScheduleSpec,
} from '../scheduling/schedules_spec.js';
import type {
  ScheduleDescription,
  ScheduleRequest,
  ScheduleState,
  ScheduleSummary,
} from '../scheduling/schedules_types.js';

/** What {@link ScheduleClient.create} takes: when, what input, how. */
export interface ScheduleOptions<K extends AnyWorkflowKind = AnyWorkflowKind> {
  /** When its runs are due. */
  readonly spec: ScheduleSpec;
  /** The input of every run (checked against the kind's input schema now). */
  readonly input: WorkflowInput<K>;
  readonly policies?: SchedulePolicies;
  /**
   * The runs' workflow id before the time (Temporal's action `workflowId`): the run at nominal
   * time t is `<workflowId>-<t, ISO 8601>`. Default: the schedule id. 1..MAX_SCHEDULE_ID_BYTES
   * UTF-8 bytes, else ERR_WORKFLOW_INCORRECT.
   */
  readonly workflowId?: string;
  /** Created paused (default false). */
  readonly paused?: boolean;
  /** A note for operators (why it exists, why it is paused). */
  readonly note?: string;
  /** The call's timeout, ms (default 5000). */
  readonly timeout?: number;
}

/** What {@link ScheduleClient.update} changes (what is absent stays). */
export interface ScheduleUpdate<K extends AnyWorkflowKind = AnyWorkflowKind> {
  readonly spec?: ScheduleSpec;
  readonly policies?: SchedulePolicies;
  readonly input?: WorkflowInput<K>;
  /** The runs' workflow id before the time, from the next run on (see {@link ScheduleOptions.workflowId}). */
  readonly workflowId?: string;
  /** The kind, to check `input` against its schema here. */
  readonly kind?: K;
  readonly note?: string;
  readonly timeout?: number;
}

/** What {@link ScheduleClient.list} takes. */
export interface ScheduleListOptions {
  /** Only schedules that start this workflow kind (its name or the kind). */
  readonly workflow?: string | AnyWorkflowKind;
  /** Only active or only paused ones. */
  readonly status?: 'active' | 'paused';
  /** At most this many (default 100, at most 1000). */
  readonly limit?: number;
}

function checkInput(kind: AnyWorkflowKind, input: unknown, what: string): void {
  const schema = (kind.workflow as { input?: Parameters<typeof valueIssue>[0] }).input;
  if (schema !== undefined) {
    const issue = valueIssue(schema, input);
    if (issue !== undefined) throw ErrWorkflowIncorrect.with(`${what}: input refused: ${issue}`);
  }
  storableSize(input, `${what}: the input`);
}

function checkKind(kind: unknown, what: string): AnyWorkflowKind {
  if (typeof kind !== 'object' || kind === null || typeof (kind as { name?: unknown }).name !== 'string')
    throw ErrWorkflowIncorrect.with(`${what}: not a workflow kind`);
  if (typeof (kind as { workflow?: unknown }).workflow !== 'object')
    throw ErrWorkflowIncorrect.with(`${what}: ${(kind as { name: string }).name} is not a workflow kind`);
  return kind as AnyWorkflowKind;
}

function checkNote(note: unknown, what: string): string | undefined {
  if (note === undefined) return undefined;
  if (typeof note !== 'string' || note.length > 1000)
    throw ErrWorkflowIncorrect.with(`${what}: a note is a string of at most 1000 characters`);
  return note;
}

function time(v: unknown, what: string): number {
  const n = v instanceof Date ? v.getTime() : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
    throw ErrWorkflowIncorrect.with(`${what} is a Date or epoch ms, got ${String(v)}`);
  return n;
}

/** Manages workflow schedules (see the top of this file; docs/workflows.md, "Schedules"). */
export class ScheduleClient {
  readonly #e: EntitiesClient;
  readonly #view: WorkflowRuntimeView | undefined;

  /** `runtime`: the store to {@link list} from (the runtime's own `entities.workflows.schedules` has it). */
  constructor(entities: EntitiesClient, runtime?: WorkflowRuntimeView) {
    this.#e = entities;
    this.#view = runtime;
  }

  /** Checks the arguments (`make`), then asks schedule `id`; a bad argument rejects, never throws. */
  /**
   * Sends `make()`'s request to schedule `id`'s entity. `again`: a request that may be sent again
   * (it carries a request id), so an owner that died or moved before answering is asked anew
   * within the timeout.
   */
  async #ask<T>(id: string, what: string, make: () => ScheduleRequest, timeout?: unknown, again = false): Promise<T> {
    let request: ScheduleRequest;
    try {
      checkScheduleId(id);
      request = make();
      if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout > 0)))
        throw ErrWorkflowIncorrect.with(`${what}: timeout is a number of ms > 0`);
    } catch (err) {
      throw inputRefusal(`schedule ${String(id)}: ${what}`, err);
    }
    const to = { kind: SCHEDULE_KIND, key: id } as EntityAddress<typeof ScheduleProtocol>;
    const deadline = Date.now() + ((timeout as number | undefined) ?? 5000);
    for (;;) {
      try {
        return (await this.#e.call(to, request as never, { timeout: Math.max(1, deadline - Date.now()) })) as T;
      } catch (err) {
        if (!again || !ErrEntityUnavailable.is(err) || Date.now() >= deadline) throw err;
      }
      // Not at once: the key's next owner needs a moment to be known.
      await new Promise((r) => setTimeout(r, Math.min(100, Math.max(0, deadline - Date.now()))));
    }
  }

  /**
   * Creates schedule `id`, starting `kind` with `options.input` at each time of `options.spec`
   * (from now on). Resolves with its description. Rejects with ERR_SCHEDULE_EXISTS when the id has
   * a schedule, ERR_WORKFLOW_INCORRECT for a bad spec, policy, id or an input the kind refuses.
   */
  create<K extends AnyWorkflowKind>(kind: K, id: string, options: ScheduleOptions<K>): Promise<ScheduleDescription> {
    let o: ScheduleOptions<K>;
    return this.#ask<unknown>(
      id,
      'create',
      () => {
        const k = checkKind(kind, 'create');
        o = optionsObject(options, 'create');
        checkInput(k, o.input, `schedule ${id}: create`);
        const def: ScheduleDef = {
          workflow: k.name,
          input: o.input,
          spec: checkSpec(o.spec),
          ...checkPolicies(o.policies),
          ...(o.workflowId === undefined ? {} : { workflowId: checkRunWorkflowId(o.workflowId) }),
        };
        const note = checkNote(o.note, 'create');
        if (o.paused !== undefined && typeof o.paused !== 'boolean')
          throw ErrWorkflowIncorrect.with('create: paused is a boolean');
        return {
          op: 'create',
          def,
          ...(o.paused === true ? { paused: true } : {}),
          ...(note === undefined ? {} : { note }),
          requestId: crypto.randomUUID(),
        };
      },
      (options as { timeout?: unknown } | undefined)?.timeout,
      true,
    ).then((reply) =>
      // A schedule's entity from before create answered with its description says `{ created: true }`.
      typeof (reply as { id?: unknown } | null)?.id === 'string' ? (reply as ScheduleDescription) : this.describe(id),
    );
  }

  /**
   * {@link create} by the workflow's name, for an operator's tools that do not import the kind
   * (the MCP server, the Observer): the kind is this runtime's (ERR_WORKFLOW_INCORRECT when it
   * hosts no such workflow kind, or has no runtime).
   */
  createOf(workflow: string, id: string, options: ScheduleOptions): Promise<ScheduleDescription> {
    const kind = this.#view
      ?.kinds()
      .find((k) => k.name === workflow && typeof (k as { workflow?: unknown }).workflow === 'object');
    if (kind === undefined)
      return Promise.reject(
        ErrWorkflowIncorrect.with(
          `schedule ${id}: create: this node knows no workflow kind ${JSON.stringify(workflow)}`,
        ),
      );
    return this.create(kind as unknown as AnyWorkflowKind, id, options);
  }

  /**
   * The schedule as it is: its definition, counts, running and buffered runs, the last runs dealt
   * with and the next `next` (default 5) nominal times. ERR_SCHEDULE_NOT_FOUND for an unknown id.
   */
  describe(
    id: string,
    options: { readonly next?: number; readonly timeout?: number } = {},
  ): Promise<ScheduleDescription> {
    return this.#ask(
      id,
      'describe',
      () => {
        const next = optionsObject(options, 'describe').next;
        if (next !== undefined && (!Number.isInteger(next) || next < 0 || next > 100))
          throw ErrWorkflowIncorrect.with('describe: next is an integer in 0..100');
        return { op: 'describe', ...(next === undefined ? {} : { next }) };
      },
      options?.timeout,
    );
  }

  /** Pauses it (no run starts on schedule; times that pass are not caught up later; trigger and backfill still start runs), keeping `note`. */
  pause(id: string, note?: string): Promise<'paused'> {
    return this.#ask(id, 'pause', () => {
      const n = checkNote(note, 'pause');
      return { op: 'pause', ...(n === undefined ? {} : { note: n }) };
    });
  }

  /** Unpauses it: the next run is the first nominal time after now. */
  unpause(id: string, note?: string): Promise<'active'> {
    return this.#ask(id, 'unpause', () => {
      const n = checkNote(note, 'unpause');
      return { op: 'unpause', ...(n === undefined ? {} : { note: n }) };
    });
  }

  /**
   * Starts a run now (its nominal time: now), under the schedule's overlap policy or `overlap`.
   * Resolves with the run's workflow id (started as soon as the schedule's entity gets to it).
   */
  trigger(id: string, options: { readonly overlap?: OverlapPolicy } = {}): Promise<{ readonly workflowId: string }> {
    return this.#ask(id, 'trigger', () => {
      const o = optionsObject(options, 'trigger');
      return { op: 'trigger', ...(o.overlap === undefined ? {} : { overlap: checkOverlap(o.overlap) }) };
    });
  }

  /**
   * Starts the runs of every nominal time in [start, end] (at most 1000), under `overlap` (default
   * allowAll): a time whose run exists (started on schedule, or by another backfill) starts
   * nothing new. Resolves with how many times the range held.
   */
  backfill(
    id: string,
    range: { readonly start: Date | number; readonly end: Date | number; readonly overlap?: OverlapPolicy },
  ): Promise<{ readonly times: number }> {
    return this.#ask(id, 'backfill', () => {
      const r = optionsObject(range, 'backfill');
      const start = time(r.start, 'backfill: start');
      const end = time(r.end, 'backfill: end');
      if (end < start) throw ErrWorkflowIncorrect.with('backfill: end is before start');
      return { op: 'backfill', start, end, ...(r.overlap === undefined ? {} : { overlap: checkOverlap(r.overlap) }) };
    });
  }

  /** Changes its spec, policies, input or runs' workflow id (the next run counts from now). */
  update<K extends AnyWorkflowKind = AnyWorkflowKind>(id: string, changes: ScheduleUpdate<K>): Promise<'updated'> {
    return this.#ask(
      id,
      'update',
      () => {
        const c = optionsObject(changes, 'update');
        const def: Partial<ScheduleDef> = {
          ...(c.spec === undefined ? {} : { spec: checkSpec(c.spec) }),
          ...(c.policies === undefined ? {} : checkPolicies(c.policies)),
          ...(c.workflowId === undefined ? {} : { workflowId: checkRunWorkflowId(c.workflowId) }),
        };
        if (c.input !== undefined) {
          if (c.kind !== undefined) checkInput(checkKind(c.kind, 'update'), c.input, `schedule ${id}: update`);
          else storableSize(c.input, `schedule ${id}: update: the input`);
          (def as { input?: unknown }).input = c.input;
        }
        const note = checkNote(c.note, 'update');
        return { op: 'update', def, ...(note === undefined ? {} : { note }) };
      },
      (changes as { timeout?: unknown } | undefined)?.timeout,
    );
  }

  /** Deletes it (no more runs; the runs it started go on). */
  delete(id: string): Promise<'deleted'> {
    return this.#ask(id, 'delete', () => ({ op: 'delete' }));
  }

  /**
   * The schedules, newest first, read from the store's state index (ERR_WORKFLOW_UNSUPPORTED
   * without it, or on a client made without its runtime).
   */
  async list(options: ScheduleListOptions = {}): Promise<ScheduleSummary[]> {
    let o: ScheduleListOptions;
    let workflow: string | undefined;
    try {
      o = optionsObject(options, 'schedules list');
      const w: unknown = o.workflow;
      // A kind is read for its name; an object without one is refused, not read as "no filter".
      workflow = (typeof w === 'object' && w !== null ? (w as { name?: unknown }).name : w) as string | undefined;
      if (w !== undefined && (typeof workflow !== 'string' || workflow === ''))
        throw ErrWorkflowIncorrect.with(`schedules list: workflow is a kind or its name, got ${describeThrown(w)}`);
      if (o.status !== undefined && o.status !== 'active' && o.status !== 'paused')
        throw ErrWorkflowIncorrect.with("schedules list: status is 'active' or 'paused'");
      if (o.limit !== undefined && (!Number.isInteger(o.limit) || o.limit < 1 || o.limit > 1000))
        throw ErrWorkflowIncorrect.with('schedules list: limit is an integer in 1..1000');
    } catch (err) {
      throw inputRefusal('schedules list', err);
    }
    const index = this.#view?.store.stateIndex;
    if (index === undefined)
      throw ErrWorkflowUnsupported.with('schedules list: this client has no runtime, or its store no state index');
    const limit = o.limit ?? 100;
    const out: ScheduleSummary[] = [];
    for (const status of o.status === undefined ? (['active', 'paused'] as const) : [o.status]) {
      const rows = await index.search({
        kind: SCHEDULE_KIND,
        status,
        limit,
        ...(workflow === undefined ? {} : { attributes: { workflow } }),
      });
      for (const row of rows) {
        const s = row.state as ScheduleState;
        if (s.def === undefined) continue;
        const last = s.recent[s.recent.length - 1];
        out.push({
          id: row.key,
          workflow: s.def.workflow,
          ...(s.def.workflowId === undefined ? {} : { workflowId: s.def.workflowId }),
          status,
          note: s.note,
          spec: s.def.spec,
          overlap: s.def.overlap,
          createdAt: s.createdAt,
          counts: s.counts,
          ...(last === undefined ? {} : { last }),
        });
      }
    }
    return out.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1)).slice(0, limit);
  }
}
