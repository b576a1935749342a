// `client.workflow` (Temporal's `WorkflowClient`) and its `WorkflowHandle`, on ergo-ts's
// `entities.workflows`: a Temporal workflow's input is `{ args, memo }`, its signals, queries and
// updates carry argument arrays, and ergo-ts's errors come back as Temporal's classes (errors.ts).

import type { AnyWorkflowKind, Entities, IdReusePolicy, WorkflowDescription } from '@ergo-ts/entities';

import { defaultDataConverter, fromEncoded, toEncoded, type LoadedDataConverter } from '../common/data_converter.js';
import { msOptionalToNumber, type Duration } from '../common/duration.js';
import { isPayload } from '../common/payload_converter.js';
import { ErrTemporalIncorrect, ErrTemporalUnsupported } from '../common/errors.js';
import type { QueryDefinition, SignalDefinition, UpdateDefinition } from '../workflow/definitions.js';
import type { Connection, Environment } from './connection.js';
import {
  clientError,
  QueryNotRegisteredError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowUpdateFailedError,
} from './errors.js';
import { historyOf, type HistoryEvent } from './history.js';
import { nextCronTime } from './schedule_spec.js';

/** Temporal's id reuse policies (for a closed workflow's id). */
export const WorkflowIdReusePolicy = Object.freeze({
  ALLOW_DUPLICATE: 'ALLOW_DUPLICATE',
  ALLOW_DUPLICATE_FAILED_ONLY: 'ALLOW_DUPLICATE_FAILED_ONLY',
  REJECT_DUPLICATE: 'REJECT_DUPLICATE',
  TERMINATE_IF_RUNNING: 'TERMINATE_IF_RUNNING',
} as const);

/** Temporal's id conflict policies (for a running workflow's id). */
export const WorkflowIdConflictPolicy = Object.freeze({
  FAIL: 'FAIL',
  USE_EXISTING: 'USE_EXISTING',
  TERMINATE_EXISTING: 'TERMINATE_EXISTING',
} as const);

/** The stage `startUpdate` waits for (Temporal's `WorkflowUpdateStage`). */
export const WorkflowUpdateStage = Object.freeze({ ADMITTED: 1, ACCEPTED: 2, COMPLETED: 3 } as const);

type WorkflowRef = string | ((...args: any[]) => any);

/** Temporal's `WorkflowStartOptions` (the fields that apply; the others are accepted and not used). */
export interface WorkflowStartOptions {
  workflowId: string;
  taskQueue?: string;
  args?: unknown[];
  memo?: Record<string, unknown>;
  workflowIdReusePolicy?: keyof typeof WorkflowIdReusePolicy;
  workflowIdConflictPolicy?: keyof typeof WorkflowIdConflictPolicy;
  /**
   * The whole chain of runs (continue-as-new, a cron workflow's runs) ends TIMED_OUT this long
   * after the start: the engine's `executionTimeoutMs`, durable; `result()` rejects with
   * `WorkflowFailedError ← TimeoutFailure` (START_TO_CLOSE).
   */
  workflowExecutionTimeout?: Duration;
  /** Each run ends the workflow TIMED_OUT this long after it started: the engine's `runTimeoutMs`. */
  workflowRunTimeout?: Duration;
  workflowTaskTimeout?: Duration;
  /**
   * A cron workflow (Temporal's forms: five fields, `CRON_TZ=`, macros, `@every 2s`): each run waits
   * for the next time, then continues as new on the same arguments under the same id.
   */
  cronSchedule?: string;
  searchAttributes?: unknown;
  retry?: unknown;
}

/** `signalWithStart`'s options. */
export interface WorkflowSignalWithStartOptions extends WorkflowStartOptions {
  signal: SignalDefinition<any> | string;
  signalArgs?: unknown[];
}

/** A workflow's status as Temporal names it. */
export interface WorkflowExecutionStatus {
  readonly code: number;
  readonly name: 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELLED' | 'TERMINATED' | 'CONTINUED_AS_NEW' | 'TIMED_OUT';
}

/** What `handle.describe()` gives (Temporal's `WorkflowExecutionDescription`, with ergo-ts's own under `raw`). */
export interface WorkflowExecutionDescription {
  readonly workflowId: string;
  readonly runId: string;
  readonly type: string;
  readonly status: WorkflowExecutionStatus;
  readonly taskQueue: string;
  readonly memo?: Record<string, unknown>;
  readonly startTime: Date;
  readonly closeTime?: Date;
  readonly historyLength: number;
  readonly raw: WorkflowDescription;
}

const STATUS_CODES = {
  RUNNING: 1,
  COMPLETED: 2,
  FAILED: 3,
  CANCELLED: 4,
  TERMINATED: 5,
  CONTINUED_AS_NEW: 6,
  TIMED_OUT: 7,
};

function statusOf(d: { status: string; cancel?: string | undefined }): WorkflowExecutionStatus {
  const name =
    d.status === 'completed'
      ? 'COMPLETED'
      : d.status === 'failed'
        ? 'FAILED'
        : d.status === 'cancelled'
          ? /^terminated/.test(d.cancel ?? '')
            ? 'TERMINATED'
            : 'CANCELLED'
          : d.status === 'timedOut'
            ? 'TIMED_OUT'
            : 'RUNNING';
  return { code: STATUS_CODES[name], name };
}

function nameOf(def: { name: string } | string, what: string): string {
  const n = typeof def === 'string' ? def : def?.name;
  if (typeof n !== 'string' || n === '') throw ErrTemporalIncorrect.with(`${what}: a definition or a name`);
  return n;
}

/** How long a call waits for a Worker's runtime on its connection. */
const RUNTIME_WAIT_MS = 10_000;

/** Temporal's `WorkflowClient`. */
export class WorkflowClient {
  constructor(
    /** @internal */ readonly connection: Connection,
    /** @internal */ readonly deadline: () => number | undefined,
    /** @internal the client's data converter, loaded */ readonly converter: () => Promise<LoadedDataConverter> = () =>
      Promise.resolve(defaultDataConverter),
  ) {}

  /** @internal */
  get env(): Environment {
    return this.connection.env;
  }

  /** @internal the runtime, within the call's deadline. */
  runtime(): Promise<Entities> {
    const d = this.deadline();
    // With a deadline the call waits for a Worker up to it; without, only for the first one.
    return this.env.runtime(d === undefined ? RUNTIME_WAIT_MS : Math.max(1, d - Date.now()), d !== undefined);
  }

  /** @internal the kind of `type`. */
  kind(type: string): AnyWorkflowKind {
    const k = this.env.kinds.get(type);
    if (k === undefined) throw ErrTemporalIncorrect.with(`no workflow ${type} on this connection's Worker`);
    return k;
  }

  /**
   * Starts a workflow (Temporal's `start`): resolves with its handle. A workflow of that id that
   * runs rejects with WorkflowExecutionAlreadyStartedError (Temporal's default, FAIL), unless
   * `workflowIdConflictPolicy` is USE_EXISTING (its handle) or TERMINATE_EXISTING.
   */
  async start(workflow: WorkflowRef, options: WorkflowStartOptions): Promise<WorkflowHandle> {
    return this.#start(workflow, options, undefined);
  }

  /** Starts a workflow and waits for its result (Temporal's `execute`). */
  async execute(workflow: WorkflowRef, options: WorkflowStartOptions): Promise<unknown> {
    return (await this.start(workflow, options)).result();
  }

  /** Signal-with-start: the signal goes to the running workflow, or is in the start of a new one. */
  async signalWithStart(workflow: WorkflowRef, options: WorkflowSignalWithStartOptions): Promise<WorkflowHandle> {
    return this.#start(workflow, options, {
      name: nameOf(options.signal, 'signalWithStart'),
      payload: options.signalArgs ?? [],
    });
  }

  async #start(
    workflow: WorkflowRef,
    options: WorkflowStartOptions,
    signal: { name: string; payload: unknown[] } | undefined,
  ): Promise<WorkflowHandle> {
    if (
      options === null ||
      typeof options !== 'object' ||
      typeof options.workflowId !== 'string' ||
      options.workflowId === ''
    )
      throw ErrTemporalIncorrect.with('start: options.workflowId is a non-empty string');
    // A cron workflow: checked now (its next time computed), its runs wait for theirs (driver.ts).
    if (options.cronSchedule !== undefined) nextCronTime(options.cronSchedule, Date.now());
    const executionTimeoutMs = msOptionalToNumber(options.workflowExecutionTimeout, 'workflowExecutionTimeout');
    const runTimeoutMs = msOptionalToNumber(options.workflowRunTimeout, 'workflowRunTimeout');
    const type = typeof workflow === 'function' ? workflow.name : workflow;
    // After the runtime: a start made before the Worker registered its workflows waits for it.
    const rt = await this.runtime();
    const kind = this.kind(type);
    const id = options.workflowId;
    const conflict = options.workflowIdConflictPolicy ?? 'FAIL';
    const reuse = options.workflowIdReusePolicy ?? 'ALLOW_DUPLICATE';
    const idReuse: IdReusePolicy =
      conflict === 'TERMINATE_EXISTING' || reuse === 'TERMINATE_IF_RUNNING'
        ? 'terminateIfRunning'
        : reuse === 'REJECT_DUPLICATE'
          ? 'never'
          : reuse === 'ALLOW_DUPLICATE_FAILED_ONLY'
            ? 'afterFailure'
            : 'always';
    const dc = await this.converter();
    const payloads = await toEncoded(dc, options.args ?? []);
    const input = {
      payloads,
      ...(options.memo === undefined ? {} : { memo: options.memo }),
      ...(options.cronSchedule === undefined ? {} : { cronSchedule: options.cronSchedule }),
    };
    let started;
    try {
      started = await rt.workflows.start(kind, id, input as never, {
        idReuse,
        ...(signal === undefined ? {} : { signal: signal as never }),
        ...(executionTimeoutMs === undefined ? {} : { executionTimeoutMs: Math.max(1, Math.ceil(executionTimeoutMs)) }),
        ...(runTimeoutMs === undefined ? {} : { runTimeoutMs: Math.max(1, Math.ceil(runTimeoutMs)) }),
      });
    } catch (err) {
      throw await clientError(err, dc, id);
    }
    this.env.types.set(id, type);
    if (!started.created && signal === undefined && conflict !== 'USE_EXISTING')
      throw new WorkflowExecutionAlreadyStartedError('Workflow execution already started', id, type);
    const d = await started.describe().catch(() => undefined);
    return new WorkflowHandle(this, id, type, d?.runId);
  }

  /** A handle on the workflow `workflowId` (its type found by asking this Worker's kinds). */
  getHandle(workflowId: string, runId?: string): WorkflowHandle {
    return new WorkflowHandle(this, workflowId, this.env.types.get(workflowId), runId);
  }

  /**
   * Lists workflows (Temporal's `list`): `query` may be `WorkflowType = 'X'` or `WorkflowId = 'X'`
   * (joined by AND); other visibility queries are refused with ERR_TEMPORAL_UNSUPPORTED.
   */
  async *list(options: { query?: string } = {}): AsyncIterable<WorkflowExecutionInfo> {
    const where: Record<string, string> = {};
    for (const part of (options.query ?? '').split(/\s+AND\s+/i).filter((s) => s.trim() !== '')) {
      const m = /^\s*(WorkflowType|WorkflowId)\s*=\s*['"]([^'"]*)['"]\s*$/.exec(part);
      if (m === null)
        throw ErrTemporalUnsupported.with(
          `list: query ${JSON.stringify(part)} (WorkflowType = '…' and WorkflowId = '…' only)`,
        );
      where[m[1]!] = m[2]!;
    }
    const rt = await this.runtime();
    let cursor: string | undefined;
    do {
      const page = await rt.workflows.list({
        ...(where.WorkflowType === undefined ? {} : { kind: where.WorkflowType }),
        ...(cursor === undefined ? {} : { cursor }),
      });
      for (const s of page.items) {
        if (where.WorkflowId !== undefined && s.id !== where.WorkflowId) continue;
        yield {
          workflowId: s.id,
          runId: '',
          type: s.workflow,
          status: statusOf(s),
          startTime: new Date(s.startedAt ?? 0),
          ...(s.endedAt === undefined ? {} : { closeTime: new Date(s.endedAt) }),
        };
      }
      cursor = page.next;
    } while (cursor !== undefined);
  }
}

/** A row of `list` (Temporal's `WorkflowExecutionInfo`, the fields the listing has). */
export interface WorkflowExecutionInfo {
  readonly workflowId: string;
  readonly runId: string;
  readonly type: string;
  readonly status: WorkflowExecutionStatus;
  readonly startTime: Date;
  readonly closeTime?: Date;
}

/** The engine's update handle, as this package uses it. */
type EngineUpdateHandle = { readonly updateId: string; result(o?: { timeoutMs?: number }): Promise<unknown> };

/** An update sent with `startUpdate` or found by `getUpdateHandle` (Temporal's `WorkflowUpdateHandle`). */
export interface WorkflowUpdateHandle<Ret> {
  /** The update's id. */
  readonly updateId: string;
  /** The workflow it was sent to. */
  readonly workflowId: string;
  /** The run, when the workflow handle named one. */
  readonly workflowRunId?: string;
  /** The update's result; WorkflowUpdateFailedError when it failed or its validator refused it. */
  result(): Promise<Ret>;
}

/** Temporal's `WorkflowHandle`. */
export class WorkflowHandle {
  readonly #c: WorkflowClient;
  #type: string | undefined;

  constructor(
    client: WorkflowClient,
    readonly workflowId: string,
    type: string | undefined,
    readonly runId?: string,
  ) {
    this.#c = client;
    this.#type = type;
  }

  /** The first run's id (this handle's run when it came from a start). */
  get firstExecutionRunId(): string {
    return this.runId ?? '';
  }

  /** The handle's client (Temporal's `handle.client`). */
  get client(): WorkflowClient {
    return this.#c;
  }

  /** ergo-ts's handle: the type is found by describing the id under each kind of the Worker. */
  async #h(): Promise<ReturnType<Entities['workflows']['handleOf']>> {
    const rt = await this.#c.runtime();
    if (this.#type === undefined) {
      for (const k of this.#c.env.kinds.keys()) {
        try {
          await rt.workflows.handleOf(k, this.workflowId).describe();
          this.#type = k;
          this.#c.env.types.set(this.workflowId, k);
          break;
        } catch (err) {
          if ((err as { code?: unknown }).code !== 'ERR_WORKFLOW_NOT_FOUND')
            throw await clientError(err, await this.#c.converter(), this.workflowId);
        }
      }
      if (this.#type === undefined)
        throw await clientError(
          Object.assign(new Error(`workflow ${this.workflowId} not found`), { code: 'ERR_WORKFLOW_NOT_FOUND' }),
          await this.#c.converter(),
          this.workflowId,
        );
    }
    return rt.workflows.handleOf(this.#type, this.workflowId);
  }

  async #do<T>(f: (h: ReturnType<Entities['workflows']['handleOf']>) => Promise<T>): Promise<T> {
    const h = await this.#h();
    try {
      return await f(h);
    } catch (err) {
      throw await clientError(err, await this.#c.converter(), this.workflowId, this.runId);
    }
  }

  #timeout(): { timeout?: number } {
    const d = this.#c.deadline();
    return d === undefined ? {} : { timeout: Math.max(1, d - Date.now()) };
  }

  /** The workflow's result (the last run's, after continue-as-new); WorkflowFailedError when it failed, was cancelled or terminated. */
  async result(): Promise<any> {
    const out = await this.#do((h) => h.result(this.#timeout()));
    // The body's result is a payload (kept by its Worker's data converter); a bare value is a record of before.
    return isPayload(out) ? (await fromEncoded(await this.#c.converter(), [out]))[0] : out;
  }

  /** Sends a signal with its arguments. */
  async signal<Args extends any[]>(def: SignalDefinition<Args> | string, ...args: Args): Promise<void> {
    const name = nameOf(def, 'signal');
    await this.#do((h) => h.signal(name, args as never, this.#timeout()));
  }

  /** Asks a query with its arguments; QueryNotRegisteredError when the workflow has no handler for it. */
  async query<Ret, Args extends any[] = []>(def: QueryDefinition<Ret, Args> | string, ...args: Args): Promise<Ret> {
    const name = nameOf(def, 'query');
    try {
      return (await this.#do((h) => h.query(name, undefined, { ...this.#timeout(), args }))) as Ret;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 'ERR_WORKFLOW_INCORRECT' && /query/.test((err as Error).message))
        throw new QueryNotRegisteredError((err as Error).message, 'NOT_FOUND');
      throw err;
    }
  }

  /** Sends an update and waits for its result (Temporal's `executeUpdate`); WorkflowUpdateFailedError when failed or refused. */
  async executeUpdate<Ret, Args extends any[]>(
    def: UpdateDefinition<Ret, Args> | string,
    options: { args?: Args; updateId?: string } = {},
  ): Promise<Ret> {
    const name = nameOf(def, 'executeUpdate');
    return (await this.#do((h) =>
      h.update(name, (options.args ?? []) as never, {
        ...(options.updateId === undefined ? {} : { updateId: options.updateId }),
        ...(this.#c.deadline() === undefined ? {} : { timeoutMs: Math.max(1, this.#c.deadline()! - Date.now()) }),
      }),
    )) as Ret;
  }

  /**
   * Sends an update and returns once it reached `waitForStage` (Temporal's `startUpdate`): ACCEPTED
   * — its checks and the handler's validator passed and it is kept, so it is answered even across a
   * crash — or COMPLETED; ADMITTED is refused (ERR_TEMPORAL_UNSUPPORTED: there is no server stage
   * before acceptance). A validator's refusal reaches `result()` as WorkflowUpdateFailedError.
   */
  async startUpdate<Ret, Args extends any[]>(
    def: UpdateDefinition<Ret, Args> | string,
    options: { args?: Args; updateId?: string; waitForStage: number },
  ): Promise<WorkflowUpdateHandle<Ret>> {
    const name = nameOf(def, 'startUpdate');
    if (options === null || typeof options !== 'object')
      throw ErrTemporalIncorrect.with('startUpdate: options { waitForStage, args? } are required');
    const stage =
      options.waitForStage === WorkflowUpdateStage.ACCEPTED
        ? 'ACCEPTED'
        : options.waitForStage === WorkflowUpdateStage.COMPLETED
          ? 'COMPLETED'
          : undefined;
    if (stage === undefined)
      throw options.waitForStage === WorkflowUpdateStage.ADMITTED
        ? ErrTemporalUnsupported.with('startUpdate: WorkflowUpdateStage.ADMITTED — wait for ACCEPTED or COMPLETED')
        : ErrTemporalIncorrect.with('startUpdate: waitForStage is WorkflowUpdateStage.ACCEPTED or COMPLETED');
    try {
      const u = await this.#do((h) =>
        h.startUpdate(name, (options.args ?? []) as never, {
          waitForStage: stage,
          ...(options.updateId === undefined ? {} : { updateId: options.updateId }),
          ...this.#timeoutMs(),
        }),
      );
      return this.#updateHandle<Ret>(u as EngineUpdateHandle);
    } catch (err) {
      // Temporal accepts first and fails the result; the engine refuses a validator's "no" at once.
      if (!(err instanceof WorkflowUpdateFailedError)) throw err;
      return this.#updateHandle<Ret>(undefined, options.updateId ?? '', err);
    }
  }

  /** A handle on the update accepted under `updateId` (Temporal's `getUpdateHandle`); nothing is sent. */
  getUpdateHandle<Ret>(updateId: string, def?: UpdateDefinition<Ret, any> | string): WorkflowUpdateHandle<Ret> {
    const name = def === undefined ? undefined : nameOf(def, 'getUpdateHandle');
    const at = this.#h().then((h) => h.getUpdateHandle(updateId, name as never) as EngineUpdateHandle);
    at.catch(() => undefined); // observed by result()
    return {
      updateId,
      workflowId: this.workflowId,
      ...(this.runId === undefined ? {} : { workflowRunId: this.runId }),
      result: async () => {
        const u = await at.catch(async (err: unknown) => {
          throw await clientError(err, await this.#c.converter(), this.workflowId, this.runId);
        });
        return (await this.#do(() => u.result(this.#timeoutMs()))) as Ret;
      },
    };
  }

  #updateHandle<Ret>(u: EngineUpdateHandle | undefined, id = '', failed?: Error): WorkflowUpdateHandle<Ret> {
    return {
      updateId: u?.updateId ?? id,
      workflowId: this.workflowId,
      ...(this.runId === undefined ? {} : { workflowRunId: this.runId }),
      result: async () => {
        if (u === undefined) throw failed;
        return (await this.#do(() => u.result(this.#timeoutMs()))) as Ret;
      },
    };
  }

  #timeoutMs(): { timeoutMs?: number } {
    const d = this.#c.deadline();
    return d === undefined ? {} : { timeoutMs: Math.max(1, d - Date.now()) };
  }

  /** Asks the workflow to cancel. */
  async cancel(): Promise<void> {
    await this.#do((h) => h.cancel('cancelled by a client', this.#timeout()));
  }

  /** Terminates the workflow (no compensation runs). */
  async terminate(reason = 'terminated by a client'): Promise<void> {
    await this.#do((h) => h.terminate(reason, this.#timeout()));
  }

  /**
   * The instance's description from its owner, or — once the Worker on this connection was shut
   * down and none runs — from the store, as Temporal's server answers with no worker running.
   */
  async #describe(): Promise<WorkflowDescription> {
    const rt = this.#c.env.storeReader();
    if (rt === undefined) return this.#do((h) => h.describe(this.#timeout()));
    const types = this.#type !== undefined ? [this.#type] : [...this.#c.env.kinds.keys()];
    let last: unknown;
    for (const k of types) {
      try {
        const d = await rt.workflows.describeStored(k, this.workflowId);
        this.#type = k;
        return d;
      } catch (err) {
        last = err;
        if ((err as { code?: unknown }).code !== 'ERR_WORKFLOW_NOT_FOUND') break;
      }
    }
    throw await clientError(
      last ?? Object.assign(new Error(`workflow ${this.workflowId} not found`), { code: 'ERR_WORKFLOW_NOT_FOUND' }),
      await this.#c.converter(),
      this.workflowId,
      this.runId,
    );
  }

  /** The workflow's description (from the store when no Worker runs: {@link fetchHistory}). */
  async describe(): Promise<WorkflowExecutionDescription> {
    const d = await this.#describe();
    const input = d.input as { memo?: Record<string, unknown> } | undefined;
    return {
      workflowId: d.id,
      runId: d.runId ?? '',
      type: d.workflow,
      status: statusOf(d),
      taskQueue: 'default',
      ...(input?.memo === undefined ? {} : { memo: input.memo }),
      startTime: new Date(d.startedAt ?? 0),
      ...(d.endedAt === undefined ? {} : { closeTime: new Date(d.endedAt) }),
      historyLength: d.history.length,
      raw: d,
    };
  }

  /**
   * The workflow's journal as Temporal-like history events (history.ts says what maps to what).
   * Answered while no Worker runs on the connection too (after its shutdown): read from the store.
   */
  async fetchHistory(): Promise<{ events: HistoryEvent[] }> {
    const d = await this.#describe();
    return { events: historyOf(d, await this.#c.converter()) };
  }
}
