// What the application lets one tab reach, and the check of every routed frame a tab sends
// against it. A tab addresses server processes by the registered names its grant lists (each
// optionally with the protocol the gateway checks the message or request against before it
// leaves), and PIDs only once they were handed to it: the sender of mail it received, a caller,
// or one the application handed out (`gateway.handOut`). Events: the names its grant lists. No
// remote spawn, no exit signals, no system processes, no other tab's PIDs unless handed out.
// And how much: the per-tab limits, held by token buckets (one second's allowance each).

import { Alias, ErrIncorrect, ErrProtocolViolation, Event, PID, ProcessID, type SchemaIssue } from 'ergo-ts';
import { ErrTabFrame, ErrTabNotGranted, ErrTabPosing, Op, type Frame } from './frame.js';

/** The part of a protocol the gateway uses: its checks of messages and requests. */
export interface TabProtocolCheck {
  readonly name: string;
  checkMessage(value: unknown): SchemaIssue | undefined;
  checkRequest(value: unknown): SchemaIssue | undefined;
}

/**
 * What the application grants a tab (the `admit` callback's answer). Everything not listed is
 * refused with a coded error at the tab and a log line at the gateway.
 */
export interface TabGrant {
  /**
   * Registered names the tab may send to, call, link to and monitor (on any node it may reach),
   * each with `true` or the protocol (`defineProtocol(...)`) whose schemas the gateway checks
   * what the tab sends against (ERR_PROTOCOL_VIOLATION when it does not fit).
   */
  readonly names?: Readonly<Record<string, TabProtocolCheck | true>>;
  /** Event names the tab may link or monitor (on any node it may reach). */
  readonly events?: readonly string[];
  /** Nodes the tab may reach; default: every node the gateway reaches (never another tab). */
  readonly nodes?: readonly string[];
  /** Limits for this tab, over the gateway's. */
  readonly limits?: Partial<TabLimits>;
  /** A label for the gateway's log lines and `tabs()` (a user id, say). */
  readonly label?: string;
}

/**
 * How `admit` refuses: the reason goes to the log; the tab gets ERR_TAB_ADMISSION. With `busy`
 * true (the application cannot take the tab now: its session store is overloaded, say) the tab
 * gets ERR_TAB_BUSY instead and dials again by itself with jittered backoff.
 */
export interface TabRefusal {
  readonly refuse: string;
  readonly busy?: boolean;
}

const MAX_KNOWN = 4096;

/** The grant of one tab and what it was handed, checking the frames it sends. */
export class TabPolicy {
  /**
   * PIDs and aliases handed to the tab (by string key), oldest first; made at the second: the
   * first is held in `#first` (a tab that only hears one event's publisher, the most common idle
   * tab, keeps no Set: ~0.2 KiB).
   */
  #known: Set<string> | null = null;
  #first: string | null = null;

  constructor(
    readonly tab: string,
    readonly grant: TabGrant,
    private readonly isTab: (node: string) => boolean,
  ) {}

  /** Lets the tab address `target` (bounded: the oldest is forgotten past 4096). */
  handOut(target: PID | Alias): void {
    const k = target.key;
    if (this.#known === null) {
      if (this.#first === null || this.#first === k) {
        this.#first = k;
        return;
      }
      this.#known = new Set([this.#first]);
      this.#first = null;
    }
    const known = this.#known;
    if (known.has(k)) return;
    if (known.size >= MAX_KNOWN) known.delete(known.values().next().value as string);
    known.add(k);
  }

  /** Hands out the sender PIDs of a frame that goes to the tab (a sender, a caller). */
  learn(f: Frame): void {
    const op = f[0];
    const who = op === Op.Send || op === Op.Call || op === Op.Response ? f[5] : op === Op.Event ? f[3] : undefined;
    if (who instanceof PID) this.handOut(who);
  }

  #knows(t: PID | Alias): boolean {
    const k = t.key;
    return this.#known !== null ? this.#known.has(k) : this.#first === k;
  }

  #node(node: string): void {
    const nodes = this.grant.nodes;
    if (node === this.tab) throw ErrTabFrame.with('a frame to the tab itself');
    if (nodes !== undefined && !nodes.includes(node)) throw ErrTabNotGranted.with(`node ${node}`);
  }

  #target(t: unknown, dst: string, what: 'message' | 'request' | 'relation', payload: unknown): void {
    if (t instanceof ProcessID) {
      if (t.node !== dst) throw ErrTabFrame.with('target and destination differ');
      if (this.isTab(dst)) throw ErrTabNotGranted.with(`names on another tab (${dst})`);
      const check = this.grant.names?.[t.name];
      if (check === undefined || !Object.hasOwn(this.grant.names!, t.name))
        throw ErrTabNotGranted.with(`name '${t.name}'`);
      if (check !== true && what !== 'relation') {
        const issue = what === 'message' ? check.checkMessage(payload) : check.checkRequest(payload);
        if (issue !== undefined) throw ErrProtocolViolation.with(`${check.name}: ${issue.message}`);
      }
      return;
    }
    if (t instanceof PID || t instanceof Alias) {
      if (t.node !== dst) throw ErrTabFrame.with('target and destination differ');
      if (!this.#knows(t)) throw ErrTabNotGranted.with(`${t.toString()} was not handed to this tab`);
      return;
    }
    if (t instanceof Event) {
      if (t.node !== dst) throw ErrTabFrame.with('target and destination differ');
      if (what !== 'relation' || !(this.grant.events ?? []).includes(t.name))
        throw ErrTabNotGranted.with(`event '${t.name}'`);
      return;
    }
    throw ErrTabFrame.with('a target that is not a PID, ProcessID, Alias or Event');
  }

  /**
   * Checks routed frame `f` the tab sent. `peers`: nodes that sent to the tab; an Ack may go to
   * them only, and to `gateway` (its own node's requests: a link or monitor of a tab process).
   * @throws ErrTabPosing, ErrTabNotGranted, ErrProtocolViolation, ErrTabFrame.
   */
  check(f: Frame, peers: ReadonlySet<string>, gateway: string): void {
    const src = f[1] as string;
    const dst = f[2] as string;
    if (src !== this.tab) throw ErrTabPosing.with(`a frame from ${src}`);
    this.#node(dst);
    const own = (v: unknown): void => {
      if (!(v instanceof PID) || v.node !== this.tab) throw ErrTabPosing.with('a sender that is not its own');
    };
    switch (f[0]) {
      case Op.Send:
        own(f[5]);
        this.#target(f[6], dst, 'message', f[7]);
        return;
      case Op.Call:
        own(f[5]);
        this.#target(f[6], dst, 'request', f[8]);
        return;
      case Op.Response:
        own(f[5]);
        if (!(f[6] instanceof PID) || !this.#knows(f[6])) throw ErrTabNotGranted.with('a response to a stranger');
        return;
      case Op.Event: {
        own(f[3]);
        const ev = f[4];
        if (!(ev instanceof Event) || ev.node !== this.tab) throw ErrTabPosing.with('an event of another node');
        return;
      }
      case Op.Relation:
        own(f[5]);
        // Undoing a relation needs no grant (the target checks that it exists).
        if (f[4] === 'unlink' || f[4] === 'demonitor') return;
        this.#target(f[6], dst, 'relation', undefined);
        return;
      case Op.Terminate: {
        const t = f[3] as { node?: unknown } | null;
        if (t === null || typeof t !== 'object' || t.node !== this.tab)
          throw ErrTabPosing.with('a terminated target of another node');
        return;
      }
      case Op.Ack:
        if (dst !== gateway && !peers.has(dst)) throw ErrTabNotGranted.with(`an answer to ${dst}, which asked nothing`);
        return;
      case Op.Exit:
        throw ErrTabNotGranted.with('exit signals');
      default:
        throw ErrTabFrame.with(`op ${f[0]} from a tab`);
    }
  }
}

// --- limits ------------------------------------------------------------------------------------

/** The limits one tab is held to. Every field has a default (see {@link DEFAULT_TAB_LIMITS}). */
export interface TabLimits {
  /** Frames per second the tab may send (calls, sends, links... each counts one). */
  messagesPerSecond: number;
  /** Bytes per second the tab may send (frame sizes). */
  bytesPerSecond: number;
  /** Bytes the gateway keeps for the tab (its socket's buffer plus what waits while it is away). */
  queuedBytes: number;
  /** Largest frame the tab may send, in bytes; a larger one is refused undecoded. */
  maxFrameBytes: number;
}

/** Defaults: 200 messages/s, 1 MiB/s, 1 MiB queued, 256 KiB frames. */
export const DEFAULT_TAB_LIMITS: Readonly<TabLimits> = Object.freeze({
  messagesPerSecond: 200,
  bytesPerSecond: 1 << 20,
  queuedBytes: 1 << 20,
  maxFrameBytes: 256 << 10,
});

/**
 * `partial` over `base`, each field checked: a positive finite number.
 * @throws ErrIncorrect naming the field.
 */
export function resolveLimits(base: Readonly<TabLimits>, partial: Partial<TabLimits> | undefined): TabLimits {
  const out: TabLimits = { ...base, ...partial };
  for (const k of Object.keys(DEFAULT_TAB_LIMITS) as (keyof TabLimits)[]) {
    const v = out[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw ErrIncorrect.with(`tab limit ${k}: ${String(v)}`);
  }
  return out;
}

/** A bucket of `rate` tokens per second holding at most `rate` (one second's burst). */
export class TokenBucket {
  #tokens: number;
  #at: number;
  constructor(readonly rate: number) {
    this.#tokens = rate;
    this.#at = performance.now();
  }
  /** Takes `n` tokens if there are; false (nothing taken) otherwise. */
  take(n: number): boolean {
    const now = performance.now();
    this.#tokens = Math.min(this.rate, this.#tokens + ((now - this.#at) / 1000) * this.rate);
    this.#at = now;
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
  }
  /** Puts back `n` tokens a `take` took for a frame another limit then refused. */
  refund(n: number): void {
    this.#tokens = Math.min(this.rate, this.#tokens + n);
  }
}
