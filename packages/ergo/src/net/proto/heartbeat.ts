// The liveness check of one ENP connection: a heartbeat only the peer can satisfy.
//
// ENP has no heartbeat packet (WIRE.md §3.7), and neither TCP keepalive (a stopped process's
// kernel answers the probes) nor the bytes our own kernel accepts into its send buffer (it
// accepts them during a silent partition too) tell that the peer is alive. So the connection
// counts only what the peer itself sends: any byte read from it, on any of its pool links.
// Every 32nd of the timeout the connection checks; one that has read nothing for a part of the
// timeout sends one probe for that silence — to a Go node an empty `MessageUpdateCache` control
// request, which every Go Ergo 3.2 node and every ergo-ts node answers from its network layer
// with a `MessageResult` (no process involved); between two ergo-ts nodes that both send the
// link frames an 8-byte probe frame answered by an 8-byte frame (link.ts). With nothing read for
// the whole timeout the connection is declared down.
//
// The cost is per peer, not per pool link, and nothing while the peer speaks: one probe per
// silence at most, none while anything is read from the peer. Each side probes only for what it
// reads itself — the probe's answer, or the peer's own probe, counts for both sides. Between two
// ergo-ts nodes the smaller name leads (it probes after 0.6 of the timeout) and the other
// follows (0.7): an idle pair makes one exchange per silence, not one from each side (issue 64:
// before, checks every quarter of the timeout made both sides probe after half of it, at the
// same check when they ran in one process, with a request and answer of about 100 bytes each;
// the idle bytes of a 100-node cluster were ×3 Erlang's).
//
// The peer is declared down when nothing was read from it for the timeout **and** the probe of
// that silence went unanswered for at least half the timeout (ANSWER_WINDOW). The silence before
// the probe is not the peer's fault: nothing asked it anything, and a peer that only reads (a
// gateway hearing a stream of publishes) has nothing to say. Counting it, a follower's probe at
// 0.7 of the timeout left the peer 0.3 of it (4.5 s of 15) to answer: a peer whose event loop was
// held that long — a GC, a long turn on a starved host — was reset, though a node forgives its own
// pause up to half the timeout (below). Issue 93: at 100,000 tabs the server node reset two busy
// gateways' connections so. Now the peer has half the timeout from the probe, as it forgives
// itself; a dead peer is declared down between 1 and 1.2 timeouts after its last byte (1 with a Go
// peer, probed at half).
//
// The checks of every connection with the same interval share one timer per process (a
// {@link CheckClock}): a node with N idle peers runs its checks in one timer wake, not N (issue
// 49). The probes and their answers are still a wake each; they, not the timers, are what an
// idle cluster's CPU goes to (docs/scale.md, "A hundred nodes").
//
// A node that was itself not running (its own event loop blocked, a GC pause, SIGSTOP) for half
// the timeout gives its peers a fresh timeout when it resumes instead of blaming them for its own
// silence.

/**
 * The timer behind every {@link Heartbeat} of one check interval in this process: one
 * `setInterval` (unref'd: it never keeps the process alive) that checks each of them in turn,
 * made with the first heartbeat and cleared with the last.
 */
class CheckClock {
  static readonly #clocks = new Map<number, CheckClock>();
  readonly #beats = new Set<Heartbeat>();
  readonly #timer: ReturnType<typeof setInterval>;

  private constructor(readonly interval: number) {
    this.#timer = setInterval(() => this.#tick(), interval);
    this.#timer.unref();
  }

  static join(interval: number, beat: Heartbeat): CheckClock {
    let clock = CheckClock.#clocks.get(interval);
    if (clock === undefined) {
      clock = new CheckClock(interval);
      CheckClock.#clocks.set(interval, clock);
    }
    clock.#beats.add(beat);
    return clock;
  }

  /** @internal Each clock's interval and heartbeat count (tests and diagnostics). */
  static census(): { interval: number; heartbeats: number }[] {
    return [...CheckClock.#clocks.values()].map((c) => ({ interval: c.interval, heartbeats: c.#beats.size }));
  }

  leave(beat: Heartbeat): void {
    this.#beats.delete(beat);
    if (this.#beats.size > 0) return;
    clearInterval(this.#timer);
    CheckClock.#clocks.delete(this.interval);
  }

  #tick(): void {
    // One connection's failure must not skip the others' checks; it still surfaces afterwards,
    // as it did from a timer of its own.
    let failure: { error: unknown } | undefined;
    for (const beat of [...this.#beats]) {
      try {
        beat.tick();
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure !== undefined) throw failure.error;
  }
}

/** Checks in one timeout: a probe goes within half a check of its time, a down within a check of its. */
export const CHECKS_PER_TIMEOUT = 32;

/**
 * When a side probes, as a fraction of the timeout of silence (see {@link Heartbeat}): the side
 * that leads the exchange, and the side that follows it (it probes only when the leader's probe
 * did not come). A Go peer, or an ergo-ts node without the heartbeat frame, gets
 * {@link PROBE_AFTER_ALONE}: it may probe too, or never (Go), so this side cannot count on it.
 */
export const PROBE_AFTER_LEAD = 0.6;
/** See {@link PROBE_AFTER_LEAD}. */
export const PROBE_AFTER_FOLLOW = 0.7;
/** See {@link PROBE_AFTER_LEAD}. */
export const PROBE_AFTER_ALONE = 0.5;
/**
 * The part of the timeout a peer has to answer a probe before it is declared down (besides the
 * whole timeout without a byte read): half, what a node forgives its own pause.
 */
export const ANSWER_WINDOW = 0.5;

/** What the heartbeat needs from its connection. */
export interface HeartbeatHost {
  /** Bytes read from the peer so far (every link, closed ones included). */
  readonly bytesIn: number;
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
 *
 * One probe per silence: once `probeAfter` ms passed with nothing read, one probe goes, and no
 * other until something is read again (the answer travels on TCP: asking twice would not bring
 * it sooner). Between two ergo-ts nodes that both send the heartbeat frame, one side leads (it
 * probes after {@link PROBE_AFTER_LEAD} of the timeout) and the other follows (after
 * {@link PROBE_AFTER_FOLLOW}): an idle pair makes one exchange per silence, not one from each
 * side, and the follower still probes when only the leader hears (a one-way stream to it).
 */
export class Heartbeat {
  readonly #host: HeartbeatHost;
  readonly #timeout: number;
  readonly #interval: number;
  readonly #probeAfter: number;
  #clock: CheckClock | null;
  #seenIn: number;
  /** performance.now() of the check that first saw the last bytes read. */
  #heardAt: number;
  #lastTick: number;
  /** A probe went for the current silence. */
  #probed = false;
  /** performance.now() when it went. */
  #probedAt = 0;
  /** Probes sent (for tests and diagnostics). */
  probes = 0;
  /** Checks that found this node had not run for half the timeout (each starts the silence over: one more probe at most). */
  resumed = 0;

  /**
   * `timeout` in ms (> 0); `probeAfter`: the fraction of it without a byte read after which this
   * side probes (default {@link PROBE_AFTER_ALONE}).
   */
  constructor(host: HeartbeatHost, timeout: number, probeAfter = PROBE_AFTER_ALONE) {
    this.#host = host;
    this.#timeout = timeout;
    this.#interval = Math.max(1, Math.floor(timeout / CHECKS_PER_TIMEOUT));
    this.#probeAfter = timeout * probeAfter;
    const now = performance.now();
    this.#seenIn = host.bytesIn;
    this.#heardAt = now;
    this.#lastTick = now;
    this.#clock = CheckClock.join(this.#interval, this);
  }

  /** Milliseconds between checks (1/{@link CHECKS_PER_TIMEOUT} of the timeout). */
  get interval(): number {
    return this.#interval;
  }

  stop(): void {
    this.#clock?.leave(this);
    this.#clock = null;
  }

  /** @internal One check; called by its {@link CheckClock}. */
  tick(): void {
    const now = performance.now();
    const h = this.#host;
    const bytesIn = h.bytesIn;
    // This node did not run for half the timeout: the silence may be ours (bytes the peer sent
    // wait unread in our socket, and timers run before reads). Start the peer's clock afresh.
    const selfStalled = now - this.#lastTick >= Math.max(2 * this.#interval, this.#timeout / 2);
    if (selfStalled) this.resumed++;
    this.#lastTick = now;
    if (bytesIn !== this.#seenIn || selfStalled) {
      if (bytesIn !== this.#seenIn) h.heard?.();
      this.#seenIn = bytesIn;
      this.#heardAt = now;
      this.#probed = false;
    }
    const silent = now - this.#heardAt;
    // Down once the whole timeout passed without a byte and the probe had half of it to be answered.
    if (silent >= this.#timeout && this.#probed && now - this.#probedAt >= this.#timeout * ANSWER_WINDOW) {
      this.stop();
      h.stalled(silent);
      return;
    }
    // A timer may run up to half a check early: forgiven. A peer that speaks, or probes us,
    // spares the probe.
    if ((!this.#probed && silent >= this.#probeAfter - this.#interval / 2) || selfStalled) {
      this.#probed = true;
      this.#probedAt = now;
      this.probes++;
      h.probe();
    }
  }
}

/** @internal The check clocks in force: one per interval, with how many heartbeats each checks. */
export function heartbeatClocks(): { interval: number; heartbeats: number }[] {
  return CheckClock.census();
}
