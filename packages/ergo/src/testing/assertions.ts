// Fluent assertions over the recorded history (Ergo's Should* builders). A builder narrows the
// events of one kind with filters, then a terminal method checks the count and returns the
// matching events: `once()`, `times(n)`, `assert()` (at least one; none for ShouldNot*),
// `capture()`. A failed check throws node:assert's AssertionError listing what was recorded.

import { AssertionError } from 'node:assert';
import { ErrIncorrect } from '../gen/errors.js';
import { type LogLevel, logLevelString } from '../gen/log.js';
import type { MessagePriority } from '../gen/priority.js';
import { type EventLog, show, type TestEventKind, type TestEventOf } from './events.js';
import { Matcher, matches } from './matchers.js';

interface Filter<E> {
  readonly description: string;
  readonly test: (e: E) => boolean;
}

/**
 * The base of every Should* builder. Filters added with the chain methods are ANDed. Nothing is
 * checked until a terminal method runs — a chain without one asserts nothing.
 */
export class Expectation<K extends TestEventKind> {
  readonly #filters: Filter<TestEventOf<K>>[] = [];

  constructor(
    readonly history: EventLog,
    readonly kind: K,
    /** What is expected, for failure messages ("send", "spawn"...). */
    readonly label: string,
    /** True for ShouldNot*: the terminal check expects no matching event. */
    readonly negated = false,
  ) {}

  /** Adds a filter: only events for which `test` holds count. `description` appears in failures. */
  where(description: string, test: (e: TestEventOf<K>) => boolean): this {
    this.#filters.push({ description, test });
    return this;
  }

  /** The matching events, oldest first, without checking anything. */
  matching(): TestEventOf<K>[] {
    return this.history.ofKind(this.kind).filter((e) => this.#filters.every((f) => f.test(e)));
  }

  /**
   * Checks at least one matching event was recorded (none for ShouldNot*); returns them.
   * @throws AssertionError otherwise.
   */
  assert(): TestEventOf<K>[] {
    const found = this.matching();
    if (this.negated ? found.length !== 0 : found.length === 0)
      this.#fail(this.negated ? 'no' : 'at least one', found.length);
    return found;
  }

  /** Checks exactly `n` matching events were recorded; returns them. @throws AssertionError. */
  times(n: number): TestEventOf<K>[] {
    if (this.negated) throw ErrIncorrect.with('times() on a ShouldNot assertion: use assert()');
    if (!Number.isInteger(n) || n < 0) throw ErrIncorrect.with(`times(${String(n)})`);
    const found = this.matching();
    if (found.length !== n) this.#fail(`exactly ${n}`, found.length);
    return found;
  }

  /** Checks exactly one matching event was recorded; returns it. @throws AssertionError. */
  once(): TestEventOf<K> {
    return this.times(1)[0];
  }

  /** Checks at least `n` matching events were recorded; returns them. @throws AssertionError. */
  atLeast(n: number): TestEventOf<K>[] {
    const found = this.matching();
    if (found.length < n) this.#fail(`at least ${n}`, found.length);
    return found;
  }

  /** Checks at least one match and returns the first (Ergo's Capture). @throws AssertionError. */
  capture(): TestEventOf<K> {
    return this.assert()[0];
  }

  /** The filters, as a readable description. */
  describe(): string {
    return this.#filters.length === 0
      ? this.label
      : `${this.label} ${this.#filters.map((f) => f.description).join(' ')}`;
  }

  #fail(expected: string, got: number): never {
    const all = this.history.all();
    const same = all.filter((e) => e.kind === this.kind);
    const lines = same.length === 0 ? ['  (none)'] : same.map((e, i) => `  ${i + 1}. ${String(e)}`);
    const message =
      `expected ${expected} ${this.describe()}, found ${got}\n` +
      `recorded ${this.label} events (${same.length} of ${all.length} events in total):\n${lines.join('\n')}`;
    throw new AssertionError({
      message,
      actual: same.map(String),
      expected: [`${expected}: ${this.describe()}`],
      operator: `should ${this.label}`,
    });
  }
}

function valueText(v: unknown): string {
  return v instanceof Matcher ? v.description : show(v);
}

/** ShouldSend / ShouldNotSend. */
export class SendExpectation extends Expectation<'send'> {
  /** Only sends to this target (a PID, name, ProcessID, Alias, or a matcher). */
  to(target: unknown): this {
    return this.where(`to ${valueText(target)}`, (e) => matches(target, e.to));
  }
  /** Only sends of a message matching `m` (a value compared deeply, or a matcher). */
  message(m: unknown): this {
    return this.where(`with message ${valueText(m)}`, (e) => matches(m, e.message));
  }
  /** Only sends whose message satisfies `predicate` (Ergo's MessageMatching). */
  messageMatching(predicate: (message: unknown) => boolean): this {
    return this.where('with a message satisfying the predicate', (e) => {
      try {
        return predicate(e.message);
      } catch {
        return false;
      }
    });
  }
  /** Only sends with this priority. */
  priority(p: MessagePriority): this {
    return this.where(`with priority ${p}`, (e) => e.priority === p);
  }
  /** Only important sends. */
  important(): this {
    return this.where('marked important', (e) => e.important);
  }
  /** Only sends made by a fired sendAfter timer. */
  delayed(): this {
    return this.where('(delayed)', (e) => e.delayed);
  }
}

/** ShouldSendAfter: delayed sends that were scheduled. */
export class SendAfterExpectation extends Expectation<'sendAfter'> {
  /** Only events addressed to this target (a value compared as `matches` does, or a matcher). */
  to(target: unknown): this {
    return this.where(`to ${valueText(target)}`, (e) => matches(target, e.to));
  }
  /** Only events whose message matches `m` (a value compared deeply, or a matcher). */
  message(m: unknown): this {
    return this.where(`with message ${valueText(m)}`, (e) => matches(m, e.message));
  }
  /** Only timers of this delay (ms). */
  delay(ms: number): this {
    return this.where(`after ${ms} ms`, (e) => e.delay === ms);
  }
}

/** ShouldSpawn. */
export class SpawnExpectation extends Expectation<'spawn'> {
  /** Only spawns of this factory (class or function). */
  factory(f: unknown): this {
    const name = (f as { name?: string })?.name || 'factory';
    return this.where(`of ${name}`, (e) => e.factory === f);
  }
  /** Only spawns with these arguments (values or matchers). */
  args(...args: unknown[]): this {
    return this.where(`with args ${show(args.map(valueText))}`, (e) => matches(args, e.args));
  }
  /** Only spawns registered under `name`. */
  register(name: string): this {
    return this.where(`registered as '${name}'`, (e) => e.register === name);
  }
  /** Only spawns whose options match (a partial pattern or a matcher). */
  options(m: unknown): this {
    return this.where(`with options ${valueText(m)}`, (e) => matches(m, e.options));
  }
}

/** ShouldLog. */
export class LogExpectation extends Expectation<'log'> {
  /** Only records of this level. */
  level(level: LogLevel): this {
    return this.where(`at level ${logLevelString(level)}`, (e) => e.level === level);
  }
  /** Only records whose formatted text contains `text`. */
  containing(text: string): this {
    return this.where(`containing ${JSON.stringify(text)}`, (e) => e.message.includes(text));
  }
  /** Only records whose formatted text matches `m` (a string compared exactly, a RegExp, or a matcher). */
  message(m: string | RegExp | Matcher): this {
    if (m instanceof RegExp) return this.where(`matching ${String(m)}`, (e) => m.test(e.message));
    return this.where(`with text ${valueText(m)}`, (e) => matches(m, e.message));
  }
}

/** ShouldCall. */
export class CallExpectation extends Expectation<'call'> {
  /** Only events addressed to this target (a value compared as `matches` does, or a matcher). */
  to(target: unknown): this {
    return this.where(`to ${valueText(target)}`, (e) => matches(target, e.to));
  }
  /** Only calls with a request matching `m`. */
  request(m: unknown): this {
    return this.where(`with request ${valueText(m)}`, (e) => matches(m, e.request));
  }
}

/** ShouldSendResponse. */
export class SendResponseExpectation extends Expectation<'sendResponse'> {
  /** Only events addressed to this target (a value compared as `matches` does, or a matcher). */
  to(pid: unknown): this {
    return this.where(`to ${valueText(pid)}`, (e) => matches(pid, e.to));
  }
  /** Only replies to the call with this Ref. */
  ref(ref: unknown): this {
    return this.where(`for ${valueText(ref)}`, (e) => matches(ref, e.ref));
  }
  /** Only replies matching `m`. */
  response(m: unknown): this {
    return this.where(`with response ${valueText(m)}`, (e) => matches(m, e.response));
  }
}

/** ShouldSendResponseError. */
export class SendResponseErrorExpectation extends Expectation<'sendResponseError'> {
  /** Only events addressed to this target (a value compared as `matches` does, or a matcher). */
  to(pid: unknown): this {
    return this.where(`to ${valueText(pid)}`, (e) => matches(pid, e.to));
  }
  /** Only replies to the call with this Ref (or a matcher). */
  ref(ref: unknown): this {
    return this.where(`for ${valueText(ref)}`, (e) => matches(ref, e.ref));
  }
  /** Only error replies matching `m` (an Error compared by class, code and message, or a matcher). */
  error(m: unknown): this {
    return this.where(`with error ${valueText(m)}`, (e) => matches(m, e.error));
  }
}

/** ShouldSendExit. */
export class ExitExpectation extends Expectation<'sendExit'> {
  /** Only events addressed to this target (a value compared as `matches` does, or a matcher). */
  to(pid: unknown): this {
    return this.where(`to ${valueText(pid)}`, (e) => matches(pid, e.to));
  }
  /** Only events with this reason (an Error compared by class, code and message, or a matcher). */
  withReason(reason: unknown): this {
    return this.where(`with reason ${valueText(reason)}`, (e) => matches(reason, e.reason));
  }
}

/** ShouldTerminate / ShouldNotTerminate. */
export class TerminateExpectation extends Expectation<'terminate'> {
  /** Only terminations with this reason (an Error compared by class, code and message, or a matcher). */
  withReason(reason: unknown): this {
    return this.where(`with reason ${valueText(reason)}`, (e) => matches(reason, e.reason));
  }
  /** Only terminations whose reason satisfies `predicate`. */
  reasonMatching(predicate: (reason: Error) => boolean): this {
    return this.where('with a reason satisfying the predicate', (e) => predicate(e.reason));
  }
}

/** ShouldRemoteSpawn. */
export class RemoteSpawnExpectation extends Expectation<'remoteSpawn'> {
  /** Only spawns on this remote node. */
  onNode(node: string): this {
    return this.where(`on '${node}'`, (e) => e.node === node);
  }
  /** Only spawns of the factory enabled under `name`. */
  name(name: string): this {
    return this.where(`of '${name}'`, (e) => e.name === name);
  }
  /** Only spawns registered under `name`. */
  register(name: string): this {
    return this.where(`registered as '${name}'`, (e) => e.register === name);
  }
  /** Only spawns with these arguments (values or matchers). */
  args(...args: unknown[]): this {
    return this.where(`with args ${show(args.map(valueText))}`, (e) => matches(args, e.args));
  }
}

/** ShouldRemoteApplicationStart. */
export class RemoteApplicationStartExpectation extends Expectation<'remoteApplicationStart'> {
  /** Only operations on this remote node. */
  onNode(node: string): this {
    return this.where(`on '${node}'`, (e) => e.node === node);
  }
  /** Only operations of the factory or application enabled under `name`. */
  name(name: string): this {
    return this.where(`of '${name}'`, (e) => e.name === name);
  }
  /** Only starts in this mode ('' = the spec's own). */
  mode(mode: '' | 'temporary' | 'transient' | 'permanent'): this {
    return this.where(`in mode '${mode}'`, (e) => e.mode === mode);
  }
}

/** ShouldAddCronJob, ShouldRemoveCronJob, ShouldEnableCronJob, ShouldDisableCronJob, ShouldExecuteCronJob. */
export class CronExpectation extends Expectation<'cron'> {
  /** Only jobs with this name. */
  withName(name: string): this {
    return this.where(`named '${name}'`, (e) => e.name === name);
  }
  /** Only jobs added with this spec. */
  withSpec(spec: string): this {
    return this.where(`with spec '${spec}'`, (e) => e.job?.spec === spec);
  }
  /** Only runs at this minute. */
  at(time: Date): this {
    return this.where(`at ${time.toISOString()}`, (e) => e.time?.getTime() === time.getTime());
  }
}

/** ShouldConnect / ShouldDisconnect. */
export class ConnectionExpectation extends Expectation<'connection'> {
  /** Only connections to or disconnections from this node. */
  toNode(node: string): this {
    return this.where(`'${node}'`, (e) => e.node === node);
  }
}

/** ShouldLink / ShouldMonitor (and their undo). */
export class WatchExpectation extends Expectation<'watch'> {
  /** Only links/monitors of this target (a value or a matcher). */
  target(t: unknown): this {
    return this.where(`${valueText(t)}`, (e) => matches(t, e.target));
  }
}

/** ShouldRegisterEvent / ShouldSendEvent. */
export class EventExpectation extends Expectation<'event'> {
  /** Only events with this name. */
  named(name: string): this {
    return this.where(`'${name}'`, (e) => e.name === name);
  }
  /** Only events whose message matches `m` (a value compared deeply, or a matcher). */
  message(m: unknown): this {
    return this.where(`with message ${valueText(m)}`, (e) => matches(m, e.message));
  }
}

/** ShouldSpawnMeta. */
export class SpawnMetaExpectation extends Expectation<'spawnMeta'> {
  /** Only metas whose behaviour is an instance of `cls`. */
  behavior(cls: abstract new (...args: never[]) => unknown): this {
    return this.where(`of ${cls.name}`, (e) => e.behavior instanceof cls);
  }
  /** Only metas spawned with options matching `m`. */
  options(m: unknown): this {
    return this.where(`with options ${valueText(m)}`, (e) => matches(m, e.options));
  }
}

/** ShouldSendExitMeta / ShouldNotSendExitMeta. */
export class ExitMetaExpectation extends Expectation<'sendExitMeta'> {
  /** Only exits to this meta (an Alias or a matcher). */
  toMeta(meta: unknown): this {
    return this.where(`to ${valueText(meta)}`, (e) => matches(meta, e.to));
  }
  /** Only exits with this reason. */
  withReason(reason: unknown): this {
    return this.where(`with reason ${valueText(reason)}`, (e) => matches(reason, e.reason));
  }
}

/** ShouldCallNode: node-level operations the actor made through `this.node` (application starts, kills, loggers...). */
export class NodeCallExpectation extends Expectation<'node'> {
  /** Only calls of this node method (`applicationStart`, `kill`, `loggerAddPID`...). */
  method(name: string): this {
    return this.where(`${name}()`, (e) => e.method === name);
  }
  /** Only calls whose leading arguments match these (values or matchers). */
  args(...args: unknown[]): this {
    return this.where(`with args ${show(args.map(valueText))}`, (e) => matches(args, e.args.slice(0, args.length)));
  }
}
