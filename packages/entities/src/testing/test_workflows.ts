// Workflows under the entities test kit: `kit.workflows` starts instances and drives them with
// the test clock. A workflow's sleeps, retry backoffs and signal deadlines run on the runtime's
// clock (the kit's TestClock), and its wake-up reminder is a durable reminder on that clock too,
// so time moves only when the test moves it. `runUntilIdle()` waits until every instance hosted by
// the kit only waits (for time, a signal or a child); `advanceUntilDone(wf)` then skips time to
// the next wake-up, again and again, until the instance ended: a workflow that sleeps three days
// completes in milliseconds, through the same code production runs (its timers, its passivation
// and its resume from the journal by the wake-up reminder).

import { ErrNameUnknown, ErrProcessUnknown, ErrTimeout, ProcessID, defineError, type Atom, type Infer } from 'ergo-ts';

import { hostName } from '../contract/ids.js';
import { ErrEntityIncorrect } from '../contract/errors.js';
import type { QueryArgsOptions, ResultOptions, WorkflowHandle } from '../workflow/client/client.js';
import type { StartUpdateOptions, UpdateOptions, WorkflowUpdateHandle } from '../workflow/client/update_request.js';
import type {
  AnyWorkflowKind,
  UpdateInput,
  UpdateOutput,
  WorkflowUpdates,
  WorkflowInput,
  WorkflowOutput,
  WorkflowQueries,
  WorkflowSignals,
} from '../workflow/model/define.js';
import { isWorkflowKind } from '../workflow/instance/define_workflow.js';
import { WORKFLOW_PROBE, type WorkflowProbe } from '../workflow/instance/probe.js';
import { ErrWorkflowDiverged, revivedError } from '../workflow/model/errors.js';
import { WAKE, type WorkflowDescription, type WorkflowRecord } from '../workflow/model/record.js';
import type { TestKitContext } from './test_entity.js';
import { TestEntity } from './test_entity.js';

/**
 * A workflow instance waits for something moving the test clock does not bring (a signal without
 * a timeout, an outside event), or would need the clock moved past `maxMs`: the message names what
 * it waits for.
 */
export const ErrWorkflowStuck = defineError('ERR_WORKFLOW_TEST_STUCK', 'workflow test: the instance does not finish');

/** Options of {@link TestWorkflows.advanceUntilDone}. */
export interface AdvanceOptions {
  /** The most test-clock time to skip in all, in ms (default 400 days): past it, ERR_WORKFLOW_TEST_STUCK. */
  readonly maxMs?: number;
}

/** What {@link TestWorkflows.runUntilIdle} found: each active instance, parked. */
export interface IdleInstance {
  /** The workflow's name. */
  readonly workflow: string;
  /** The instance's workflow id. */
  readonly id: string;
  /** Its status as its activation holds it. */
  readonly status: WorkflowRecord['status'];
  /** When the test clock next ends one of its waits (undefined: it waits for a signal or a child only). */
  readonly wakeAt: number | undefined;
  /** The signals its body waits for. */
  readonly signals: readonly string[];
  /** The updates its body waits for (`ctx.update`'s names, joined by ' | ' for one of several). */
  readonly updates: readonly string[];
}

/** Defaults of {@link AdvanceOptions}. */
export const ADVANCE_DEFAULTS = Object.freeze({ maxMs: 400 * 86_400_000 });

/** @internal What the workflow part of the kit uses of the kit (test_entities.ts provides it). */
export interface WorkflowKitContext extends TestKitContext {
  readonly kinds: readonly unknown[];
  /** The kit's `fireDueReminders`. */
  fireDueReminders(): Promise<unknown>;
}

/** An active instance and its probe. */
interface Probed {
  readonly workflow: string;
  readonly id: string;
  readonly probe: WorkflowProbe;
}

const immediate = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
/** How long (real time) an instance must look stuck, unchanged, before advanceUntilDone says so. */
const STUCK_CONFIRM_MS = 200;

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

/**
 * One workflow instance under test (from `kit.workflows.start` or `.handle`): the production
 * {@link WorkflowHandle}'s requests (on the kit's current runtime, so it survives `kit.restart()`),
 * what the store holds for it, and the kit's time skipping for it. Cheap: holds nothing.
 */
export class TestWorkflow<K extends AnyWorkflowKind> {
  readonly #kit: TestWorkflows;
  readonly #ctx: WorkflowKitContext;

  /** @internal use `kit.workflows.start` or `kit.workflows.handle`. */
  constructor(
    kit: TestWorkflows,
    ctx: WorkflowKitContext,
    /** The workflow kind. */
    readonly kind: K,
    /** The instance's workflow id. */
    readonly id: string,
  ) {
    this.#kit = kit;
    this.#ctx = ctx;
  }

  /** The production handle on the kit's current runtime (`entities.workflows.handle(kind, id)`). */
  get handle(): WorkflowHandle<K> {
    return this.#ctx.entities.workflows.handle(this.kind, this.id);
  }

  /** The instance's entity, as `kit.entity(kind, id)` gives it: `restart()`, `passivate()`, `reminders()`... */
  entity(): TestEntity<any, WorkflowRecord> {
    return new TestEntity(this.#ctx, this.kind, this.id) as TestEntity<any, WorkflowRecord>;
  }

  /** What the store holds for the instance (its status, input, journal...), or undefined if never started. */
  async record(): Promise<WorkflowRecord | undefined> {
    const s = await this.#ctx.store.load({ kind: this.kind.name, key: this.id });
    const rec = s.state as WorkflowRecord | undefined;
    return rec?.status === undefined ? undefined : rec;
  }

  /** `handle.result()`: waits for the outcome (it does not move time: see {@link advanceUntilDone}). */
  result(options?: ResultOptions): Promise<WorkflowOutput<K>> {
    return this.handle.result(options);
  }

  /** `handle.signal(...)`: resolves once the signal is stored ('accepted', or 'duplicate' for an id seen before). */
  signal<N extends keyof WorkflowSignals<K> & string>(
    name: N,
    payload: Infer<WorkflowSignals<K>[N]>,
    options?: { readonly id?: string; readonly timeout?: number },
  ): Promise<'accepted' | 'duplicate'> {
    return this.handle.signal(name, payload, options);
  }

  /** `handle.query(...)`: the query's reply from the running (or ended, replayed) instance. */
  query<N extends keyof WorkflowQueries<K> & string>(
    name: N,
    arg?: unknown,
    options?: { readonly timeout?: number },
  ): Promise<Infer<WorkflowQueries<K>[N]>>;
  /** `handle.query(name, undefined, { args })`: a query with several arguments (see {@link WorkflowHandle.query}). */
  query<N extends keyof WorkflowQueries<K> & string>(
    name: N,
    arg: undefined,
    options: QueryArgsOptions,
  ): Promise<Infer<WorkflowQueries<K>[N]>>;
  query<N extends keyof WorkflowQueries<K> & string>(
    name: N,
    arg?: unknown,
    options?: { readonly timeout?: number; readonly args?: readonly unknown[] },
  ): Promise<Infer<WorkflowQueries<K>[N]>> {
    const args = options?.args;
    return args === undefined
      ? this.handle.query(name, arg, options)
      : this.handle.query(name, arg as undefined, { ...options, args });
  }

  /** `handle.update(...)`: the body's answer to the update (see {@link WorkflowHandle.update}). */
  update<N extends keyof WorkflowUpdates<K> & string>(
    name: N,
    input: UpdateInput<K, N>,
    options?: UpdateOptions,
  ): Promise<UpdateOutput<K, N>> {
    return this.handle.update(name, input, options);
  }

  /** `handle.startUpdate(...)`: the update kept (its ACCEPTED stage by default), and its handle. */
  startUpdate<N extends keyof WorkflowUpdates<K> & string>(
    name: N,
    input: UpdateInput<K, N>,
    options?: StartUpdateOptions,
  ): Promise<WorkflowUpdateHandle<UpdateOutput<K, N>>> {
    return this.handle.startUpdate(name, input, options);
  }

  /** `handle.cancel(reason)`. */
  cancel(reason?: string): Promise<'cancelled'> {
    return this.handle.cancel(reason);
  }

  /** `handle.describe()`: status, history (the journal), pending timers and signals. */
  describe(): Promise<WorkflowDescription> {
    return this.handle.describe();
  }

  /** `handle.resume()`: a halted (diverged) or failed instance runs again. */
  resume(): Promise<'resumed' | 'running'> {
    return this.handle.resume();
  }

  /** `handle.reset({ toSeq })`: the instance runs again from operation `toSeq` on the current code. */
  reset(options: { readonly toSeq: number; readonly reason?: string }): Promise<'reset'> {
    return this.handle.reset(options);
  }

  /** Skips test-clock time until this instance ended (see {@link TestWorkflows.advanceUntilDone}). */
  advanceUntilDone(options?: AdvanceOptions): Promise<WorkflowOutput<K>> {
    return this.#kit.advanceUntilDone(this, options);
  }
}

/**
 * The workflows part of the entities test kit (`kit.workflows`): starts instances of the kit's
 * workflow kinds and skips the test clock for them. Every method goes through the real runtime.
 *
 * Lifecycle: as the kit's; after `kit.stop()` every method rejects.
 */
export class TestWorkflows {
  readonly #ctx: WorkflowKitContext;

  /** @internal the kit makes it (`kit.workflows`). */
  constructor(ctx: WorkflowKitContext) {
    this.#ctx = ctx;
  }

  /**
   * Starts an instance (`entities.workflows.start`): resolves once it is stored, with its test
   * handle (`created` false when the id existed: nothing was started). Rejects as `start` does
   * (ERR_WORKFLOW_INCORRECT for a refused input...), and with ERR_ENTITY_INCORRECT for a kind the
   * kit was not started with.
   */
  async start<K extends AnyWorkflowKind>(
    kind: K,
    id: string,
    input: WorkflowInput<K>,
  ): Promise<TestWorkflow<K> & { readonly created: boolean }> {
    const wf = this.handle(kind, id);
    const h = await this.#ctx.entities.workflows.start(kind, id, input);
    return Object.assign(wf, { created: h.created });
  }

  /** A test handle on the instance `id` of `kind` (nothing is checked until it is used). */
  handle<K extends AnyWorkflowKind>(kind: K, id: string): TestWorkflow<K> {
    if (!isWorkflowKind(kind) || !this.#ctx.kinds.includes(kind))
      throw ErrEntityIncorrect.with(`${String(kind?.name)} is not a workflow kind this kit was started with`);
    return new TestWorkflow(this, this.#ctx, kind, id);
  }

  /**
   * Resolves once every workflow instance active on the kit's node only waits: for the test clock
   * (a sleep, a retry's backoff, a signal's deadline), for a signal, or for a child, with nothing
   * left to save; or it ended. Step functions run meanwhile (real time: they may do I/O). Resolves
   * with the instances and what each waits for. Rejects with ERR_TIMEOUT after the kit's
   * `timeoutMs` of real time, naming the instances still running (a step that never returns).
   */
  async runUntilIdle(): Promise<IdleInstance[]> {
    return (await this.#idle()).map(({ workflow, id, probe }) => ({
      workflow,
      id,
      status: probe.status,
      wakeAt: probe.wakeAt,
      signals: probe.signals,
      updates: probe.updates,
    }));
  }

  async #idle(): Promise<Probed[]> {
    const bound = Date.now() + this.#ctx.timeoutMs;
    let last = '';
    for (let round = 0; ; round++) {
      const probes = await this.#probeAll();
      const busy = probes.filter((p) => !p.probe.parked);
      const shape = JSON.stringify(probes);
      // Parked twice in a row, a macrotask apart (so no continuation was queued): idle.
      if (busy.length === 0 && shape === last) return probes;
      last = busy.length === 0 ? shape : '';
      if (Date.now() > bound)
        throw ErrTimeout.with(
          `test kit: workflows still running after ${this.#ctx.timeoutMs} ms: ${busy.map((p) => `${p.workflow}/${p.id}`).join(', ')}`,
        );
      await (round < 20 ? immediate() : pause(Math.min(10, round - 19)));
    }
  }

  /**
   * Skips test-clock time until `wf` ended, and resolves with its output (or rejects as
   * `result()` does: ERR_WORKFLOW_FAILED, ERR_WORKFLOW_CANCELLED). Each round waits for
   * {@link runUntilIdle}, moves the clock to the earliest wake-up among the active instances' waits
   * and the store's reminders (a passivated instance is resumed by its wake-up reminder), and fires
   * the reminders then due. Rejects with ERR_WORKFLOW_DIVERGED when the instance halted on a
   * diverged replay, and with ERR_WORKFLOW_TEST_STUCK when it waits for what time does not bring
   * (a signal without a timeout: the message names it) or would need more than `maxMs` skipped.
   */
  async advanceUntilDone<K extends AnyWorkflowKind>(
    wf: TestWorkflow<K>,
    options: AdvanceOptions = {},
  ): Promise<WorkflowOutput<K>> {
    const maxMs = options.maxMs ?? ADVANCE_DEFAULTS.maxMs;
    const clock = this.#ctx.clock;
    const limit = clock.now() + maxMs;
    const shards = Array.from({ length: this.#ctx.entities.stats().shards }, (_, i) => i);
    let stalls = 0;
    // When the instance first looked stuck, and what its record was then (see below).
    let stuck: { since: number; mark: string } | undefined;
    for (;;) {
      const idle = await this.#idle();
      const rec = await wf.record();
      if (rec === undefined) return wf.result(); // never started: result() rejects with ERR_WORKFLOW_NOT_FOUND
      if (rec.status !== 'running') return wf.result();
      if (rec.blocked !== undefined) {
        const cause = revivedError(rec.blocked);
        throw ErrWorkflowDiverged.with(`${wf.kind.name}/${wf.id} halted: ${rec.blocked.message}`, cause);
      }
      const now = clock.now();
      let next = await this.#nextReminder(shards, idle);
      for (const i of idle)
        if (i.probe.wakeAt !== undefined && (next === undefined || i.probe.wakeAt < next)) next = i.probe.wakeAt;
      if (next === undefined) {
        // Stuck only when it stays so: work no probe sees (a child's start or end on its way
        // between activations) can read as idle for a moment on a loaded machine.
        const mark = `${rec.journal.length}/${idle.map((i) => `${i.workflow}/${i.id}:${i.probe.seq}`).join(',')}`;
        if (stuck === undefined || stuck.mark !== mark) stuck = { since: Date.now(), mark };
        if (Date.now() - stuck.since < STUCK_CONFIRM_MS) {
          await pause(5);
          continue;
        }
        const mine = idle.find((i) => i.workflow === wf.kind.name && i.id === wf.id)?.probe;
        const what = [
          ...(mine?.signals ?? []).map((n) => `signal ${n}`),
          ...(mine?.updates ?? []).map((n) => `update ${n}`),
          ...(mine?.selects ?? []).map((n) => `the first of ${n}`),
          ...(mine?.conditions ?? []).map((n) =>
            n === '' ? 'a ctx.condition() to hold (a handled message)' : 'ctx.allHandlersFinished()',
          ),
        ];
        const waits = what.length === 0 ? 'nothing time brings' : what.join(', ');
        throw ErrWorkflowStuck.with(`${wf.kind.name}/${wf.id} waits for ${waits}: no timer is left to skip to`);
      }
      if (next > limit)
        throw ErrWorkflowStuck.with(
          `${wf.kind.name}/${wf.id}: its next wake-up is ${next - now} ms away, past maxMs ${maxMs}`,
        );
      // A wake-up already due that fires and changes nothing, round after round, would loop forever.
      stalls = next <= now ? stalls + 1 : 0;
      if (stalls > 1000)
        throw ErrWorkflowStuck.with(`${wf.kind.name}/${wf.id}: a wake-up due at ${next} fires without progress`);
      stuck = undefined;
      clock.advance(Math.max(0, next - now));
      await this.#ctx.fireDueReminders();
    }
  }

  /**
   * The next due time among the store's reminders, passing over the wake-ups of instances whose
   * body runs here and only waits: those resume a body whose node died (a parent waiting for its
   * child renews its own every `resumeAfterMs`), and skipping to each would move time a second at a time.
   */
  async #nextReminder(shards: number[], idle: readonly Probed[]): Promise<number | undefined> {
    const waiting = new Set(idle.filter((i) => i.probe.seq >= 0).map((i) => `${i.workflow}/${i.id}`));
    for (let after = -Infinity; ;) {
      const at = await this.#ctx.store.nextReminderDue(shards, after);
      if (at === undefined) return undefined;
      const due = await this.#ctx.store.dueReminders(shards, at, 1_000_000);
      if (due.some((r) => r.dueAt === at && !(r.name === WAKE && waiting.has(`${r.kind}/${r.key}`)))) return at;
      after = at;
    }
  }

  /** The probe of every active workflow instance of the kit's node (instances that ended meanwhile are skipped). */
  async #probeAll(): Promise<Probed[]> {
    const names = new Set(this.#ctx.kinds.filter(isWorkflowKind).map((k) => k.name));
    const active = this.#ctx.entities.active().filter((a) => names.has(a.kind));
    const out: Probed[] = [];
    for (const a of active) {
      try {
        const probe = (await this.#ctx.node.call(
          new ProcessID(hostName(a.kind, a.key) as Atom, this.#ctx.node.name as Atom),
          WORKFLOW_PROBE,
          { timeout: this.#ctx.timeoutMs },
        )) as WorkflowProbe;
        out.push({ workflow: a.kind, id: a.key, probe });
      } catch (err) {
        if (!ErrNameUnknown.is(err) && !ErrProcessUnknown.is(err)) throw err;
      }
    }
    return out;
  }
}
