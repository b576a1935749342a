// Calls left unanswered by a member whose own lease ended (member_lease.ts). A member paused
// (SIGSTOP), or stalled, stays connected until the core's heartbeat declares it down
// (`network.peerStallTimeout`, 15 s by default); its leases end earlier (`leaseTtlMs`, 10 s by
// default, renewed every third of it). Routing hands every attempt to another node to this watch:
// once an attempt has waited `probeIntervalMs`, the watch reads the target's member lease (one read
// per target per round, whatever the number of calls waiting on it) and, when it ended, fails
// the target's waiting attempts with {@link MemberLeaseEnded}: the router then counts the target
// as leaving and routes to the next owner, which takes the ended leases (no takeover needed: an
// ended lease is free). The paused member's late answers are dropped; its later writes are
// refused by the fencing token. Safety does not rest on this watch; liveness does.

/** An attempt failed by the watch: its target's member lease ended while it waited. @internal */
export class MemberLeaseEnded extends Error {
  constructor(readonly target: string) {
    super(`the member lease of ${target} ended (paused, stalled or cut off from the store)`);
  }
}

/** One attempt waiting on a node. */
interface Waiting {
  readonly target: string;
  readonly since: number;
  readonly fail: (e: Error) => void;
}

/** The watch of one runtime's routed attempts (see the top of this file). */
export class EndedLeaseWatch {
  readonly #waiting = new Set<Waiting>();
  /** Targets whose member lease is being read now. */
  readonly #reading = new Set<string>();
  readonly #ended: (node: string) => Promise<boolean>;
  readonly #probeMs: number;
  #timer: NodeJS.Timeout | undefined;

  /** `ended`: whether a node's member lease ended (read from the store); `probeMs`: the round's period. */
  constructor(ended: (node: string) => Promise<boolean>, probeMs: number) {
    this.#ended = ended;
    this.#probeMs = probeMs;
  }

  /** `p`'s outcome; or, when `target`'s member lease ends while `p` waits, a {@link MemberLeaseEnded} rejection (`p`'s late outcome dropped). */
  watch<T>(p: Promise<T>, target: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const w: Waiting = { target, since: Date.now(), fail: reject };
      this.#waiting.add(w);
      // One timer for every waiting attempt, running while any waits.
      this.#timer ??= setInterval(() => this.#round(), this.#probeMs).unref();
      const done = (): void => {
        this.#waiting.delete(w);
        if (this.#waiting.size === 0) this.stop();
      };
      p.then(
        (v) => {
          done();
          resolve(v);
        },
        (e: unknown) => {
          done();
          reject(e as Error);
        },
      );
    });
  }

  /** Stops the round's timer (started again by the next attempt). */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #round(): void {
    const old = Date.now() - this.#probeMs;
    const targets = new Set<string>();
    for (const w of this.#waiting) if (w.since <= old && !this.#reading.has(w.target)) targets.add(w.target);
    for (const target of targets) {
      this.#reading.add(target);
      this.#ended(target).then(
        (ended) => {
          this.#reading.delete(target);
          if (!ended) return;
          const e = new MemberLeaseEnded(target);
          for (const w of [...this.#waiting])
            if (w.target === target) {
              this.#waiting.delete(w);
              w.fail(e);
            }
          if (this.#waiting.size === 0) this.stop();
        },
        () => this.#reading.delete(target), // the store did not answer: read again next round
      );
    }
  }
}
