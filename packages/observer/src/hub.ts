// The hub: one process that holds every inspector subscription the Observer has, shared by all
// browser sessions. A session that wants an inspector's event asks the hub to join it; the hub
// monitors each event once, whatever the number of sessions, keeps its last message (already
// turned into JSON once, not once per browser) and replays it to a session that joins later, so
// a page shows data at once instead of on the next 1 s tick. When the last session leaves an
// event the hub demonitors it, and the inspector on the observed node stops publishing and exits
// on its own idle timeout. Sessions are monitored: a session that ends leaves everything it held.
// The first join of a remote event waits for that node; it is answered later (`ReplyLater`), so a
// slow or stopped node never holds up the joins of other nodes' events.

import {
  Actor,
  MessageDownEvent,
  MessageDownPID,
  ReplyLater,
  type Event,
  type MessageEvent,
  type PID,
  type Ref,
} from 'ergo-ts';

import { detach } from './detach.js';
import { toJSONString } from './json.js';

/** Registered name of the hub. */
export const HUB_NAME = 'observer_hub';

/** A session asks (call) to join an event; the reply is {@link HubJoined}. */
export class HubJoin {
  constructor(
    readonly session: PID,
    readonly event: Event,
  ) {}
}

/**
 * The hub's answer to {@link HubJoin}: the last message published, as JSON, or null; `error` is
 * set (and nothing joined) when the event could not be monitored.
 */
export class HubJoined {
  constructor(
    readonly last: string | null,
    readonly error: string | null = null,
  ) {}
}

/** A session leaves an event (message; unknown events are ignored). */
export class HubLeave {
  constructor(
    readonly session: PID,
    readonly eventKey: string,
  ) {}
}

/** Hub → session: a message published on an event the session joined, as JSON. */
export class HubPush {
  constructor(
    readonly eventKey: string,
    readonly json: string,
  ) {}
}

/** Hub → session: the event ended (its inspector or its node went away); the session drops it. */
export class HubDown {
  constructor(
    readonly eventKey: string,
    readonly reason: string,
  ) {}
}

/** What the hub (`observer_hub`) reports through `inspect`. */
export interface HubStats {
  events: number;
  sessions: number;
  subscriptions: number;
}

/** The hub's own note: the monitor of `event` settled (`buffered`, or null and `error`). */
class Monitored {
  constructor(
    readonly event: Event,
    readonly buffered: MessageEvent[] | null,
    readonly error: string | null,
  ) {}
}

interface Entry {
  event: Event;
  last: string | null;
  subscribers: Map<string, PID>;
}

/** Ended events whose last frame the hub keeps for a late join. */
const ENDED_KEPT = 256;

/**
 * The shared-subscription process of an Observer (registered as {@link HUB_NAME}). Its
 * `handleInspect` reports `events`, `sessions` and `subscriptions` (session × event pairs).
 */
export class Hub extends Actor {
  readonly #events = new Map<string, Entry>();
  /** Event key → the joins waiting for its monitor. */
  readonly #pending = new Map<string, { from: PID; ref: Ref; session: PID }[]>();
  /**
   * What an event whose monitor is still settling published, and whether it ended: its source
   * may start at the monitor, publish a last frame and end at once (the inspector of a PID that
   * has ended) before the monitor's answer lands here.
   */
  readonly #early = new Map<string, { last: string | null; down: boolean }>();
  /**
   * The last frames of events that ended lately (at most {@link ENDED_KEPT}): a join that comes
   * just after the end (a page subscribing again) gets that frame and the end instead of an
   * "unknown event" error. Used only when the event is gone, so a new event of the same name is
   * never answered from here.
   */
  readonly #ended = new Map<string, string | null>();
  /** Session PID key → the event keys it joined. */
  readonly #sessions = new Map<string, { pid: PID; events: Set<string> }>();

  override handleCall(from: PID, ref: Ref, request: unknown): unknown {
    if (!(request instanceof HubJoin)) return undefined;
    const { session, event } = request;
    const entry = this.#events.get(event.key);
    if (entry !== undefined) return this.#join(entry, session);
    // Monitored once for every session. The monitor of a remote event waits for its node: it is
    // answered later, so a slow or stopped node holds up only the joins of its own events.
    const waiting = this.#pending.get(event.key);
    if (waiting !== undefined) {
      waiting.push({ from, ref, session });
      return ReplyLater;
    }
    this.#pending.set(event.key, [{ from, ref, session }]);
    this.#early.set(event.key, { last: null, down: false });
    const back = (buffered: MessageEvent[] | null, error: string | null): void => {
      try {
        this.node.send(this.pid, new Monitored(event, buffered, error));
      } catch {
        // the hub has ended
      }
    };
    detach(() => this.monitorEvent(event), `monitoring ${event.name}`, this.log, {
      value: (buffered) => back(buffered, null),
      error: (err) => back(null, err instanceof Error ? err.message : String(err)),
    });
    return ReplyLater;
  }

  /** Adds `session` to the subscribers of `entry`; the answer carries the last value. */
  #join(entry: Entry, session: PID): HubJoined {
    entry.subscribers.set(session.key, session);
    let s = this.#sessions.get(session.key);
    if (s === undefined) {
      s = { pid: session, events: new Set() };
      this.#sessions.set(session.key, s);
      this.monitorPID(session);
    }
    s.events.add(entry.event.key);
    return new HubJoined(entry.last);
  }

  /** A monitor asked for by {@link handleCall} settled: answer everyone who waited for it. */
  #monitored(m: Monitored): void {
    const waiting = this.#pending.get(m.event.key) ?? [];
    this.#pending.delete(m.event.key);
    const early = this.#early.get(m.event.key);
    this.#early.delete(m.event.key);
    if (m.buffered === null) {
      if (this.#ended.has(m.event.key)) {
        const last = this.#ended.get(m.event.key) ?? early?.last ?? null;
        const down = new HubDown(m.event.key, 'ended');
        for (const w of waiting) {
          this.sendResponse(w.from, w.ref, new HubJoined(last));
          this.send(w.session, down);
        }
        return;
      }
      for (const w of waiting) this.sendResponse(w.from, w.ref, new HubJoined(null, m.error));
      return;
    }
    // Its buffer (the inspector keeps one) is the last value.
    const entry: Entry = { event: m.event, last: null, subscribers: new Map() };
    const last = m.buffered.at(-1);
    if (last !== undefined) entry.last = toJSONString(last.message);
    if (early?.last != null) entry.last = early.last;
    this.#events.set(m.event.key, entry);
    for (const w of waiting) this.sendResponse(w.from, w.ref, this.#join(entry, w.session));
    // It ended meanwhile: the joins got its last frame, now its end.
    if (early?.down === true) {
      this.#down(m.event.key, 'ended');
      return;
    }
    // Everyone left before the monitor came through (their joins timed out): let it go again.
    if (entry.subscribers.size === 0) this.#drop(entry);
  }

  override handleEvent(message: MessageEvent): void {
    const entry = this.#events.get(message.event.key);
    if (entry === undefined) {
      const early = this.#early.get(message.event.key);
      if (early !== undefined) early.last = toJSONString(message.message);
      return;
    }
    const json = toJSONString(message.message);
    entry.last = json;
    const push = new HubPush(message.event.key, json);
    for (const pid of entry.subscribers.values()) this.send(pid, push);
  }

  override handleMessage(_from: PID, message: unknown): void {
    if (message instanceof Monitored) {
      this.#monitored(message);
    } else if (message instanceof HubLeave) {
      // A join still waiting for its monitor is withdrawn (its session gave up on it).
      const waiting = this.#pending.get(message.eventKey);
      if (waiting !== undefined) {
        const i = waiting.findIndex((w) => w.session.key === message.session.key);
        if (i >= 0) {
          this.sendResponse(waiting[i]!.from, waiting[i]!.ref, new HubJoined(null, 'withdrawn'));
          waiting.splice(i, 1);
        }
      }
      this.#leave(message.session.key, message.eventKey);
    } else if (message instanceof MessageDownEvent) {
      const early = this.#early.get(message.event.key);
      if (early !== undefined) early.down = true;
      this.#down(message.event.key, message.reason.message);
    } else if (message instanceof MessageDownPID) {
      const s = this.#sessions.get(message.pid.key);
      if (s === undefined) return;
      for (const eventKey of [...s.events]) this.#leave(message.pid.key, eventKey);
      this.#sessions.delete(message.pid.key);
    }
  }

  /** The event ended: every subscriber is told, and it is forgotten. */
  #down(eventKey: string, reason: string): void {
    const entry = this.#events.get(eventKey);
    if (entry === undefined) return;
    this.#events.delete(eventKey);
    this.#ended.delete(eventKey);
    this.#ended.set(eventKey, entry.last);
    if (this.#ended.size > ENDED_KEPT) this.#ended.delete(this.#ended.keys().next().value!);
    const down = new HubDown(eventKey, reason);
    for (const [key, pid] of entry.subscribers) {
      this.#sessions.get(key)?.events.delete(eventKey);
      this.send(pid, down);
    }
  }

  #leave(sessionKey: string, eventKey: string): void {
    this.#sessions.get(sessionKey)?.events.delete(eventKey);
    const entry = this.#events.get(eventKey);
    if (entry === undefined || !entry.subscribers.delete(sessionKey)) return;
    if (entry.subscribers.size > 0) return;
    this.#drop(entry);
  }

  /** Lets an event nobody watches go: the inspector stops publishing and exits when idle. */
  #drop(entry: Entry): void {
    this.#events.delete(entry.event.key);
    try {
      this.demonitorEvent(entry.event);
    } catch {
      // already gone (its node disconnected): nothing is left to release
    }
  }

  /** The current counts (events monitored, sessions known, session × event subscriptions). */
  stats(): HubStats {
    let subscriptions = 0;
    for (const e of this.#events.values()) subscriptions += e.subscribers.size;
    return { events: this.#events.size, sessions: this.#sessions.size, subscriptions };
  }

  override handleInspect(): Record<string, string> {
    const s = this.stats();
    return { events: String(s.events), sessions: String(s.sessions), subscriptions: String(s.subscriptions) };
  }
}
