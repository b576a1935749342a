// Exit reasons between the two worlds. Erlang reasons are terms ({shutdown, x}, {badarith, Stack});
// ergo-ts reasons are Errors. The well-known ones map to each other (normal, shutdown, kill,
// noconnection, noproc, timeout); every other Erlang reason arrives as an ErlangReason carrying
// the term untouched, and goes back as that same term, so reasons round-trip exactly (ERLANG.md
// §5.4: Ergo turns them into strings). An ordinary Error the Erlang side cannot know crosses as
// `{error, <<"message">>}`.

import {
  ErgoError,
  ErrNoConnection,
  ErrProcessUnknown,
  ErrProtocolViolation,
  ErrTimeout,
  TerminateReasonKill,
  TerminateReasonNormal,
  TerminateReasonPanic,
  TerminateReasonShutdown,
  unwrapReason,
} from 'ergo-ts';
import { ErlAtom, atom, formatTerm, tuple, type Term } from '../etf/terms.js';

/**
 * An Erlang exit reason that has no ergo-ts sentinel: `term` is exactly what the Erlang side sent
 * (or what a TS process wants an Erlang peer to see). Return `new ErlangReason(term)` from a
 * handler to stop with that reason; linked and monitoring Erlang processes receive `term`.
 */
export class ErlangReason extends ErgoError {
  constructor(readonly term: Term) {
    super('ERR_ERLANG_REASON', `erlang reason ${describe(term)}`);
  }
}
ErlangReason.prototype.name = 'ErlangReason';

function describe(t: Term): string {
  try {
    return formatTerm(t);
  } catch {
    return '[term]';
  }
}

/** The ergo-ts reason of an Erlang reason term (`kill` only arrives as an EXIT2 reason). */
export function reasonFromTerm(t: Term): Error {
  if (t instanceof ErlAtom) {
    switch (t.name) {
      case 'normal':
        return TerminateReasonNormal;
      case 'shutdown':
        return TerminateReasonShutdown;
      case 'kill':
        return TerminateReasonKill;
      case 'noconnection':
        return ErrNoConnection;
      case 'noproc':
        return ErrProcessUnknown;
      case 'timeout':
        return ErrTimeout;
    }
  }
  return new ErlangReason(t);
}

/**
 * The Erlang term of an ergo-ts reason. `signal` true for an exit signal sent with `sendExit`
 * (EXIT2), where a kill stays `kill`; a process that ended killed is seen as `killed`.
 */
export function reasonToTerm(reason: Error, signal = false): Term {
  const r = unwrapReason(reason);
  if (r instanceof ErlangReason) return r.term;
  if (r instanceof ErgoError) {
    switch (r.code) {
      case TerminateReasonNormal.code:
        return atom('normal');
      case TerminateReasonShutdown.code:
        return atom('shutdown');
      case TerminateReasonKill.code:
        return atom(signal ? 'kill' : 'killed');
      case TerminateReasonPanic.code:
        return atom('panic');
      case ErrNoConnection.code:
        return atom('noconnection');
      case ErrProcessUnknown.code:
        return atom('noproc');
      case ErrTimeout.code:
        return atom('timeout');
      case ErrProtocolViolation.code:
        // a typed process refused a request at the boundary: {protocol_violation, <<"why">>}
        return tuple(atom('protocol_violation'), r.message);
    }
  }
  return tuple(atom('error'), r.message);
}
