// Temporal's `CancellationScope`. ergo-ts cancels a whole instance today; cancelling a part of a
// body (a scope) is an engine item in progress (issue 91, "Cancellation scopes"). Until it lands
// the root scope is readable (`CancellationScope.current().consideredCancelled`) and every call
// that would cancel or shield a part of the body is refused with ERR_TEMPORAL_UNSUPPORTED rather
// than run with another meaning.

import { ErrTemporalUnsupported } from '../common/errors.js';
import { frameOf } from './activation.js';

function refused(what: string): Error {
  return ErrTemporalUnsupported.with(
    `CancellationScope.${what}: cancellation scopes wait for the engine's (issue 91); cancel a part of the work by making it a child workflow`,
  );
}

/** The root cancellation scope of the calling workflow (Temporal's `CancellationScope`, read-only here). */
export class CancellationScope {
  /** Whether the workflow was asked to cancel. */
  get consideredCancelled(): boolean {
    return frameOf('CancellationScope').act.ctx.cancelled;
  }

  /** Refused (ERR_TEMPORAL_UNSUPPORTED): a scope cannot be cancelled on its own yet. */
  cancel(): void {
    throw refused('cancel');
  }

  /** The calling workflow's root scope. */
  static current(): CancellationScope {
    frameOf('CancellationScope.current()');
    return new CancellationScope();
  }

  /** Refused (ERR_TEMPORAL_UNSUPPORTED). */
  static cancellable<T>(_fn: () => Promise<T>): Promise<T> {
    return Promise.reject(refused('cancellable'));
  }

  /** Refused (ERR_TEMPORAL_UNSUPPORTED). */
  static nonCancellable<T>(_fn: () => Promise<T>): Promise<T> {
    return Promise.reject(refused('nonCancellable'));
  }

  /** Refused (ERR_TEMPORAL_UNSUPPORTED). */
  static withTimeout<T>(_timeout: unknown, _fn: () => Promise<T>): Promise<T> {
    return Promise.reject(refused('withTimeout'));
  }
}
