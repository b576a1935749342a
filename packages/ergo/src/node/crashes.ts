// A node's recent crashes (Erlang's crash reports, LiveDashboard's "what died and why"): a bounded
// ring of the processes that panicked (a callback threw or rejected) or ended with an abnormal
// exit reason, each with the error it panicked with. A supervisor's restart history records only
// the exit reason its child sent (`panic`, as on the wire to Go nodes), and an unsupervised
// process's crash reached no history at all: this ring keeps the error text for both, so a
// supervisor reads its child's from here, and tools (the Observer's page of an ended process, the
// MCP `process_crashes` tool) ask it through system_inspect (`RequestInspectCrashes`). Recording
// is a push into a fixed array when a process crashes; nothing is paid while none does.

import type { Atom } from '../gen/atom.js';
import { TerminateReasonPanic } from '../gen/errors.js';
import type { InspectCrashRecord } from '../gen/inspect_v2.js';
import type { PID } from '../gen/pid.js';

/** Crashes a node keeps (the oldest go first). */
export const CRASH_HISTORY_SIZE = 100;
/** The longest stack a crash record keeps (characters; the rest is cut). */
export const CRASH_STACK_CHARS = 4000;

/** What is known of a process when it crashes (the engine's ProcessImpl has these). */
export interface CrashedProcess {
  readonly pid: PID;
  readonly name: Atom;
  readonly parent: PID;
  behaviorName(): string;
}

/** The ring (see the file comment). One per node. */
export class CrashRing {
  readonly #records: InspectCrashRecord[] = [];
  /** Crashes recorded since the node started (the ring forgets, this does not). */
  total = 0;

  /** A callback of `p` threw `error` (in `where`): the process terminates with TerminateReasonPanic. */
  panicked(p: CrashedProcess, where: string, error: Error): void {
    const stack = typeof error.stack === 'string' ? error.stack : '';
    this.#push(p, TerminateReasonPanic.message, error.message, where, stack);
  }

  /** `p` ended with the abnormal exit reason `reason` (not a panic: see {@link panicked}). */
  exited(p: CrashedProcess, reason: Error): void {
    this.#push(p, reason.message, '', '', '');
  }

  /**
   * The crashes kept, newest first: of `pid` only when given, at most `limit` (all kept when
   * omitted or not positive). Copies: the caller may keep them.
   */
  list(pid?: PID, limit = 0): InspectCrashRecord[] {
    const out: InspectCrashRecord[] = [];
    const max = limit > 0 ? limit : CRASH_HISTORY_SIZE;
    for (let i = this.#records.length - 1; i >= 0 && out.length < max; i--) {
      const r = this.#records[i]!;
      if (pid === undefined || r.pid.equals(pid)) out.push({ ...r });
    }
    return out;
  }

  #push(p: CrashedProcess, reason: string, error: string, where: string, stack: string): void {
    this.total++;
    this.#records.push({
      at: Date.now(),
      pid: p.pid,
      name: p.name,
      behavior: p.behaviorName(),
      parent: p.parent,
      reason,
      error,
      where,
      stack: stack.length > CRASH_STACK_CHARS ? stack.slice(0, CRASH_STACK_CHARS) : stack,
    });
    if (this.#records.length > CRASH_HISTORY_SIZE) this.#records.shift();
  }
}
