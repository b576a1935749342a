// The cron service: firing at minute boundaries under a fake clock (time is the subject here),
// clock jumps, the jobs table (add/remove/enable/disable), info and previews, the stock actions,
// fallbacks, and the guards around user code. The node is a recording double of CronNode; the
// end-to-end test with a real node lives with the node.

import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { format } from 'node:util';

import {
  CronEnvJobActionTime,
  CronEnvJobName,
  CronEnvNodeName,
  CronSpecError,
  MessageCron,
  MessageCronFallback,
  createCronActionMessage,
  createCronActionSpawn,
  type CronAction,
  type CronJob,
  type CronMessageTarget,
  type CronNode,
} from '../src/gen/cron.js';
import { Actor } from '../src/act/actor.js';
import { ErrIncorrect, ErrProcessUnknown, ErrTaken, ErrTooLarge, ErrUnknown, isError } from '../src/gen/errors.js';
import { LogLevel, type Log, type LogField } from '../src/gen/log.js';
import type { ProcessOptions } from '../src/gen/options.js';
import { PID } from '../src/gen/pid.js';
import { MessagePriority } from '../src/gen/priority.js';
import { localTimeZone } from '../src/node/cron/calendar.js';
import { CronService, systemClock, type CronClock } from '../src/node/cron/service.js';

const MINUTE = 60_000;

/**
 * A clock whose timers run on monotonic time, like Node's: `advance` moves both clocks and fires
 * due timers in order; `jump` sets only the wall clock (an NTP step or a manual change).
 */
class FakeClock implements CronClock {
  mono: number;
  skew = 0;
  unrefCalls = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();
  #seq = 0;

  constructor(startIso: string) {
    this.mono = Date.parse(startIso);
  }
  now(): number {
    return this.mono + this.skew;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.mono + ms, fn });
    return { id, unref: () => void this.unrefCalls++ };
  }
  clearTimeout(handle: unknown): void {
    this.#timers.delete((handle as { id: number }).id);
  }
  get pending(): number {
    return this.#timers.size;
  }
  /** Delay of the only pending timer. */
  get nextDelay(): number {
    const [timer] = this.#timers.values();
    assert.ok(timer, 'a timer is pending');
    return timer.at - this.mono;
  }
  advance(ms: number): void {
    const end = this.mono + ms;
    for (;;) {
      let nextId = -1;
      let nextAt = Number.POSITIVE_INFINITY;
      for (const [id, t] of this.#timers) if (t.at <= end && t.at < nextAt) [nextId, nextAt] = [id, t.at];
      if (nextId < 0) break;
      const timer = this.#timers.get(nextId)!;
      this.#timers.delete(nextId);
      this.mono = Math.max(this.mono, timer.at);
      timer.fn();
    }
    this.mono = end;
  }
  /** Advances until the wall clock reads `iso`. */
  advanceTo(iso: string): void {
    this.advance(Date.parse(iso) - this.now());
  }
  /** Fires the pending timer `early` ms before its time (Node may fire a timer a millisecond early). */
  fireEarly(early: number): void {
    const [[id, timer]] = [...this.#timers];
    this.#timers.delete(id!);
    this.mono = timer!.at - early;
    timer!.fn();
  }
  jump(ms: number): void {
    this.skew += ms;
  }
}

interface Sent {
  to: CronMessageTarget;
  message: unknown;
  priority: MessagePriority | undefined;
}

/** Records what the cron service and the actions do with the node. */
class FakeNode implements CronNode {
  readonly name = 'cron@localhost';
  readonly sent: Sent[] = [];
  readonly spawned: { register?: string; factory: unknown; options: ProcessOptions | undefined; args: unknown[] }[] =
    [];
  readonly logs: { level: string; text: string }[] = [];
  readonly unknownTargets = new Set<string>();
  spawnError: Error | undefined;
  readonly log: Log;

  constructor() {
    const record =
      (level: string) =>
      (fmt: string, ...args: unknown[]) =>
        void this.logs.push({ level, text: format(fmt, ...args) });
    let fields: LogField[] = [];
    this.log = {
      level: () => LogLevel.Trace,
      setLevel: () => undefined,
      logger: () => '',
      setLogger: () => undefined,
      fields: () => fields,
      addFields: (...f: LogField[]) => void (fields = [...fields, ...f]),
      deleteFields: () => undefined,
      pushFields: () => 0,
      popFields: () => 0,
      trace: record('trace'),
      debug: record('debug'),
      info: record('info'),
      warning: record('warning'),
      error: record('error'),
      panic: record('panic'),
    };
  }
  send(to: CronMessageTarget, message: unknown, options?: { priority?: MessagePriority }): void {
    if (this.unknownTargets.has(String(to))) throw ErrProcessUnknown.with(String(to));
    this.sent.push({ to, message, priority: options?.priority });
  }
  spawn(factory: unknown, options?: ProcessOptions, ...args: unknown[]): Promise<PID> {
    if (this.spawnError) return Promise.reject(this.spawnError);
    this.spawned.push({ factory, options, args });
    return Promise.resolve(new PID(this.name, 1000 + this.spawned.length, 1));
  }
  spawnRegister(name: string, factory: unknown, options?: ProcessOptions, ...args: unknown[]): Promise<PID> {
    if (this.spawnError) return Promise.reject(this.spawnError);
    this.spawned.push({ register: name, factory, options, args });
    return Promise.resolve(new PID(this.name, 1000 + this.spawned.length, 1));
  }
  logged(level: string, fragment: string): boolean {
    return this.logs.some((l) => l.level === level && l.text.includes(fragment));
  }
}

/** Lets settled promises run their callbacks (no time passes). */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function job(name: string, spec: string, action: CronAction, extra: Partial<CronJob> = {}): CronJob {
  return { name, spec, location: 'UTC', action, ...extra };
}

/** An action whose runs are recorded and settle when the test says so. */
function controlledAction(): CronAction & {
  runs: { time: Date; resolve: () => void; reject: (e: unknown) => void }[];
} {
  const runs: { time: Date; resolve: () => void; reject: (e: unknown) => void }[] = [];
  return {
    runs,
    do(_job, _node, time) {
      return new Promise<void>((resolve, reject) => void runs.push({ time, resolve, reject }));
    },
    info: () => 'controlled',
  };
}

function setup(
  start = '2025-06-01T10:00:30Z',
  jobs: CronJob[] = [],
): { clock: FakeClock; node: FakeNode; cron: CronService } {
  const clock = new FakeClock(start);
  const node = new FakeNode();
  const cron = new CronService(node, { clock, jobs });
  return { clock, node, cron };
}

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
before(() => process.on('unhandledRejection', onUnhandled));
after(() => {
  process.off('unhandledRejection', onUnhandled);
  assert.deepEqual(unhandled, [], 'no cron failure escaped as an unhandled rejection');
});

describe('cron service: firing', () => {
  it('fires at every minute boundary, not in the minute it starts', () => {
    const { clock, node, cron } = setup('2025-06-01T10:00:30Z', [
      job('tick', '* * * * *', createCronActionMessage('worker')),
    ]);
    cron.start();
    assert.equal(cron.running, true);
    assert.equal(clock.nextDelay, 30_000, 'aligned to the next boundary');
    clock.advance(29_999);
    assert.equal(node.sent.length, 0);
    clock.advance(1);
    assert.equal(node.sent.length, 1);
    const msg = node.sent[0]!.message;
    assert.ok(msg instanceof MessageCron);
    assert.equal(msg.node, 'cron@localhost');
    assert.equal(msg.job, 'tick');
    assert.equal(msg.time.toISOString(), '2025-06-01T10:01:00.000Z');
    assert.equal(node.sent[0]!.to, 'worker');
    assert.equal(node.sent[0]!.priority, MessagePriority.Normal);
    assert.equal(clock.nextDelay, MINUTE);
    clock.advanceTo('2025-06-01T10:05:00Z');
    assert.deepEqual(
      node.sent.map((s) => (s.message as MessageCron).time.toISOString().slice(11, 16)),
      ['10:01', '10:02', '10:03', '10:04', '10:05'],
    );
    assert.ok(clock.unrefCalls >= 6, 'every timer handle is unref()d');
    cron.stop();
  });

  it('runs only the jobs due at the minute, each in its own zone', () => {
    const { clock, node, cron } = setup('2025-06-01T09:58:00Z', [
      job('ten-utc', '0 10 * * *', createCronActionMessage('a')),
      job('noon-berlin', '0 12 * * *', createCronActionMessage('b'), { location: 'Europe/Berlin' }), // CEST: 10:00Z
      job('ten-ny', '0 10 * * *', createCronActionMessage('c'), { location: 'America/New_York' }), // EDT: 14:00Z
      job('odd', '*/2 * * * *', createCronActionMessage('d')),
    ]);
    cron.start();
    clock.advanceTo('2025-06-01T10:00:00Z');
    assert.deepEqual(
      node.sent.map((s) => s.to),
      ['a', 'b', 'd'],
    );
    clock.advanceTo('2025-06-01T14:00:00Z');
    assert.equal(node.sent.filter((s) => s.to === 'c').length, 1);
    assert.equal(node.sent.filter((s) => s.to === 'd').length, 121);
    cron.stop();
  });

  it('a timer that fires early waits for the boundary instead of skipping the minute', () => {
    const { clock, node, cron } = setup('2025-06-01T10:00:30Z', [
      job('tick', '* * * * *', createCronActionMessage('w')),
    ]);
    cron.start();
    clock.fireEarly(1);
    assert.equal(node.sent.length, 0);
    assert.equal(clock.nextDelay, 1);
    clock.advance(1);
    assert.equal(node.sent.length, 1);
    assert.equal((node.sent[0]!.message as MessageCron).time.toISOString(), '2025-06-01T10:01:00.000Z');
    cron.stop();
  });

  it('a clock set back never runs a minute twice', () => {
    const { clock, node, cron } = setup('2025-06-01T10:00:30Z', [
      job('tick', '* * * * *', createCronActionMessage('w')),
    ]);
    cron.start();
    clock.advance(30_000); // 10:01 runs
    clock.jump(-30 * MINUTE); // wall clock reads 09:31
    clock.advance(30 * MINUTE); // wall 10:01 again: nothing new
    assert.equal(node.sent.length, 1);
    assert.ok(node.logged('warning', 'the clock went back'));
    assert.equal(node.logs.filter((l) => l.text.includes('the clock went back')).length, 1, 'warned once');
    clock.advance(MINUTE);
    assert.deepEqual(
      node.sent.map((s) => (s.message as MessageCron).time.toISOString().slice(11, 16)),
      ['10:01', '10:02'],
    );
    cron.stop();
  });

  it('a clock set forward skips the minutes in between instead of running them late', () => {
    const { clock, node, cron } = setup('2025-06-01T10:00:30Z', [
      job('tick', '* * * * *', createCronActionMessage('w')),
    ]);
    cron.start();
    clock.advance(30_000); // 10:01
    clock.jump(10 * MINUTE);
    clock.advance(MINUTE); // the timer set for 10:02 fires when the wall reads 10:12
    assert.deepEqual(
      node.sent.map((s) => (s.message as MessageCron).time.toISOString().slice(11, 16)),
      ['10:01', '10:12'],
    );
    assert.ok(node.logged('warning', 'skipped minutes 2025-06-01T10:02:00.000Z to 2025-06-01T10:11:00.000Z'));
    cron.stop();
  });

  it('stop() clears the timer; start() resumes at the next boundary; both are idempotent', () => {
    const { clock, node, cron } = setup('2025-06-01T10:00:30Z', [
      job('tick', '* * * * *', createCronActionMessage('w')),
    ]);
    cron.start();
    cron.start();
    assert.equal(clock.pending, 1);
    clock.advance(30_000);
    cron.stop();
    cron.stop();
    assert.equal(cron.running, false);
    assert.equal(clock.pending, 0);
    clock.advance(60 * MINUTE);
    assert.equal(node.sent.length, 1);
    clock.advance(30_000); // 11:01:30
    cron.start();
    clock.advance(30_000);
    assert.deepEqual(
      node.sent.map((s) => (s.message as MessageCron).time.toISOString().slice(11, 16)),
      ['10:01', '11:02'],
    );
    cron.stop();
  });

  it('no timer while there is no job: the first addJob sets it, removing the last lets it lapse', () => {
    const { clock, node, cron } = setup('2025-06-01T10:00:30Z');
    cron.start();
    assert.equal(clock.pending, 0, 'a node without jobs holds no timer');
    clock.advance(5 * MINUTE); // 10:05:30: no minute evaluated meanwhile
    assert.equal(cron.info().next.toISOString(), '2025-06-01T10:06:00.000Z');
    cron.addJob(job('tick', '* * * * *', createCronActionMessage('w')));
    assert.equal(clock.pending, 1);
    assert.equal(clock.nextDelay, 30_000);
    clock.advance(MINUTE); // 10:06:30
    assert.deepEqual(
      node.sent.map((s) => (s.message as MessageCron).time.toISOString().slice(11, 16)),
      ['10:06'],
    );
    cron.removeJob('tick');
    clock.advance(MINUTE); // the armed tick finds no job and sets no timer
    assert.equal(clock.pending, 0);
    assert.equal(node.sent.length, 1);
    cron.stop();
  });

  it('an action may stop the service; the timer is not set again', () => {
    const { clock, cron } = setup();
    cron.addJob(job('stopper', '* * * * *', { do: () => cron.stop(), info: () => 'stops cron' }));
    cron.start();
    clock.advance(30_000);
    assert.equal(cron.running, false);
    assert.equal(clock.pending, 0);
  });

  it('a job added by an action runs from the next minute on', () => {
    const { clock, node, cron } = setup();
    const late = job('late', '* * * * *', createCronActionMessage('late'));
    cron.addJob(job('adder', '* * * * *', { do: () => cron.addJob(late), info: () => 'adds a job' }));
    cron.start();
    clock.advance(30_000);
    assert.equal(node.sent.length, 0);
    clock.advance(MINUTE);
    assert.equal(node.sent.length, 1);
    assert.ok(node.logged('error', 'resource is taken'), 'the second add failed and was logged');
    cron.stop();
  });

  it('the system clock’s timer does not keep the process alive', () => {
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const baseline = timers();
    const cron = new CronService(new FakeNode(), { clock: systemClock });
    cron.start();
    assert.equal(timers(), baseline);
    cron.stop();
  });

  it('fires a fixed-time job once and a wildcard job twice through a DST fall-back (Europe/Berlin)', () => {
    const { clock, node, cron } = setup('2025-10-25T23:50:00Z', [
      job('fixed', '30 2 * * *', createCronActionMessage('fixed'), { location: 'Europe/Berlin' }),
      job('every30', '*/30 * * * *', createCronActionMessage('every30'), { location: 'Europe/Berlin' }),
    ]);
    cron.start();
    clock.advanceTo('2025-10-26T02:10:00Z');
    const times = (to: string): string[] =>
      node.sent.filter((s) => s.to === to).map((s) => (s.message as MessageCron).time.toISOString().slice(11, 16));
    assert.deepEqual(times('fixed'), ['00:30']);
    assert.deepEqual(times('every30'), ['00:00', '00:30', '01:00', '01:30', '02:00']);
    cron.stop();
  });
});

describe('cron service: jobs table', () => {
  it('rejects duplicate names with ErrTaken and unknown names with ErrUnknown', () => {
    const { cron } = setup('2025-06-01T10:00:30Z', [job('a', '* * * * *', createCronActionMessage('w'))]);
    assert.throws(
      () => cron.addJob(job('a', '0 0 * * *', createCronActionMessage('w'))),
      (e: unknown) => isError(e, ErrTaken) && /"a"/.test(String(e)),
    );
    for (const op of [
      () => cron.removeJob('x'),
      () => cron.enableJob('x'),
      () => cron.disableJob('x'),
      () => cron.jobInfo('x'),
      () => cron.jobSchedule('x', new Date(), MINUTE),
    ]) {
      assert.throws(op, (e: unknown) => isError(e, ErrUnknown) && /"x"/.test(String(e)));
    }
  });

  it('validates jobs: spec, zone, name, action, fallback — also in the constructor', () => {
    const { cron } = setup();
    const act = createCronActionMessage('w');
    assert.throws(
      () => cron.addJob(job('bad', '61 * * * *', act)),
      (e: unknown) => e instanceof CronSpecError && e.field === 'minute' && e.token === '61',
    );
    assert.throws(
      () => cron.addJob(job('tz', '* * * * *', act, { location: 'Nowhere/Land' })),
      (e: unknown) => isError(e, ErrIncorrect) && /Nowhere\/Land/.test(String(e)),
    );
    assert.throws(
      () => cron.addJob(job('', '* * * * *', act)),
      (e: unknown) => isError(e, ErrIncorrect) && /empty name/.test(String(e)),
    );
    assert.throws(
      () => cron.addJob({ name: 'noaction', spec: '* * * * *' } as unknown as CronJob),
      (e: unknown) => isError(e, ErrIncorrect) && /do\(\) and info\(\)/.test(String(e)),
    );
    assert.throws(
      () => cron.addJob(job('fb', '* * * * *', act, { fallback: { enable: true, name: '' } })),
      (e: unknown) => isError(e, ErrIncorrect) && /fallback/.test(String(e)),
    );
    assert.throws(
      () => cron.addJob(null as unknown as CronJob),
      (e: unknown) => isError(e, ErrIncorrect),
    );
    assert.equal(cron.info().jobs.length, 0, 'nothing half-added');
    assert.throws(() => new CronService(new FakeNode(), { jobs: [job('a', '* * *', act)] }), CronSpecError);
  });

  it('disable stops runs, enable resumes them, remove forgets the job', () => {
    const { clock, node, cron } = setup('2025-06-01T10:00:30Z', [
      job('tick', '* * * * *', createCronActionMessage('w')),
    ]);
    cron.start();
    clock.advance(30_000); // 10:01
    cron.disableJob('tick');
    cron.disableJob('tick');
    clock.advance(2 * MINUTE);
    assert.equal(node.sent.length, 1);
    assert.equal(cron.jobInfo('tick').disabled, true);
    cron.enableJob('tick');
    cron.enableJob('tick');
    clock.advance(MINUTE); // 10:04
    assert.equal(node.sent.length, 2);
    cron.removeJob('tick');
    clock.advance(MINUTE);
    assert.equal(node.sent.length, 2);
    assert.equal(cron.info().jobs.length, 0);
    cron.addJob(job('tick', '* * * * *', createCronActionMessage('w')));
    clock.advance(MINUTE);
    assert.equal(node.sent.length, 3, 'the name is free again');
    cron.stop();
  });
});

describe('cron service: info and previews', () => {
  it('info(): next tick, spool of enabled jobs due then, and every job', () => {
    const { clock, cron } = setup('2025-06-01T10:00:30Z', [
      job('every', '* * * * *', createCronActionMessage('w', MessagePriority.High)),
      job('hourly', '@hourly', createCronActionMessage('h'), { fallback: { enable: true, name: 'fb', tag: 't1' } }),
      job('off', '* * * * *', createCronActionMessage('o')),
      job('local', '0 0 1 1 *', createCronActionMessage('l'), { location: undefined }),
    ]);
    cron.disableJob('off');
    let info = cron.info();
    assert.equal(info.next.toISOString(), '2025-06-01T10:01:00.000Z', 'computed before start too');
    assert.deepEqual(info.spool, ['every', 'hourly']);
    assert.deepEqual(
      info.jobs.map((j) => j.name),
      ['every', 'hourly', 'off', 'local'],
    );
    cron.start();
    clock.advance(30_000);
    info = cron.info();
    assert.equal(info.next.toISOString(), '2025-06-01T10:02:00.000Z');
    assert.deepEqual(info.spool, ['every']);

    assert.deepEqual(cron.jobInfo('every'), {
      disabled: false,
      name: 'every',
      spec: '* * * * *',
      location: 'UTC',
      actionInfo: "send message to 'w' with high priority",
      lastRun: new Date('2025-06-01T10:01:00Z'),
      lastErr: '',
      fallback: { enable: false, name: '', tag: '' },
      nextRun: new Date('2025-06-01T10:02:00Z'),
    });
    const hourly = cron.jobInfo('hourly');
    assert.equal(hourly.spec, '@hourly');
    assert.equal(hourly.lastRun?.toISOString(), '2025-06-01T10:01:00.000Z');
    assert.equal(hourly.nextRun?.toISOString(), '2025-06-01T11:01:00.000Z');
    assert.deepEqual(hourly.fallback, { enable: true, name: 'fb', tag: 't1' });
    const off = cron.jobInfo('off');
    assert.equal(off.disabled, true);
    assert.equal(off.lastRun, null);
    assert.equal(off.nextRun, null);
    assert.equal(cron.jobInfo('local').location, localTimeZone());
    cron.stop();
  });

  it('schedule() groups enabled jobs by minute; jobSchedule() lists one job, disabled or not', () => {
    const { cron } = setup('2025-06-01T10:00:30Z', [
      job('q', '*/15 * * * *', createCronActionMessage('w')),
      job('h', '0 * * * *', createCronActionMessage('w')),
      job('berlin', '30 12 * * *', createCronActionMessage('w'), { location: 'Europe/Berlin' }),
      job('off', '* * * * *', createCronActionMessage('w')),
    ]);
    cron.disableJob('off');
    const plan = cron.schedule(new Date('2025-06-01T09:59:59Z'), 91 * MINUTE);
    assert.deepEqual(
      plan.map((s) => [s.time.toISOString().slice(11, 16), s.jobs]),
      [
        ['10:00', ['q', 'h']],
        ['10:15', ['q']],
        ['10:30', ['q', 'berlin']],
        ['10:45', ['q']],
        ['11:00', ['q', 'h']],
        ['11:15', ['q']],
      ],
    );
    assert.equal(cron.jobSchedule('off', new Date('2025-06-01T10:00:00Z'), 3 * MINUTE).length, 3);
    assert.deepEqual(
      cron.jobSchedule('h', new Date('2025-06-01T10:00:00Z'), 3 * 60 * MINUTE).map((d) => d.toISOString()),
      ['2025-06-01T10:00:00.000Z', '2025-06-01T11:00:00.000Z', '2025-06-01T12:00:00.000Z'],
    );
  });

  it('previews reject invalid windows', () => {
    const { cron } = setup('2025-06-01T10:00:30Z', [job('q', '*/15 * * * *', createCronActionMessage('w'))]);
    assert.throws(
      () => cron.schedule(new Date('nope'), MINUTE),
      (e: unknown) => isError(e, ErrIncorrect),
    );
    assert.throws(
      () => cron.schedule('2025-01-01' as unknown as Date, MINUTE),
      (e: unknown) => isError(e, ErrIncorrect),
    );
    assert.throws(
      () => cron.schedule(new Date(), -1),
      (e: unknown) => isError(e, ErrIncorrect),
    );
    assert.throws(
      () => cron.schedule(new Date(), Number.NaN),
      (e: unknown) => isError(e, ErrIncorrect),
    );
    assert.throws(
      () => cron.jobSchedule('q', new Date(), 11 * 366 * 24 * 60 * MINUTE),
      (e: unknown) => isError(e, ErrTooLarge),
    );
    assert.deepEqual(cron.schedule(new Date(), 0), []);
  });
});

describe('cron service: actions', () => {
  it('createCronActionMessage: target, priority, description and validation', async () => {
    const pid = new PID('cron@localhost', 1005, 1);
    assert.equal(createCronActionMessage('reporter').info(), "send message to 'reporter' with normal priority");
    assert.equal(
      createCronActionMessage(pid, MessagePriority.Max).info(),
      `send message to ${pid.toString()} with max priority`,
    );
    assert.throws(
      () => createCronActionMessage('w', 7 as MessagePriority),
      (e: unknown) => isError(e, ErrIncorrect),
    );
    assert.throws(
      () => createCronActionMessage(''),
      (e: unknown) => isError(e, ErrIncorrect),
    );
    const node = new FakeNode();
    const time = new Date('2025-06-01T10:01:00Z');
    await createCronActionMessage(pid, MessagePriority.High).do('j', node, time);
    assert.deepEqual(node.sent, [
      { to: pid, message: new MessageCron('cron@localhost', 'j', time), priority: MessagePriority.High },
    ]);
  });

  it('createCronActionSpawn: a fresh process per run with the CRON_* env', async () => {
    class ReportWorker extends Actor {
      override init(_count?: number, _label?: string): void {}
    }
    const env = { REGION: 'eu' };
    const plain = createCronActionSpawn(ReportWorker, { processOptions: { env, mailboxSize: 10 }, args: [1, 'two'] });
    const named = createCronActionSpawn(ReportWorker, {
      register: 'reporter',
      processOptions: { env: new Map([['REGION', 'us']]) },
    });
    assert.equal(plain.info(), 'spawn process using behavior ReportWorker');
    assert.equal(named.info(), 'spawn process with registered name reporter using behavior ReportWorker');
    const createWorker = (): ReportWorker => new ReportWorker();
    assert.equal(createCronActionSpawn(createWorker).info(), 'spawn process using behavior createWorker');
    assert.throws(
      // @ts-expect-error a JavaScript caller's wrong factory is refused at run time too
      () => createCronActionSpawn(42),
      (e: unknown) => isError(e, ErrIncorrect),
    );

    const node = new FakeNode();
    const time = new Date('2025-06-01T10:01:00Z');
    await plain.do('nightly', node, time);
    await named.do('nightly', node, time);
    const [first, second] = node.spawned;
    assert.equal(first!.factory, ReportWorker);
    assert.equal(first!.register, undefined);
    assert.deepEqual(first!.args, [1, 'two']);
    assert.equal(first!.options!.mailboxSize, 10);
    assert.deepEqual(first!.options!.env, {
      REGION: 'eu',
      [CronEnvNodeName]: 'cron@localhost',
      [CronEnvJobName]: 'nightly',
      [CronEnvJobActionTime]: time,
    });
    assert.deepEqual(env, { REGION: 'eu' }, 'the caller’s env is not modified');
    assert.equal(second!.register, 'reporter');
    assert.deepEqual(
      second!.options!.env,
      new Map<string, unknown>([
        ['REGION', 'us'],
        ['CRON_NODE_NAME', 'cron@localhost'],
        ['CRON_JOB_NAME', 'nightly'],
        ['CRON_JOB_ACTION_TIME', time],
      ]),
    );
  });

  it('a spawn that fails fails the run', async () => {
    const { clock, node, cron } = setup('2025-06-01T10:00:30Z', [
      job('spawner', '* * * * *', createCronActionSpawn(class Worker extends Actor {}, { register: 'w' }), {
        fallback: { enable: true, name: 'alarms' },
      }),
    ]);
    node.spawnError = ErrTaken.with('w');
    cron.start();
    clock.advance(30_000);
    await flush();
    assert.equal(cron.jobInfo('spawner').lastErr, 'resource is taken: w');
    assert.ok(node.sent[0]!.message instanceof MessageCronFallback);
    cron.stop();
  });
});

describe('cron service: failures and fallbacks', () => {
  it('a throwing action sends MessageCronFallback to the fallback process', () => {
    const boom = new Error('boom');
    const { clock, node, cron } = setup('2025-06-01T10:00:30Z', [
      job(
        'fails',
        '* * * * *',
        {
          do: () => {
            throw boom;
          },
          info: () => 'throws',
        },
        { fallback: { enable: true, name: 'alarms', tag: 'nightly' } },
      ),
    ]);
    cron.start();
    clock.advance(30_000);
    assert.equal(node.sent.length, 1);
    const { to, message } = node.sent[0]!;
    assert.equal(to, 'alarms');
    assert.ok(message instanceof MessageCronFallback);
    assert.equal(message.job, 'fails');
    assert.equal(message.tag, 'nightly');
    assert.equal(message.time.toISOString(), '2025-06-01T10:01:00.000Z');
    assert.equal(message.err, boom);
    assert.equal(cron.jobInfo('fails').lastErr, 'boom');
    assert.ok(node.logged('error', 'job fails has failed (action time: 2025-06-01T10:01:00.000Z): Error: boom'));
    cron.stop();
  });

  it('a rejecting action does the same once it settles; success clears lastErr', async () => {
    let fail = true;
    const { clock, node, cron } = setup('2025-06-01T10:00:30Z', [
      job(
        'async',
        '* * * * *',
        {
          do: async () => {
            if (fail) throw new Error('no disk');
          },
          info: () => 'async',
        },
        { fallback: { enable: true, name: 'alarms' } },
      ),
    ]);
    cron.start();
    clock.advance(30_000);
    assert.equal(node.sent.length, 0, 'not settled yet');
    await flush();
    assert.equal(node.sent.length, 1);
    assert.equal((node.sent[0]!.message as MessageCronFallback).tag, '');
    assert.equal(cron.jobInfo('async').lastErr, 'no disk');
    fail = false;
    clock.advance(MINUTE);
    await flush();
    assert.equal(cron.jobInfo('async').lastErr, '');
    assert.equal(node.sent.length, 1);
    cron.stop();
  });

  it('without a fallback the failure is only recorded and logged; an unreachable fallback is logged', () => {
    const { clock, node, cron } = setup('2025-06-01T10:00:30Z', [
      job('plain', '* * * * *', createCronActionMessage('ghost')),
      job('lost', '* * * * *', createCronActionMessage('ghost'), { fallback: { enable: true, name: 'gone' } }),
      job('off', '* * * * *', createCronActionMessage('ghost'), { fallback: { enable: false, name: 'alarms' } }),
    ]);
    node.unknownTargets.add('ghost');
    node.unknownTargets.add('gone');
    cron.start();
    clock.advance(30_000);
    assert.equal(node.sent.length, 0);
    assert.equal(cron.jobInfo('plain').lastErr, 'unknown process: ghost');
    assert.ok(node.logged('error', 'job plain has failed'));
    assert.ok(node.logged('error', 'fallback process gone for job lost is unreachable'));
    assert.ok(!node.logged('error', 'fallback process alarms'));
    cron.stop();
  });

  it('guards user code: odd rejections, throwing thenables, info(), a throwing logger', async () => {
    const thenable = {
      then: () => {
        throw new Error('bad then');
      },
    };
    const { clock, node, cron } = setup('2025-06-01T10:00:30Z', [
      job('string', '* * * * *', { do: () => Promise.reject('just a string'), info: () => 'rejects a string' }),
      job('thenable', '* * * * *', { do: () => thenable as unknown as Promise<void>, info: () => 'thenable' }),
      job('info', '* * * * *', {
        do: () => undefined,
        info: () => {
          throw new Error('no info');
        },
      }),
    ]);
    cron.start();
    clock.advance(30_000);
    await flush();
    assert.equal(cron.jobInfo('string').lastErr, 'non-error thrown: just a string');
    assert.equal(cron.jobInfo('thenable').lastErr, 'bad then');
    assert.equal(cron.jobInfo('info').actionInfo, '(info() failed: no info)');
    node.log.error = () => {
      throw new Error('logger down');
    };
    cron.addJob(job('more', '* * * * *', { do: () => Promise.reject(new Error('x')), info: () => 'x' }));
    clock.advance(MINUTE);
    await flush();
    assert.equal(cron.jobInfo('more').lastErr, 'x');
    assert.equal(clock.pending, 1, 'still ticking');
    cron.stop();
  });
});

describe('cron service: concurrency', () => {
  it('jobs due at the same minute start together; runs of one job may overlap', async () => {
    const a = controlledAction();
    const b = controlledAction();
    const { clock, cron } = setup('2025-06-01T10:00:30Z', [job('a', '* * * * *', a), job('b', '* * * * *', b)]);
    cron.start();
    clock.advance(30_000);
    assert.equal(a.runs.length, 1);
    assert.equal(b.runs.length, 1, 'b started while a is still running');
    clock.advance(MINUTE);
    assert.equal(a.runs.length, 2, 'the 10:02 run of a started while the 10:01 run is in flight');
    // the older run fails after the newer one: lastErr speaks for the latest run only
    a.runs[1]!.resolve();
    await flush();
    a.runs[0]!.reject(new Error('old run'));
    await flush();
    const info = cron.jobInfo('a');
    assert.equal(info.lastRun?.toISOString(), '2025-06-01T10:02:00.000Z');
    assert.equal(info.lastErr, '');
    b.runs[0]!.reject(new Error('b failed'));
    await flush();
    assert.equal(cron.jobInfo('b').lastErr, '', 'b ran again at 10:02; that run is still going');
    b.runs[1]!.reject(new Error('b failed again'));
    await flush();
    assert.equal(cron.jobInfo('b').lastErr, 'b failed again');
    cron.stop();
  });
});
