// What the workflow API checks at the call, so a bad value is refused there with a coded error
// instead of failing later where the caller cannot see it (issue 71 item 12): `ctx.sleep(1e300)`
// was accepted, then the instance's wake-up reminder refused that time at every save and the
// activation panicked about 16 times a second for ever; a step's `timeoutMs` or a retry's wait
// longer than a Node timer holds fired after 1 ms; a signal or query named by a BigInt, a cycle
// or `toString` (an Object.prototype key) panicked the activation instead of being refused.

import { firstIssue, type StandardSchemaV1 } from 'ergo-ts';

import { ErrEntityUnstorable } from '../../contract/errors.js';
import { describeThrown } from '../../contract/thrown.js';
import { ErrWorkflowIncorrect, ErrWorkflowValueTooLarge } from './errors.js';
import { storedBytes } from './sizes.js';

/**
 * The latest time a sleep or a signal wait's deadline may end, epoch ms: the latest instant a
 * Date holds (year 275760), below 2^53 (the reminder stores keep due times as safe integers).
 */
export const MAX_WAKE_AT = 8_640_000_000_000_000;

/** The longest in-memory wait, in ms (a Node timer given longer fires after 1 ms): a step's timeoutMs, a retry's wait. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A timer's delay for a wait of `ms` that re-arms until its end: 0..{@link MAX_TIMER_MS}. */
export function timerMs(ms: number): number {
  return Math.min(Math.max(0, ms), MAX_TIMER_MS);
}

/**
 * When a sleep of `duration` (ms, or `{ until }`: a Date or epoch ms) asked at `now` ends. Throws
 * ERR_WORKFLOW_INCORRECT for a negative or non-finite duration, or an end past {@link MAX_WAKE_AT}.
 */
export function sleepUntil(duration: unknown, now: number): number {
  let until: number;
  try {
    if (typeof duration === 'number') until = duration < 0 ? NaN : now + duration;
    else {
      const u = (duration as { until?: unknown } | null)?.until;
      until = u instanceof Date ? u.getTime() : typeof u === 'number' ? u : NaN;
    }
  } catch {
    until = NaN; // an `until` getter that throws
  }
  if (!Number.isFinite(until) || until > MAX_WAKE_AT)
    throw ErrWorkflowIncorrect.with(
      `sleep: a duration ≥ 0 or a time, ending by ${new Date(MAX_WAKE_AT).toISOString()}, got ${describeThrown(duration)}`,
    );
  return until;
}

/**
 * The deadline of a signal wait with `timeoutMs` asked at `now` (undefined: none). Throws
 * ERR_WORKFLOW_INCORRECT for a negative or non-number one, or one ending past {@link MAX_WAKE_AT}.
 */
export function signalDeadline(name: string, timeoutMs: unknown, now: number): number | undefined {
  if (timeoutMs === undefined) return undefined;
  if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0) || now + timeoutMs > MAX_WAKE_AT)
    throw ErrWorkflowIncorrect.with(
      `signal ${name}: timeoutMs must be a number ≥ 0 ending by ${new Date(MAX_WAKE_AT).toISOString()}, got ${describeThrown(timeoutMs)}`,
    );
  return now + timeoutMs;
}

/**
 * Checks a step's `timeoutMs` (or the option `what`; undefined: none): a number in
 * 1..{@link MAX_TIMER_MS}, else ERR_WORKFLOW_INCORRECT.
 */
export function checkStepTimeout(name: string, timeoutMs: unknown, what = 'timeoutMs'): void {
  if (timeoutMs === undefined) return;
  if (typeof timeoutMs !== 'number' || !(timeoutMs >= 1 && timeoutMs <= MAX_TIMER_MS))
    throw ErrWorkflowIncorrect.with(
      `step ${name}: ${what} must be a number in 1..${MAX_TIMER_MS}, got ${describeThrown(timeoutMs)}`,
    );
}

/**
 * What `table` (a kind's signals, queries or outboxes) declares under `name`: its own key only, so
 * a name that is not a string, or is an Object.prototype key (`toString`), names nothing.
 */
export function declared<T>(table: Readonly<Record<string, T>>, name: unknown): T | undefined {
  return typeof name === 'string' && Object.hasOwn(table, name) ? table[name] : undefined;
}

/**
 * Why `schema` refuses `value` (its first issue's message), or undefined when it takes it. A value
 * whose reading throws (a getter) is refused too, never thrown at the caller.
 */
export function valueIssue(schema: StandardSchemaV1, value: unknown): string | undefined {
  try {
    return firstIssue(schema, value)?.message;
  } catch (err) {
    return `it could not be read: ${describeThrown(err)}`;
  }
}

/**
 * Throws ERR_WORKFLOW_VALUE_TOO_LARGE when `v` (named `what`) is over `max` bytes stored (a step's
 * result, heartbeat details, an outbox message), and what {@link storableSize} throws.
 */
export function checkValueSize(what: string, v: unknown, max: number): void {
  const size = storableSize(v, what);
  if (size > max)
    throw ErrWorkflowValueTooLarge.with(
      `${what} is about ${size} bytes, over the workflow's maxValueBytes ${max}: store it elsewhere and keep its reference (a claim check)`,
    );
}

/**
 * `storedBytes(v, what)`: throws ERR_ENTITY_UNSTORABLE for a value no store keeps exactly, and
 * ERR_WORKFLOW_INCORRECT for one whose reading threw (a getter), never the thrown value itself.
 */
export function storableSize(v: unknown, what: string): number {
  try {
    return storedBytes(v, what);
  } catch (err) {
    if (ErrEntityUnstorable.is(err)) throw err;
    throw ErrWorkflowIncorrect.with(`${what} could not be read: ${describeThrown(err)}`);
  }
}

/** The longest signal id (`handle.signal`'s `id`, a start's `signal.id`), in UTF-16 code units: as an update id's. */
export const MAX_SIGNAL_ID_LENGTH = 256;

/**
 * Checks a signal id (undefined: none) as {@link MAX_SIGNAL_ID_LENGTH} bounds it; throws
 * ERR_WORKFLOW_INCORRECT naming `where`. Each kept id stays in the instance's record, so an
 * unbounded one would grow every later write of it.
 */
export function checkSignalId(where: string, id: unknown): string | undefined {
  if (id === undefined) return undefined;
  if (typeof id !== 'string' || id === '' || id.length > MAX_SIGNAL_ID_LENGTH)
    throw ErrWorkflowIncorrect.with(
      `${where}: a signal id is a string of 1..${MAX_SIGNAL_ID_LENGTH} characters, got ${
        typeof id === 'string' ? `${id.length} characters` : describeThrown(id)
      }`,
    );
  return id;
}

/**
 * `check()`, a check that reads a caller's value: a throw that is not ERR_WORKFLOW_INCORRECT (a
 * Proxy's trap, a getter, a revoked Proxy) becomes ERR_WORKFLOW_INCORRECT naming `what`. The
 * trap's own error is never passed on: its code (if any) is the caller's, not a refusal of ours.
 */
export function readChecked<T>(what: string, check: () => T): T {
  try {
    return check();
  } catch (err) {
    let ours = false;
    try {
      ours = ErrWorkflowIncorrect.is(err);
    } catch {
      // A thrown Proxy whose prototype trap throws: not one of ours.
    }
    if (ours) throw err;
    throw ErrWorkflowIncorrect.with(`${what}: it could not be read: ${describeThrown(err)}`);
  }
}
