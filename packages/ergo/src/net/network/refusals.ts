// Failed incoming handshakes, per source address: the first failure of a source in a window is
// logged at once, the others are counted and summed up in one line per source when the window
// ends, so a peer retrying with a wrong cookie (or an attacker: 8,000 attempts a second were
// seen) cannot flood the log. A source with HANDSHAKE_FAILURES_PER_SOURCE failures in the
// current window is also cut off: its next connections are closed before the handshake (no
// digest work) until the window ends.

import type { Log } from '../../gen/log.js';

/** Length of a counting window, in ms: summaries are logged and counts reset this often. */
export const HANDSHAKE_FAILURE_WINDOW_MS = 10_000;
/** Failed handshakes from one address within a window after which its connections are dropped. */
export const HANDSHAKE_FAILURES_PER_SOURCE = 100;
/** Addresses tracked at once; failures from further ones are counted together. */
export const HANDSHAKE_FAILURE_SOURCES = 1024;

interface Source {
  failures: number;
  /** Failures not logged yet (all but the first of the window). */
  unlogged: number;
  dropped: number;
  last: string;
}

/**
 * Counts failed handshakes per source address. Lifecycle: created by the network when it
 * starts; {@link HandshakeRefusals.failed} for every failed handshake,
 * {@link HandshakeRefusals.blocked} for every new connection; {@link HandshakeRefusals.stop}
 * when the network stops (logs what is pending). Its timer is unref'd and runs only while there
 * is something to summarise.
 */
export class HandshakeRefusals {
  readonly #sources = new Map<string, Source>();
  #others = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly log: Log,
    private readonly window = HANDSHAKE_FAILURE_WINDOW_MS,
    private readonly limit = HANDSHAKE_FAILURES_PER_SOURCE,
  ) {}

  /**
   * True when `address` reached the limit in this window: close its connection without a
   * handshake. Counted in the summary.
   */
  blocked(address: string): boolean {
    const s = this.#sources.get(address);
    if (s === undefined || s.failures < this.limit) return false;
    s.dropped++;
    return true;
  }

  /** A handshake from `remote` (address:port) failed with `err`. */
  failed(address: string, remote: string, iface: string, err: Error): void {
    let s = this.#sources.get(address);
    if (s === undefined) {
      if (this.#sources.size >= HANDSHAKE_FAILURE_SOURCES) {
        this.#others++;
        this.#schedule();
        return;
      }
      s = { failures: 0, unlogged: 0, dropped: 0, last: '' };
      this.#sources.set(address, s);
    }
    s.failures++;
    s.last = err.message;
    if (s.failures === 1) {
      this.log.warning(
        'handshake from %s on %s failed: %s (further failures from %s are summed up every %d s)',
        remote,
        iface,
        err.message,
        address,
        this.window / 1000,
      );
    } else {
      s.unlogged++;
    }
    this.#schedule();
  }

  /** Logs the pending summaries and stops the timer. Idempotent. */
  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#flush();
  }

  #schedule(): void {
    if (this.#timer !== null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#flush();
    }, this.window);
    this.#timer.unref();
  }

  /** One line per source with something unlogged; the window starts over. */
  #flush(): void {
    for (const [address, s] of this.#sources) {
      if (s.unlogged > 0 || s.dropped > 0) {
        this.log.warning(
          'handshake from %s: %d more failed in the last %d s (last: %s)%s',
          address,
          s.unlogged,
          this.window / 1000,
          s.last,
          s.dropped > 0 ? `; ${s.dropped} connections dropped before the handshake (over ${this.limit} failures)` : '',
        );
      }
    }
    if (this.#others > 0) {
      this.log.warning(
        'handshake: %d failures from more than %d other addresses in the last %d s',
        this.#others,
        HANDSHAKE_FAILURE_SOURCES,
        this.window / 1000,
      );
    }
    this.#sources.clear();
    this.#others = 0;
  }
}
