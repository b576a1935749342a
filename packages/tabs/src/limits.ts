// Per-tab limits and the token buckets that hold a tab to them. A tab's rate of messages and of
// bytes is measured on what it sends (each frame is one message); its queued bytes are what waits
// for it at the gateway (written to a slow socket and not yet flushed, or kept while it is away).
// A bucket holds one second's allowance: a tab may burst up to its per-second limit, then keeps
// to the rate; the refill reads a monotonic clock, so nothing runs while a tab is quiet.

import { ErrIncorrect } from 'ergo-ts';

/** The limits one tab is held to. Every field has a default (see {@link DEFAULT_TAB_LIMITS}). */
export interface TabLimits {
  /** Frames per second the tab may send (calls, sends, links... each counts one). */
  messagesPerSecond: number;
  /** Bytes per second the tab may send (frame sizes). */
  bytesPerSecond: number;
  /** Bytes the gateway keeps for the tab (its socket's buffer plus what waits while it is away). */
  queuedBytes: number;
  /** Largest frame the tab may send, in bytes; a larger one is refused undecoded. */
  maxFrameBytes: number;
}

/** Defaults: 200 messages/s, 1 MiB/s, 1 MiB queued, 256 KiB frames. */
export const DEFAULT_TAB_LIMITS: Readonly<TabLimits> = Object.freeze({
  messagesPerSecond: 200,
  bytesPerSecond: 1 << 20,
  queuedBytes: 1 << 20,
  maxFrameBytes: 256 << 10,
});

/**
 * `partial` over `base`, each field checked: a positive finite number.
 * @throws ErrIncorrect naming the field.
 */
export function resolveLimits(base: Readonly<TabLimits>, partial: Partial<TabLimits> | undefined): TabLimits {
  const out: TabLimits = { ...base, ...partial };
  for (const k of Object.keys(DEFAULT_TAB_LIMITS) as (keyof TabLimits)[]) {
    const v = out[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw ErrIncorrect.with(`tab limit ${k}: ${String(v)}`);
  }
  return out;
}

/** A bucket of `rate` tokens per second holding at most `rate` (one second's burst). */
export class TokenBucket {
  #tokens: number;
  #at: number;
  constructor(readonly rate: number) {
    this.#tokens = rate;
    this.#at = performance.now();
  }
  /** Takes `n` tokens if there are; false (nothing taken) otherwise. */
  take(n: number): boolean {
    const now = performance.now();
    this.#tokens = Math.min(this.rate, this.#tokens + ((now - this.#at) / 1000) * this.rate);
    this.#at = now;
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
  }
}
