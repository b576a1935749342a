// The cron of the test node: the real scheduler (same spec parser, time zones, previews and
// validation) running on the test clock, with every job change and run recorded. Jobs run when
// the test moves the clock past their minute, or at once with `trigger`.

import type { Atom } from '../gen/atom.js';
import { ErrUnknown } from '../gen/errors.js';
import type { Cron, CronAction, CronInfo, CronJob, CronJobInfo, CronNode, CronSchedule } from '../gen/cron.js';
import { CronService } from '../node/cron/service.js';
import { MINUTE_MS, floorToMinute } from '../node/cron/calendar.js';
import type { TestClock } from './clock.js';
import { CronEvent, type EventLog } from './events.js';
import { Failures } from './failures.js';

/**
 * A {@link Cron} for tests (Ergo's TestCron). Management methods behave as the node's cron (and
 * throw the same errors) and are recorded as {@link CronEvent}s; a run records an `execute`
 * event and then performs the job's action against the test node, so a message action shows up
 * as a recorded send from the node.
 */
export class TestCron implements Cron {
  readonly #service: CronService;
  readonly #jobs = new Map<Atom, CronJob>();
  /** Failure injection for the cron's methods (`addJob`, `removeJob`...). */
  readonly failures: Failures;

  constructor(
    readonly node: CronNode,
    readonly history: EventLog,
    readonly clock: TestClock,
  ) {
    this.#service = new CronService(node, { clock });
    this.#service.start();
    this.failures = new Failures('cron', history);
  }

  #fail(method: string, args: unknown[]): void {
    const err = this.failures.check(method, args);
    if (err !== undefined) throw err;
  }

  addJob(job: CronJob): void {
    this.#fail('addJob', [job?.name, job?.spec]);
    const recorded: CronJob = { ...job, action: this.#recording(job?.action) };
    this.#service.addJob(recorded);
    this.#jobs.set(job.name, recorded);
    this.history.push(new CronEvent('add', job.name, job, undefined));
  }
  removeJob(name: Atom): void {
    this.#fail('removeJob', [name]);
    this.#service.removeJob(name);
    this.#jobs.delete(name);
    this.history.push(new CronEvent('remove', name, undefined, undefined));
  }
  enableJob(name: Atom): void {
    this.#fail('enableJob', [name]);
    this.#service.enableJob(name);
    this.history.push(new CronEvent('enable', name, undefined, undefined));
  }
  disableJob(name: Atom): void {
    this.#fail('disableJob', [name]);
    this.#service.disableJob(name);
    this.history.push(new CronEvent('disable', name, undefined, undefined));
  }
  info(): CronInfo {
    return this.#service.info();
  }
  jobInfo(name: Atom): CronJobInfo {
    return this.#service.jobInfo(name);
  }
  schedule(since: Date, durationMs: number): CronSchedule[] {
    return this.#service.schedule(since, durationMs);
  }
  jobSchedule(job: Atom, since: Date, durationMs: number): Date[] {
    return this.#service.jobSchedule(job, since, durationMs);
  }

  /**
   * Runs a job's action now (Ergo's TriggerCronJob), whatever its spec and even when disabled,
   * at the current minute of the test clock. Resolves when an async action settles; rejects
   * with the action's error. @throws ErrUnknown for an unknown job.
   */
  async trigger(name: Atom | string): Promise<void> {
    const job = this.#jobs.get(name as Atom);
    if (job === undefined) throw ErrUnknown.with(`cron job '${name}'`);
    await job.action.do(job.name, this.node, new Date(floorToMinute(this.clock.now())));
  }

  /**
   * Sets the test clock (Ergo's SetCronMockTime); moving forward runs the jobs due at every
   * minute boundary passed, in order.
   */
  setTime(time: Date): void {
    this.clock.set(time);
  }

  /** Moves the test clock forward by whole minutes, running the jobs due. */
  advanceMinutes(minutes: number): void {
    this.clock.advance(minutes * MINUTE_MS);
  }

  #recording(action: CronAction): CronAction {
    if (action === null || typeof action !== 'object' || typeof action.do !== 'function') return action;
    const history = this.history;
    return {
      do(job: Atom, node: CronNode, time: Date): void | Promise<void> {
        history.push(new CronEvent('execute', job, undefined, time));
        return action.do(job, node, time);
      },
      info(): string {
        return action.info();
      },
    };
  }
}
