// The hub: one process that holds every inspector subscription the Observer has, shared by all
// browser sessions. A session that wants an inspector's event asks the hub to join it; the hub
// monitors each event once, whatever the number of sessions, keeps its last message (already
// turned into JSON once, not once per browser) and replays it to a session that joins later, so
// a page shows data at once instead of on the next 1 s tick. When the last session leaves an
// event the hub demonitors it, and the inspector on the observed node stops publishing and exits
// on its own idle timeout. Sessions are monitored: a session that ends leaves everything it held.

import { Actor, MessageDownEvent, MessageDownPID, type Event, type MessageEvent, type PID, type Ref } from 'ergo-ts';

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

interface Entry {
  event: Event;
  last: string | null;
  subscribers: Map<string, PID>;
}

/**
 * The shared-subscription process of an Observer (registered as {@link HUB_NAME}). Its
 * `handleInspect` reports `events`, `sessions` and `subscriptions` (session × event pairs).
 */
export class Hub extends Actor {
  readonly #events = new Map<string, Entry>();
  /** Session PID key → the event keys it joined. */
  readonly #sessions = new Map<string, { pid: PID; events: Set<string> }>();

  override async handleCall(_from: PID, _ref: Ref, request: unknown): Promise<unknown> {
    if (!(request instanceof HubJoin)) return undefined;
    const { session, event } = request;
    let entry = this.#events.get(event.key);
    if (entry === undefined) {
      // Monitored once for every session; its buffer (the inspector keeps one) is the last value.
      let buffered: MessageEvent[];
      try {
        buffered = await this.monitorEvent(event);
      } catch (err) {
        return new HubJoined(null, err instanceof Error ? err.message : String(err));
      }
      entry = { event, last: null, subscribers: new Map() };
      const last = buffered.at(-1);
      if (last !== undefined) entry.last = toJSONString(last.message);
      this.#events.set(event.key, entry);
    }
    entry.subscribers.set(session.key, session);
    let s = this.#sessions.get(session.key);
    if (s === undefined) {
      s = { pid: session, events: new Set() };
      this.#sessions.set(session.key, s);
      this.monitorPID(session);
    }
    s.events.add(event.key);
    return new HubJoined(entry.last);
  }

  override handleEvent(message: MessageEvent): void {
    const entry = this.#events.get(message.event.key);
    if (entry === undefined) return;
    const json = toJSONString(message.message);
    entry.last = json;
    const push = new HubPush(message.event.key, json);
    for (const pid of entry.subscribers.values()) this.send(pid, push);
  }

  override handleMessage(_from: PID, message: unknown): void {
    if (message instanceof HubLeave) {
      this.#leave(message.session.key, message.eventKey);
    } else if (message instanceof MessageDownEvent) {
      const entry = this.#events.get(message.event.key);
      if (entry === undefined) return;
      this.#events.delete(message.event.key);
      const down = new HubDown(message.event.key, message.reason.message);
      for (const [key, pid] of entry.subscribers) {
        this.#sessions.get(key)?.events.delete(message.event.key);
        this.send(pid, down);
      }
    } else if (message instanceof MessageDownPID) {
      const s = this.#sessions.get(message.pid.key);
      if (s === undefined) return;
      for (const eventKey of [...s.events]) this.#leave(message.pid.key, eventKey);
      this.#sessions.delete(message.pid.key);
    }
  }

  #leave(sessionKey: string, eventKey: string): void {
    this.#sessions.get(sessionKey)?.events.delete(eventKey);
    const entry = this.#events.get(eventKey);
    if (entry === undefined || !entry.subscribers.delete(sessionKey)) return;
    if (entry.subscribers.size > 0) return;
    this.#events.delete(eventKey);
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
