// The states of a process as the engine keeps them (ProcessImpl.st): Ergo's states
// (gen/priority.ts), the engine-only detached state, the masks that group them (Ergo's
// isStateIR / isStateIRT / isRunning; WaitResponse counts as running), and the checks every
// engine module makes on a state or on a handler's result. A leaf: the engine's modules read a
// state here without importing the process class (process.ts), which imports most of them.

import { ProcessState } from '../gen/priority.js';

/** Init: the process's init runs. */
export const S_INIT = ProcessState.Init;
/** Sleep: no handler runs; the process waits for mail. */
export const S_SLEEP = ProcessState.Sleep;
/** Running: a handler runs (or its returned thenable has not settled). */
export const S_RUNNING = ProcessState.Running;
/** WaitResponse: the process waits for the reply of its call. */
export const S_WAIT = ProcessState.WaitResponse;
/** Terminated. */
export const S_TERMINATED = ProcessState.Terminated;
/** Zombee: killed while its handler ran; terminates when the handler settles. */
export const S_ZOMBEE = ProcessState.Zombee;
/**
 * Engine-only state of a process terminated while its handler still ran (a zombee past the kill
 * grace, or a forced stop): outside every mask, so every operation of its late code fails.
 */
export const S_DETACHED = 64;
/** Terminated, detached included. */
export const MASK_GONE = S_TERMINATED | S_DETACHED;

/** True for a process that has ended (terminated or detached). */
export function isGone(st: number): boolean {
  return (st & MASK_GONE) !== 0;
}
/** Running (Ergo's isRunning): Running or WaitResponse. */
export const MASK_R = S_RUNNING | S_WAIT;
/** Init or running (Ergo's isStateIR). */
export const MASK_IR = S_INIT | MASK_R;
/** Init, running or terminated (Ergo's isStateIRT). */
export const MASK_IRT = MASK_IR | S_TERMINATED;
/** States that refuse new mail and requests. */
export const S_GONE = S_TERMINATED | S_ZOMBEE;
