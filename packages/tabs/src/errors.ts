// The coded errors of the tab gateway, and how an error crosses a tab frame. Every refusal a tab
// meets is one of these (or a core sentinel such as ERR_PROTOCOL_VIOLATION) with a stable `code`:
// the gateway logs it and the tab sees it as the rejection of what it tried (a call, an important
// send, a link or monitor) or as a `refusal` notice for a plain send.

import { defineError, ErgoError, sentinelByCode } from 'ergo-ts';

/** The application's `admit` callback refused the token (or threw). */
export const ErrTabAdmission = defineError('ERR_TAB_ADMISSION', 'tab not admitted');
/** The tab addressed a name, PID, event or node its grant does not cover. */
export const ErrTabNotGranted = defineError('ERR_TAB_NOT_GRANTED', 'not granted to this tab');
/** The tab spoke for another node (a sender or source that is not its own). */
export const ErrTabPosing = defineError('ERR_TAB_POSING', 'a tab may only speak for its own node');
/** The tab sent more messages per second than its limit allows. */
export const ErrTabRateLimit = defineError('ERR_TAB_RATE_LIMIT', 'tab message rate limit exceeded');
/** The tab sent more bytes per second than its limit allows. */
export const ErrTabBytesLimit = defineError('ERR_TAB_BYTES_LIMIT', 'tab byte rate limit exceeded');
/** What waits for the tab (offline, or a slow socket) would pass its queued-bytes limit. */
export const ErrTabQueueFull = defineError('ERR_TAB_QUEUE_FULL', 'tab queue is full');
/** A frame the gateway cannot read, or an operation tabs may not use (remote spawn). */
export const ErrTabFrame = defineError('ERR_TAB_FRAME', 'malformed or forbidden tab frame');
/** The tab's session ended (its reconnect window passed, or the gateway stopped). */
export const ErrTabSessionEnded = defineError('ERR_TAB_SESSION_ENDED', 'tab session ended');

/** An error as a frame carries it: its code ('' for an error without one) and message. */
export type WireError = [code: string, message: string];

/** `e` for a frame. Never throws. */
export function errorToWire(e: unknown): WireError {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return [typeof code === 'string' ? code : '', e.message];
  }
  return ['', String(e)];
}

/**
 * The error a frame carried: a core sentinel itself when code and text are the sentinel's (so
 * `reason === ErrNoConnection` holds as for ENP), a fresh ErgoError with that code otherwise.
 */
export function errorFromWire(w: unknown): Error {
  if (!Array.isArray(w) || typeof w[0] !== 'string' || typeof w[1] !== 'string')
    return ErrTabFrame.with('an error field that is not [code, message]');
  const [code, message] = w as WireError;
  if (code === '') return new Error(message);
  const s = sentinelByCode(code);
  if (s !== undefined && s.message === message) return s;
  return new ErgoError(code, message);
}
