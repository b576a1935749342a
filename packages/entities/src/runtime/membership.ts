// Who the members of an entities runtime's cluster are: the configured nodes, or the nodes the
// registrar lists, or those of the Leader's live peers, less those that announced they leave; the
// connected ones are the live members keys route to. It dials absent members and tells the
// members' managers when this node leaves or starts (runtime.ts computes the shards from the live
// members).
//
// The registrar's nodes are read at once on each of its events and, while its events are
// followed, again only every REGISTRAR_RESYNC_MS (a change whose event was missed: a watch down
// meanwhile); a registrar without events is read on every probe. Reading on every probe cost
// each node a read of every node key twice a second: with etcd, 100 nodes asked it for 20,000
// keys a second while the cluster stood still (issue 49).

import { ProcessID, type Atom, type Node } from 'ergo-ts';

import { ErrEntityIncorrect } from '../contract/errors.js';
import { errorCode } from '../contract/codes.js';
import type { HelloNotice, LeavingNotice } from './manager_protocol.js';
import type { MemberLeaseRead } from './member_lease.js';
import type { RuntimeOptions } from './options.js';
import { RejoinWatch, RejoinWindow } from './rejoin.js';

/**
 * While the registrar's events are followed, how long between two reads of its nodes that no
 * event asked for, in ms; each event still reads them at once.
 */
export const REGISTRAR_RESYNC_MS = 10_000;

/** What a {@link Membership} asks of its runtime. */
export interface MembershipHooks {
  /** The members may have changed: the runtime recomputes the shards it owns. */
  changed(): void;
  /** Whether the runtime has stopped (then nothing is read any more). */
  stopped(): boolean;
  /**
   * Another member said this node leaves while it does not (its member lease ended: it was paused
   * or cut off from the store): the runtime renews its leases and says hello again — at once, or
   * with `rejoinStableMs` once it has been stable that long ({@link Membership.waitToRejoin}).
   */
  toldLeaving?(): void;
  /** `node`'s member lease read from the store: whether it ended, and its token (member_lease.ts). */
  readonly memberLease?: (node: string) => Promise<MemberLeaseRead>;
  /**
   * This member's wait after a lapse is over (rejoin.ts): the runtime takes its member lease again
   * and resolves with whether it holds it (then it counts itself in and says hello).
   */
  readonly rejoin?: () => Promise<boolean>;
}

/** How a membership damps a lapsed member's return ({@link RuntimeOptions.rejoinStableMs}). */
export interface RejoinSettings {
  /** The base wait, in ms (0: none). */
  readonly stableMs: number;
  /** The lease's ttl, in ms. */
  readonly ttlMs: number;
  /** A loop gap at least this long may have cost the lease again (the ttl less the renewal period). */
  readonly lapseGapMs: number;
}

/** The members of one runtime's cluster, as this node sees them ({@link RuntimeOptions.members}). */
export class Membership {
  /** `members: 'registrar'`: the members are the nodes the node's registrar lists. */
  readonly fromRegistrar: boolean;
  /** `members: 'leader'`: the registered name of the Leader actor whose peers are the members. */
  readonly leader: string | undefined;
  /** The configured members (static), or the registrar's or Leader's nodes last read; never this node. */
  #members: string[];
  #leaderReading = false;
  /** The last failure reading the Leader (logged once per failure streak). */
  #leaderFailed = '';
  #registrarReading = false;
  /** An event came while a read was under way (that read may predate the change): read again after it. */
  #registrarStale = false;
  /** Whether the manager follows the registrar's events (then probes re-read it only now and then). */
  #registrarEvents = false;
  /** performance.now() when the registrar's nodes were last read. */
  #readAt = 0;
  /** Members that announced they leave (drain): no key routes to them until they disconnect or say hello. */
  readonly #leaving = new Set<string>();
  /**
   * Members whose member lease ended while a call to them waited (paused, cut off from the store),
   * seen here or told by another member: no key routes to them until their member lease is
   * renewed (read again on every probe), they say hello, or they disconnect.
   */
  readonly #leaseEnded = new Set<string>();
  /** Members of {@link #leaseEnded} whose member lease is being read now. */
  readonly #rereading = new Set<string>();
  /** Every member this runtime has seen live: one of them no longer live is declared down. */
  readonly #seenLive = new Set<string>();
  readonly #node: Node;
  /** The registered name of the managers (the same on every member). */
  readonly #manager: string;
  readonly #hooks: MembershipHooks;
  /** This node is a client (`role: 'client'`): never one of the live members itself. */
  readonly #client: boolean;
  /** This member's own wait after a lapse (rejoin.ts). */
  readonly #window: RejoinWindow;
  /** When the members counted out for their lease count again (rejoin.ts). */
  readonly #watch: RejoinWatch;
  /** The rejoin hook is under way (its member lease being taken again). */
  #rejoining = false;

  /**
   * Checks `members` and `leader` (ERR_ENTITY_INCORRECT; a client's members must not name it);
   * `manager` is the managers' registered name; with `role: 'client'` this node is never among
   * the live members.
   */
  constructor(
    node: Node,
    manager: string,
    options: Pick<RuntimeOptions, 'members' | 'leader' | 'role'>,
    hooks: MembershipHooks,
    rejoin: RejoinSettings = { stableMs: 0, ttlMs: 0, lapseGapMs: 0 },
  ) {
    const members = options.members ?? [];
    const leader = options.leader;
    this.#node = node;
    this.#client = options.role === 'client';
    if (this.#client && Array.isArray(members) && members.includes(node.name))
      throw ErrEntityIncorrect.with(
        `role 'client': members names this node (${node.name}); a client is never a member`,
      );
    this.#manager = manager;
    this.#hooks = hooks;
    this.#window = new RejoinWindow(this.#client ? 0 : rejoin.stableMs, rejoin.lapseGapMs);
    // A client owns no shard: nothing to damp; it counts a member again as soon as its lease is
    // renewed (a lease holder's keys are routed to it whatever the view, routing.ts).
    this.#watch = new RejoinWatch(this.#client ? 0 : rejoin.stableMs, rejoin.ttlMs);
    this.fromRegistrar = members === 'registrar';
    this.leader = members === 'leader' ? (leader ?? 'leader') : undefined;
    if (this.leader !== undefined && (typeof this.leader !== 'string' || this.leader === ''))
      throw ErrEntityIncorrect.with('leader must be the non-empty registered name of a Leader actor');
    if (!this.fromRegistrar && this.leader === undefined && !Array.isArray(members))
      throw ErrEntityIncorrect.with(`members must be a list of node names, 'registrar' or 'leader'`);
    this.#members =
      this.fromRegistrar || this.leader !== undefined
        ? []
        : [...new Set((members as string[]).map(String))].filter((m) => m !== node.name);
  }

  /** Whether other nodes may be members: then the runtime probes them every `probeIntervalMs`. */
  get probed(): boolean {
    return this.#members.length > 0 || this.fromRegistrar || this.leader !== undefined;
  }

  /** Reads the registrar's or the Leader's nodes (the runtime's start waits for it). */
  async read(): Promise<void> {
    if (this.fromRegistrar) await this.#readRegistrar();
    if (this.leader !== undefined) await this.#readLeader();
  }

  /**
   * The live members: this node and the members it is connected to (the configured ones, or the
   * registrar's), less those that announced they leave, sorted. A draining node leaves itself out
   * (unless no other member is live); a client always does (then the list may be empty).
   */
  live(draining: boolean): string[] {
    if (this.#members.length === 0) return this.#client ? [] : [this.#node.name];
    const connected = this.connected();
    for (const l of this.#leaving) if (!connected.has(l)) this.#leaving.delete(l);
    for (const l of this.#leaseEnded)
      if (!connected.has(l)) {
        this.#leaseEnded.delete(l);
        this.#watch.forget(l);
      }
    const live = this.#members.filter((m) => connected.has(m) && !this.#leaving.has(m) && !this.#leaseEnded.has(m));
    for (const m of live) this.#seenLive.add(m);
    if (!this.#client && (!draining || live.length === 0)) live.push(this.#node.name);
    return live.sort();
  }

  /** The members configured (or last read from the registrar or the Leader), this node left out. */
  configured(): readonly string[] {
    return this.#members;
  }

  /**
   * Whether `node` is declared down: this runtime saw it live, and it is not any more — its
   * connection went down (closed, or the core's heartbeat declared the peer stalled), or the
   * registrar or the Leader no longer lists it. A node that announced it leaves is not (it is
   * alive, handing its keys off); nor is one this runtime never saw live (it started meanwhile,
   * or is not connected yet).
   */
  declaredDown(node: string): boolean {
    if (!this.#seenLive.has(node)) return false;
    return !this.connected().has(node) || !this.#members.includes(node);
  }

  /** `node` announced it leaves (another node than this one): no key routes to it any more. */
  leaving(node: string): void {
    this.#leaving.add(node);
  }

  /**
   * The manager heard that `node` leaves: it drains, or (`leaseEnded`) a member saw its member
   * lease end. Its keys route to the next owners. About this node: the runtime's `toldLeaving` hook.
   */
  heardLeaving(node: string, leaseEnded = false): void {
    if (node === this.#node.name) return this.#hooks.toldLeaving?.();
    if (leaseEnded) this.#countOut(node);
    else this.leaving(node);
    this.#hooks.changed();
  }

  /** The manager heard that `node`'s runtime started (or is back from a pause): it counts again. */
  heardHello(node: string): void {
    this.hello(node);
    this.#hooks.changed();
  }

  /**
   * `node` left a call unanswered while its member lease ended (member_lease.ts): it counts as
   * leaving here, and the other members are told so (it says hello again when it is back).
   */
  leaseEnded(node: string): void {
    if (node === this.#node.name || this.#leaving.has(node) || this.#leaseEnded.has(node)) return;
    this.#node.log.info(
      "entities: %s's member lease ended while a call to it waited: its keys route to the next owners",
      node,
    );
    this.#countOut(node);
    this.#hooks.changed();
    this.tell({ '~entity': 'leaving', node, leaseEnded: true });
  }

  /** `node` counts out for its member lease (again): what was read of its lease before is forgotten. */
  #countOut(node: string): void {
    this.#leaseEnded.add(node);
    this.#watch.out(node);
  }

  /**
   * Reads the member lease of every member counted out for it again: one taken again after its
   * wait (or, without damping, renewed) counts again (rejoin.ts).
   */
  #rereadLeaseEnded(): void {
    const read = this.#hooks.memberLease;
    if (read === undefined) return;
    for (const node of this.#leaseEnded) {
      if (this.#rereading.has(node)) continue;
      this.#rereading.add(node);
      read(node).then(
        (r) => {
          this.#rereading.delete(node);
          if (!this.#leaseEnded.has(node) || !this.#watch.read(node, r.ended, r.token, performance.now())) return;
          this.#leaseEnded.delete(node);
          this.#watch.forget(node);
          this.#node.log.info("entities: %s's member lease is current again: it counts again", node);
          this.#hooks.changed();
        },
        () => this.#rereading.delete(node),
      );
    }
  }

  /**
   * Another member counted this one out for its member lease (it was paused or stalled past it):
   * with `rejoinStableMs`, it says hello only once it has been stable that long (rejoin.ts);
   * meanwhile its peers keep it out of their placement, the shards they took stay with them, and
   * it serves the keys of the shards whose leases it kept. Returns whether it waits (false:
   * damping off, or a wait of the same lapse under way).
   */
  waitToRejoin(): boolean {
    if (!this.#window.enter(performance.now())) return false;
    this.#node.log.warning(
      'entities: this member was counted out (its member lease ended): it takes no shard back for %d ms, until it has been stable that long (rejoinStableMs)',
      this.#window.windowMs,
    );
    // Peers that did not count it out yet do now (the others' notices name it too).
    this.tell({ '~entity': 'leaving', node: this.#node.name, leaseEnded: true });
    return true;
  }

  /** This member's loop stood still `gapMs` (liveness.ts): one that may have cost its lease again starts its wait anew. */
  away(gapMs: number): void {
    if (this.#window.away(gapMs, performance.now()))
      this.#node.log.warning(
        'entities: this member stood still %d ms while it waited to count again: it waits %d ms more',
        Math.round(gapMs),
        this.#window.windowMs,
      );
  }

  /** Whether this member waits to count again after a lapse (its peers keep it out meanwhile). */
  get waiting(): boolean {
    return this.#window.waiting;
  }

  /**
   * Whether `node`, counted out for its member lease, may be routed to as a lease's holder: it is
   * connected, and holds a current lease (the caller read one), so it is back — waiting out
   * `rejoinStableMs` — and serves the keys of the shards it kept.
   */
  holding(node: string): boolean {
    return this.#leaseEnded.has(node) && this.connected().has(node);
  }

  /** On each probe: a wait that is over takes the member lease again and says hello (the peers count this member in). */
  #endWait(): void {
    const rejoin = this.#hooks.rejoin;
    if (this.#rejoining || rejoin === undefined || !this.#window.due(performance.now())) return;
    this.#rejoining = true;
    rejoin().then(
      (held) => {
        this.#rejoining = false;
        if (!held || this.#hooks.stopped()) return;
        this.#window.done(performance.now());
        this.#node.log.info('entities: this member was stable for %d ms: it counts again', this.#window.windowMs);
        this.tell({ '~entity': 'hello', node: this.#node.name });
      },
      () => (this.#rejoining = false),
    );
  }

  /** `node`'s runtime started: it counts again (and joins the members read from the registrar or Leader). */
  hello(node: string): void {
    this.#leaving.delete(node);
    this.#leaseEnded.delete(node);
    this.#watch.forget(node);
    if ((this.fromRegistrar || this.leader !== undefined) && !this.#members.includes(node) && node !== this.#node.name)
      this.#members.push(node);
  }

  /** The registrar told of a change: read its nodes again. */
  registrarChanged(): void {
    if (this.fromRegistrar) void this.#readRegistrar();
  }

  /** The manager follows the registrar's events: probes need not read the registrar each time. */
  followingRegistrarEvents(): void {
    this.#registrarEvents = true;
  }

  /** Reads the registrar's nodes into the members (`members: 'registrar'`). */
  async #readRegistrar(): Promise<void> {
    if (this.#hooks.stopped()) return;
    if (this.#registrarReading) {
      this.#registrarStale = true;
      return;
    }
    this.#registrarReading = true;
    this.#readAt = performance.now();
    try {
      const nodes = await this.#node.network().registrar().nodes();
      this.#members = [...new Set(nodes.map(String))].filter((m) => m !== this.#node.name).sort();
      this.#hooks.changed();
    } catch (e) {
      this.#node.log.warning("entities: reading the registrar's nodes failed (%s): %s", errorCode(e), String(e));
    } finally {
      this.#registrarReading = false;
    }
    if (this.#registrarStale) {
      this.#registrarStale = false;
      await this.#readRegistrar();
    }
  }

  /** Reads the nodes of the Leader's live peers into the members (`members: 'leader'`). */
  async #readLeader(): Promise<void> {
    if (this.#leaderReading || this.#hooks.stopped() || this.leader === undefined) return;
    this.#leaderReading = true;
    try {
      const info = await this.#node.inspect(this.leader, 'peer_nodes');
      const raw = info.peer_nodes;
      if (raw === undefined)
        throw ErrEntityIncorrect.with(
          `${this.leader} answers no peer_nodes (not a Leader, or its handleInspect drops the default items)`,
        );
      const nodes = JSON.parse(raw) as unknown;
      if (!Array.isArray(nodes)) throw ErrEntityIncorrect.with(`${this.leader}: peer_nodes is not a list`);
      this.#members = [...new Set(nodes.map(String))].filter((m) => m !== this.#node.name).sort();
      this.#leaderFailed = '';
      this.#hooks.changed();
    } catch (e) {
      const why = `${errorCode(e)}: ${String(e)}`;
      if (why !== this.#leaderFailed) this.#node.log.warning("entities: reading the Leader's peers failed (%s)", why);
      this.#leaderFailed = why;
    } finally {
      this.#leaderReading = false;
    }
  }

  /**
   * Sends a notice to the manager of every live member (best effort: a member that misses it learns
   * by routing). A client tells nothing: the members must not count it (a hello adds its sender).
   */
  tell(notice: LeavingNotice | HelloNotice): void {
    if (this.#client) return;
    const connected = this.connected();
    for (const m of this.#members) {
      if (!connected.has(m)) continue;
      try {
        this.#node.send(new ProcessID(this.#manager as Atom, m as Atom), notice);
      } catch {
        // Disconnected meanwhile.
      }
    }
  }

  /** The nodes this node is connected to (none when it runs without a network). */
  connected(): Set<string> {
    try {
      return new Set<string>(this.#node.network().nodes());
    } catch {
      return new Set();
    }
  }

  /**
   * Every `probeIntervalMs`: reads the registrar (each time without its events, every
   * REGISTRAR_RESYNC_MS with them) or the Leader, and dials the absent members.
   */
  probe(): void {
    if (this.#hooks.stopped() || !this.#node.isAlive()) return;
    if (this.fromRegistrar && (!this.#registrarEvents || performance.now() - this.#readAt >= REGISTRAR_RESYNC_MS))
      void this.#readRegistrar();
    if (this.leader !== undefined) void this.#readLeader();
    if (this.#members.length === 0) return;
    this.#rereadLeaseEnded();
    this.#endWait();
    this.#hooks.changed();
    const connected = this.connected();
    for (const m of this.#members) {
      if (connected.has(m)) continue;
      try {
        this.#node
          .network()
          .getNode(m)
          .then(undefined, () => undefined);
      } catch {
        // No network on this node: members never connect.
      }
    }
  }
}
