// An error's detail across nodes. Ergo's wire carries an error as its text, and a variant of a
// sentinel (`ErrWorkflowUpdateRejected.with('update add: refused: Error: invalid zip 12')`) as the
// sentinel's text alone, so a caller on another node read "workflow: update rejected" where one
// on the owner's node read the validator's message. For the sentinels registered here (the
// workflow engine's: their details are what an operator acts on), an answer to a caller on
// another node is sent as a plain error with the whole text, and the caller's routing gives it
// its code back: the sentinel whose text starts it.

import { ErgoError } from 'ergo-ts';

/** The sentinels whose details cross nodes, by code. */
const kept = new Map<string, ErgoError>();

/** Registers sentinels whose variants keep their details when they answer a caller on another node. */
export function keepDetailAcrossNodes(...sentinels: readonly ErgoError[]): void {
  for (const s of sentinels) kept.set(s.code, s);
}

/**
 * What to send a caller on another node for `err`: a plain error with its whole text when it is a
 * variant of a registered sentinel with a detail, else `err` as it is.
 */
export function errorForWire(err: Error): Error {
  if (!(err instanceof ErgoError)) return err;
  const s = kept.get(err.code);
  return s === undefined || err.message === s.message ? err : new Error(err.message);
}

/**
 * The error a caller gives its user for `err` as the wire brought it: a plain error whose text is
 * a registered sentinel's followed by `: ` becomes that sentinel's variant (its code back, the
 * whole text kept); anything else as it is.
 */
export function errorFromWire(err: unknown): unknown {
  if (!(err instanceof Error) || err instanceof ErgoError || (err as { code?: unknown }).code !== undefined) return err;
  const text = err.message;
  let best: ErgoError | undefined;
  for (const s of kept.values())
    if (text.startsWith(`${s.message}: `) && (best === undefined || s.message.length > best.message.length)) best = s;
  return best === undefined ? err : new ErgoError(best.code, text);
}
