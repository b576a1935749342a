// The workflow engine: each instance is an entity (its key the workflow id) whose state is its record (record.ts). Its
// body runs beside the entity's mailbox, not inside a handler, so signals, queries, cancels and result waits are
// answered while a step runs. Every state change still happens in a handler: the body's journal entries are queued and
// a local COMMIT message makes the entity save them (several at once when they came together), in order, with the
// activation's fencing token; the body goes on once its entry is saved. A single durable reminder, `wake`, says when
// the instance must be looked at if nothing runs it: soon after the last write while a step runs (so a member that
// died mid-step has its instances resumed on the new owner; rewritten only once less than half of resumeAfterMs is
// left, not with every step), at the earliest sleep or signal deadline while the body only waits, and none once it
// ended. Whoever owns the key when it fires replays the body from its journal (commit_queue.ts: the queue, the wake).

import {
  clockOf,
  deferReply,
  ENTITY_ACTIVATED,
  ENTITY_BUSY,
  ENTITY_ENDED,
  ENTITY_HAND_OFF,
  ENTITY_REMINDER_STANDBY,
  ENTITY_STORE_WENT_BACK,
  leaseConfirmed,
  leaseFreshNow,
  refuseCall,
} from '../../kinds/entity.js';
import { ErrStoreWentBack } from '../../contract/errors.js';
import { quoted } from '../../contract/thrown.js';
import { ReminderEntity, stageCancelOf } from '../../kinds/reminders.js';
import type { ReminderFire } from '../../kinds/reminder_types.js';
import { WorkflowClient } from '../client/client.js';
import { checkSignalId, declared, valueIssue } from '../model/bounds.js';
import { Run, RunEnded, type RunHost } from '../body/context.js';
import { confirmedOrEnded } from '../model/run_host.js';
import { SignalWaits } from './signal_waits.js';
import { SelectWaits } from './select_waits.js';
import { COMMIT, CommitQueue } from './commit_queue.js';
import type { WorkflowSpec } from '../model/define.js';
import { runBody } from '../body/determinism.js';
import {
  ErrWorkflowClosed,
  ErrWorkflowDiverged,
  ErrWorkflowIncorrect,
  ErrWorkflowNotFound,
  storedError,
} from '../model/errors.js';
import {
  WAKE,
  type WAKE_REMINDERS,
  type WorkflowProtocol,
  emptyRecord,
  isWorkflowRequest,
  type ResultReply,
  type WorkflowRecord,
  type WorkflowRequest,
  withEntry,
} from '../model/record.js';
import { probeOf, WORKFLOW_PROBE, type WorkflowProbe } from './probe.js';
import { endOf, outcomeOf, signalRefusal, storableRefusal } from '../model/outcome.js';
import { announceEnded, type EndingHost, type Notifier } from './watchers.js';
import {
  cancelRequest,
  describeRequest,
  resetRequest,
  resumeRequest,
  terminateRequest,
  timeOutRequest,
  watchRequestOf,
  type OperatorHost,
} from './operator_requests.js';
import { figuresOf } from '../model/metrics.js';
import { checkNothingInFlight, continuation } from '../model/continue_as_new.js';
import { UpdateDesk } from './updates.js';
import { boundQuery, queryBudgetMs } from '../client/query_bound.js';
import {
  checkIdReuse,
  checkStartSignal,
  reusable,
  type IdReusePolicy,
  type StartSignal,
} from '../client/start_policy.js';
import { repeatedSignal, repeatedStart, startedRecord, withSignalIds } from './start_request.js';
import { timeoutDue, timeoutsOf } from '../model/timeouts.js';

/** The longest a `result` call waits before answering `pending` (the client asks again). */
const MAX_RESULT_WAIT_MS = 30_000;

/** @internal The entity class of every workflow kind (made per kind by `defineWorkflow`, define_workflow.ts). */
export abstract class WorkflowEntity extends ReminderEntity<
  typeof WorkflowProtocol,
  WorkflowRecord,
  typeof WAKE_REMINDERS
> {
  abstract readonly spec: WorkflowSpec;
  /** The body running for this instance in this activation. */
  #run: Run | undefined;
  /** The run that ended the instance here (kept for queries). */
  #finished: Run | undefined;
  /** A replay diverged in this activation: not started again until the next activation or a resume. */
  #halted = false;
  /** The body started on a halted record (a resume of it answers 'resumed'). */
  #recovering: Run | undefined;
  #ended = false;
  /**
   * The activation is ready (its process is in the node's table): a body starts only then. A
   * reminder fire kept in the inbox is handled during the activation's init, where a body's
   * COMMIT could not reach the process (it threw ERR_PROCESS_UNKNOWN into the body).
   */
  #activated = false;
  /**
   * The body ended and its outcome is being saved: the record still says running until then, and
   * a request meanwhile (a `result`, a query) must not start the body again.
   */
  #closing = false;
  /** Operations running outside a durable wait. */
  #busyOps = 0;
  readonly #deadlines = new Map<number, number>();
  readonly #signals = new SignalWaits({
    clock: () => this.#clock,
    deadlines: this.#deadlines,
    commit: (mutate, run) => this.#saving.commit(mutate, run as Run | undefined),
    ended: () => this.#ended,
  });
  readonly #selects = new SelectWaits({
    kept: () => this.#run?.messageKept(),
    clock: () => this.#clock,
    deadlines: this.#deadlines,
    commit: (mutate, run) => this.#saving.commit(mutate, run as Run | undefined),
    ended: () => this.#ended,
  });
  /** Saves the record: the queued journal writes, the `wake` staged with each (commit_queue.ts). */
  readonly #saving: CommitQueue = new CommitQueue({
    entity: this,
    spec: () => this.spec,
    deadlines: this.#deadlines,
    clock: () => this.#clock,
    run: () => this.#run,
    halted: () => this.#halted,
    ended: () => this.#ended,
    busyOps: () => this.#busyOps,
    bodyWaits: () => this.#bodyWaits(),
    notifier: () => this.#notifier(),
  });
  readonly #resultWaiters = new Set<(r: ResultReply) => void>();
  #client: WorkflowClient | undefined;
  #updates: UpdateDesk | undefined;

  get #clock() {
    return clockOf(this);
  }

  #workflows(): WorkflowClient {
    this.#client ??= new WorkflowClient(this.entities);
    return this.#client;
  }

  /** A record retention deleted (retention.ts: its row keeps its version, not its value) reads as never started. */
  #purged(): void {
    if (this.state === undefined) this.state = emptyRecord();
  }

  override handleMessage(message: unknown): Promise<void> | undefined {
    this.#purged();
    if (message === COMMIT) return this.#saving.flush();
    this.log.warning('workflow %s/%s: unexpected message dropped', this.spec.name, this.key);
    return undefined;
  }

  override handleCall(request: unknown): unknown {
    this.#purged();
    // A call is served from the mailbox (never during the init): the process is in the node's table.
    this.#activated = true;
    if (request === WORKFLOW_PROBE) return this.#probe();
    if (!isWorkflowRequest(request))
      throw refuseCall(ErrWorkflowIncorrect.with(`workflow ${this.spec.name}: not a workflow request`));
    const r = request as WorkflowRequest;
    switch (r['~wf']) {
      case 'start':
        return this.#start(r);
      case 'result':
        return this.#result(r.waitMs);
      case 'signal':
        return this.#signal(r.name, r.payload, r.id, r.rid);
      case 'query':
        return this.#query(r.name, Array.isArray(r.args) ? r.args : [r.arg], r.waitMs);
      case 'update':
        return this.#desk().request(r.name, r.input, r.id, r.waitMs, r.stage, r.known);
      case 'cancel':
        return cancelRequest(this.#operator(), r.reason);
      case 'describe':
        return describeRequest(this.#operator());
      case 'resume':
        return resumeRequest(this.#operator());
      case 'reset':
        return resetRequest(this.#operator(), r.toSeq, r.reason, r.id);
      case 'terminate':
        return terminateRequest(this.#operator(), r.reason);
      case 'watch':
      case 'unwatch':
        return watchRequestOf(this.#operator(), r.pid, r.mode, r['~wf'] === 'watch');
      default:
        throw refuseCall(ErrWorkflowIncorrect.with(`workflow ${this.spec.name}: unknown request`));
    }
  }

  override async handleReminder(_fire: ReminderFire<typeof WAKE_REMINDERS>): Promise<void> {
    this.#purged();
    // Saved by the host with the fire's id: the wake-up staged here is written in that transaction.
    if (this.state.status !== 'running') {
      stageCancelOf(this, WAKE);
      return;
    }
    // Past its execution or run timeout (timeouts.ts): it ends timed out, here, once.
    const due = timeoutDue(this.state, this.#clock.now());
    if (due !== undefined) {
      this.#saving.wakeFired();
      await timeOutRequest(this.#operator(), due);
      return;
    }
    // The fire took the stored wake: the next one is written again (the host's save of this
    // handler is not seen here, so nothing staged now counts as saved).
    this.#saving.wakeFired();
    this.#ensureRunning();
    const now = this.#clock.now();
    this.#signals.dueBy(now);
    this.#selects.dueBy(now);
    // Not activated yet (handled in the init): the body starts once it is; the wake kept meanwhile.
    await this.#saving.stageWake(!this.#activated);
  }

  /**
   * Whether the wake due now only stands by for this activation's end: the body runs here, and
   * no deadline (a sleep's, a wait's, the timeout's) is due, so a fire would only write the wake
   * again. Left due, it resumes the instance wherever the key is activated next (kinds/entity.ts).
   */
  [ENTITY_REMINDER_STANDBY](name: string): boolean {
    const run = this.#run;
    if (name !== WAKE || !this.#activated || this.#ended || this.#halted || this.#closing) return false;
    if (run === undefined || run.ended || this.state?.status !== 'running') return false;
    const now = this.#clock.now();
    if (timeoutDue(this.state, now) !== undefined) return false;
    for (const d of this.#deadlines.values()) if (d <= now) return false;
    return true;
  }

  [ENTITY_ACTIVATED](): void {
    this.#purged();
    // A running instance resumes as soon as its key is active here (a member that took over a dead
    // one's keys warms them ahead of their wake-ups: their sleeps then end on this timer, on time).
    this.#activated = true;
    this.#ensureRunning();
  }

  /**
   * The store went back in time under this instance (runtime/store_watermark.ts): it halts, the error recorded as
   * `blocked`, and no body runs until an operator's resume (or reset); a record the store lost entirely is refused.
   */
  [ENTITY_STORE_WENT_BACK](err: Error): boolean {
    const rec = this.state;
    if (rec.status === undefined) return false;
    this.#halted = true;
    if (rec.status === 'running') {
      this.state = { ...rec, blocked: storedError(err) };
      figuresOf(this.entities, this.spec.name).blockedTotal++;
    }
    return true;
  }

  [ENTITY_BUSY](): boolean {
    const run = this.#run;
    // A caller waiting for the result keeps it (its deferred reply would be lost with the activation).
    if (this.#resultWaiters.size > 0 || (this.#updates?.callers ?? 0) > 0) return true;
    if (run === undefined || run.ended) return this.#saving.queued > 0;
    return this.#busyOps > 0 || this.#saving.queued > 0 || (this.#deadlines.size === 0 && this.#bodyWaits() === 0);
  }

  [ENTITY_HAND_OFF](): boolean {
    return (this.#run?.ended === false && this.#run.holdForHandOff()) || this.#saving.queued > 0;
  }

  [ENTITY_ENDED](reason: Error): void {
    this.#ended = true;
    this.#run?.end(reason.message);
    this.#run = undefined;
    const ended = new RunEnded(reason.message);
    this.#signals.clear();
    this.#selects.clear();
    this.#saving.rejectAll(ended);
    for (const f of [...this.#resultWaiters]) f({ status: 'pending' });
    this.#updates?.end();
  }

  /** The body's waits for a signal, an update (updates.ts), the first of several (select_waits.ts), its handlers. */
  #bodyWaits(): number {
    return this.#signals.length + (this.#updates?.waits ?? 0) + this.#selects.length + (this.#run?.handlerWaits ?? 0);
  }

  #desk(): UpdateDesk {
    return (this.#updates ??= new UpdateDesk({
      ...this.#host(() => undefined),
      known: () => this.#known(),
      commit: (mutate, run) => this.#saving.commit(mutate, run as Run | undefined),
      ensureRunning: () => this.#ensureRunning(),
      validate: (name, input) => this.#run?.validateUpdate(name, input),
      accepted: (name) => {
        figuresOf(this.entities, this.spec.name).update(name);
        this.#selects.look(); // kept: a select waiting for it takes it
      },
    }));
  }

  /**
   * A start (start_policy.ts): a new instance, or a new run under the id of one that ended when
   * the reuse policy lets it; else the instance as it is (`created: false`). A signal or update sent
   * with it is in the write that creates the instance, or goes to the running one.
   */
  async #start(r: Extract<WorkflowRequest, { '~wf': 'start' }>): Promise<unknown> {
    const rec = this.state;
    const { input } = r;
    let policy: IdReusePolicy;
    let signal: StartSignal | undefined;
    try {
      policy = checkIdReuse(`workflow ${this.spec.name}: start`, r.reuse) ?? this.spec.idReuse;
      signal = checkStartSignal(r.signal);
    } catch (err) {
      throw refuseCall(err as Error);
    }
    // A repeat of the start that made this run (its answer was lost): answered as it was, nothing done.
    const first = repeatedStart(rec, r.rid);
    if (first !== undefined) return first;
    const reuse = rec.status !== undefined && reusable(policy, rec.status);
    if (rec.status !== undefined && !reuse) {
      // The instance as it is: what came with the start goes to it as a signal or update would.
      const existing = { created: false, status: rec.status };
      if (signal !== undefined)
        return { ...existing, signal: await this.#signal(signal.name, signal.payload, signal.id, r.rid) };
      // Answered once it is kept: its write is a COMMIT this handler must not wait for (the mailbox).
      if (r.update !== undefined)
        return deferReply(
          this.#desk()
            .offer(r.update.name, r.update.input, r.update.id)
            .then(() => existing),
        );
      return existing;
    }
    if (this.spec.input !== undefined) {
      const issue = valueIssue(this.spec.input, input);
      if (issue !== undefined)
        throw refuseCall(ErrWorkflowIncorrect.with(`workflow ${this.spec.name}: input refused: ${issue}`));
    }
    const big = storableRefusal('the input', input, this.spec.maxValueBytes);
    if (big !== undefined) throw refuseCall(big); // nothing was written
    if (signal !== undefined) this.#checkSignal(signal.name, signal.payload);
    const now = this.#clock.now();
    const timeouts = timeoutsOf(r.timeouts);
    const made = startedRecord(rec, { reuse, input, now, signal, rid: r.rid, memo: r.memo, timeouts });
    const { ended, answer } = made;
    let next = made.next;
    const u = r.update;
    if (u !== undefined) {
      const kept = this.#desk().checkedForStart(next, u.name, u.input, u.id, now);
      next = { ...next, updates: [...(next.updates ?? []).filter((x) => x.id !== kept.id), kept] };
    }
    this.#finished = undefined;
    if (ended !== undefined && this.#run !== undefined) this.#endRun(this.#run, ended.cancel!);
    if (ended !== undefined) [this.#run, this.#halted] = [undefined, false];
    this.state = next;
    await this.#saving.stageWake(true);
    await this.#saving.saveWake();
    if (ended !== undefined) announceEnded(this.#ending(), rec, ended);
    this.#startRun();
    const figures = figuresOf(this.entities, this.spec.name);
    figures.started++;
    if (signal !== undefined) figures.signal(signal.name);
    if (u !== undefined) figures.update(u.name);
    return answer;
  }

  /** What the end's consequences need of this entity (watchers.ts). */
  #ending(): EndingHost {
    return {
      workflow: this.spec.name,
      key: this.key,
      entities: this.entities,
      log: this.log,
      workflows: () => this.#workflows(),
      resultWaiters: this.#resultWaiters,
      notifier: () => this.#notifier(),
    };
  }

  #result(waitMs: unknown): unknown {
    const rec = this.#known();
    if (rec.status !== 'running') return outcomeOf(rec);
    this.#ensureRunning();
    const ms = typeof waitMs === 'number' && waitMs >= 0 ? Math.min(waitMs, MAX_RESULT_WAIT_MS) : MAX_RESULT_WAIT_MS;
    return deferReply(
      new Promise<ResultReply>((resolve) => {
        const done = (r: ResultReply): void => {
          clearTimeout(timer);
          this.#resultWaiters.delete(done);
          resolve(r);
        };
        // The wall clock: it bounds a caller's real wait (the test clock must not stretch it).
        const timer = setTimeout(() => done({ status: 'pending' }), ms).unref();
        this.#resultWaiters.add(done);
      }),
    );
  }

  async #signal(name: unknown, payload: unknown, id: unknown, rid: unknown): Promise<string> {
    // Bounded here too (a sender that is not this package's client): a kept id stays in the record.
    try {
      checkSignalId(`workflow ${this.spec.name}: signal`, id);
    } catch (err) {
      throw refuseCall(err as Error);
    }
    const rec = this.#known();
    // A repeat (its call's request id, or a kept id) is answered even once the instance ended: its
    // sender may be retrying after a lost acknowledgement, and must learn that the signal arrived.
    const repeat = repeatedSignal(rec, id, rid);
    if (rec.status !== 'running' && repeat === undefined)
      throw refuseCall(ErrWorkflowClosed.with(`workflow ${this.spec.name}/${this.key} is ${rec.status}`));
    this.#checkSignal(name, payload);
    if (repeat !== undefined) return repeat;
    this.#ensureRunning();
    // A wait takes the oldest kept signal of its name first (its commit may not have run yet): a
    // new one goes to a wait only when none is kept, else it is kept behind them, in order.
    const kept = rec.signals.some((x) => x.name === name);
    const w = kept ? undefined : this.#signals.open(name);
    let next = withSignalIds(rec, id, rid);
    if (w !== undefined) {
      w.settled = true;
      next = withEntry(next, {
        s: w.seq,
        t: 'signal',
        n: name as string,
        v: payload,
        at: this.#clock.now(),
        done: true,
      });
    } else next = { ...next, signals: [...next.signals, { name: name as string, payload }] };
    this.state = next;
    if (w !== undefined) this.#signals.drop(w);
    await this.#saving.stageWake();
    await this.#saving.persist(rec);
    w?.resolve(payload);
    if (w === undefined) this.#selects.look(); // kept: a select waiting for it takes it
    figuresOf(this.entities, this.spec.name).signal(name as string);
    return 'accepted';
  }

  #query(name: unknown, args: readonly unknown[], waitMs: unknown): unknown {
    const rec = this.#known();
    if (typeof name !== 'string' || declared(this.spec.queries, name) === undefined)
      throw refuseCall(ErrWorkflowIncorrect.with(`workflow ${this.spec.name} declares no query ${quoted(name)}`));
    figuresOf(this.entities, this.spec.name).query(name);
    let run = this.#run ?? this.#finished;
    if (run === undefined && rec.status === 'running') {
      this.#ensureRunning();
      run = this.#run;
      // Halted: a replay would diverge again and run the body's catch, which its handlers then read.
      // Refused with the halt's own code (a diverged replay, or the store gone back in time).
      const halt = rec.blocked?.code === ErrStoreWentBack.code ? ErrStoreWentBack : ErrWorkflowDiverged;
      if (run === undefined)
        throw refuseCall(
          halt.with(`${this.spec.name}/${this.key} halted: ${rec.blocked?.message ?? 'its replay diverged'}`),
        );
    }
    if (run === undefined) {
      // An ended instance: its body replayed read-only, to rebuild what its query handlers read.
      const ro = new Run(
        this.#host(() => undefined),
        rec,
        true,
      ); // it writes nothing
      Promise.resolve()
        .then(() => this.#runBody(ro, rec.input))
        .then(
          () => ro.markCaughtUp(),
          () => ro.markCaughtUp(),
        );
      this.#finished = ro;
      run = ro;
    }
    const r = run;
    let handled = false;
    // Answered from state that took what was acknowledged before it (commit_queue.ts's quiet).
    const answer = r.caughtUp
      .then(() => (r.readOnly ? undefined : this.#saving.quiet(r)))
      .then(() => {
        if (r.diverged !== undefined) throw r.diverged; // caught up only once its catch ran
        const h = r.query(name);
        if (h === undefined)
          throw ErrWorkflowIncorrect.with(`workflow ${this.spec.name}/${this.key} has not registered query ${name}`);
        handled = true;
        return h(...args);
      });
    // A handler that never settles is answered as a timeout naming it (query_bound.ts).
    const what = `${this.spec.name}/${this.key}`;
    return deferReply(boundQuery(answer, what, name, queryBudgetMs(waitMs), () => handled));
  }

  /** Ends `run` here: its waits reject, its signal waits stop taking signals, its queued writes are dropped. */
  #endRun(run: Run, why: string): void {
    run.end(why);
    const ended = new RunEnded(why);
    this.#signals.rejectRun(run, ended);
    this.#selects.rejectRun(run, ended);
  }

  #probe(): WorkflowProbe {
    const halted = this.#halted || this.state.blocked !== undefined;
    const updates = this.#updates?.waitingFor() ?? [];
    const selects = this.#selects.waitingFor();
    return probeOf(this.state, this.#run, halted, this.#saving.queued, this.#signals.waiters, updates, selects);
  }

  #known(): WorkflowRecord {
    const rec = this.state;
    if (rec.status === undefined)
      throw refuseCall(ErrWorkflowNotFound.with(`workflow ${this.spec.name}: no instance ${JSON.stringify(this.key)}`));
    return rec;
  }

  /** Refuses (nothing written) a signal the kind does not declare, or a payload its schema or size refuses. */
  #checkSignal(name: unknown, payload: unknown): void {
    const refused = signalRefusal(this.spec, name, payload);
    if (refused !== undefined) throw refuseCall(refused); // nothing was written
  }

  /** Starts the body when the instance runs and no body runs for it here (a new activation resumes it). */
  #ensureRunning(): void {
    const rec = this.state;
    if (!this.#activated || this.#ended || rec.status !== 'running' || this.#run !== undefined) return;
    if (this.#halted || this.#closing) return;
    // Past its timeout: not run again; its wake (staged at the deadline) ends it.
    if (timeoutDue(rec, this.#clock.now()) !== undefined) return;
    // Halted because the store went back: only an operator's resume or reset runs it again.
    if (rec.blocked?.code === ErrStoreWentBack.code) return;
    this.#saving.countRun();
    this.#startRun(true);
    figuresOf(this.entities, this.spec.name).resumed(rec, this.#run, this.#clock);
  }

  /** `resumed`: an earlier run of this instance ran its journal (see Run's `patched`). */
  #startRun(resumed = false): void {
    const rec = this.state;
    const run: Run = new Run(
      this.#host(() => run),
      rec,
      false,
      resumed,
    );
    this.#run = run;
    this.#finished = undefined;
    if (rec.blocked !== undefined) this.#clearBlockedOnceReplayed(run);
    Promise.resolve()
      .then(() => this.#runBody(run, rec.input))
      .then(
        // A continue-as-new the body did not await is waited for: continued, the end is the next
        // run's; refused, the instance ends with that refusal (the body returned without seeing it).
        (output) =>
          run
            .delivered()
            .then(() => run.continuing())
            .then((refused) => this.#finish(run, refused === undefined ? { output } : { error: refused })),
        (error: unknown) =>
          run
            .delivered()
            .then(() => run.continuing())
            .then(() => this.#finish(run, { error })),
      )
      .catch((error: unknown) => this.#finish(run, { error }));
  }

  /** Calls the body with `run` as its context, under the determinism guard (determinism.ts). */
  #runBody(run: Run, input: unknown): Promise<unknown> {
    const o = { workflow: this.spec.name, id: this.key, log: this.log, mode: this.spec.determinismGuard };
    return runBody(this.spec.body, run, input, o);
  }

  /**
   * A halted instance's body started again (a new activation on new code, a resume) cleared its
   * `blocked` once it replayed its journal without diverging: kept, a completed instance showed it.
   */
  #clearBlockedOnceReplayed(run: Run): void {
    this.#recovering = run;
    void run.caughtUp.then(() => {
      if (run !== this.#run || run.ended || run.diverged !== undefined) return;
      this.#saving
        .commit((rec) => {
          if (rec.blocked === undefined) return rec;
          const { blocked: _b, ...rest } = rec;
          return rest;
        }, run)
        .catch(() => undefined);
    });
  }

  /** What the run `owner()` (set once made) may ask of this instance. */
  #host(owner: () => Run | undefined): RunHost {
    return {
      spec: this.spec,
      id: this.key,
      entities: this.entities,
      log: this.log,
      clock: this.#clock,
      commit: (mutate) => this.#saving.commit(mutate, owner()),
      busy: (d) => {
        this.#busyOps += d;
      },
      deadline: (seq, until) => {
        if (until === undefined) this.#deadlines.delete(seq);
        else this.#deadlines.set(seq, until);
      },
      awaitSignal: (seq, name, until, recordOpen) => this.#signals.await(seq, name, until, recordOpen, owner()),
      dropSignal: (seq) => this.#signals.dropSeq(seq),
      awaitUpdate: (seq, name, until, recordOpen) => this.#desk().await(seq, name, until, recordOpen, owner()),
      awaitSelect: (seq, key, arms, until, recordOpen) =>
        this.#selects.await(seq, key, arms, until, recordOpen, owner()),
      updateAnswered: () => this.#updates?.look(),
      peek: () => this.state,
      startChild: (kind, id, input) =>
        this.#workflows()
          .startChild(kind, id, input)
          .then(() => undefined),
      childResult: (kind, id, abort) => this.#workflows().handle(kind, id).result({ signal: abort }),
      confirmLease: () => confirmedOrEnded(leaseConfirmed(this), owner),
      leaseFresh: () => leaseFreshNow(this),
      continueAsNew: (input) => this.#continueAsNew(input, owner()),
      signalChild: (kind, id, name, payload, sid) =>
        this.#workflows()
          .handle(kind, id)
          .signal(name as never, payload as never, { id: sid })
          .then(() => undefined),
      cancelChild: (kind, id, reason) =>
        this.#workflows()
          .handle(kind, id)
          .cancel(reason)
          .then(
            () => undefined,
            (err: unknown) => {
              if (!ErrWorkflowClosed.is(err)) throw err;
            },
          ),
    };
  }

  /** `run` continues as new (continue_as_new.ts): one write ends it and makes the next run, started here then. */
  async #continueAsNew(input: unknown, run: Run | undefined): Promise<void> {
    checkNothingInFlight(
      this.spec.name,
      this.key,
      this.#busyOps + this.#deadlines.size + this.#signals.length + this.#selects.length,
    );
    const next = continuation(this.spec, this.key, input, this.#clock.now());
    await this.#saving.commit((rec) => next.apply(rec), run);
    next.check();
    figuresOf(this.entities, this.spec.name).continued++;
    if (run === undefined || run !== this.#run || this.#ended) return;
    this.#endRun(run, 'it continued as new');
    this.#startRun();
  }

  /** The body ended: its outcome is journaled (unless the run ended or halted first), then waiters hear it. */
  #finish(run: Run, outcome: { output: unknown } | { error: unknown }): void {
    // The body ended: queries waiting for it to catch up are answered (a body that threw before its
    // first lookup, as a cancelled replay does, never caught up otherwise).
    run.markCaughtUp();
    if (run !== this.#run || run.ended || run.handingOff || this.#ended) return;
    if (run.diverged !== undefined) {
      this.#run = undefined;
      this.#halted = true;
      figuresOf(this.entities, this.spec.name).blockedTotal++;
      this.log.error('%s; the instance halts until its code is fixed and it is resumed', run.diverged.message);
      const blocked = storedError(run.diverged);
      // Not when a resume or reset came first (its body runs: the halt is over).
      this.#saving
        .commit((rec) => (this.#halted && this.#run === undefined ? { ...rec, blocked } : rec))
        .catch(() => undefined);
      return;
    }
    if ('error' in outcome && outcome.error instanceof RunEnded) return;
    this.#run = undefined;
    this.#finished = run;
    this.#closing = true;
    const now = this.#clock.now();
    // A cancel the body never met (it came after the last operation) does not end it cancelled.
    const asked = this.state.cancel !== undefined || run.cancelled;
    const end = endOf(outcome, asked && ('error' in outcome || run.cancelStruck), this.spec);
    let wrote = false;
    this.#saving
      // Not over an end written meanwhile (a terminate, a timeout): the first end stays.
      .commit((rec) => {
        if (rec.status !== 'running') return rec;
        wrote = true;
        const { blocked: _b, ...rest } = rec;
        return {
          ...rest,
          ...end,
          cancel: rest.cancel ?? (end.status === 'cancelled' ? 'cancelled' : undefined),
          endedAt: now,
        };
      })
      .finally(() => {
        this.#closing = false;
      })
      .then(
        () => {
          if (!wrote) return;
          figuresOf(this.entities, this.spec.name).ended(this.state);
          const r = outcomeOf(this.state);
          for (const f of [...this.#resultWaiters]) f(r);
          this.#updates?.look(); // updates left unanswered: ERR_WORKFLOW_CLOSED
        },
        () => undefined,
      );
  }

  /** What an operator request (operator_requests.ts) needs of this instance. */
  #operator(): OperatorHost {
    const self = this; // the accessors below read the entity's private fields
    return {
      spec: this.spec,
      key: this.key,
      entities: this.entities,
      clock: this.#clock,
      saving: this.#saving,
      signals: this.#signals,
      known: () => this.#known(),
      get state() {
        return self.state;
      },
      set state(v) {
        self.state = v;
      },
      get run() {
        return self.#run;
      },
      set run(v) {
        self.#run = v;
      },
      get finished() {
        return self.#finished;
      },
      set finished(v) {
        self.#finished = v;
      },
      get halted() {
        return self.#halted;
      },
      set halted(v) {
        self.#halted = v;
      },
      get recovering() {
        return self.#recovering;
      },
      set recovering(v) {
        self.#recovering = v;
      },
      save: () => this.save(),
      ensureRunning: () => this.#ensureRunning(),
      startRun: () => this.#startRun(),
      endRun: (run, why) => this.#endRun(run, why),
      lookUpdates: () => this.#updates?.look(),
      ending: () => this.#ending(),
      notifier: () => this.#notifier(),
    };
  }

  #notifier(): Notifier {
    return { send: (to, m) => this.actor.send(to, m), sendExit: (to, reason) => this.actor.sendExit(to, reason) };
  }
}
