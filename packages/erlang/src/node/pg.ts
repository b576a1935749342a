// OTP's `pg` process groups (OTP 23+) on the ergo-ts node: one PgScope per scope name, registered
// under that name like Erlang's scope server, speaking pg's protocol with the scope of the same
// name on every visible Erlang node:
//   nodeup                 → {discover, OurPid} to {Scope, Node}
//   {discover, Peer}       → cast {sync, OurPid, [{Group, LocalPids}]} to Peer; monitor Peer and
//                            discover it back the first time
//   cast {sync, Peer, Gs}  → Peer's groups replace what we knew of it
//   {join, Peer, G, Pids} / {leave, Peer, Pids, Gs} → Peer's groups change
//   a local member ends / leaves → {leave, OurPid, Pid, Groups} to every peer
// Members are ergo-ts PIDs; local members are this node's processes (as in Erlang, a process
// joins on its own node), remote ones Erlang processes of the peers.

import { Actor, MessageDownPID, PID, ProcessID, type Atom, type HandlerResult } from 'ergo-ts';
import { ErlTuple, atom, isAtom, termKey, tuple, type Term } from '../etf/terms.js';
import { GlobalNodeUp } from './global.js';

/** A group: its term and its members. */
interface Group {
  group: Term;
  pids: PID[];
}

/**
 * The scope server of one `pg` scope on the ergo-ts node (started by attachErlang for each name
 * in its `pg` option). Use it through {@link ErlangNode.pg}.
 */
export class PgScope extends Actor {
  readonly #scope: Atom;
  /** Our own members, by group key. */
  readonly #local = new Map<string, Group>();
  /** Each peer scope server's members, by peer pid key, then group key. */
  readonly #remote = new Map<string, { peer: PID; groups: Map<string, Group> }>();

  constructor(scope: string) {
    super();
    this.#scope = scope as Atom;
  }

  /** Every member of `group`, local and remote (`pg:get_members/2`). */
  getMembers(group: Term): PID[] {
    const k = termKey(group);
    const out = [...(this.#local.get(k)?.pids ?? [])];
    for (const r of this.#remote.values()) out.push(...(r.groups.get(k)?.pids ?? []));
    return out;
  }
  /** The local members of `group` (`pg:get_local_members/2`). */
  getLocalMembers(group: Term): PID[] {
    return [...(this.#local.get(termKey(group))?.pids ?? [])];
  }
  /** Every group with a member anywhere (`pg:which_groups/1`). */
  whichGroups(): Term[] {
    const seen = new Map<string, Term>();
    for (const [k, g] of this.#local) seen.set(k, g.group);
    for (const r of this.#remote.values()) for (const [k, g] of r.groups) seen.set(k, g.group);
    return [...seen.values()];
  }

  override handleCall(_from: PID, _ref: unknown, request: unknown): unknown {
    if (!(request instanceof ErlTuple)) return atom('badarg');
    const [op, group, pids] = request.elements;
    const list = (Array.isArray(pids) ? pids : [pids]).filter((p): p is PID => p instanceof PID);
    if (group === undefined || list.length === 0) return atom('badarg');
    if (isAtom(op, 'join_local')) return this.#join(group, list);
    if (isAtom(op, 'leave_local')) return this.#leave(group, list);
    return atom('badarg');
  }

  override handleMessage(_from: PID, message: unknown): HandlerResult {
    if (message instanceof GlobalNodeUp) {
      this.#send(new ProcessID(this.#scope, message.node), tuple(atom('discover'), this.pid));
      return;
    }
    if (message instanceof MessageDownPID) return this.#down(message.pid);
    if (!(message instanceof ErlTuple)) return;
    const m = message.elements;
    if (isAtom(m[0], 'discover') && m[1] instanceof PID) return this.#discover(m[1]);
    if (isAtom(m[0], '$gen_cast') && m[1] instanceof ErlTuple) {
      const c = m[1].elements;
      if (isAtom(c[0], 'sync') && c[1] instanceof PID) return this.#sync(c[1], Array.isArray(c[2]) ? c[2] : []);
      return;
    }
    if (isAtom(m[0], 'join') && m[1] instanceof PID) return this.#remoteJoin(m[1], m[2], m[3]);
    if (isAtom(m[0], 'leave') && m[1] instanceof PID) return this.#remoteLeave(m[1], m[2], m[3]);
  }

  // --- local members --------------------------------------------------------------------------

  #join(group: Term, pids: PID[]): Term {
    const k = termKey(group);
    const g = this.#local.get(k) ?? { group, pids: [] };
    for (const p of pids) {
      // a member is watched once, whatever the number of groups (and of joins) it has
      if (!this.#isLocalMember(p)) {
        try {
          this.monitorPID(p);
        } catch {
          continue;
        }
      }
      g.pids.push(p);
    }
    if (g.pids.length === 0) return atom('ok');
    this.#local.set(k, g);
    this.#broadcast(tuple(atom('join'), this.pid, group, pids.length === 1 ? pids[0]! : pids));
    return atom('ok');
  }

  #leave(group: Term, pids: PID[]): Term {
    const k = termKey(group);
    const g = this.#local.get(k);
    if (g === undefined) return atom('not_joined');
    const left: PID[] = [];
    for (const p of pids) {
      const i = g.pids.findIndex((x) => x.equals(p));
      if (i < 0) continue;
      g.pids.splice(i, 1);
      left.push(p);
    }
    if (left.length === 0) return atom('not_joined');
    if (g.pids.length === 0) this.#local.delete(k);
    for (const p of left) if (!this.#isLocalMember(p)) this.#unmonitor(p);
    this.#broadcast(tuple(atom('leave'), this.pid, left.length === 1 ? left[0]! : left, [group]));
    return atom('ok');
  }

  #isLocalMember(p: PID): boolean {
    for (const g of this.#local.values()) if (g.pids.some((x) => x.equals(p))) return true;
    return false;
  }

  #unmonitor(p: PID): void {
    try {
      this.demonitorPID(p);
    } catch {
      // ended
    }
  }

  /** Our groups as pg sends them: `[{Group, [Pid]}]`. */
  #localGroups(): Term[] {
    return [...this.#local.values()].map((g) => tuple(g.group, [...g.pids]));
  }

  // --- peers ----------------------------------------------------------------------------------

  #discover(peer: PID): void {
    this.#send(peer, tuple(atom('$gen_cast'), tuple(atom('sync'), this.pid, this.#localGroups())));
    if (this.#remote.has(peer.key)) return;
    this.#watchPeer(peer);
    this.#send(peer, tuple(atom('discover'), this.pid));
  }

  #watchPeer(peer: PID): { peer: PID; groups: Map<string, Group> } {
    const had = this.#remote.get(peer.key);
    if (had !== undefined) return had;
    const r = { peer, groups: new Map<string, Group>() };
    this.#remote.set(peer.key, r);
    try {
      this.monitorPID(peer);
    } catch {
      // its node is gone already; nodedown cleans up
    }
    return r;
  }

  #sync(peer: PID, groups: Term[]): void {
    const r = this.#watchPeer(peer);
    r.groups.clear();
    for (const g of groups) {
      if (!(g instanceof ErlTuple) || g.length !== 2) continue;
      const pids = (Array.isArray(g.get(1)) ? (g.get(1) as Term[]) : []).filter((p): p is PID => p instanceof PID);
      r.groups.set(termKey(g.get(0)!), { group: g.get(0)!, pids });
    }
  }

  #remoteJoin(peer: PID, group: Term | undefined, pidOrPids: Term | undefined): void {
    const r = this.#remote.get(peer.key);
    if (r === undefined || group === undefined) return;
    const pids = (Array.isArray(pidOrPids) ? pidOrPids : [pidOrPids]).filter((p): p is PID => p instanceof PID);
    const k = termKey(group);
    const g = r.groups.get(k) ?? { group, pids: [] };
    g.pids.unshift(...pids);
    r.groups.set(k, g);
  }

  #remoteLeave(peer: PID, pidOrPids: Term | undefined, groups: Term | undefined): void {
    const r = this.#remote.get(peer.key);
    if (r === undefined) return;
    const pids = (Array.isArray(pidOrPids) ? pidOrPids : [pidOrPids]).filter((p): p is PID => p instanceof PID);
    for (const group of Array.isArray(groups) ? (groups as Term[]) : []) {
      const k = termKey(group);
      const g = r.groups.get(k);
      if (g === undefined) continue;
      for (const p of pids) {
        const i = g.pids.findIndex((x) => x.equals(p));
        if (i >= 0) g.pids.splice(i, 1);
      }
      if (g.pids.length === 0) r.groups.delete(k);
    }
  }

  /** A monitored pid ended: a peer scope server (its groups go) or a local member (it leaves). */
  #down(pid: PID): void {
    if (this.#remote.delete(pid.key)) return;
    const groups: Term[] = [];
    for (const [k, g] of this.#local) {
      const i = g.pids.findIndex((x) => x.equals(pid));
      if (i < 0) continue;
      groups.push(g.group);
      g.pids = g.pids.filter((x) => !x.equals(pid));
      if (g.pids.length === 0) this.#local.delete(k);
    }
    if (groups.length > 0) this.#broadcast(tuple(atom('leave'), this.pid, pid, groups));
  }

  #broadcast(message: Term): void {
    for (const r of this.#remote.values()) this.#send(r.peer, message);
  }

  #send(to: PID | ProcessID, message: Term): void {
    try {
      this.send(to, message);
    } catch (e) {
      this.log.debug('pg %s: to %s not sent: %s', this.#scope, String(to), (e as Error).message);
    }
  }
}
