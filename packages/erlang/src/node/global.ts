// OTP's `global` as a member of an Erlang cluster (issue 18): the ergo-ts node runs a
// `global_name_server` that speaks protocol version 8 of kernel's global.erl (OTP 23+) with every
// visible Erlang node, so `global:sync()` completes on them, the full mesh forms (we connect to
// the nodes we learn of and tell them `in_sync`) and global names work both ways.
//
// Per newly connected node N (both sides do the same; N's locker drives the locking):
//   nodeup        → cast {init_connect, {8, MyTag}, Us, {locker, _, _, OurPid}}
//   N's init_connect → {init_connect_ack, Us, HisTag, MyTag}
//   N's locker    → call {set_lock, {global, [Lockers]}} (answered from our lock table),
//                   cast {lock_set, NLocker, true, _, MyTag}
//                 ← cast {lock_set, OurPid, true, Known, HisTag}, cast {exchange, Us, Names, [], HisTag}
//   N's exchange  → resolve the name lists, cast {resolved, Us, Resolved, Known, unused, [], HisTag}
//   N's resolved  → apply the inserts/deletes, add N and the nodes N knows to `known`, tell every
//                   newly known node {in_sync, Us, true} (sending connects), tell our old known
//                   nodes {new_nodes, ...}
// Cluster-wide registration from ergo-ts goes through GlobalRegistrar (a separate process, as
// Erlang's registrar): lock `{global, Registrar}` on every known node, `{register, ...}` on each,
// unlock. The server itself never waits for anyone, so a peer's locker calling us cannot deadlock.
//
// prevent_overlapping_partitions (OTP 25's default): `remove_connection` and `lost_connection`
// from Erlang nodes are obeyed (we disconnect, or ask the node across the partition to); we do not
// announce our own lost connections (`lost_connection` multicasts).
//
// Deliberately left out (docs/differences.md): name conflicts at merge keep the pid of the lower
// node and send `{global_name_conflict, Name}` to the other (random_notify_name, not OTP's default
// random_exit_name, which kills it); `global_group` and `register_name_external` links.

import { Actor, MessageDownPID, PID, ProcessID, type Atom, type HandlerResult, type Ref } from 'ergo-ts';
import { ErlAtom, ErlExport, ErlTuple, atom, isAtom, termEqual, termKey, tuple, type Term } from '../etf/terms.js';

/** The protocol version we speak (OTP 23..27 speak 8). */
const VSN = 8;
const GNS = 'global_name_server' as Atom;

/** The connection came up with a visible Erlang node (from ErlangNode). */
export class GlobalNodeUp {
  constructor(readonly node: Atom) {}
}
/** The connection to a node went away (from ErlangNode). */
export class GlobalNodeDown {
  constructor(readonly node: Atom) {}
}

/** One global name: `name` (any term) → `pid`, with the conflict method the registrar gave. */
export interface GlobalName {
  name: Term;
  pid: PID;
  method: Term;
}

/** The state of the handshake with one node that is not synced yet. */
interface Pending {
  myTag: number;
  hisTag?: Term;
  hisVsn?: number;
  /** N's init_connect arrived before our nodeup. */
  early?: Term;
  /** The lock id N's locker set on us (`{global, [Pids]}`). */
  lockId?: Term;
  /** Our ops, once N's name list is resolved. */
  ops?: Term[];
  /** N's `resolved` when it arrives before our ops. */
  resolved?: { hisResolved: Term[]; hisKnown: Term[] };
}

/** A lock: resource → requester id and the pids holding it. */
interface Lock {
  requester: Term;
  holders: PID[];
}

let tagSeq = 0;

/**
 * `global_name_server` on the ergo-ts node (started by attachErlang unless hidden). Read the
 * table with {@link GlobalNameServer.whereis}; register through {@link ErlangNode.global}.
 */
export class GlobalNameServer extends Actor {
  /** Nodes we are synced with (OTP's `known` with each node's protocol version). */
  readonly known = new Map<Atom, number>();
  readonly #pending = new Map<Atom, Pending>();
  readonly #names = new Map<string, GlobalName>();
  readonly #locks = new Map<string, Lock>();
  /** Callers of {@link whenSynced} waiting per node. */
  readonly #syncWaiters = new Map<Atom, (() => void)[]>();
  readonly #disconnect: (node: Atom) => void;

  /** `disconnect` drops the connection to a node (what `remove_connection` asks for). */
  constructor(disconnect: (node: Atom) => void = () => {}) {
    super();
    this.#disconnect = disconnect;
  }

  /** The pid registered under `name` cluster-wide, if any. */
  whereis(name: Term): PID | undefined {
    return this.#names.get(termKey(name))?.pid;
  }
  /** Every global name known here. */
  names(): GlobalName[] {
    return [...this.#names.values()];
  }
  /** True when the global `global` lock is held by someone (registrations wait for it). */
  isGlobalLockSet(): boolean {
    return this.#locks.has(termKey(atom('global')));
  }
  /** Resolves once `node` is synced (at once if it is), or its connection goes away. */
  whenSynced(node: Atom): Promise<void> {
    if (this.known.has(node)) return Promise.resolve();
    return new Promise((resolve) => {
      const l = this.#syncWaiters.get(node) ?? [];
      l.push(resolve);
      this.#syncWaiters.set(node, l);
    });
  }

  // --- calls --------------------------------------------------------------------------------

  override handleCall(from: PID, _ref: Ref, request: unknown): unknown {
    if (!(request instanceof ErlTuple)) {
      if (isAtom(request, 'get_known')) return this.#knownList();
      if (isAtom(request, 'get_synced')) return [...this.known.keys()].map((n) => atom(n));
      if (isAtom(request, 'get_protocol_version')) return VSN;
      if (isAtom(request, 'get_names_ext')) return [];
      return atom('unsupported');
    }
    const [op, a, b, c] = request.elements;
    if (isAtom(op, 'set_lock') && a instanceof ErlTuple) return this.#setLock(a, from);
    if (isAtom(op, 'del_lock') && a instanceof ErlTuple) {
      this.#delLock(a, from);
      return true;
    }
    if (isAtom(op, 'register') && b instanceof PID) {
      this.#insert(a!, b, c ?? atom('undefined'));
      return atom('yes');
    }
    if (isAtom(op, 'register_ext') && b instanceof PID) {
      this.#insert(a!, b, c ?? atom('undefined'));
      return atom('yes');
    }
    if (isAtom(op, 'unregister')) {
      this.#delete(a!);
      return atom('ok');
    }
    if (isAtom(op, 'whereis')) return this.whereis(a!) ?? atom('undefined');
    return atom('unsupported');
  }

  // --- messages -----------------------------------------------------------------------------

  override handleMessage(_from: PID, message: unknown): HandlerResult {
    if (message instanceof GlobalNodeUp) return this.#nodeUp(message.node);
    if (message instanceof GlobalNodeDown) return this.#nodeDown(message.node);
    if (message instanceof MessageDownPID) return this.#pidDown(message.pid);
    if (!(message instanceof ErlTuple)) return;
    const m = message.elements;
    if (isAtom(m[0], '$gen_cast') && m[1] instanceof ErlTuple) return this.#cast(m[1]);
    if (isAtom(m[0], 'init_connect_ack')) return; // tags checked by the peer; a mismatch restarts there
    if (isAtom(m[0], 'remove_connection') && m[1] instanceof ErlAtom) return this.#removeConnection(m[1].name as Atom);
    if (isAtom(m[0], 'lost_connection') && m[1] instanceof ErlAtom && m[4] instanceof ErlAtom)
      return this.#lostConnection(m[1].name as Atom, m[4].name as Atom);
    // cancel_connect and the rest: see the file comment
  }

  #cast(c: ErlTuple): void {
    const m = c.elements;
    const op = m[0];
    if (isAtom(op, 'init_connect') && m[2] instanceof ErlAtom) return this.#initConnect(m[2].name as Atom, c);
    if (isAtom(op, 'lock_set') && m[1] instanceof PID) return this.#lockSet(m[1], m[2] === true, m[4]);
    if (isAtom(op, 'exchange') && m[1] instanceof ErlAtom) return this.#exchange(m[1].name as Atom, m[2], m[4]);
    if (isAtom(op, 'resolved') && m[1] instanceof ErlAtom)
      return this.#resolved(m[1].name as Atom, asList(m[2]), asList(m[3]), m[6]);
    if (isAtom(op, 'new_nodes') && m[1] instanceof ErlAtom) return this.#newNodes(asList(m[2]), asList(m[4]));
    if (isAtom(op, 'in_sync') && m[1] instanceof ErlAtom) return this.#synced(m[1].name as Atom);
  }

  // --- the per-node handshake ----------------------------------------------------------------

  #nodeUp(node: Atom): void {
    const had = this.#pending.get(node);
    if (this.known.has(node)) {
      this.#pending.delete(node);
      return;
    }
    if (had !== undefined && had.myTag !== 0) return;
    const early = had?.early;
    const p: Pending = { myTag: ++tagSeq };
    this.#pending.set(node, p);
    this.#castTo(
      node,
      tuple(
        atom('init_connect'),
        tuple(VSN, p.myTag),
        atom(this.node.name),
        tuple(atom('locker'), atom('no_longer_a_pid'), [], this.pid),
      ),
    );
    if (early instanceof ErlTuple) this.#initConnect(node, early);
  }

  #initConnect(node: Atom, msg: ErlTuple): void {
    const vsn = msg.get(1);
    const p = this.#pending.get(node);
    if (p === undefined) {
      // synced already (through in_sync or another node's news): OTP keeps it for a later nodeup
      // and so do we; before our own nodeup: used when it comes
      this.#pending.set(node, { myTag: 0, early: msg });
      return;
    }
    if (p.myTag === 0) {
      p.early = msg;
      return;
    }
    p.hisTag = vsn instanceof ErlTuple ? vsn.get(1) : undefined;
    p.hisVsn = vsn instanceof ErlTuple && typeof vsn.get(0) === 'number' ? (vsn.get(0) as number) : VSN;
    this.#sendTo(node, tuple(atom('init_connect_ack'), atom(this.node.name), p.hisTag ?? [], p.myTag));
  }

  /** The peer's locker holds the lock on its side (and on us, through set_lock): agree and exchange names. */
  #lockSet(locker: PID, set: boolean, myTag: Term | undefined): void {
    const node = locker.node;
    const p = this.#pending.get(node);
    if (p === undefined || p.hisTag === undefined || (myTag !== undefined && myTag !== p.myTag)) {
      // no handshake in progress with it (synced meanwhile): refuse, its locker lets go
      this.#castTo(node, tuple(atom('lock_set'), this.pid, false, []));
      return;
    }
    if (!set) return;
    this.#castTo(node, tuple(atom('lock_set'), this.pid, true, this.#knownAtoms(), p.hisTag));
    this.#castTo(node, tuple(atom('exchange'), atom(this.node.name), this.#nameList(), [], p.hisTag));
  }

  #exchange(node: Atom, names: Term | undefined, myTag: Term | undefined): void {
    const p = this.#pending.get(node);
    if (p === undefined || myTag !== p.myTag) return;
    const ops: Term[] = [];
    const theirs: Term[] = [];
    for (const n of asList(names)) {
      if (!(n instanceof ErlTuple) || n.length !== 3 || !(n.get(1) instanceof PID)) continue;
      const [name, pid, method] = n.elements as [Term, PID, Term];
      const mine = this.#names.get(termKey(name));
      if (mine === undefined) ops.push(insertOp(name, pid, method));
      else if (!mine.pid.equals(pid) && this.node.name < node) {
        // a conflict we resolve (the lower node does): the pid of the lower node keeps the name
        const keepTheirs = pid.node < mine.pid.node;
        const loser = keepTheirs ? mine.pid : pid;
        this.send(loser, tuple(atom('global_name_conflict'), name));
        if (keepTheirs) ops.push(insertOp(name, pid, method));
        else theirs.push(insertOp(mine.name, mine.pid, mine.method));
      }
    }
    p.ops = ops;
    this.#castTo(
      node,
      tuple(atom('resolved'), atom(this.node.name), theirs, this.#knownList(), atom('unused'), [], p.hisTag ?? []),
    );
    if (p.resolved !== undefined) this.#finish(node, p, p.resolved.hisResolved, p.resolved.hisKnown);
  }

  #resolved(node: Atom, hisResolved: Term[], hisKnown: Term[], myTag: Term | undefined): void {
    const p = this.#pending.get(node);
    if (p === undefined || myTag !== p.myTag) return;
    if (p.ops === undefined) p.resolved = { hisResolved, hisKnown };
    else this.#finish(node, p, hisResolved, hisKnown);
  }

  /** Both name lists resolved: apply, learn the nodes the peer knows, tell our old peers. */
  #finish(node: Atom, p: Pending, hisResolved: Term[], hisKnown: Term[]): void {
    const ops = [...(p.ops ?? []), ...hisResolved];
    this.#doOps(ops);
    const before = [...this.known.keys()];
    const fresh = [node, ...nodeNames(hisKnown)].filter((n) => n !== this.node.name);
    const added = this.#addKnown(fresh);
    const lock = p.lockId ?? tuple(atom('global'), []);
    for (const n of before) {
      if (n === node) continue;
      this.#castTo(
        n,
        tuple(
          atom('new_nodes'),
          atom(this.node.name),
          ops,
          [],
          fresh.map((x) => tuple(atom(x), VSN)),
          [tuple(atom('vsn'), VSN), tuple(atom('lock'), lock)],
        ),
      );
    }
    // the nodes it knows: connect and tell them we are in sync (OTP's sync_others)
    for (const n of added) if (n !== node) this.#castTo(n, tuple(atom('in_sync'), atom(this.node.name), true));
  }

  #newNodes(ops: Term[], nodes: Term[]): void {
    const added = this.#addKnown(nodeNames(nodes));
    for (const n of added) this.#castTo(n, tuple(atom('in_sync'), atom(this.node.name), true));
    this.#doOps(ops);
  }

  /** `node` told us it is in sync with us. */
  #synced(node: Atom): void {
    this.#addKnown([node]);
  }

  #addKnown(nodes: Atom[]): Atom[] {
    const added: Atom[] = [];
    for (const n of nodes) {
      if (n === this.node.name || this.known.has(n)) continue;
      this.known.set(n, VSN);
      this.#pending.delete(n);
      added.push(n);
      const w = this.#syncWaiters.get(n);
      this.#syncWaiters.delete(n);
      for (const f of w ?? []) f();
    }
    return added;
  }

  #nodeDown(node: Atom): void {
    this.known.delete(node);
    this.#pending.delete(node);
    // sync() waits for connected nodes only (as OTP's sync_loop drops a node that goes down)
    const w = this.#syncWaiters.get(node);
    this.#syncWaiters.delete(node);
    for (const f of w ?? []) f();
    for (const [k, n] of this.#names) if (n.pid.node === node) this.#names.delete(k);
    for (const [k, l] of this.#locks) {
      l.holders = l.holders.filter((h) => h.node !== node);
      if (l.holders.length === 0) this.#locks.delete(k);
    }
  }

  // --- prevent_overlapping_partitions (OTP 25's default) --------------------------------------

  /**
   * A node of the cluster lost its connection to us and asks us to drop ours to it: partitions
   * must not overlap. We disconnect; the next use reconnects and syncs again.
   */
  #removeConnection(node: Atom): void {
    if (!this.known.has(node) && !this.#pending.has(node)) return;
    this.log.warning('global: %s asks us to disconnect from it (prevent_overlapping_partitions)', node);
    this.#nodeDown(node);
    this.#disconnect(node);
  }

  /**
   * `a` lost its connection to `b`. If we are `b`, `a` is on the other side: drop it. Otherwise
   * ask `b` to drop us (OTP's reaction, so no node stays connected across the partition).
   */
  #lostConnection(a: Atom, b: Atom): void {
    const us = this.node.name;
    const other = b === us ? a : b;
    if (other === us || (!this.known.has(other) && !this.#pending.has(other))) return;
    if (b === us) return this.#removeConnection(a);
    this.#sendTo(other, tuple(atom('remove_connection'), atom(us)));
    this.#nodeDown(other);
  }

  // --- names ----------------------------------------------------------------------------------

  #doOps(ops: Term[]): void {
    for (const op of ops) {
      if (!(op instanceof ErlTuple)) continue;
      const [kind, arg] = op.elements;
      if (isAtom(kind, 'insert') && arg instanceof ErlTuple && arg.get(1) instanceof PID)
        this.#insert(arg.get(0)!, arg.get(1) as PID, arg.get(2) ?? atom('undefined'));
      else if (isAtom(kind, 'delete') && arg !== undefined) this.#delete(arg);
    }
  }

  #insert(name: Term, pid: PID, method: Term): void {
    const k = termKey(name);
    const had = this.#names.get(k);
    if (had !== undefined && had.pid.equals(pid)) return;
    if (had !== undefined) this.#delete(name);
    const watched = this.#uses(pid) > 0;
    this.#names.set(k, { name, pid, method });
    if (!watched && !this.#watch(pid)) this.#names.delete(k); // gone already: the name goes with it
  }

  /** Monitors a pid that holds a name or a lock; false if it is gone already. */
  #watch(pid: PID): boolean {
    try {
      this.monitorPID(pid);
      return true;
    } catch {
      return false;
    }
  }

  /** Drops the monitor of a pid that holds nothing any more. */
  #unwatch(pid: PID): void {
    if (this.#uses(pid) > 0) return;
    try {
      this.demonitorPID(pid);
    } catch {
      // not monitored (ended)
    }
  }

  #delete(name: Term): void {
    const k = termKey(name);
    const had = this.#names.get(k);
    if (had === undefined) return;
    this.#names.delete(k);
    this.#unwatch(had.pid);
  }

  /** How many names and locks `pid` holds. */
  #uses(pid: PID): number {
    let n = 0;
    for (const x of this.#names.values()) if (x.pid.equals(pid)) n++;
    for (const l of this.#locks.values()) if (l.holders.some((h) => h.equals(pid))) n++;
    return n;
  }

  #pidDown(pid: PID): void {
    for (const [k, n] of this.#names) if (n.pid.equals(pid)) this.#names.delete(k);
    for (const [k, l] of this.#locks) {
      l.holders = l.holders.filter((h) => !h.equals(pid));
      if (l.holders.length === 0) this.#locks.delete(k);
    }
  }

  #nameList(): Term[] {
    return [...this.#names.values()].map((n) => tuple(n.name, n.pid, n.method));
  }

  // --- locks ----------------------------------------------------------------------------------

  #setLock(id: ErlTuple, pid: PID): boolean {
    const [resource, requester] = id.elements;
    if (resource === undefined || requester === undefined) return false;
    const k = termKey(resource);
    const l = this.#locks.get(k);
    if (l !== undefined && !termEqual(l.requester, requester)) return false;
    if (l !== undefined && l.holders.some((h) => h.equals(pid))) return true;
    // a holder that ends without del_lock releases its locks (OTP monitors it too)
    if (this.#uses(pid) === 0 && !this.#watch(pid)) return false;
    if (l === undefined) this.#locks.set(k, { requester, holders: [pid] });
    else l.holders.push(pid);
    // the lock a peer's locker sets for its handshake with us: kept for new_nodes' extra info
    if (isAtom(resource, 'global') && pid.node !== this.node.name) {
      const p = this.#pending.get(pid.node);
      if (p !== undefined) p.lockId = id;
    }
    return true;
  }

  #delLock(id: ErlTuple, pid: PID): void {
    const [resource, requester] = id.elements;
    if (resource === undefined) return;
    const k = termKey(resource);
    const l = this.#locks.get(k);
    if (l === undefined || (requester !== undefined && !termEqual(l.requester, requester))) return;
    l.holders = l.holders.filter((h) => !h.equals(pid));
    if (l.holders.length === 0) this.#locks.delete(k);
    this.#unwatch(pid);
  }

  // --- sending --------------------------------------------------------------------------------

  #knownList(): Term[] {
    return [...this.known].map(([n, v]) => tuple(atom(n), v));
  }
  #knownAtoms(): Term[] {
    return [...this.known.keys()].map((n) => atom(n));
  }

  #sendTo(node: Atom, message: Term): void {
    try {
      this.send(new ProcessID(GNS, node), message);
    } catch (e) {
      this.log.debug('global: to %s not sent: %s', node, (e as Error).message);
    }
  }
  #castTo(node: Atom, message: Term): void {
    this.#sendTo(node, tuple(atom('$gen_cast'), message));
  }
}

/** OTP's default resolve method, `fun global:random_exit_name/3`, for names we register. */
export const RANDOM_EXIT_NAME = new ErlExport('global', 'random_exit_name', 3);

function insertOp(name: Term, pid: PID, method: Term): Term {
  return tuple(atom('insert'), tuple(name, pid, method));
}

function asList(t: Term | undefined): Term[] {
  return Array.isArray(t) ? (t as Term[]) : [];
}

/** Node names of a known list: atoms or `{Node, Vsn}`. */
function nodeNames(list: Term[]): Atom[] {
  const out: Atom[] = [];
  for (const x of list) {
    if (x instanceof ErlAtom) out.push(x.name as Atom);
    else if (x instanceof ErlTuple && x.get(0) instanceof ErlAtom) out.push((x.get(0) as ErlAtom).name as Atom);
  }
  return out;
}

/**
 * Registers names cluster-wide the way Erlang's registrar does: the `global` lock on every known
 * node (ours first), `{register, Name, Pid, Method}` on each, the lock released. One request at
 * a time; the server stays free meanwhile.
 */
export class GlobalRegistrar extends Actor {
  constructor(readonly server: GlobalNameServer) {
    super();
  }

  override handleMessage(): HandlerResult {}

  override async handleCall(_from: PID, _ref: Ref, request: unknown): Promise<unknown> {
    if (!(request instanceof ErlTuple)) return atom('badarg');
    const [op, name, pid] = request.elements;
    return this.#transaction(async (nodes) => {
      if (isAtom(op, 'register') && pid instanceof PID) {
        if (this.server.whereis(name!) !== undefined) return atom('no');
        for (const n of nodes) await this.#gns(n, tuple(atom('register'), name!, pid, RANDOM_EXIT_NAME));
        return atom('yes');
      }
      if (isAtom(op, 'unregister')) {
        for (const n of nodes) await this.#gns(n, tuple(atom('unregister'), name!));
        return atom('ok');
      }
      return atom('badarg');
    });
  }

  #gns(node: Atom, request: Term): Promise<unknown> {
    return this.call(new ProcessID(GNS, node), request, { timeout: 10000 }).catch(() => false);
  }

  /** OTP's trans_all_known: retries (with a growing random pause) until every lock is ours. */
  async #transaction(fn: (nodes: Atom[]) => Promise<Term>): Promise<Term> {
    const id = tuple(atom('global'), this.pid);
    for (let attempt = 0; ; attempt++) {
      const nodes = [this.node.name, ...this.server.known.keys()];
      const boss = nodes.reduce((a, b) => (b > a ? b : a));
      const order = [boss, ...nodes.filter((n) => n !== boss)];
      const got: Atom[] = [];
      let ok = true;
      for (const n of order) {
        if ((await this.#gns(n, tuple(atom('set_lock'), id))) !== true) {
          ok = false;
          break;
        }
        got.push(n);
      }
      // a node that became known meanwhile is not locked: start over (as OTP does)
      if (ok && [...this.server.known.keys()].every((n) => got.includes(n))) {
        try {
          return await fn(got);
        } finally {
          for (const n of got.reverse()) await this.#gns(n, tuple(atom('del_lock'), id));
        }
      }
      for (const n of got.reverse()) await this.#gns(n, tuple(atom('del_lock'), id));
      const max = attempt > 5 ? 8000 : ((1 << attempt) * 1000) / 8;
      await new Promise((r) => setTimeout(r, Math.random() * max));
    }
  }
}
