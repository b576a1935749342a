// Requests from processes of other nodes that a local process holds and has not answered. When
// the holder ends, each of their callers gets an error response at once (ErrProcessTerminated,
// ENP code 3, which a Go caller maps to gen.ErrProcessTerminated) instead of waiting out its
// timeout: what a local caller already gets from the CallRegistry's holder lists (calls.ts),
// and what Erlang's gen_server:call gets by monitoring the callee.
//
// On the hot path of every remote call, so kept like the CallRegistry: one small entry per
// request, on two intrusive lists — a table chained through its entries and keyed by the
// caller's ref (lib/chained_table.ts: a reply, from the holder or from any process it handed the
// ref to, finds it in O(1)) and its holder's list (ending a process walks only its own). No Map,
// no closure, no string key.

import type { PID } from '../gen/pid.js';
import type { Ref } from '../gen/ref.js';
import { ChainedTable } from '../lib/chained_table.js';

/** Who holds remote requests: a local process (kept by the table). */
export interface RemoteHolder {
  /** Head of the remote requests it holds. */
  remoteHeld: HeldRequest | null;
}

/** One unanswered request from a process of another node. */
export class HeldRequest {
  /** The next entry of the same bucket. */
  chain: HeldRequest | null = null;
  /** Neighbours in the holder's list. */
  prev: HeldRequest | null = null;
  next: HeldRequest | null = null;
  constructor(
    /** The caller's ref (its node, creation and ids). */
    readonly ref: Ref,
    /** The caller (on another node). */
    readonly caller: PID,
    public holder: RemoteHolder,
    /** The bucket key (see keyOf). */
    readonly key: number,
  ) {}
}

/**
 * The bucket key of a ref. ids[0] is the caller node's sequence (ergo-ts and Go alike), ids[1]
 * mixes in what else varies; `| 0` keeps it a small integer whatever the peer sent.
 */
function keyOf(ref: Ref): number {
  const id = ref.id;
  return (id[0] ^ (id[1] * 31) ^ ref.creation) | 0;
}

function sameRef(a: Ref, b: Ref): boolean {
  if (a === b) return true;
  const x = a.id;
  const y = b.id;
  return x[0] === y[0] && x[1] === y[1] && x[2] === y[2] && a.creation === b.creation && a.node === b.node;
}

/** The unanswered remote requests of a node's processes. */
export class RemoteRequests {
  private readonly table = new ChainedTable<HeldRequest>();

  /** Number of requests held. */
  get size(): number {
    return this.table.size;
  }

  /** Records that `holder` got request `ref` from `caller` (another node's process). */
  add(holder: RemoteHolder, caller: PID, ref: Ref): void {
    if (typeof ref.id[0] !== 'number') return;
    const key = keyOf(ref);
    const r = new HeldRequest(ref, caller, holder, key);
    this.table.add(r);
    const head = holder.remoteHeld;
    r.next = head;
    if (head !== null) head.prev = r;
    holder.remoteHeld = r;
  }

  /** The entry of request `ref`, if one is held. */
  find(ref: Ref): HeldRequest | undefined {
    if (this.table.size === 0) return undefined;
    for (let r = this.table.first(keyOf(ref)); r !== null; r = r.chain) {
      if (sameRef(r.ref, ref)) return r;
    }
    return undefined;
  }

  /** Request `ref` was answered (or went on to another node): forget it. */
  answered(ref: Ref): void {
    if (this.table.size === 0) return;
    const r = this.find(ref);
    if (r !== undefined) this.remove(r);
  }

  /** A forwarded request now belongs to `to` (a local process). */
  transfer(ref: Ref, to: RemoteHolder): void {
    const r = this.find(ref);
    if (r === undefined || r.holder === to) return;
    this.unlinkHolder(r);
    r.holder = to;
    const head = to.remoteHeld;
    r.next = head;
    if (head !== null) head.prev = r;
    to.remoteHeld = r;
  }

  /**
   * Takes out every request `holder` holds and returns those `pick` accepts, oldest first (the
   * others are forgotten: their caller may still get a reply from elsewhere, or its timeout).
   */
  takeHeldBy(holder: RemoteHolder, pick: (r: HeldRequest) => boolean): HeldRequest[] {
    const out: HeldRequest[] = [];
    for (let r = holder.remoteHeld; r !== null;) {
      const next = r.next;
      this.table.remove(r);
      r.prev = r.next = null;
      if (pick(r)) out.push(r);
      r = next;
    }
    holder.remoteHeld = null;
    // The list is newest first.
    out.reverse();
    return out;
  }

  private remove(r: HeldRequest): void {
    this.table.remove(r);
    this.unlinkHolder(r);
  }

  private unlinkHolder(r: HeldRequest): void {
    const h = r.holder;
    if (r.prev !== null) r.prev.next = r.next;
    else h.remoteHeld = r.next;
    if (r.next !== null) r.next.prev = r.prev;
    r.prev = r.next = null;
  }
}
