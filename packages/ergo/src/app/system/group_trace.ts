// The message trace of several processes at once (Erlang's `dbg` over a list of PIDs, or a whole
// application's processes), for the Observer's Trace page and the MCP `process_trace` /
// `app_trace` tools: one MessageTrace per process, under caps that hold for the group, so that
// tracing a busy application cannot flood the node or its reader — at most `maxProcesses`
// processes (the rest are named as not traced), at most `rate` records a second over all of them
// (each process may keep rate ÷ processes a second, at least 1: the rest are counted as dropped,
// never rendered), at most `count` records in all, and `seconds` at most.

import type { Node } from '../../gen/node.js';
import type { PID } from '../../gen/pid.js';
import {
  MessageTrace,
  TRACE_COUNT,
  TRACE_RATE,
  TRACE_SECONDS,
  type TraceEnd,
  type TraceRecord,
} from './message_trace.js';

/** Default and largest number of processes one group trace follows. */
export const GROUP_TRACE_PROCESSES = { default: 20, max: 100 };
/** Default and largest records a second over the whole group. */
export const GROUP_TRACE_RATE = { default: 100, max: TRACE_RATE.max };
/** Default and largest records in all, over the whole group. */
export const GROUP_TRACE_COUNT = { default: 500, max: TRACE_COUNT.max };
/** Default and longest seconds. */
export const GROUP_TRACE_SECONDS = { default: 30, max: TRACE_SECONDS.max };

/** The caps of a group trace. */
export interface GroupTraceLimits {
  maxProcesses: number;
  /** Records a second over the whole group. */
  rate: number;
  /** Records in all. */
  count: number;
  seconds: number;
}

/** A traced record with the process it belongs to. */
export interface GroupTraceRecord extends TraceRecord {
  pid: string;
}

/** A process of the group that could not be traced, and why. */
export interface GroupTraceSkipped {
  pid: string;
  reason: string;
}

/** See the file comment. */
export class GroupTrace {
  readonly traces: MessageTrace[] = [];
  /** Processes named but not traced: over `maxProcesses`, or gone / not local when it started. */
  readonly skipped: GroupTraceSkipped[] = [];
  /** Records each process may keep a second. */
  readonly perProcess: number;
  readonly started = Date.now();
  #kept = 0;
  /** Why the group ended (null while it runs). */
  end: TraceEnd | null = null;

  /** Starts tracing `pids` on `node` (the first `limits.maxProcesses` of them). */
  constructor(
    node: Node,
    pids: readonly PID[],
    readonly limits: GroupTraceLimits,
  ) {
    const chosen = pids.slice(0, limits.maxProcesses);
    for (const pid of pids.slice(limits.maxProcesses))
      this.skipped.push({ pid: String(pid), reason: `over max_processes (${limits.maxProcesses})` });
    this.perProcess = Math.max(1, Math.floor(limits.rate / Math.max(1, chosen.length)));
    for (const pid of chosen) {
      const t = new MessageTrace(pid, { rate: this.perProcess, count: limits.count, seconds: limits.seconds });
      try {
        t.cancel = node.traceProcess(pid, t);
        this.traces.push(t);
      } catch (e) {
        this.skipped.push({ pid: String(pid), reason: e instanceof Error ? e.message : String(e) });
      }
    }
    if (this.traces.length === 0) this.end = 'ended';
  }

  /** Records kept over the group. */
  get kept(): number {
    return this.#kept;
  }

  /** Records dropped over the group (over a process' share of the rate). */
  get dropped(): number {
    let n = 0;
    for (const t of this.traces) n += t.dropped;
    return n;
  }

  /**
   * The records kept since the last drain, oldest first, each with its PID; ends the group when
   * its time or count is up, or when every process ended. A drain past `count` keeps the first
   * records up to it.
   */
  drain(now = Date.now()): GroupTraceRecord[] {
    const out: GroupTraceRecord[] = [];
    for (const t of this.traces) {
      t.expired(now);
      const pid = String(t.pid);
      for (const r of t.drain()) out.push({ ...r, pid });
    }
    out.sort((a, b) => a.at - b.at);
    const room = this.limits.count - this.#kept;
    if (out.length > room) out.length = Math.max(0, room);
    this.#kept += out.length;
    if (this.end === null) {
      if (this.#kept >= this.limits.count) this.stop('count');
      else if (now - this.started >= this.limits.seconds * 1000) this.stop('time');
      else if (this.traces.every((t) => t.end !== null)) this.end = 'ended';
    }
    return out;
  }

  /** Ends every trace of the group (no-op once ended). */
  stop(why: TraceEnd): void {
    if (this.end === null) this.end = why;
    for (const t of this.traces) t.stop(why);
  }

  /** Per process: kept, dropped, and how its trace ended (null while it runs). */
  summary(): { pid: string; kept: number; dropped: number; end: TraceEnd | null; reason: string }[] {
    return this.traces.map((t) => ({
      pid: String(t.pid),
      kept: t.kept,
      dropped: t.dropped,
      end: t.end,
      reason: t.reason,
    }));
  }
}

/** A number argument: the default when absent, else an integer in 1..max (throws RangeError naming it). */
export function groupLimit(v: unknown, name: string, range: { default: number; max: number }): number {
  if (v === undefined || v === null || v === '') return range.default;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > range.max) throw new RangeError(`${name}: an integer 1..${range.max}`);
  return n;
}

/** The pids of application `name` on `node`: its members first, then the rest (throws for an unknown one). */
export function applicationPIDs(node: Node, name: string): PID[] {
  return node.applicationProcessList(name, GROUP_TRACE_PROCESSES.max * 100);
}
