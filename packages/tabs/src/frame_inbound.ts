// The inbound half of a tab link: a routed frame that arrived for this node becomes the Core call
// an ENP connection would make (routeSendPID, routeCallProcessID, routeLinkEvent...), and the
// answers it owes go back through the FrameConnection to its source: an Ack for an important
// send or a relation request, an error Response for a call that could not be delivered (the
// caller fails at once with the code instead of waiting for its timeout). NodeDown frames are the
// owner's to handle (it knows which links to close); they never reach here.

import {
  Alias,
  ErrIncorrect,
  Event,
  MessageEvent,
  PID,
  ProcessID,
  Ref,
  toError,
  type Atom,
  type Core,
  type Log,
  type MessageOptions,
  type MessagePriority,
} from 'ergo-ts';
import {
  dstOf,
  ErrTabFrame,
  ErrTabPosing,
  errorFromWire,
  errorToWire,
  Op,
  priorityOf,
  reqIdOf,
  srcOf,
  type Frame,
  type RelationKind,
} from './frame.js';
import type { FrameConnection } from './frame_connection.js';

// The token of an event that crossed a link (the engine reads the subscribers, not the token).
const NO_TOKEN = new Ref('' as Atom, 0, [0, 0, 0]);

/** Buffered event messages as an Ack carries them. */
export function eventsToWire(list: readonly MessageEvent[]): unknown[] {
  return list.map((m) => [m.event, m.timestamp, m.message]);
}

function eventsFromWire(v: unknown): MessageEvent[] {
  if (!Array.isArray(v)) return [];
  return v.map((x) => {
    const [e, ts, msg] = x as [unknown, unknown, unknown];
    if (!(e instanceof Event)) throw ErrTabFrame.with('a buffered event without its Event');
    return new MessageEvent(e, typeof ts === 'bigint' ? ts : BigInt(Number(ts) || 0), msg);
  });
}

function options(priority: number, important: boolean, ref: Ref | undefined): MessageOptions {
  return {
    ref,
    priority: priority as MessagePriority,
    important,
    compression: null,
    keepNetworkOrder: true,
  };
}

/** A PID the frame's source speaks for. @throws ErrTabPosing when it is another node's. */
export function ownPID(v: unknown, src: string): PID {
  if (!(v instanceof PID)) throw ErrTabFrame.with('a sender that is not a PID');
  if (v.node !== src) throw ErrTabPosing.with(`${v.toString()} is not a process of ${src}`);
  return v;
}

/**
 * Applies routed frame `f` (its destination is this node) to `core`; `conn` is the link to the
 * frame's source. Never throws: a failure is answered (Ack, error Response) or logged on `log`.
 */
export function applyFrame(core: Core, f: Frame, conn: FrameConnection, log: Log): void {
  const src = srcOf(f);
  const reqId = f[0] === Op.Send || f[0] === Op.Call || f[0] === Op.Response || f[0] === Op.Relation ? f[3] : 0;
  try {
    conn.messagesIn++;
    applyOrThrow(core, f, src, conn);
  } catch (e) {
    const err = toError(e);
    const id = typeof reqId === 'number' ? reqId : 0;
    try {
      if (id > 0) conn.answer([Op.Ack, dstOf(f), src, id, errorToWire(err), null]);
      else if (f[0] === Op.Call && f[5] instanceof PID && f[7] instanceof Ref)
        conn.answer([Op.Response, dstOf(f), src, 0, 0, core.pid(), f[5], f[7], false, errorToWire(err)]);
      else log.warning('tab link: frame %d from %s dropped: %s', f[0], src, err.message);
    } catch (e2) {
      log.warning('tab link: answer to %s lost: %s', src, toError(e2).message);
    }
  }
}

function applyOrThrow(core: Core, f: Frame, src: string, conn: FrameConnection): void {
  switch (f[0]) {
    case Op.Send: {
      const id = reqIdOf(f[3]);
      const from = ownPID(f[5], src);
      const to = f[6];
      const o = options(priorityOf(f[4]), id > 0, undefined);
      if (to instanceof PID) core.routeSendPID(from, to, o, f[7]);
      else if (to instanceof ProcessID) core.routeSendProcessID(from, to, o, f[7]);
      else if (to instanceof Alias) core.routeSendAlias(from, to, o, f[7]);
      else throw ErrTabFrame.with('a send target that is not a PID, ProcessID or Alias');
      if (id > 0) conn.answer([Op.Ack, dstOf(f), src, id, null, null]);
      return;
    }
    case Op.Call: {
      const id = reqIdOf(f[3]);
      const from = ownPID(f[5], src);
      const to = f[6];
      const ref = f[7];
      if (!(ref instanceof Ref)) throw ErrTabFrame.with('a call without its Ref');
      const o = options(priorityOf(f[4]), id > 0, ref);
      if (to instanceof PID) core.routeCallPID(from, to, o, f[8]);
      else if (to instanceof ProcessID) core.routeCallProcessID(from, to, o, f[8]);
      else if (to instanceof Alias) core.routeCallAlias(from, to, o, f[8]);
      else throw ErrTabFrame.with('a call target that is not a PID, ProcessID or Alias');
      if (id > 0) conn.answer([Op.Ack, dstOf(f), src, id, null, null]);
      return;
    }
    case Op.Response: {
      const id = reqIdOf(f[3]);
      const from = ownPID(f[5], src);
      const to = f[6];
      const ref = f[7];
      if (!(to instanceof PID) || !(ref instanceof Ref)) throw ErrTabFrame.with('a response without caller or Ref');
      const ok = f[8] === true;
      core.routeSendResponse(from, to, options(priorityOf(f[4]), id > 0, ref), ok ? f[9] : errorFromWire(f[9]), ok);
      if (id > 0) conn.answer([Op.Ack, dstOf(f), src, id, null, null]);
      return;
    }
    case Op.Exit: {
      const from = ownPID(f[3], src);
      if (!(f[4] instanceof PID)) throw ErrTabFrame.with('an exit signal to something not a PID');
      core.routeSendExit(from, f[4], errorFromWire(f[5]));
      return;
    }
    case Op.Event: {
      const from = ownPID(f[3], src);
      const ev = f[4];
      if (!(ev instanceof Event) || ev.node !== src) throw ErrTabPosing.with('an event of another node');
      const ts = typeof f[5] === 'bigint' ? f[5] : BigInt(Number(f[5]) || 0);
      core.routeSendEvent(from, NO_TOKEN, options(0, false, undefined), new MessageEvent(ev, ts, f[6]));
      return;
    }
    case Op.Relation: {
      const id = reqIdOf(f[3]);
      const pid = ownPID(f[5], src);
      const result = relate(core, f[4], pid, f[6]);
      if (id > 0) conn.answer([Op.Ack, dstOf(f), src, id, null, result === undefined ? null : eventsToWire(result)]);
      return;
    }
    case Op.Terminate: {
      const t = f[3];
      const what = targetKind(t);
      const reason = errorFromWire(f[4]);
      // Only the source's own targets can end there (a tab cannot end a server's process).
      if (what === null || (t as { node: string }).node !== src)
        throw ErrTabPosing.with('a terminated target of another node');
      (core[`routeTerminate${what}`] as (t: unknown, reason: Error) => void).call(core, t, reason);
      return;
    }
    case Op.Ack: {
      const id = reqIdOf(f[3]);
      conn.settle(id, f[4] === null || f[4] === undefined ? null : errorFromWire(f[4]), eventsFromWire(f[5]));
      return;
    }
    default:
      throw ErrTabFrame.with(`op ${f[0]} is not applied to a node`);
  }
}

/** The Core's name for the kind of a relation's target (null: not a target). */
function targetKind(t: unknown): 'PID' | 'ProcessID' | 'Alias' | 'Event' | null {
  if (t instanceof PID) return 'PID';
  if (t instanceof ProcessID) return 'ProcessID';
  if (t instanceof Alias) return 'Alias';
  return t instanceof Event ? 'Event' : null;
}

/** Relation kinds of a frame, as the Core's route methods name them. */
const RELATIONS: Readonly<Record<RelationKind, string>> = {
  link: 'Link',
  unlink: 'Unlink',
  monitor: 'Monitor',
  demonitor: 'Demonitor',
};

type RouteRelation = `route${'Link' | 'Unlink' | 'Monitor' | 'Demonitor'}${'PID' | 'ProcessID' | 'Alias' | 'Event'}`;

/** Applies a relation (routeLinkPID, routeDemonitorEvent...): a link or monitor of an event answers its buffer. */
function relate(core: Core, kind: unknown, pid: PID, t: unknown): MessageEvent[] | undefined {
  const what = targetKind(t);
  if (what === null) throw ErrTabFrame.with('a relation target that is not a PID, ProcessID, Alias or Event');
  const k = typeof kind === 'string' && Object.hasOwn(RELATIONS, kind) ? RELATIONS[kind as RelationKind] : undefined;
  if (k === undefined) throw ErrIncorrect.with(`relation ${String(kind)}`);
  const route = core[`route${k}${what}` as RouteRelation] as (pid: PID, t: unknown) => MessageEvent[] | undefined;
  return route.call(core, pid, t) ?? undefined;
}
