// Failure injection: any mocked method of the kit's process, node, network, remote nodes and
// registrar can be told to fail (always, after N calls, once, or when its arguments match), and
// every call is counted.

import { inspect } from 'node:util';
import { ErrIncorrect } from '../gen/errors.js';
import { type EventLog, FailureEvent } from './events.js';

interface Rule {
  readonly error: Error;
  /** Calls that pass before the rule fires (0 = fires at once). */
  readonly after: number;
  /** Fires only when the printed arguments contain this text. */
  readonly pattern: string | RegExp | undefined;
  /** Removed after firing once. */
  readonly once: boolean;
}

/**
 * Failure rules and call counters of one mocked component. Method names are the TypeScript ones
 * (`send`, `spawn`, `call`, `getNode`...). A fired rule throws its error from a synchronous method
 * and rejects from an asynchronous one, and is recorded as a {@link FailureEvent}.
 *
 * Differences from Ergo: calls are counted whether or not a rule is set, and `setMethodFailure`
 * keeps failing until cleared (use {@link setMethodFailureOnce} for a single failure).
 */
export class Failures {
  readonly #rules = new Map<string, Rule>();
  readonly #counts = new Map<string, number>();
  constructor(
    readonly component: string,
    readonly events: EventLog,
  ) {}

  /** Makes every later call of `method` fail with `error`. */
  setMethodFailure(method: string, error: Error): void {
    this.#set(method, { error, after: 0, pattern: undefined, once: false });
  }

  /** Lets the next `calls` calls of `method` pass, then fails every later one. */
  setMethodFailureAfter(method: string, calls: number, error: Error): void {
    if (!Number.isInteger(calls) || calls < 0)
      throw ErrIncorrect.with(`setMethodFailureAfter: calls must be a non-negative integer, got ${String(calls)}`);
    this.#set(method, { error, after: (this.#counts.get(method) ?? 0) + calls, pattern: undefined, once: false });
  }

  /** Fails the next call of `method` only. */
  setMethodFailureOnce(method: string, error: Error): void {
    this.#set(method, { error, after: 0, pattern: undefined, once: true });
  }

  /**
   * Fails calls of `method` whose arguments, printed, contain `pattern` (or match it, for a
   * RegExp); other calls pass.
   */
  setMethodFailurePattern(method: string, pattern: string | RegExp, error: Error): void {
    this.#set(method, { error, after: 0, pattern, once: false });
  }

  /** Removes the rule of `method` and resets its counter. */
  clearMethodFailure(method: string): void {
    this.#rules.delete(method);
    this.#counts.delete(method);
  }

  /** Removes every rule and counter. */
  clearMethodFailures(): void {
    this.#rules.clear();
    this.#counts.clear();
  }

  /** How many times `method` was called (failed calls included) since the last clear. */
  getMethodCallCount(method: string): number {
    return this.#counts.get(method) ?? 0;
  }

  /**
   * Counts a call and returns the error to fail it with, or undefined. Called by the kit's mocks
   * at the start of every method.
   */
  check(method: string, args: readonly unknown[]): Error | undefined {
    const n = (this.#counts.get(method) ?? 0) + 1;
    this.#counts.set(method, n);
    const rule = this.#rules.get(method);
    if (rule === undefined || n <= rule.after) return undefined;
    if (rule.pattern !== undefined) {
      const text = args
        .map((a) => (typeof a === 'string' ? a : inspect(a, { depth: 3, breakLength: Infinity })))
        .join(' ');
      const hit = typeof rule.pattern === 'string' ? text.includes(rule.pattern) : rule.pattern.test(text);
      if (!hit) return undefined;
    }
    if (rule.once) this.#rules.delete(method);
    this.events.push(new FailureEvent(this.component, method, args, rule.error));
    return rule.error;
  }

  #set(method: string, rule: Rule): void {
    if (typeof method !== 'string' || method === '') throw ErrIncorrect.with('failure injection: empty method name');
    if (!(rule.error instanceof Error))
      throw ErrIncorrect.with(`failure injection for ${method}: the failure must be an Error`);
    this.#rules.set(method, rule);
  }
}
