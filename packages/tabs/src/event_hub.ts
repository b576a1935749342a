// Events of other server nodes, once per gateway: when tabs subscribe (link or monitor) to an
// event of another server node, the gateway's relay monitors it once for all of them, and each
// publish arrives at the gateway as one ENP message that the hub writes to every subscribed tab
// (one frame per tab, whatever the number of its subscribed processes: the tab's node fans it out
// to them). The tabs' links and monitors themselves live on their own nodes; the hub tells them
// when the event ends (Terminate) and answers their subscribe requests (Ack with the buffer).

import { Event, PID, toError, type Log, type MessageEvent } from 'ergo-ts';
import { encodeEventTail, errorToWire, Op } from './frame.js';
import { eventsToWire } from './frame_inbound.js';
import type { SharedEvent, TabSession } from './session.js';

/** A subscribe or unsubscribe of a tab process, handed to the relay (it acts in its handler). */
export class HubRequest {
  constructor(
    readonly tab: TabSession,
    readonly subscribe: boolean,
    readonly reqId: number,
    readonly pid: PID,
    readonly event: Event,
  ) {}
}

/** A tab session ended: its subscriptions go. */
export class HubDropTab {
  constructor(readonly tab: TabSession) {}
}

/** What the hub asks of the relay process (inside its handler). */
export interface HubRelay {
  monitorEvent(target: Event): Promise<MessageEvent[]>;
  demonitorEvent(target: Event): void;
}

interface Entry {
  readonly event: Event;
  /** Subscribed processes by tab. */
  readonly tabs: Map<TabSession, Set<string>>;
  /** Subscribe requests waiting for the relay's own monitor (null once it holds). */
  waiting: HubRequest[] | null;
  buffered: MessageEvent[];
}

const keyOf = (e: Event): string => `${e.name}\u0000${e.node}`;

/** The gateway's subscriptions to events of other nodes, on behalf of its tabs. */
export class EventHub {
  readonly #entries = new Map<string, Entry>();

  constructor(private readonly log: Log) {}

  /** Subscriptions held (for tests and inspection): event key → tabs subscribed. */
  get size(): number {
    return this.#entries.size;
  }

  /** Handles `r` in the relay's handler (`relay` is that process). */
  request(relay: HubRelay, r: HubRequest): void {
    const k = keyOf(r.event);
    let e = this.#entries.get(k);
    if (!r.subscribe) {
      if (e === undefined) return;
      const pids = e.tabs.get(r.tab);
      pids?.delete(r.pid.key);
      if (pids !== undefined && pids.size === 0) e.tabs.delete(r.tab);
      this.#release(relay, k, e);
      return;
    }
    if (e === undefined) {
      e = { event: r.event, tabs: new Map(), waiting: [], buffered: [] };
      this.#entries.set(k, e);
      const entry = e;
      relay.monitorEvent(r.event).then(
        (buffered) => {
          entry.buffered = buffered;
          const waiting = entry.waiting ?? [];
          entry.waiting = null;
          for (const w of waiting) this.#add(entry, w, null);
        },
        (err: unknown) => {
          if (this.#entries.get(k) === entry) this.#entries.delete(k);
          for (const w of entry.waiting ?? []) this.#add(null, w, toError(err));
          entry.waiting = null;
        },
      );
    }
    if (e.waiting !== null) e.waiting.push(r);
    else this.#add(e, r, null);
  }

  /** Records the subscriber and answers its request (Ack with the buffered events, or the error). */
  #add(e: Entry | null, r: HubRequest, err: Error | null): void {
    if (e !== null && err === null) {
      let pids = e.tabs.get(r.tab);
      if (pids === undefined) e.tabs.set(r.tab, (pids = new Set()));
      pids.add(r.pid.key);
    }
    if (r.reqId === 0) return;
    const ack = [Op.Ack, r.event.node, r.tab.name, r.reqId, err === null ? null : errorToWire(err), null] as unknown[];
    if (e !== null && err === null) ack[5] = eventsToWire(e.buffered);
    this.#write(r.tab, ack);
  }

  /** No tab left on `e`: the relay's monitor goes. */
  #release(relay: HubRelay, k: string, e: Entry): void {
    if (e.tabs.size > 0 || e.waiting !== null) return;
    this.#entries.delete(k);
    try {
      relay.demonitorEvent(e.event);
    } catch (err) {
      this.log.warning('tab events: demonitor of %s failed: %s', e.event.name, toError(err).message);
    }
  }

  /** A publish of an event the relay monitors: one frame to each subscribed tab. */
  published(m: MessageEvent): void {
    const e = this.#entries.get(keyOf(m.event));
    if (e === undefined) return;
    // The producer's PID does not travel with an event: a PID of its node stands for it.
    const from = new PID(m.event.node, 0, 0);
    let tail: Uint8Array;
    try {
      // What every tab gets alike, encoded once; each tab's frame is its head and these bytes.
      tail = encodeEventTail(from, m.event, m.timestamp, m.message);
    } catch (err) {
      this.log.warning('tab events: a publish of %s not carried: %s', m.event.name, toError(err).message);
      return;
    }
    // One object for every tab; each tab's frame is encoded as its slice writes it.
    const ev: SharedEvent = { src: m.event.node, from, tail };
    for (const tab of e.tabs.keys()) {
      if (tab.ended) continue;
      try {
        // In the gateway's broadcast slices (slices.ts): a call is answered during a long fan-out.
        tab.deliverFanOut(ev);
      } catch (err) {
        this.log.warning('tab %s: event frame not delivered: %s', tab.name, toError(err).message);
      }
    }
  }

  /** The event ended (or its node is gone): every subscribed tab hears it with `reason`. */
  ended(event: Event, reason: Error): void {
    const k = keyOf(event);
    const e = this.#entries.get(k);
    if (e === undefined) return;
    this.#entries.delete(k);
    for (const tab of e.tabs.keys()) this.#write(tab, [Op.Terminate, event.node, tab.name, event, errorToWire(reason)]);
  }

  /** Tab `tab` is gone: its subscriptions go (and the relay's monitors nobody needs). */
  dropTab(relay: HubRelay, tab: TabSession): void {
    for (const [k, e] of [...this.#entries]) if (e.tabs.delete(tab)) this.#release(relay, k, e);
  }

  #write(tab: TabSession, frame: unknown[], bytes?: Uint8Array): void {
    if (tab.ended) return;
    try {
      tab.deliverFrame(frame, bytes);
    } catch (err) {
      this.log.warning('tab %s: event frame not delivered: %s', tab.name, toError(err).message);
    }
  }
}

/** The event of a Relation frame a tab sent, when the hub takes it (an event of another server node). */
export function hubEvent(target: unknown, gateway: string, isTab: (node: string) => boolean): Event | null {
  if (!(target instanceof Event)) return null;
  const node = target.node as string;
  return node === gateway || isTab(node) ? null : target;
}
