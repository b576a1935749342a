// What the gateway knows of one tab's relations, so a page reload can keep some processes: the
// links and monitors others hold on the tab's targets live in the TAB node's core (the target's
// side), and the tab's own links and monitors on others' targets live in theirs; a reload loses
// the page's core. Every frame to or from a tab passes the gateway, which notes here the
// relations it carries (and the calls the tab has not answered, and the PIDs the page keeps), so
// that at a reload (reload.ts) it can put the relations on kept processes back into the new
// page's core, end the others with `noconnection` for their watchers, drop the old page's own
// relations where they live, and fail the calls the old page took with it.

import { Alias, Event, PID, ProcessID, Ref } from 'ergo-ts';
import { ErrTabFrame, ErrTabPosing, Op, type Frame } from './frame.js';

/** A target a relation can be on. */
export type RelationTarget = PID | ProcessID | Alias | Event;

/** One link or monitor: `watcher` watches `target`. */
export interface TabRelation {
  readonly link: boolean;
  readonly watcher: PID;
  readonly target: RelationTarget;
}

/** A call delivered to the tab and not answered yet. */
export interface TabCall {
  readonly caller: PID;
  readonly ref: Ref;
  /** Its place in the order calls reached the tab (see {@link TabWatchers.socketGone}). */
  readonly seq: number;
}

/** A request delivered to the tab that waits for the tab's Ack (an important send, call or response; a link or monitor). */
export interface TabAsk {
  /** The requester's node and its request id (the Ack goes back to them). */
  readonly node: string;
  readonly reqId: number;
  /** The frame's op: a Relation is acknowledged at a reload, the others fail. */
  readonly op: number;
  /** Its place in the order frames reached the tab (see {@link TabWatchers.socketGone}). */
  readonly seq: number;
}

/** A process the tab keeps across a page reload. */
export interface KeptEntry {
  readonly pid: PID;
  readonly name: string;
}

/** Most processes one tab may keep (a Keep frame past it is refused). */
export const MAX_KEPT = 256;
/** Most unanswered calls (and unacknowledged requests) noted per tab; past it the oldest is forgotten (its caller's timeout stays). */
const MAX_CALLS = 4096;

function isTarget(t: unknown): t is RelationTarget {
  return t instanceof PID || t instanceof ProcessID || t instanceof Alias || t instanceof Event;
}

/**
 * A relation's key: one flat string (`join`), and no `watcher.key` made for it (a template would
 * keep a tree of cons strings for every subscribed tab, ~0.3 KiB).
 */
const relKey = (link: boolean, watcher: PID, target: RelationTarget): string =>
  [link ? 'L' : 'M', watcher.node, watcher.id, watcher.creation, target.key].join('\u0000');

/**
 * The relations, calls and kept processes of one tab, as the gateway saw them pass. Each map is
 * made when the tab first needs it: most tabs idle with none, and an idle tab's memory is the
 * gateway's size (the getters make it; the gateway's own reads go through the fields).
 */
export class TabWatchers {
  #inbound: Map<string, TabRelation> | null = null;
  #outbound: Map<string, TabRelation> | null = null;
  #calls: Map<string, TabCall> | null = null;
  #asks: Map<string, TabAsk> | null = null;
  #kept: Map<number, KeptEntry> | null = null;
  /** Page reloads that kept the session (reload.ts): the page's incarnation. */
  incarnation = 0;
  #callSeq = 0;
  /** Calls up to this seq reached a socket that is gone (the tab's page may have gone with it). */
  #goneSeq = 0;

  constructor(readonly tab: string) {}

  /** Relations others hold on the tab's targets (they live in the tab's core). */
  get inbound(): Map<string, TabRelation> {
    return (this.#inbound ??= new Map());
  }
  /** Relations the tab's processes hold on others' targets (they live in the targets' cores). */
  get outbound(): Map<string, TabRelation> {
    return (this.#outbound ??= new Map());
  }
  /** Calls to the tab not answered yet, by their Ref's key. */
  get calls(): Map<string, TabCall> {
    return (this.#calls ??= new Map());
  }
  /** Requests to the tab not acknowledged yet, by requester node and request id. */
  get asks(): Map<string, TabAsk> {
    return (this.#asks ??= new Map());
  }
  /** Processes the page keeps across a reload, by PID id. */
  get kept(): Map<number, KeptEntry> {
    return (this.#kept ??= new Map());
  }

  /** A frame on its way to the tab (written or held for it). */
  toTab(f: Frame): void {
    const op = f[0];
    const reqId = f[3];
    if (
      typeof reqId === 'number' &&
      reqId > 0 &&
      (op === Op.Send || op === Op.Call || op === Op.Response || op === Op.Relation)
    ) {
      if (this.asks.size >= MAX_CALLS) this.asks.delete(this.asks.keys().next().value!);
      const node = String(f[1]);
      this.asks.set(`${node}\u0000${reqId}`, { node, reqId, op, seq: ++this.#callSeq });
    }
    switch (op) {
      case Op.Relation:
        this.#relation(false, f[4], f[5], f[6]);
        return;
      case Op.Call: {
        const [caller, ref] = [f[5], f[7]];
        if (!(caller instanceof PID) || !(ref instanceof Ref)) return;
        if (this.calls.size >= MAX_CALLS) this.calls.delete(this.calls.keys().next().value!);
        this.calls.set(ref.key, { caller, ref, seq: ++this.#callSeq });
        return;
      }
      case Op.Terminate: {
        // A target of the source node ended: the tab's relations on it fired there.
        const t = f[3];
        const out = this.#outbound;
        if (out !== null && isTarget(t)) for (const [k, r] of out) if (r.target.key === t.key) out.delete(k);
        return;
      }
      case Op.NodeDown:
        this.nodeDown(String(f[3]));
        return;
    }
  }

  /** A frame from the tab, after its grant allowed it. */
  fromTab(f: Frame): void {
    switch (f[0]) {
      case Op.Relation:
        this.#relation(true, f[4], f[5], f[6]);
        return;
      case Op.Response:
        if (f[7] instanceof Ref) this.#calls?.delete(f[7].key);
        return;
      case Op.Ack:
        this.#asks?.delete(`${String(f[2])}\u0000${String(f[3])}`);
        return;
      case Op.Terminate: {
        // A target of the tab ended: the watchers on node dst heard it.
        const t = f[3];
        const dst = String(f[2]);
        const inb = this.#inbound;
        if (inb !== null && isTarget(t))
          for (const [k, r] of inb) if (r.target.key === t.key && r.watcher.node === dst) inb.delete(k);
        return;
      }
    }
  }

  #relation(outbound: boolean, kind: unknown, watcher: unknown, target: unknown): void {
    if (!(watcher instanceof PID) || !isTarget(target)) return;
    const link = kind === 'link' || kind === 'unlink';
    const k = relKey(link, watcher, target);
    if (kind === 'link' || kind === 'monitor')
      (outbound ? this.outbound : this.inbound).set(k, { link, watcher, target });
    else (outbound ? this.#outbound : this.#inbound)?.delete(k);
  }

  /** Node `node` is gone for the tab: relations with it and calls from it end. */
  nodeDown(node: string): void {
    const [inb, out, calls, asks] = [this.#inbound, this.#outbound, this.#calls, this.#asks];
    if (inb !== null) for (const [k, r] of inb) if (r.watcher.node === node) inb.delete(k);
    if (out !== null) for (const [k, r] of out) if (r.target.node === node) out.delete(k);
    if (calls !== null) for (const [k, c] of calls) if (c.caller.node === node) calls.delete(k);
    if (asks !== null) for (const [k, a] of asks) if (a.node === node) asks.delete(k);
  }

  /** The tab's socket is gone: calls it had received may go with its page. */
  socketGone(): void {
    this.#goneSeq = this.#callSeq;
  }

  /** Calls the page that is gone had received (taken out: their callers are answered now). */
  takeCallsOfGonePage(): TabCall[] {
    const out: TabCall[] = [];
    const calls = this.#calls;
    if (calls !== null)
      for (const [k, c] of calls)
        if (c.seq <= this.#goneSeq) {
          out.push(c);
          calls.delete(k);
        }
    return out;
  }

  /** Requests the page that is gone had received and not acknowledged (taken out: answered now). */
  takeAsksOfGonePage(): TabAsk[] {
    const out: TabAsk[] = [];
    const asks = this.#asks;
    if (asks !== null)
      for (const [k, a] of asks)
        if (a.seq <= this.#goneSeq) {
          out.push(a);
          asks.delete(k);
        }
    return out;
  }

  /**
   * A Keep frame of the tab: [op, pid, kept, name].
   * @throws ErrTabPosing for a PID of another node; ErrTabFrame for a malformed frame or past
   *   {@link MAX_KEPT}.
   */
  keepFrame(f: Frame): void {
    const [pid, keep, name] = [f[1], f[2], f[3]];
    if (!(pid instanceof PID) || typeof keep !== 'boolean' || typeof name !== 'string')
      throw ErrTabFrame.with('a keep frame is [op, pid, kept, name]');
    if (pid.node !== this.tab) throw ErrTabPosing.with(`${pid.toString()} is not a process of ${this.tab}`);
    if (!keep) {
      if (this.#kept?.get(pid.id)?.pid.equals(pid)) this.#kept.delete(pid.id);
      return;
    }
    const kept = this.kept;
    if (kept.size >= MAX_KEPT && !kept.has(pid.id)) throw ErrTabFrame.with(`more than ${MAX_KEPT} kept processes`);
    kept.set(pid.id, { pid, name });
  }
}
