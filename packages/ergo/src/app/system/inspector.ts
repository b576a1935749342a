// The per-query inspectors of system_inspect. Each one owns an event (notify, buffer 1, so the
// last snapshot is kept for late subscribers), answers the requests system_inspect forwards to
// it with the Response naming that event, and while the event has subscribers publishes a
// snapshot every second. Without subscribers it exits after an idle period (5 s) since its last
// answer or last subscriber, so an inspector nobody watches costs nothing. One inspector per query: system_inspect registers them under
// names derived from the query, and identical queries share one.

import { Actor, type HandlerResult } from '../../act/actor.js';
import type { Atom } from '../../gen/atom.js';
import { Event } from '../../gen/event.js';
import { TerminateReasonNormal, toError } from '../../gen/errors.js';
import { MessageEventStart, MessageEventStop } from '../../gen/messages.js';
import { PID } from '../../gen/pid.js';
import { Ref } from '../../gen/ref.js';
import { defaultRegistry } from '../../net/edf/default.js';
import { Go } from '../../net/edf/wrappers.js';
import { isThenable } from '../../lib/thenable.js';

/** How often an inspector publishes while it has subscribers (ms). */
export const INSPECT_PERIOD = 1000;
/** How long an inspector without subscribers lives on (ms). */
export const INSPECT_IDLE = 5000;
/** How long the log inspector without subscribers lives on (ms). */
export const INSPECT_LOG_IDLE = 10_000;

/** A request system_inspect forwards to the inspector that answers it. */
export class ForwardedRequest {
  constructor(
    readonly from: PID = NO_PID,
    readonly ref: Ref = NO_REF,
  ) {}
}

/** An inspector's own timer messages. */
class InspectTick {}
class InspectIdle {}
const TICK = new InspectTick();
const NO_PID = new PID('' as Atom, 0, 0);
const NO_REF = new Ref('' as Atom, 0, [0, 0, 0]);
const IDLE = new InspectIdle();

// Registered (under private names: they never leave the node) so that a node running with
// `simulateRemote`, which passes local messages through the codec, can carry them too.
const PRIVATE = '#ergo-ts/app/system/inspect/';
// Queued: registered when the default registry is first asked for a type it lacks (one of these
// encoded under simulateRemote, say; a node that never does skips them).
defaultRegistry.deferUntilMissed(
  (r) => {
    r.register({
      name: `${PRIVATE}requestInspect`,
      class: ForwardedRequest,
      fields: { from: Go.pid, ref: Go.ref },
      create: (f: Record<string, unknown>) => new ForwardedRequest(f.from as PID, f.ref as Ref),
    });
    r.register({ name: `${PRIVATE}generate`, class: InspectTick, fields: {}, create: () => TICK });
    r.register({ name: `${PRIVATE}shutdown`, class: InspectIdle, fields: {}, create: () => IDLE });
  },
  (ctor) => ctor === ForwardedRequest || ctor === InspectTick || ctor === InspectIdle,
);

/**
 * Base of the periodic inspectors: `eventName()` names the event, `response(event)` answers a
 * forwarded request, `snapshot()` builds what is published (or returns `null` to publish nothing
 * this tick; a returned `Error` ends the inspector after publishing `final()` if given).
 */
export abstract class Inspector extends Actor {
  protected event!: Event;
  private token!: Ref;
  private generating = false;
  private ticking = false;
  protected idleMs = INSPECT_IDLE;
  /** When the inspector last answered a request or lost its last subscriber (ms, monotonic). */
  private activeAt = 0;
  /** An idle timer is pending (one at a time: it re-arms itself for what is left). */
  private idleArmed = false;

  /** The event's name (called once, in init, after `setup`). */
  protected abstract eventName(): string;
  /** The answer to a forwarded request. */
  protected abstract response(event: Event): unknown;
  /**
   * The message to publish now (or a promise of it); null: nothing this time; an Error: publish
   * `final()` and stop.
   */
  protected abstract snapshot(): unknown;
  /** Reads the init arguments. */
  protected setup(..._args: unknown[]): void {}
  /** Published once before the inspector stops because its subject is gone (undefined: nothing). */
  protected final(): unknown {
    return undefined;
  }

  override init(...args: unknown[]): void {
    try {
      this.log.setLogger('default'); // as Go's: an inspector's own records never feed a log inspector
    } catch {
      // no default logger
    }
    this.setup(...args);
    const name = this.eventName() as Atom;
    this.token = this.registerEvent(name, { notify: true, buffer: this.buffer() });
    this.event = new Event(name, this.node.name);
    this.idleAfter(this.idleMs);
  }

  /**
   * Arms the idle timer. The inspector exits only a whole idle period after its last answer or
   * its last subscriber's leaving: an answer means a subscriber is on its way (a slow one, on a
   * loaded node, may take seconds), and a timer armed before it must not end the event under it.
   */
  private idleAfter(ms: number): void {
    this.activeAt = performance.now();
    if (this.idleArmed) return;
    this.idleArmed = true;
    this.sendAfter(this.pid, IDLE, ms);
  }

  private idle(): HandlerResult {
    this.idleArmed = false;
    if (this.generating) return undefined;
    const left = this.idleMs - (performance.now() - this.activeAt);
    if (left <= 0) return TerminateReasonNormal;
    this.idleArmed = true;
    this.sendAfter(this.pid, IDLE, Math.ceil(left));
    return undefined;
  }

  /** Buffer of the event (1: the last snapshot goes to a new subscriber at once). */
  protected buffer(): number {
    return 1;
  }

  override handleMessage(_from: PID, message: unknown): HandlerResult {
    if (message instanceof ForwardedRequest) {
      this.sendResponse(message.from, message.ref, this.response(this.event));
      this.idleAfter(this.idleMs);
      return;
    }
    if (message instanceof InspectTick) return this.tick();
    if (message instanceof InspectIdle) return this.idle();
    if (message instanceof MessageEventStart) {
      this.generating = true;
      this.started();
      return;
    }
    if (message instanceof MessageEventStop) {
      this.generating = false;
      this.stopped();
      this.idleAfter(this.idleMs);
      return;
    }
    return this.other(message);
  }

  /** First subscriber: start publishing (the periodic inspectors tick). */
  protected started(): void {
    if (!this.ticking) {
      this.ticking = true;
      this.send(this.pid, TICK);
    }
  }

  /** Last subscriber left. */
  protected stopped(): void {}

  /** Messages other than the protocol's (ignored by default). */
  protected other(_message: unknown): HandlerResult {
    return;
  }

  /** Publishes `message` on the event; false (and the inspector should stop) if that failed. */
  protected publish(message: unknown): boolean {
    try {
      this.sendEvent(this.event.name, this.token, message);
      return true;
    } catch (e) {
      this.log.error('unable to send event %s: %s', this.event.name, toError(e).message);
      return false;
    }
  }

  private tick(): HandlerResult {
    if (!this.generating) {
      this.ticking = false;
      return;
    }
    let snap: unknown;
    try {
      snap = this.snapshot();
    } catch (e) {
      snap = toError(e);
    }
    if (isThenable(snap)) {
      return Promise.resolve(snap).then(
        (v) => this.after(v),
        (e: unknown) => this.after(toError(e)),
      );
    }
    return this.after(snap);
  }

  private after(snap: unknown): HandlerResult {
    if (snap instanceof Error) {
      const last = this.final();
      if (last !== undefined) this.publish(last);
      return TerminateReasonNormal;
    }
    if (snap !== null && !this.publish(snap)) return TerminateReasonNormal;
    this.sendAfter(this.pid, TICK, INSPECT_PERIOD);
    return;
  }
}
