// A supervisor's crash and restart history (Erlang observer's and LiveDashboard's missing view):
// a bounded ring of the child exits it handled — which child, why, when, and what it did about it
// (restarted it, or gave up when the restart intensity was exceeded) — with the restarts counted
// in the intensity window at that moment. Kept by every Supervisor (a few hundred bytes each at
// most) and reported by its default handleInspect as `restart_history` (JSON text), so the
// Observer's process page and the MCP `supervisor_history` tool read it over the inspector
// protocol from any ergo-ts node.

import { isNormalReason } from '../gen/errors.js';

/** Exits a supervisor keeps (the oldest go first). */
export const SUPERVISOR_HISTORY_SIZE = 32;

/** What a supervisor did about a child's exit. */
export type RestartAction = 'restart' | 'shutdown' | 'none';

/** One child exit, as `restart_history` reports it. */
export interface RestartRecord {
  /** When the exit was handled (ms since the epoch). */
  at: number;
  /** The child's spec name. */
  child: string;
  /** The child's PID, printed. */
  pid: string;
  /** The exit reason's message (`panic` for a child whose callback threw). */
  reason: string;
  /**
   * For a panic of a local child: the error it threw (its message, from the node's recent
   * crashes), so the history tells why without the log; absent otherwise.
   */
  error?: string;
  /**
   * `restart`: counted as a restart and the child (with its siblings, by the strategy) restarted;
   * `shutdown`: counted, but the intensity was exceeded, so the supervisor stops; `none`: not
   * restarted (a temporary child, a transient one ending normally, a disabled one).
   */
  action: RestartAction;
  /** Restarts counted in the intensity window after this exit. */
  restarts: number;
}

/** The ring (see the file comment). */
export class RestartHistory {
  readonly #records: RestartRecord[] = [];
  /** Child exits recorded since the supervisor started (the ring forgets, this does not). */
  recorded = 0;

  /**
   * Records the exit of `child` when it matters: one counted as a restart, or an abnormal one
   * (a normal or shutdown exit not counted — a sibling stopped by the strategy — is left out).
   */
  note(
    child: string,
    pid: string,
    reason: Error,
    counted: boolean,
    restarts: number,
    intensity: number,
    error?: string,
  ): void {
    if (!counted && isNormalReason(reason)) return;
    const action: RestartAction = !counted ? 'none' : restarts > intensity ? 'shutdown' : 'restart';
    this.recorded++;
    this.#records.push({
      at: Date.now(),
      child,
      pid,
      reason: reason.message,
      ...(error === undefined || error === '' ? {} : { error }),
      action,
      restarts,
    });
    if (this.#records.length > SUPERVISOR_HISTORY_SIZE) this.#records.shift();
  }

  /** The records kept, oldest first, as JSON text. */
  json(): string {
    return JSON.stringify(this.#records);
  }
}
