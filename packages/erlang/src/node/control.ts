// The vocabulary of an ergo-ts connection to an Erlang node (ERLANG.md §4): the control message
// op codes, the gen_server call tags (and the tag of each call from Erlang, for OTP code that
// needs it), the records a connection keeps of the links, monitors and calls crossing it, and the
// Refs standing for the peer's refs.
// connection.ts writes control messages, inbound.ts handles those that arrive.

import { Alias, MessagePriority, Ref, type Atom, type MessageOptions, type PID, type ProcessID } from 'ergo-ts';

import { type ErlAtom, ErlImproperList, ErlRef, atom, isAtom, refToErl, type Term } from '../etf/terms.js';

/** Control message operation codes (ERLANG.md §4). */
export const OP = {
  LINK: 1,
  SEND: 2,
  EXIT: 3,
  UNLINK: 4,
  NODE_LINK: 5,
  REG_SEND: 6,
  GROUP_LEADER: 7,
  EXIT2: 8,
  SEND_TT: 12,
  EXIT_TT: 13,
  REG_SEND_TT: 16,
  EXIT2_TT: 18,
  MONITOR_P: 19,
  DEMONITOR_P: 20,
  MONITOR_P_EXIT: 21,
  SEND_SENDER: 22,
  SEND_SENDER_TT: 23,
  PAYLOAD_EXIT: 24,
  PAYLOAD_EXIT_TT: 25,
  PAYLOAD_EXIT2: 26,
  PAYLOAD_EXIT2_TT: 27,
  PAYLOAD_MONITOR_P_EXIT: 28,
  SPAWN_REQUEST: 29,
  SPAWN_REQUEST_TT: 30,
  ALIAS_SEND: 33,
  ALIAS_SEND_TT: 34,
  UNLINK_ID: 35,
  UNLINK_ID_ACK: 36,
} as const;

/** One link between a local process and an Erlang process. */
export interface LinkRecord {
  local: PID;
  remote: PID;
  /** The local process linked (the engine holds its one-way relation). */
  engine: boolean;
  /** The Erlang side linked (LINK arrived). */
  erlang: boolean;
  /** Non-zero while our UNLINK_ID waits for its ack. */
  unlinking: number;
}

/** An Erlang process monitoring a local target. */
export interface MonitorIn {
  watcher: PID;
  ref: ErlRef;
  /** The target as Erlang named it: a local PID, or an atom (by name). */
  target: PID | ErlAtom;
  targetKey: string;
}

/** A local process monitoring an Erlang target. */
export interface MonitorOut {
  watcher: PID;
  target: PID | ProcessID;
  ref: ErlRef;
}

/** A local process waiting for an Erlang gen_server's reply. */
export interface CallOut {
  caller: PID;
  ref: Ref;
  target: PID | ErlAtom;
  /** Unix seconds after which the entry is dropped. */
  deadline: number;
}

/** An Erlang caller waiting for a local process's reply. */
export interface CallIn {
  caller: PID;
  tag: Term;
  /** The ref inside the tag (the caller's monitor ref), for DEMONITOR_P cleanup. */
  mref: string;
}

/** The empty atom (no name, no node). */
export const EMPTY = atom('');
/** The first element of a gen_server call message `{'$gen_call', From, Request}`. */
export const GEN_CALL = '$gen_call';
/** The options of every message and call that arrives from Erlang (Erlang has no priorities). */
export const NORMAL_OPTIONS: MessageOptions = {
  priority: MessagePriority.Normal,
  important: false,
  compression: null,
  keepNetworkOrder: true,
};

/** The gen_server tag of each call from Erlang, by the Ref its handleCall receives. */
export const CALL_TAGS = new WeakMap<Ref, Term>();

/**
 * The tag of a `gen_server:call` from an Erlang process, exactly as the caller sent it: `[alias|Ref]`
 * (OTP 24+), a plain `Ref`, or `{Tag, Node}` (gen_server:multi_call). `ref` is the Ref that
 * `handleCall(from, ref, request)` received. Undefined for a call that did not come from Erlang.
 * What OTP code does with `From = {Pid, Tag}` (e.g. `gen_server:reply(From, ...)` from elsewhere, or
 * checking the tag) needs this; replying through ergo-ts (`handleCall`'s return value or
 * `sendResponse(from, ref, ...)`) needs nothing: the tag goes back untouched. Valid for the life of
 * the call (kept weakly by `ref`).
 */
export function erlangCallTag(ref: Ref): Term | undefined {
  return CALL_TAGS.get(ref);
}

/** The key of a link between local `local` and Erlang `remote`. */
export function linkKey(local: PID, remote: PID): string {
  return `${local.key}|${remote.key}`;
}

/** The alias to reply to for a gen_server tag `[alias|Ref]` (or `[[alias|Ref]|_]`). */
export function aliasOfTag(tag: Term): ErlRef | Ref | undefined {
  if (!(tag instanceof ErlImproperList)) return undefined;
  const head = tag.elements[0];
  if (isAtom(head, 'alias') && (tag.tail instanceof ErlRef || tag.tail instanceof Ref)) return tag.tail;
  if (head instanceof ErlImproperList) return aliasOfTag(head);
  return undefined;
}

/** The ref inside a gen_server tag: `Ref`, `[alias|Ref]`, `[[alias|Ref]|_]`. */
export function refOfTag(tag: Term): ErlRef | undefined {
  if (tag instanceof ErlRef) return tag;
  const a = aliasOfTag(tag);
  return a instanceof ErlRef ? a : a instanceof Ref ? refToErl(a) : undefined;
}

/**
 * The ergo-ts Refs and Aliases standing for one peer's refs. A 3-word Erlang ref (OTP's) maps
 * exactly both ways; any other is remembered by the key of the Ref/Alias made for it, so it goes
 * back to Erlang exactly as it came.
 */
export class RefTable {
  /** Erlang refs that are not 3 words, by the key of the Ref/Alias standing for them. */
  readonly #odd = new Map<string, ErlRef>();

  /** The Erlang ref `r` stands for. */
  erlRef(r: Ref | Alias): ErlRef {
    return this.#odd.get(r.key) ?? refToErl(r);
  }

  /** The Ref (or, with `alias`, the Alias) standing for the Erlang ref `r`. */
  toRef(r: ErlRef, alias: boolean): Ref | Alias {
    const w = r.ids;
    const ids: [number, number, number] = [w[0] ?? 0, w[1] ?? 0, w[2] ?? 0];
    const x = alias ? new Alias(r.node as Atom, r.creation, ids) : new Ref(r.node as Atom, r.creation, ids);
    if (w.length !== 3) this.#odd.set(x.key, r);
    return x;
  }
}
