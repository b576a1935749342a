// The gateway node's relay process (`tabs_relay`: frames from server nodes for the tabs, node
// notices) and its event hub. Events of other server nodes, once per gateway: when tabs subscribe (link or monitor) to an
// event of another server node, the gateway's relay monitors it once for all of them, and each
// publish arrives at the gateway as one ENP message that the hub writes to every subscribed tab
// (one frame per tab, whatever the number of its subscribed processes: the tab's node fans it out
// to them). The tabs' links and monitors themselves live on their own nodes; the hub tells them
// when the event ends (Terminate) and answers their subscribe requests (Ack with the buffer).
//
// A lost connection to the event's node does not end the tabs' subscriptions at once: the hub
// monitors the event again (Phoenix PubSub and Socket.IO's adapters resubscribe a node the same
// way) within `eventRetryWindow`, and then either hands the tabs what the event's buffer shows
// they missed (nothing lost: the buffer reaches back to the last publish they had) or ends their
// subscription with ERR_TAB_EVENTS_MISSED, so a tab knows to subscribe again and fetch the state
// it may have missed. Past the window they end with the connection's reason, as before.

import {
  Actor,
  defineError,
  ErrEventUnknown,
  ErrNoConnection,
  Event,
  MessageDownEvent,
  MessageNodeDown,
  MessageNodeUp,
  PID,
  TerminateReasonNormal,
  toError,
  type HandlerResult,
  type Log,
  type MessageEvent,
} from 'ergo-ts';
import { encodeEventTail, errorToWire, Op, RELAY_STOP } from './frame.js';
import { eventsToWire } from './frame_inbound.js';
import { SharedEvent } from './shared_frame.js';
import type { TabSession } from './session.js';

/**
 * A tab's subscription to an event of another node ended because publishes may have been lost
 * while its gateway's connection to that node was down: the event's buffer, read when the gateway
 * subscribed again, did not reach back to the last publish the tab had. Subscribe again (and
 * fetch what the events would have told). The tabs see it as the reason of the subscription's end
 * (code `ERR_TAB_EVENTS_MISSED`).
 */
export const ErrTabEventsMissed = defineError('ERR_TAB_EVENTS_MISSED', 'tab events missed');

/** First pause before the hub monitors a lost event again (ms); each later one doubles, up to {@link HUB_RETRY_MAX_MS}. */
export const HUB_RETRY_FIRST_MS = 100;
/** Longest pause between two attempts at monitoring a lost event again (ms). */
export const HUB_RETRY_MAX_MS = 2_000;
/** Subscribes that waited for the relay's monitor answered per turn of the event loop. */
const ACK_SLICE = 256;

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

/** The relay's mail: monitor lost event `event` again now (its pause passed, or its node is up). */
export class HubRetry {
  constructor(readonly event: Event) {}
}

/** The answer to an attempt at monitoring a lost event again, handed to the relay's handler. */
export class HubAnswer {
  /** @internal */
  constructor(
    readonly event: Event,
    readonly lost: Lost,
    readonly buffered: MessageEvent[] | null,
    readonly error: Error | null,
  ) {}
}

/** What the hub asks of the relay process (inside its handler). */
export interface HubRelay {
  monitorEvent(target: Event): Promise<MessageEvent[]>;
  demonitorEvent(target: Event): void;
  /** A {@link HubRetry} of `event` to itself after `ms`. */
  retryAfter(event: Event, ms: number): void;
  /** `message` to its own mailbox, from outside its handler (never throws). */
  post(message: HubAnswer): void;
}

/** An event whose monitor went down with its connection, monitored again until the window ends. */
export interface Lost {
  /** performance.now() when the monitor went down. */
  readonly since: number;
  readonly reason: Error;
  /** The next pause (ms). */
  pause: number;
  /** An attempt is on its way (its answer not in yet). */
  trying: boolean;
  /** A HubRetry is due (at most one at a time). */
  due: boolean;
  /** Publishes that came while an attempt was on its way (the new monitor's, ahead of its answer). */
  early: MessageEvent[];
}

interface Entry {
  readonly event: Event;
  /** Subscribed processes by tab. */
  readonly tabs: Map<TabSession, Set<string>>;
  /**
   * Subscribe and unsubscribe requests waiting for the relay's own monitor, then for their turn
   * to be answered (null once all were).
   */
  waiting: HubRequest[] | null;
  /** The monitor holds and `waiting` is being answered, {@link ACK_SLICE} per turn of the loop. */
  acking: boolean;
  /** The next of `waiting` to answer. */
  next: number;
  buffered: MessageEvent[];
  /** The timestamp of the last publish the tabs had (a buffered one's included); undefined: none. */
  last: bigint | undefined;
  /** Set while the event's connection is down and the hub monitors it again. */
  lost: Lost | null;
}

const keyOf = (e: Event): string => `${e.name}\u0000${e.node}`;

/** The gateway's subscriptions to events of other nodes, on behalf of its tabs. */
export class EventHub {
  readonly #entries = new Map<string, Entry>();

  /**
   * `retryWindow`: how long (ms) an event whose connection was lost is monitored again before its
   * tabs' subscriptions end (0: they end at once).
   */
  constructor(
    private readonly log: Log,
    private readonly retryWindow = 30_000,
  ) {}

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
      if (e.waiting !== null) {
        e.waiting.push(r); // answered in order, after the subscribe it may undo
        return;
      }
      const pids = e.tabs.get(r.tab);
      pids?.delete(r.pid.key);
      if (pids !== undefined && pids.size === 0) e.tabs.delete(r.tab);
      this.#release(relay, k, e);
      return;
    }
    if (e?.lost != null) {
      // Its node is out of reach now: said at once (the tab may subscribe again), as a first
      // subscription to an unreachable node is; the tabs already subscribed keep waiting.
      this.#add(null, r, ErrNoConnection.with(`the gateway's connection to ${r.event.node} is down`));
      return;
    }
    if (e === undefined) {
      e = {
        event: r.event,
        tabs: new Map(),
        waiting: [],
        acking: false,
        next: 0,
        buffered: [],
        last: undefined,
        lost: null,
      };
      this.#entries.set(k, e);
      const entry = e;
      relay.monitorEvent(r.event).then(
        (buffered) => {
          entry.buffered = buffered;
          entry.last = buffered.at(-1)?.timestamp;
          entry.acking = true;
          this.#ackSlice(relay, k, entry);
        },
        (err: unknown) => {
          if (this.#entries.get(k) === entry) this.#entries.delete(k);
          for (const w of entry.waiting ?? []) if (w.subscribe) this.#add(null, w, toError(err));
          entry.waiting = null;
        },
      );
    }
    if (e.waiting !== null) e.waiting.push(r);
    else this.#add(e, r, null);
  }

  /**
   * Answers {@link ACK_SLICE} of `e`'s waiting requests, and the rest in later turns of the event
   * loop: a storm of subscribes that came while the relay's monitor was on its way (thousands of
   * tabs at once) is thousands of socket writes, which in one go would hold the loop as long.
   */
  #ackSlice(relay: HubRelay, k: string, e: Entry): void {
    if (!e.acking) return; // settled meanwhile
    const waiting = e.waiting!;
    const end = Math.min(waiting.length, e.next + ACK_SLICE);
    while (e.next < end) this.#answer(e, waiting[e.next++]!);
    if (e.next < waiting.length) {
      setImmediate(() => this.#ackSlice(relay, k, e));
      return;
    }
    this.#acked(e);
    if (this.#entries.get(k) === e) this.#release(relay, k, e);
  }

  /** Answers every request of `e` still waiting now: what comes next for `e` finds them answered. */
  #settle(e: Entry): void {
    const waiting = e.waiting!;
    while (e.next < waiting.length) this.#answer(e, waiting[e.next++]!);
    this.#acked(e);
  }

  #acked(e: Entry): void {
    e.acking = false;
    e.waiting = null;
    e.next = 0;
  }

  /** One waiting request, in its order: a subscribe recorded and acknowledged, an unsubscribe done. */
  #answer(e: Entry, r: HubRequest): void {
    if (r.subscribe) return this.#add(e, r, null);
    const pids = e.tabs.get(r.tab);
    pids?.delete(r.pid.key);
    if (pids !== undefined && pids.size === 0) e.tabs.delete(r.tab);
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
    // A lost event's monitor is gone already (an attempt under way is dropped when it answers).
    if (e.lost !== null) return;
    this.#demonitor(relay, e.event);
  }

  /** A publish of an event the relay monitors: one frame to each subscribed tab. */
  published(m: MessageEvent): void {
    const e = this.#entries.get(keyOf(m.event));
    if (e === undefined) return;
    if (e.acking) this.#settle(e); // the tabs still to be acknowledged hear it too
    if (e.lost !== null) {
      if (e.lost.trying) e.lost.early.push(m);
      return;
    }
    e.last = m.timestamp;
    this.#fanOut(e, m);
  }

  /** Writes publish `m` to every tab subscribed to `e`. */
  #fanOut(e: Entry, m: MessageEvent): void {
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
    const ev = new SharedEvent(m.event.node, from, tail);
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

  /**
   * The relay's monitor of `event` went down with `reason`. A lost connection (ERR_NO_CONNECTION)
   * within the retry window: the tabs stay subscribed and the hub monitors the event again;
   * otherwise the event ended for them: every subscribed tab hears it with `reason`.
   */
  down(relay: HubRelay, event: Event, reason: Error): void {
    const e = this.#entries.get(keyOf(event));
    if (e === undefined) return;
    if (e.acking) this.#settle(e);
    if (e.lost !== null || this.retryWindow === 0 || !ErrNoConnection.is(reason)) {
      this.ended(event, reason);
      return;
    }
    e.lost = { since: performance.now(), reason, pause: HUB_RETRY_FIRST_MS, trying: false, due: false, early: [] };
    this.log.warning(
      'tab events: lost %s of %s (%s); subscribing again for %d ms',
      event.name,
      event.node,
      reason.message,
      this.retryWindow,
    );
    this.#attempt(relay, e);
  }

  /** A {@link HubRetry}: one more attempt at the lost event. */
  retry(relay: HubRelay, event: Event): void {
    const e = this.#entries.get(keyOf(event));
    if (e?.lost == null) return;
    e.lost.due = false;
    this.#attempt(relay, e);
  }

  /** Node `node` is connected again: its lost events are monitored again now. */
  nodeUp(relay: HubRelay, node: string): void {
    for (const e of this.#entries.values()) if (e.lost !== null && e.event.node === node) this.#attempt(relay, e);
  }

  #attempt(relay: HubRelay, e: Entry): void {
    const lost = e.lost!;
    if (lost.trying) return;
    lost.trying = true;
    let p: Promise<MessageEvent[]>;
    try {
      p = relay.monitorEvent(e.event);
    } catch (err) {
      p = Promise.reject(toError(err));
    }
    // The answer is handled in the relay's handler (its process API is refused outside one).
    p.then(
      (buffered) => relay.post(new HubAnswer(e.event, lost, buffered, null)),
      (err: unknown) => relay.post(new HubAnswer(e.event, lost, null, toError(err))),
    );
  }

  /** A {@link HubAnswer}: the attempt's monitor holds, or it failed (again later, or the end). */
  answered(relay: HubRelay, a: HubAnswer): void {
    const k = keyOf(a.event);
    const e = this.#entries.get(k);
    const lost = a.lost;
    lost.trying = false;
    if (e === undefined || e.lost !== lost) {
      // Nobody is subscribed any more: the new monitor goes.
      if (a.error === null && e === undefined) this.#demonitor(relay, a.event);
      return;
    }
    if (a.error === null) {
      this.#regained(relay, e, a.buffered ?? []);
      if (e.tabs.size === 0) this.#release(relay, k, e);
      return;
    }
    const left = this.retryWindow - (performance.now() - lost.since);
    // Unreachable still, or back without the event yet (its node restarted): again later.
    if (left > 0 && (ErrNoConnection.is(a.error) || ErrEventUnknown.is(a.error))) {
      if (lost.due) return;
      lost.due = true;
      relay.retryAfter(e.event, Math.min(lost.pause, left));
      lost.pause = Math.min(lost.pause * 2, HUB_RETRY_MAX_MS);
      return;
    }
    this.ended(e.event, left > 0 ? a.error : lost.reason);
  }

  /**
   * Monitored again with the event's `buffered` publishes: what the tabs missed is written to them
   * when the buffer reaches back to the last publish they had; else their subscriptions end
   * (ERR_TAB_EVENTS_MISSED: publishes of the time without a connection may be lost).
   */
  #regained(relay: HubRelay, e: Entry, buffered: MessageEvent[]): void {
    const lost = e.lost!;
    e.lost = null;
    e.buffered = buffered;
    const last = e.last;
    const oldest = buffered[0]?.timestamp;
    const ms = Math.round(performance.now() - lost.since);
    if (last === undefined || oldest === undefined || oldest > last) {
      const missed = ErrTabEventsMissed.with(
        `${e.event.name} of ${e.event.node}: the gateway's connection to it was down for ${ms} ms (${lost.reason.message}) and its buffer does not reach back to the last publish the tab had; subscribe again`,
      );
      this.log.warning('tab events: %s', missed.message);
      this.ended(e.event, missed);
      // The new monitor goes with them: a tab that subscribes again makes its own.
      this.#demonitor(relay, e.event);
      return;
    }
    let n = 0;
    for (const m of buffered) if (this.#catchUp(e, m)) n++;
    for (const m of lost.early) this.#catchUp(e, m);
    this.log.info(
      'tab events: %s of %s subscribed again after %d ms; %d missed publishes written',
      e.event.name,
      e.event.node,
      ms,
      n,
    );
  }

  /** Writes `m` to `e`'s tabs unless they had it (its timestamp not after the last they had). */
  #catchUp(e: Entry, m: MessageEvent): boolean {
    if (e.last !== undefined && m.timestamp <= e.last) return false;
    e.last = m.timestamp;
    this.#fanOut(e, m);
    return true;
  }

  /** The event ended (or its node is gone): every subscribed tab hears it with `reason`. */
  ended(event: Event, reason: Error): void {
    const k = keyOf(event);
    const e = this.#entries.get(k);
    if (e === undefined) return;
    if (e.acking) this.#settle(e);
    this.#entries.delete(k);
    for (const tab of e.tabs.keys()) this.#write(tab, [Op.Terminate, event.node, tab.name, event, errorToWire(reason)]);
  }

  /**
   * Tab `tab` was told node `node` is gone (NodeDown: its own watches of that node's events fired
   * there): its subscriptions to that node's events go here too.
   */
  dropTabNode(relay: HubRelay, tab: TabSession, node: string): void {
    for (const [k, e] of [...this.#entries]) {
      if (e.event.node !== node) continue;
      if (e.acking) this.#settle(e);
      if (e.tabs.delete(tab)) this.#release(relay, k, e);
    }
  }

  #demonitor(relay: HubRelay, event: Event): void {
    try {
      relay.demonitorEvent(event);
    } catch (err) {
      this.log.warning('tab events: demonitor of %s failed: %s', event.name, toError(err).message);
    }
  }

  /** Tab `tab` is gone: its subscriptions go (and the relay's monitors nobody needs). */
  dropTab(relay: HubRelay, tab: TabSession): void {
    for (const [k, e] of [...this.#entries]) {
      if (e.acking) this.#settle(e);
      if (e.tabs.delete(tab)) this.#release(relay, k, e);
    }
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

// --- the relay process ---------------------------------------------------------------------------

/** What the relay needs of its gateway. */
export interface RelayHost {
  readonly hub: EventHub;
  /** A frame from server node process `from` for a tab. */
  fromServer(from: PID, bytes: Uint8Array): void;
  /** Server node `node` is gone (`relay`: this process, for the hub). */
  serverDown(relay: HubRelay, node: string): void;
  /** The relay `pid` ended. */
  relayEnded(pid: PID): void;
  /** `message` to the relay's mailbox from anywhere (dropped once it ended; never throws). */
  post(message: unknown): void;
}

/**
 * The relay's mail, handled in its process. Lifecycle: spawned by the gateway's start under
 * TAB_RELAY; ends with RELAY_STOP (the gateway's stop) or its node's stop.
 */
export class GatewayRelay extends Actor implements HubRelay {
  constructor(private readonly gw: RelayHost) {
    super();
  }
  override init(): void {
    this.monitorNodes();
  }
  override handleMessage(from: PID, message: unknown): HandlerResult {
    if (message === RELAY_STOP) return TerminateReasonNormal;
    const hub = this.gw.hub;
    if (message instanceof Uint8Array) this.gw.fromServer(from, message);
    else if (message instanceof HubRequest) hub.request(this, message);
    else if (message instanceof HubDropTab) hub.dropTab(this, message.tab);
    else if (message instanceof HubRetry) hub.retry(this, message.event);
    else if (message instanceof HubAnswer) hub.answered(this, message);
    else if (message instanceof MessageDownEvent) hub.down(this, message.event, message.reason);
    else if (message instanceof MessageNodeDown) this.gw.serverDown(this, message.name);
    else if (message instanceof MessageNodeUp) hub.nodeUp(this, message.name);
  }
  override handleEvent(m: MessageEvent): void {
    this.gw.hub.published(m);
  }
  retryAfter(event: Event, ms: number): void {
    this.sendAfter(this.pid, new HubRetry(event), ms);
  }
  post(message: HubAnswer): void {
    this.gw.post(message);
  }
  override terminate(): void {
    this.gw.relayEnded(this.pid);
  }
}
