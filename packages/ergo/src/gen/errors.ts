// Errors and termination reasons. Each Ergo sentinel is an ErgoError value with a stable `code`
// and Ergo's exact text (the text is what crosses the wire, so Go nodes map it back to their own
// sentinel). API calls throw fresh instances carrying the same code plus detail, so
// `assert.throws(fn, { code: 'ERR_TAKEN' })` and `isError(err, ErrTaken)` both work.

/** Base class of every error the framework produces. `code` is stable across releases. */
export class ErgoError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  /**
   * True if `err` is this sentinel or another error carrying the same code: an ErgoError, or any
   * Error whose `code` is this one's (an error rebuilt from its stored or wire form, a copy of this
   * sentinel from a second bundle of ergo-ts). Never throws (a `code` getter that throws: false).
   */
  is(err: unknown): boolean {
    if (err === this) return true;
    if (err instanceof ErgoError) return err.code === this.code;
    if (!(err instanceof Error)) return false;
    try {
      return (err as { code?: unknown }).code === this.code;
    } catch {
      return false;
    }
  }

  /**
   * A fresh error of this kind (same code), with `detail` appended to the message. A detail longer
   * than {@link MAX_ERROR_DETAIL} characters (user input quoted in full: a 1 MB name) is cut, see
   * {@link boundText}.
   */
  with(detail?: string, cause?: unknown): ErgoError {
    const e = new ErgoError(
      this.code,
      detail ? `${this.message}: ${boundText(detail)}` : this.message,
      cause === undefined ? undefined : { cause },
    );
    return e;
  }
}

/** Longest error detail kept whole, in UTF-16 characters (a 255-byte name plus context fits). */
export const MAX_ERROR_DETAIL = 512;
const KEEP_HEAD = 384;
const KEEP_TAIL = 64;

/**
 * `text` if it has at most {@link MAX_ERROR_DETAIL} characters; otherwise its first 384 and last
 * 64 characters around `…[N chars]…` (N = the original length), so the message still names the
 * option and what surrounds the quoted value. Never splits a surrogate pair.
 */
export function boundText(text: string): string {
  if (text.length <= MAX_ERROR_DETAIL) return text;
  let head = KEEP_HEAD;
  if (isHighSurrogate(text.charCodeAt(head - 1))) head--;
  let tail = text.length - KEEP_TAIL;
  if (isLowSurrogate(text.charCodeAt(tail))) tail++;
  return `${text.slice(0, head)}…[${text.length} chars]…${text.slice(tail)}`;
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}
function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}
ErgoError.prototype.name = 'ErgoError';

const sentinels = new Map<string, ErgoError>();

/** Defines (and registers by code and text) a sentinel error. */
export function defineError(code: string, text: string): ErgoError {
  const e = new ErgoError(code, text);
  sentinels.set(code, e);
  return e;
}

/** The sentinel registered under `code`, if any. */
export function sentinelByCode(code: string): ErgoError | undefined {
  return sentinels.get(code);
}

/** Every registered sentinel (framework errors and reasons, plus user ones from defineError). */
export function registeredSentinels(): Iterable<ErgoError> {
  return sentinels.values();
}

/** True if `err` is `sentinel` or an error with the same code. */
export function isError(err: unknown, sentinel: ErgoError): boolean {
  return sentinel.is(err);
}

// Termination reasons (gen/process.go).
/** Clean self-stop; not logged; transient restarts and transient apps ignore it. */
export const TerminateReasonNormal = defineError('TERMINATE_NORMAL', 'normal');
/** Stop requested by parent/node/application/supervisor; treated like normal. */
export const TerminateReasonShutdown = defineError('TERMINATE_SHUTDOWN', 'shutdown');
/** Forced termination (`kill`); abnormal. */
export const TerminateReasonKill = defineError('TERMINATE_KILL', 'kill');
/** A callback threw or rejected; abnormal. The original error is logged with its stack. */
export const TerminateReasonPanic = defineError('TERMINATE_PANIC', 'panic');

// Framework errors (gen/errors.go), Ergo's texts.
/** Unregistering a name nobody holds; remote spawn/app start of a name not enabled. */
export const ErrNameUnknown = defineError('ERR_NAME_UNKNOWN', 'unknown name');
/** Internal spawn without a parent. */
export const ErrParentUnknown = defineError('ERR_PARENT_UNKNOWN', 'parent/leader is not set');
/** Any node operation after stop. */
export const ErrNodeTerminated = defineError('ERR_NODE_TERMINATED', 'node terminated');
/** A bounded mailbox queue is full. */
export const ErrProcessMailboxFull = defineError('ERR_PROCESS_MAILBOX_FULL', 'process mailbox is full');
/** No such process (PID, name or alias). */
export const ErrProcessUnknown = defineError('ERR_PROCESS_UNKNOWN', 'unknown process');
/** A remote PID/Alias of a previous incarnation of its node. */
export const ErrProcessIncarnation = defineError(
  'ERR_PROCESS_INCARNATION',
  'process ID belongs to the previous incarnation',
);
/** The target exists but is terminating; a call whose target died; a caller killed while waiting. */
export const ErrProcessTerminated = defineError('ERR_PROCESS_TERMINATED', 'process terminated');
/** Meta process operations on an unknown alias. */
export const ErrMetaUnknown = defineError('ERR_META_UNKNOWN', 'unknown meta process');
/** A bounded meta process mailbox is full. */
export const ErrMetaMailboxFull = defineError('ERR_META_MAILBOX_FULL', 'meta process mailbox is full');
/** No such application. */
export const ErrApplicationUnknown = defineError('ERR_APPLICATION_UNKNOWN', 'unknown application');
/** A dependency is unknown or failed to start. */
export const ErrApplicationDepends = defineError('ERR_APPLICATION_DEPENDS', 'dependency fail');
/** The application is in a state that does not allow the operation. */
export const ErrApplicationState = defineError('ERR_APPLICATION_STATE', 'application is in running/stopping state');
/** The application's load threw. */
export const ErrApplicationLoadPanic = defineError('ERR_APPLICATION_LOAD_PANIC', 'panic in application loading');
/** An application spec without members. */
export const ErrApplicationEmpty = defineError('ERR_APPLICATION_EMPTY', 'application has no items');
/** An application spec without a name. */
export const ErrApplicationName = defineError('ERR_APPLICATION_NAME', 'application has no name');
/** A stop did not finish in time, or a stop is already in progress. */
export const ErrApplicationStopping = defineError('ERR_APPLICATION_STOPPING', 'application stopping is in progress');
/** Start or unload of a running application. */
export const ErrApplicationRunning = defineError('ERR_APPLICATION_RUNNING', 'application is still running');
/** Unlink/demonitor of a relation that does not exist. */
export const ErrTargetUnknown = defineError('ERR_TARGET_UNKNOWN', 'unknown target');
/** A link or monitor that exists already. */
export const ErrTargetExist = defineError('ERR_TARGET_EXIST', 'target is already exist');
/** The registrar client is gone. */
export const ErrRegistrarTerminated = defineError('ERR_REGISTRAR_TERMINATED', 'registrar client terminated');
/** No such alias. */
export const ErrAliasUnknown = defineError('ERR_ALIAS_UNKNOWN', 'unknown alias');
/** Deleting another process' alias. */
export const ErrAliasOwner = defineError('ERR_ALIAS_OWNER', 'not an owner');
/** No such event. */
export const ErrEventUnknown = defineError('ERR_EVENT_UNKNOWN', 'unknown event');
/** A wrong token on publish, or unregistering someone else's event. */
export const ErrEventOwner = defineError('ERR_EVENT_OWNER', 'not an owner');
/** A name, event, application, logger, route or cron job that exists already. */
export const ErrTaken = defineError('ERR_TAKEN', 'resource is taken');
/** A name longer than 255 bytes. */
export const ErrAtomTooLong = defineError('ERR_ATOM_TOO_LONG', 'too long Atom (max: 255)');
/** A call, ack, wait or shutdown that did not finish in time. */
export const ErrTimeout = defineError('ERR_TIMEOUT', 'timed out');
/** An unsupported target type, or a feature the peer does not support. */
export const ErrUnsupported = defineError('ERR_UNSUPPORTED', 'not supported');
/** Unknown cron job, route or logger. */
export const ErrUnknown = defineError('ERR_UNKNOWN', 'unknown');
/** Not allowed in the current state, or towards that target (self, parent, leader). */
export const ErrNotAllowed = defineError('ERR_NOT_ALLOWED', 'not allowed');
/** A bad argument or option value. */
export const ErrIncorrect = defineError('ERR_INCORRECT', 'incorrect value or argument');
/** A value that could not be decoded. */
export const ErrMalformed = defineError('ERR_MALFORMED', 'malformed value');
/** A response nobody waits for. */
export const ErrResponseIgnored = defineError('ERR_RESPONSE_IGNORED', 'response ignored');
/** Reason given to watchers when a name, alias or event is withdrawn. */
export const ErrUnregistered = defineError('ERR_UNREGISTERED', 'unregistered');
/** A message above the peer's size limit. */
export const ErrTooLarge = defineError('ERR_TOO_LARGE', 'too large');
/** A network operation without a running network. */
export const ErrNetworkStopped = defineError('ERR_NETWORK_STOPPED', 'network stack is stopped');
/** No connection to the node; reason of node-down notifications. */
export const ErrNoConnection = defineError('ERR_NO_CONNECTION', 'no connection');
/** A node that cannot be resolved or reached. */
export const ErrNoRoute = defineError('ERR_NO_ROUTE', 'no route');
/** A broken framework invariant. */
export const ErrInternal = defineError('ERR_INTERNAL', 'internal error');
/**
 * Port extension: `startNode` on a Node.js older than ergo-ts supports (22): the message names the
 * version needed and how to get it; nothing is started.
 */
export const ErrNodeVersion = defineError('ERR_NODE_VERSION', 'unsupported Node.js version');
/** Port extension: a call cancelled through its AbortSignal. */
export const ErrAborted = defineError('ERR_ABORTED', 'aborted');
/**
 * Port extension (typed protocols): a message or call request that does not match the protocol
 * of the process it was sent to. Remote traffic is checked before delivery (the message is not
 * delivered; a call is answered with this error); local traffic only with the node option
 * `validateLocal`. The receiving node logs the failing field's path.
 */
export const ErrProtocolViolation = defineError('ERR_PROTOCOL_VIOLATION', 'message does not match the protocol');

/**
 * The reason an actor terminates with when an exit signal reaches it untrapped: Ergo's
 * `"<source>: <reason>"`. `cause` is the original reason; links, monitors, supervisors and
 * applications see the unwrapped reason (see {@link unwrapReason}).
 */
export class ExitReason extends ErgoError {
  constructor(
    readonly source: { toString(): string },
    reason: Error,
  ) {
    super('ERR_EXIT', `${source.toString()}: ${reason.message}`, { cause: reason });
  }
  /** The wrapped reason. */
  get reason(): Error {
    return this.cause as Error;
  }
}
ExitReason.prototype.name = 'ExitReason';

/** Removes one level of exit wrapping (Ergo's `errors.Unwrap` on exit reasons). */
export function unwrapReason(reason: Error): Error {
  return reason instanceof ExitReason ? reason.reason : reason;
}

/** True for the reasons Ergo treats as a clean stop: normal and shutdown. */
export function isNormalReason(reason: unknown): boolean {
  return (
    reason === TerminateReasonNormal ||
    reason === TerminateReasonShutdown ||
    (reason instanceof ErgoError && (reason.code === 'TERMINATE_NORMAL' || reason.code === 'TERMINATE_SHUTDOWN'))
  );
}

/** Turns anything thrown into an Error (non-errors are wrapped, keeping the value as `cause`). Never throws. */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new ErgoError('ERR_THROWN_VALUE', `non-error thrown: ${boundText(describeThrown(value))}`, { cause: value });
}

/** String(value), except that it never throws (e.g. for `Object.create(null)`). */
function describeThrown(value: unknown): string {
  try {
    return String(value);
  } catch {
    try {
      return Object.prototype.toString.call(value);
    } catch {
      return `[${typeof value}]`;
    }
  }
}
