// An error as a workflow's journal keeps it, and as it reaches a caller on any node (a `result`
// reply, an update's failure, a child's outcome are values, not errors on the wire): an Error
// object does not round-trip through a store, so its name, message and code are kept — and its
// whole `cause` chain (up to MAX_CAUSE_DEPTH errors below it), its stack (the first
// MAX_STACK_CHARS characters) and its `details` (a value the user attached that a store keeps
// exactly), within a byte budget: over it, the stacks go first, then the details, then the
// causes' long messages, and last the chain (the old shape, `{name, message, code}`, which
// records written before this version have: they revive as they did).

import { ErgoError } from 'ergo-ts';

import { structuredCodec } from '../../contract/structured_codec.js';
import { describeThrown } from '../../contract/thrown.js';

/** An error as a journal keeps it (Error objects do not round-trip through a store). */
export interface StoredError {
  readonly name: string;
  readonly message: string;
  /** The error's `code` when it had a string one (`ERR_...`). */
  readonly code?: string;
  /** The error's stack, its first 4096 characters (absent in records written before it was kept). */
  readonly stack?: string;
  /** The error's `details`: what the user attached, when a store keeps it exactly and it fits the budget. */
  readonly details?: unknown;
  /** The error's `cause`, kept the same way (a thrown value that is not an Error: its text). */
  readonly cause?: StoredError;
}

/** How many causes below an error are kept (a longer chain is cut there). */
export const MAX_CAUSE_DEPTH = 8;
/** How much of each error's stack is kept, in characters (cut at a line's end). */
export const MAX_STACK_CHARS = 4096;
/**
 * How a workflow kind's errors are journaled and rebuilt (its `failureConverter` option): `toStored`
 * gets what the body, a step, an activity or an update's `fail` threw and returns the error to
 * keep — its name, message, code, stack, `details` and cause chain are then kept by the rule above
 * (return it unchanged for errors it does not convert: the engine's own pass through it too);
 * `fromStored` gets the error rebuilt from the journal and returns the one the body (on a replay)
 * and every caller get. Both run on every node that knows the kind (a client's too), so the kind's
 * definition carries them. They must not depend on anything but their argument; one that throws
 * is skipped (the error is kept, or given, as it was).
 */
export interface WorkflowFailureConverter {
  /** The thrown value as it is to be kept. */
  readonly toStored?: (err: unknown) => unknown;
  /** The rebuilt error as the body and callers are to get it. */
  readonly fromStored?: (err: Error) => Error;
}

/** `err` through `converter.toStored` (as it is without one, or when the converter throws). */
function converted(err: unknown, converter: WorkflowFailureConverter | undefined): unknown {
  if (converter?.toStored === undefined) return err;
  try {
    return converter.toStored(err);
  } catch {
    return err; // a converter that throws: the error as thrown (never lost)
  }
}

/** The bytes a stored error takes at most (its chain, stacks and details), unless the kind's `maxValueBytes` is smaller. */
export const MAX_STORED_ERROR_BYTES = 32 * 1024;
/** A cause's message is cut to this many characters when the chain is over its budget with long messages. */
const SHORT_MESSAGE_CHARS = 512;

/** One error of a chain, read once (never throws). */
interface Level {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly stack?: string;
  readonly details?: unknown;
}

function read(v: unknown): { level: Level; cause: unknown } {
  try {
    if (v instanceof Error) {
      const { name, message } = v;
      const code = (v as { code?: unknown }).code;
      if (typeof name === 'string' && typeof message === 'string') {
        const stack = v.stack;
        const details = (v as { details?: unknown }).details;
        const level: Level = {
          name,
          message,
          ...(typeof code === 'string' ? { code } : {}),
          ...(typeof stack === 'string' && stack !== '' ? { stack: boundStack(stack) } : {}),
          ...(details !== undefined && storable(details) ? { details } : {}),
        };
        let cause: unknown;
        try {
          cause = v.cause;
        } catch {
          cause = undefined; // a cause getter that throws: the chain ends here
        }
        return { level, cause };
      }
    }
  } catch {
    // A name, message, code, stack or details getter that throws: described below.
  }
  return { level: { name: 'Error', message: describeThrown(v) }, cause: undefined };
}

function boundStack(stack: string): string {
  if (stack.length <= MAX_STACK_CHARS) return stack;
  const cut = stack.lastIndexOf('\n', MAX_STACK_CHARS);
  return `${stack.slice(0, cut > 0 ? cut : MAX_STACK_CHARS)}\n    ...`;
}

function storable(v: unknown): boolean {
  try {
    structuredCodec.encode(v, 'details');
    return true;
  } catch {
    return false;
  }
}

function bytes(e: StoredError): number {
  try {
    return structuredCodec.encode(e, 'error').length;
  } catch {
    return Infinity; // details a store kept alone but not together (cannot happen): the next shape
  }
}

/** The chain of levels, top first, built as one stored error under `shape`'s omissions. */
function build(levels: readonly Level[], shape: { stacks: boolean; details: boolean; short: boolean }): StoredError {
  let out: StoredError | undefined;
  for (let i = levels.length - 1; i >= 0; i--) {
    const { name, message, code, stack, details } = levels[i]!;
    const text =
      shape.short && i > 0 && message.length > SHORT_MESSAGE_CHARS
        ? `${message.slice(0, SHORT_MESSAGE_CHARS)}...`
        : message;
    out = {
      name,
      message: text,
      ...(code === undefined ? {} : { code }),
      ...(shape.stacks && stack !== undefined ? { stack } : {}),
      ...(shape.details && details !== undefined ? { details } : {}),
      ...(out === undefined ? {} : { cause: out }),
    };
  }
  return out!;
}

/**
 * The journal form of `err`, whatever was thrown, with its cause chain, stacks and details as the
 * module's header says, in at most `maxBytes` (default {@link MAX_STORED_ERROR_BYTES}) stored
 * bytes — or, when even the chain without them is over, its name, message and code alone. Never
 * throws (see contract/thrown.ts).
 */
export function storedError(
  err: unknown,
  maxBytes = MAX_STORED_ERROR_BYTES,
  converter?: WorkflowFailureConverter,
): StoredError {
  const levels: Level[] = [];
  const seen = new Set<unknown>();
  let v: unknown = converted(err, converter);
  while (levels.length <= MAX_CAUSE_DEPTH && !seen.has(v)) {
    seen.add(v);
    const { level, cause } = read(v);
    levels.push(level);
    if (cause === undefined) break;
    v = cause;
  }
  const budget = Math.min(maxBytes, MAX_STORED_ERROR_BYTES);
  for (const shape of [
    { stacks: true, details: true, short: false },
    { stacks: false, details: true, short: false },
    { stacks: false, details: false, short: false },
    { stacks: false, details: false, short: true },
  ]) {
    const e = build(levels, shape);
    if (bytes(e) <= budget) return e;
  }
  return build(levels.slice(0, 1), { stacks: false, details: false, short: false });
}

function isStored(v: unknown): v is StoredError {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as StoredError).name === 'string' &&
    typeof (v as StoredError).message === 'string'
  );
}

/**
 * An Error rebuilt from its journal form: an ErgoError when it had a code (so the sentinel's
 * `.is()` matches it, as it matched the error journaled), a plain Error otherwise; its name, its
 * stack (when kept), its `details` and its `cause` chain (rebuilt the same way) as they were —
 * then through `converter.fromStored` when the kind has one (skipped if it throws or returns no Error).
 */
export function revivedError(e: StoredError, converter?: WorkflowFailureConverter): Error {
  const err = revive(e, 0);
  if (converter?.fromStored === undefined) return err;
  try {
    const out = converter.fromStored(err);
    return out instanceof Error ? out : err;
  } catch {
    return err;
  }
}

function revive(e: StoredError, depth: number): Error {
  const cause = depth < MAX_CAUSE_DEPTH && isStored(e.cause) ? revive(e.cause, depth + 1) : undefined;
  const options = cause === undefined ? undefined : { cause };
  const err = e.code === undefined ? new Error(e.message, options) : new ErgoError(e.code, e.message, options);
  if (err.name !== e.name) err.name = e.name;
  if (typeof e.stack === 'string') err.stack = e.stack;
  if (e.details !== undefined) (err as { details?: unknown }).details = e.details;
  return err;
}

/** The head of a stored error, its name, message and code alone: what a listing's row shows (`describe()` has the rest). */
export function errorHead(e: StoredError): StoredError {
  return { name: e.name, message: e.message, ...(e.code === undefined ? {} : { code: e.code }) };
}
