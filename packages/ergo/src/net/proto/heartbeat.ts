// The liveness check of one ENP connection: a heartbeat only the peer can satisfy.
//
// ENP has no heartbeat packet (WIRE.md §3.7), and neither TCP keepalive (a stopped process's
// kernel answers the probes) nor the bytes our own kernel accepts into its send buffer (it
// accepts them during a silent partition too) tell that the peer is alive. So the connection
// counts only what the peer itself sends: any byte read from it. Every quarter of the timeout,
// a connection that has read nothing since the last check, or written nothing, sends a probe —
// an empty `MessageUpdateCache` control request, which every Go Ergo 3.2 node and every ergo-ts
// node answers from its network layer with a `MessageResult` (no process involved). The probe
// makes the peer answer when it owes us nothing, and tells the peer we are alive when we have
// nothing else to send. With nothing read for the whole timeout the connection is declared down.
//
// Detection comes between the timeout and 1.5 × it after the last byte read. A node that was
// itself not running (its own event loop blocked, a GC pause, SIGSTOP) gives its peers a fresh
// timeout when it resumes instead of blaming them for its own silence.

/** What the heartbeat needs from its connection. */
export interface HeartbeatHost {
  /** Bytes read from the peer so far (every link, closed ones included). */
  readonly bytesIn: number;
  /** Bytes this side wrote so far (every link, closed ones included). */
  readonly bytesOut: number;
  /** Sends one probe that the peer's network layer answers. */
  probe(): void;
  /** Nothing was read from the peer for `ms`: the connection is to be declared down. */
  stalled(ms: number): void;
  /** A check found bytes read from the peer since the one before: the peer ran meanwhile. */
  heard?(): void;
}

/**
 * The heartbeat of one connection. Lifecycle: started with the connection when the timeout is
 * above 0; {@link Heartbeat.stop} when the connection ends (or after it fired `stalled`).
 */
export class Heartbeat {
  readonly #host: HeartbeatHost;
  readonly #timeout: number;
  readonly #interval: number;
  #timer: ReturnType<typeof setInterval> | null = null;
  #seenIn: number;
  #seenOut: number;
  /** performance.now() of the check that first saw the last bytes read. */
  #heardAt: number;
  #sentAt: number;
  #lastTick: number;
  /** Probes sent (for tests and diagnostics). */
  probes = 0;

  /** `timeout` in ms (> 0). */
  constructor(host: HeartbeatHost, timeout: number) {
    this.#host = host;
    this.#timeout = timeout;
    this.#interval = Math.max(1, Math.floor(timeout / 4));
    const now = performance.now();
    this.#seenIn = host.bytesIn;
    this.#seenOut = host.bytesOut;
    this.#heardAt = now;
    this.#sentAt = now;
    this.#lastTick = now;
    this.#timer = setInterval(() => this.#tick(), this.#interval);
    this.#timer.unref();
  }

  /** Milliseconds between checks (a quarter of the timeout). */
  get interval(): number {
    return this.#interval;
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  #tick(): void {
    const now = performance.now();
    const h = this.#host;
    const bytesIn = h.bytesIn;
    const bytesOut = h.bytesOut;
    // This node did not run for two checks: the silence may be ours (bytes the peer sent wait
    // unread in our socket, and timers run before reads). Start the peer's clock afresh.
    const selfStalled = now - this.#lastTick >= 2 * this.#interval;
    this.#lastTick = now;
    if (bytesIn !== this.#seenIn || selfStalled) {
      if (bytesIn !== this.#seenIn) h.heard?.();
      this.#seenIn = bytesIn;
      this.#heardAt = now;
    }
    if (bytesOut !== this.#seenOut) {
      this.#seenOut = bytesOut;
      this.#sentAt = now;
    }
    const silent = now - this.#heardAt;
    if (silent >= this.#timeout) {
      this.stop();
      h.stalled(silent);
      return;
    }
    if (silent > 0 || now - this.#sentAt >= this.#interval || selfStalled) {
      this.probes++;
      h.probe();
    }
  }
}
