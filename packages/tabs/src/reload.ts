// A page reload that keeps processes, at the gateway. The reloaded page says hello with its old
// session's secret and the PIDs it puts back (the ones its old page kept, tab/keep.ts). The
// session goes on under the same name: what was held for the tab while it was away waits for the
// new page, nothing fires for the kept processes, and the gateway, from what it saw pass
// (watchers.ts), puts the old page's world in order before the new page hears anything:
//   - a kept process's watchers elsewhere stay; their links and monitors are replayed into the
//     new page's core (frames written right after the welcome, before anything held);
//   - every other target of the old page (a process not kept, an alias, an event) ends for its
//     watchers with `noconnection`, as the node's end would have said;
//   - the old page's own links, monitors and subscriptions on others' targets are dropped where
//     they live (a kept process's init makes its own again, as after any restart);
//   - a call the old page had received and not answered fails for its caller: ERR_TAB_RELOADED;
//     so does an important delivery it never acknowledged (a link or monitor is acknowledged).
// A claimed PID the old page did not keep is not put back (logged): a tab takes no other PID.

import { ErrNoConnection, PID, ProcessID, toError, type Log } from 'ergo-ts';
import { encodeFrame, ErrTabFrame, ErrTabReloaded, errorToWire, Op, type Frame } from './frame.js';
import type { TabSession } from './session.js';
import { MAX_KEPT, type KeptEntry, type TabRelation } from './watchers.js';

/** What the gateway lends a reload. */
export interface ReloadHost {
  readonly log: Log;
  /**
   * Routes `f` as if tab `s` sent it (the gateway speaks for the page that is gone; its grant
   * is not asked). May throw (a peer unreachable): the reload logs it and goes on.
   */
  route(s: TabSession, f: Frame): void;
}

/** What the reloaded page is welcomed with. */
export interface Reloaded {
  /** The session's page incarnations so far (≥ 1): the new node's ids start at incarnation × 2^32. */
  readonly incarnation: number;
  /** The claimed PIDs the gateway accepted: the page puts these back. */
  readonly kept: PID[];
  /** Frames for the new page before anything held: the relations on its kept processes. */
  readonly replay: Uint8Array[];
}

/**
 * Puts session `s` in order for a reloaded page that claims `claims` (the Hello's kept field).
 * @throws ErrTabFrame when `claims` is not an array of at most {@link MAX_KEPT} PIDs (nothing
 *   changed then).
 */
export function reloadSession(host: ReloadHost, s: TabSession, claims: unknown): Reloaded {
  if (!Array.isArray(claims) || claims.length > MAX_KEPT || !claims.every((c) => c instanceof PID))
    throw ErrTabFrame.with(`a reload's kept field is an array of at most ${MAX_KEPT} PIDs`);
  const w = s.watchers;
  const kept: KeptEntry[] = [];
  for (const c of claims as PID[]) {
    const k = w.kept.get(c.id);
    if (k !== undefined && k.pid.equals(c)) kept.push(k);
    else host.log.warning('tab %s: reload claims %s, which its page did not keep: not put back', s.name, String(c));
  }
  w.kept.clear();
  for (const k of kept) w.kept.set(k.pid.id, k);
  const keptNames = new Set(kept.map((k) => k.name).filter((n) => n !== ''));
  const isKept = (r: TabRelation): boolean =>
    (r.target instanceof PID && w.kept.get(r.target.id)?.pid.equals(r.target) === true) ||
    (r.target instanceof ProcessID && keptNames.has(r.target.name));

  const send = (f: Frame): void => {
    try {
      host.route(s, f);
    } catch (e) {
      host.log.warning(
        'tab %s: after its reload, %d to %s not sent: %s',
        s.name,
        f[0],
        String(f[2]),
        toError(e).message,
      );
    }
  };
  // The old page's calls: their callers are answered now, not at their timeout.
  for (const c of w.takeCallsOfGonePage())
    send([
      Op.Response,
      s.name,
      c.caller.node,
      0,
      0,
      new PID(s.name, 0, 0),
      c.caller,
      c.ref,
      false,
      errorToWire(ErrTabReloaded),
    ]);
  // What the old page was asked and never acknowledged: a link or monitor is acknowledged (it
  // holds in the new page when its target is kept; otherwise its target ends below, with
  // noconnection), an important delivery fails: whether the old page took it is unknown.
  for (const a of w.takeAsksOfGonePage())
    send([Op.Ack, s.name, a.node, a.reqId, a.op === Op.Relation ? null : errorToWire(ErrTabReloaded), null]);
  // The old page's own relations go where they live.
  for (const r of w.outbound.values())
    send([Op.Relation, s.name, r.target.node, 0, r.link ? 'unlink' : 'demonitor', r.watcher, r.target]);
  w.outbound.clear();
  // Targets not kept end for their watchers (once per node and target).
  const ended = new Set<string>();
  const replay: Uint8Array[] = [];
  for (const [k, r] of w.inbound) {
    if (isKept(r)) {
      replay.push(
        encodeFrame([Op.Relation, r.watcher.node, s.name, 0, r.link ? 'link' : 'monitor', r.watcher, r.target]),
      );
      continue;
    }
    w.inbound.delete(k);
    const once = `${r.watcher.node}\u0000${r.target.key}`;
    if (ended.has(once)) continue;
    ended.add(once);
    send([Op.Terminate, s.name, r.watcher.node, r.target, errorToWire(ErrNoConnection)]);
  }
  w.incarnation++;
  host.log.info('tab %s reloaded: %d of %d claimed processes kept', s.name, kept.length, claims.length);
  return { incarnation: w.incarnation, kept: kept.map((k) => k.pid), replay };
}
