// The newer queries of the inspector protocol (the core Ergo's v0.2 Observer is built against),
// as they fit Node.js: process range, connection list, event list, heap; and the ergo-ts sorted,
// paged process view. Registered like the 3.2 types (net/edf/inspect.ts); see gen/inspect.ts.

import type { Atom } from './atom.js';
import { Event } from './event.js';
import type { InspectProcessShortInfo, InspectRemoteNodeInfo } from './inspect.js';
import { PID } from './pid.js';

const NO_EVENT = new Event('' as Atom, '' as Atom);
const NO_PID = new PID('' as Atom, 0, 0);

type Init<T> = { -readonly [K in keyof T as T[K] extends (...a: never[]) => unknown ? never : K]?: T[K] };

/**
 * Processes matching every given filter (substring of name, behaviour, application — case
 * insensitive; exact state name; minimum mailbox), the first `limit` found (Go's layout of the
 * newer core's RequestInspectProcessRange). Published as {@link MessageInspectProcessList}.
 */
export class RequestInspectProcessRange {
  name = '';
  behavior = '';
  application = '';
  /** A process state name: `init`, `sleep`, `running`, `wait response`, `terminated`, `zombee`. */
  state = '';
  minMailbox: number | bigint = 0;
  limit = 0;
  constructor(init?: Init<RequestInspectProcessRange>) {
    if (init) Object.assign(this, init);
  }
}
/** The process range inspector's event. */
export class ResponseInspectProcessRange {
  event: Event = NO_EVENT;
  constructor(init?: Init<ResponseInspectProcessRange>) {
    if (init) Object.assign(this, init);
  }
}

/** Sort orders of {@link RequestInspectProcessPage}. */
export type InspectProcessSort = 'pid' | 'running' | 'cpu' | 'messages' | 'mailbox' | 'uptime';

/**
 * ergo-ts extension (no Go counterpart): one page of the processes matching the filters of
 * {@link RequestInspectProcessRange}, in `sort` order (`pid` ascending; the others descending:
 * running time with the handler still open, `cpu` the running time alone (without an async
 * handler's wait), messages in + out, mailbox, uptime), `offset` matches skipped (or, in `pid`
 * order, those up to the PID cursor `after`), at most `limit`
 * (default 100, at most 10 000). A page costs one pass over the process table per second and
 * no full sort (a bounded selection of `offset + limit` rows). Published as
 * {@link MessageInspectProcessPage}. A Go node does not know this request.
 */
export class RequestInspectProcessPage {
  name = '';
  behavior = '';
  application = '';
  state = '';
  minMailbox: number | bigint = 0;
  sort: string = 'pid';
  offset = 0;
  limit = 0;
  /**
   * A cursor for the `pid` order: the page starts after the process of this id (0: from the
   * first), whatever ended or was spawned meanwhile — an offset would skip or repeat rows then.
   * With a cursor `offset` is ignored, and the published `offset` counts the matches before it.
   */
  after = 0;
  constructor(init?: Init<RequestInspectProcessPage>) {
    if (init) Object.assign(this, init);
  }
}
/** The process page inspector's event. */
export class ResponseInspectProcessPage {
  event: Event = NO_EVENT;
  constructor(init?: Init<ResponseInspectProcessPage>) {
    if (init) Object.assign(this, init);
  }
}
/** Published every second: `total` processes match, this page starts at `offset`. */
export class MessageInspectProcessPage {
  node = '' as Atom;
  total = 0;
  offset = 0;
  processes: InspectProcessShortInfo[] | null = null;
  constructor(init?: Init<MessageInspectProcessPage>) {
    if (init) Object.assign(this, init);
  }
}

/** Connections whose node name contains `name` (all when empty), at most `limit` (default 100; -1: 10 000). */
export class RequestInspectConnectionList {
  limit = 0;
  name = '';
  constructor(init?: Init<RequestInspectConnectionList>) {
    if (init) Object.assign(this, init);
  }
}
/** The connection list inspector's event. */
export class ResponseInspectConnectionList {
  event: Event = NO_EVENT;
  constructor(init?: Init<ResponseInspectConnectionList>) {
    if (init) Object.assign(this, init);
  }
}
/** Published every second: the connections, by node name. */
export class MessageInspectConnectionList {
  node = '' as Atom;
  connections: InspectRemoteNodeInfo[] | null = null;
  constructor(init?: Init<MessageInspectConnectionList>) {
    if (init) Object.assign(this, init);
  }
}

/**
 * The heap view (Go's layout; Go fills it from pprof). On Node.js a record is one V8 heap space
 * (`stack` holds its name), totals come from `v8.getHeapStatistics()`, and `gcCPUFraction` is
 * the share of wall time spent in garbage collection since the previous snapshot.
 */
export class RequestInspectHeap {
  limit = 0;
  name = '';
  constructor(init?: Init<RequestInspectHeap>) {
    if (init) Object.assign(this, init);
  }
}
/** The heap inspector's event. */
export class ResponseInspectHeap {
  event: Event = NO_EVENT;
  constructor(init?: Init<ResponseInspectHeap>) {
    if (init) Object.assign(this, init);
  }
}
/** One heap record (Go's `inspect.HeapRecord`). */
export interface InspectHeapRecord {
  inuseBytes: number;
  inuseObjects: number;
  allocBytes: number;
  allocObjects: number;
  freeObjects: number;
  stack: string[] | null;
}
/** Published every second. */
export class MessageInspectHeap {
  node = '' as Atom;
  records: InspectHeapRecord[] | null = null;
  totalInuse = 0;
  totalObjects = 0;
  totalAlloc = 0;
  totalFree = 0;
  gcCPUFraction = 0;
  constructor(init?: Init<MessageInspectHeap>) {
    if (init) Object.assign(this, init);
  }
}

/**
 * The event list (Go's layout of the newer core's request): events whose name contains `name`;
 * `notify`, `buffered`, `open` are 1 (yes), -1 (no) or 0 (any) — ergo-ts has no open events, so
 * `open: 1` matches none; at least `minSubscribers`; `timestamp` -1 lists the newest first, else
 * registration order; at most `limit` (default 500; -1: 100 000).
 */
export class RequestInspectEventList {
  timestamp: number | bigint = 0;
  limit = 0;
  name = '';
  notify = 0;
  buffered = 0;
  open = 0;
  minSubscribers: number | bigint = 0;
  constructor(init?: Init<RequestInspectEventList>) {
    if (init) Object.assign(this, init);
  }
}
/** The event list inspector's event. */
export class ResponseInspectEventList {
  event: Event = NO_EVENT;
  constructor(init?: Init<ResponseInspectEventList>) {
    if (init) Object.assign(this, init);
  }
}
/** One row of the event list (ergo-ts's layout: the newer core's `gen.EventInfo` is not matched). */
export interface InspectEventInfo {
  event: Event;
  producer: PID;
  notify: boolean;
  buffer: number;
  subscribers: number;
  published: number;
}
/** Published every second (ergo-ts type name: a Go node cannot decode it). */
export class MessageInspectEventList {
  node = '' as Atom;
  events: InspectEventInfo[] | null = null;
  constructor(init?: Init<MessageInspectEventList>) {
    if (init) Object.assign(this, init);
  }
}

/**
 * ergo-ts extension (no Go counterpart): starts the loaded application `application` in `mode`
 * (`temporary`, `transient`, `permanent`; empty: the mode of its spec), as
 * `Node.applicationStart*` does. Answered with {@link ResponseDoApplicationStart}.
 */
export class RequestDoApplicationStart {
  application = '' as Atom;
  mode = '';
  constructor(init?: Init<RequestDoApplicationStart>) {
    if (init) Object.assign(this, init);
  }
}
/** The outcome of {@link RequestDoApplicationStart}: `error` null when it started. */
export class ResponseDoApplicationStart {
  error: Error | null = null;
  constructor(init?: Init<ResponseDoApplicationStart>) {
    if (init) Object.assign(this, init);
  }
}
/**
 * ergo-ts extension (no Go counterpart): stops the running application `application`
 * (`Node.applicationStop`, or `applicationStopForce` when `force`). Answered with
 * {@link ResponseDoApplicationStop}.
 */
export class RequestDoApplicationStop {
  application = '' as Atom;
  force = false;
  constructor(init?: Init<RequestDoApplicationStop>) {
    if (init) Object.assign(this, init);
  }
}
/** The outcome of {@link RequestDoApplicationStop}: `error` null when it stopped. */
export class ResponseDoApplicationStop {
  error: Error | null = null;
  constructor(init?: Init<ResponseDoApplicationStop>) {
    if (init) Object.assign(this, init);
  }
}

/**
 * ergo-ts extension (no Go counterpart): the first `limit` records of each mailbox queue of the
 * local process `pid`, each as text, nothing taken. Answered with
 * {@link ResponseInspectMailboxPeek}; refused (its `error`) when the node hides message contents
 * (`security.inspectMessages: false`).
 */
export class RequestInspectMailboxPeek {
  pid: PID = NO_PID;
  limit = 0;
  constructor(init?: Init<RequestInspectMailboxPeek>) {
    if (init) Object.assign(this, init);
  }
}
/** One waiting record of a {@link ResponseInspectMailboxPeek}: its kind, its sender, the message as text. */
export interface InspectMailboxRecord {
  kind: string;
  from: string;
  text: string;
}
/** The answer to {@link RequestInspectMailboxPeek}: `lengths` of urgent, system, main, log. */
export class ResponseInspectMailboxPeek {
  urgent: InspectMailboxRecord[] | null = null;
  system: InspectMailboxRecord[] | null = null;
  main: InspectMailboxRecord[] | null = null;
  log: InspectMailboxRecord[] | null = null;
  lengths: number[] | null = null;
  error: Error | null = null;
  constructor(init?: Init<ResponseInspectMailboxPeek>) {
    if (init) Object.assign(this, init);
  }
}

/**
 * ergo-ts extension (no Go counterpart): traces what the local process `pid` receives and sends,
 * at most `rate` records a second, ending after `count` records, after `seconds`, when the process
 * ends, when stopped ({@link RequestInspectMessageTraceStop}) or when the process `to` goes. The
 * records come to `to` as {@link MessageInspectTrace} messages. Answered
 * with {@link ResponseInspectMessageTrace}; refused when the node hides message contents.
 */
export class RequestInspectMessageTrace {
  pid: PID = NO_PID;
  /** The process the records go to (and whose end ends the trace); the caller when left empty. */
  to: PID = NO_PID;
  rate = 0;
  count = 0;
  seconds = 0;
  constructor(init?: Init<RequestInspectMessageTrace>) {
    if (init) Object.assign(this, init);
  }
}
/** The answer to {@link RequestInspectMessageTrace}: `error` null when the trace runs. */
export class ResponseInspectMessageTrace {
  error: Error | null = null;
  constructor(init?: Init<ResponseInspectMessageTrace>) {
    if (init) Object.assign(this, init);
  }
}
/**
 * ergo-ts extension: stops the trace of `pid` whose records go to `to` (the caller when left
 * empty). Answered with {@link ResponseInspectMessageTrace}.
 */
export class RequestInspectMessageTraceStop {
  pid: PID = NO_PID;
  to: PID = NO_PID;
  constructor(init?: Init<RequestInspectMessageTraceStop>) {
    if (init) Object.assign(this, init);
  }
}
/** One traced record (`dir` in / out; `at` ms since the epoch; `n` from 1 over the records kept). */
export interface InspectTraceRecord {
  n: number;
  at: number | bigint;
  dir: string;
  queue: string;
  kind: string;
  peer: string;
  text: string;
}
/**
 * The records of a trace since the last, sent to the process that started it; the last one
 * names its `end` (`count`, `time`, `stopped`, `ended`, `closed`; empty while it runs).
 */
export class MessageInspectTrace {
  node = '' as Atom;
  pid: PID = NO_PID;
  records: InspectTraceRecord[] | null = null;
  kept = 0;
  dropped = 0;
  end = '';
  reason = '';
  constructor(init?: Init<MessageInspectTrace>) {
    if (init) Object.assign(this, init);
  }
}

/**
 * ergo-ts extension (no Go counterpart): the node's recent crashes, newest first — processes that
 * panicked (a callback threw or rejected: `error` is what it threw) or ended with an abnormal
 * reason — of the local process `pid` only, or of every process (`pid` empty), at most `limit`.
 * Answered with {@link ResponseInspectCrashes}. The node keeps its last `CRASH_HISTORY_SIZE`.
 */
export class RequestInspectCrashes {
  pid: PID = NO_PID;
  limit = 0;
  constructor(init?: Init<RequestInspectCrashes>) {
    if (init) Object.assign(this, init);
  }
}
/**
 * One crash a node recorded: when (`at`, ms since the epoch), the process (its PID, registered name,
 * behavior, parent), its exit `reason` (`panic` for one), the `error` it panicked with (its message;
 * empty for an abnormal exit reason), `where` (where it threw: `a handler`, `an async handler`;
 * empty for an exit reason) and the error's `stack` (cut at `CRASH_STACK_CHARS`).
 */
export interface InspectCrashRecord {
  at: number | bigint;
  pid: PID;
  name: Atom;
  behavior: string;
  parent: PID;
  reason: string;
  error: string;
  where: string;
  stack: string;
}
/** The answer to {@link RequestInspectCrashes}: `crashes` newest first; `total`: the crashes the node keeps now, of every process. */
export class ResponseInspectCrashes {
  crashes: InspectCrashRecord[] | null = null;
  total = 0;
  constructor(init?: Init<ResponseInspectCrashes>) {
    if (init) Object.assign(this, init);
  }
}
