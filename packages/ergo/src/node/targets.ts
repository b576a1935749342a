// Links and monitors: who watches what. Relations are one-way (Ergo): the consumer reacts to the
// target's end. Each relation is one object threaded on two intrusive lists — the target's and
// the consumer's — so adding, removing, notifying and cleaning up are O(1) per relation with no
// string keys for process targets (the process itself holds the list heads). Other targets
// (names, aliases, events, nodes) get a keyed host object while they have watchers. Every
// notification removes the relation: one notification per relationship.
//
// Remote-ready: a watcher living on another node is a RemoteConsumer (one per remote PID, owned
// by its node), and every keyed host of a remote target is indexed by its node, so "node X went
// down" reaches exactly the relations that involve X.

import { ErrTargetExist, ErrTargetUnknown } from '../gen/errors.js';
import type { Atom } from '../gen/atom.js';
import { Event } from '../gen/event.js';
import { PID } from '../gen/pid.js';
import { ProcessID } from '../gen/processid.js';
import { Alias } from '../gen/ref.js';

/** Anything a process can link to or monitor. A node is watched by name ({@link NodeTarget}). */
export type Target = PID | ProcessID | Alias | Event | NodeTarget;

/** A remote node as a link/monitor target. */
export class NodeTarget {
  constructor(readonly name: Atom) {}
  equals(other: unknown): boolean {
    return other instanceof NodeTarget && other.name === this.name;
  }
  /** '@' starts no other target's key (PID 'P', ProcessID 'N', Event 'E', Alias 'A'). */
  get key(): string {
    return `@${this.name}`;
  }
  /** The node a NodeTarget is about is its own node (for the per-node index). */
  get node(): Atom {
    return this.name;
  }
  toString(): string {
    return this.name;
  }
}

/** Holds the list of relations on one target (a local process, or a keyed host). */
export interface TargetHost {
  tHead: Relation | null;
  tTail: Relation | null;
  tCount: number;
}

/** Holds the list of relations of one consumer (a local process). */
export interface ConsumerHost {
  readonly pid: PID;
  cHead: Relation | null;
  cTail: Relation | null;
  cCount: number;
}

/** One link or monitor. */
export class Relation {
  tPrev: Relation | null = null;
  tNext: Relation | null = null;
  cPrev: Relation | null = null;
  cNext: Relation | null = null;
  constructor(
    readonly link: boolean,
    readonly consumer: ConsumerHost,
    readonly target: Target,
    readonly host: TargetHost,
  ) {}
}

/**
 * The host of a target that is not a local process. `node` is set for remote targets. `key` is
 * the target's string key, or null for a remote PID indexed by its id in its node's
 * {@link NodeIndex.pids} (no string is built for those).
 */
export class KeyedHost implements TargetHost {
  tHead: Relation | null = null;
  tTail: Relation | null = null;
  tCount = 0;
  /**
   * An event's fan-out plan (see Router.fanOut): made on the first publish after its
   * relations changed, dropped (null) by every add or remove on this host.
   */
  fan: EventFanPlan | null = null;
  constructor(
    readonly key: string | null,
    readonly target: Target,
    readonly node: Atom | null,
  ) {}
}

/** Where a publish of an event goes: the remote nodes with subscribers, and whether any is local. */
export interface EventFanPlan {
  /** Each node with a subscriber once, in the order of its first relation. */
  readonly nodes: readonly Atom[];
  /** True when a local process is among the subscribers (the walk is needed for them). */
  readonly local: boolean;
}

/** A watcher that lives on another node: one per remote PID, while it watches something here. */
export class RemoteConsumer implements ConsumerHost {
  cHead: Relation | null = null;
  cTail: Relation | null = null;
  cCount = 0;
  constructor(readonly pid: PID) {}
}

/** What the store knows about one remote node: the targets there and the watchers from there. */
export class NodeIndex {
  // Each collection is made at its first entry, and the first watcher is held without a Map: a
  // node seen only as a watcher (a browser tab whose process monitors one event of the gateway)
  // costs no collection at all. An empty Map or Set is ~0.2 KiB, and a gateway holds an index
  // per tab.
  #targets: Set<KeyedHost> | null = null;
  #pids: Map<number, KeyedHost> | null = null;
  /** The watchers once there were two at a time (null before: `#one` holds the only one). */
  #consumers: Map<number | string, RemoteConsumer> | null = null;
  #one: RemoteConsumer | null = null;
  #oneKey: number | string = 0;
  /** The creation whose watchers are keyed by id (-1: none seen yet). */
  creation = -1;
  constructor(readonly node: Atom) {}

  /** Keyed hosts of targets on that node (and of the node itself) watched by local processes. */
  get targets(): ReadonlySet<KeyedHost> {
    return this.#targets ?? NO_HOSTS;
  }
  /**
   * Hosts of that node's PIDs by id (one incarnation per id: a PID of another creation with the
   * same id falls back to the string-keyed map). A remote monitor looks its target up here with
   * no string key: building and hashing `PID.key` was an eighth of a remote monitor's cost.
   */
  get pids(): ReadonlyMap<number, KeyedHost> {
    return this.#pids ?? NO_PIDS;
  }
  /** True when nothing involves the node any more (its index can go). */
  get empty(): boolean {
    return this.targets.size === 0 && this.consumerCount === 0;
  }

  addTarget(h: KeyedHost): void {
    (this.#targets ??= new Set()).add(h);
  }
  deleteTarget(h: KeyedHost): void {
    this.#targets?.delete(h);
  }
  setPid(id: number, h: KeyedHost): void {
    (this.#pids ??= new Map()).set(id, h);
  }
  deletePid(id: number): void {
    this.#pids?.delete(id);
  }

  /**
   * The watcher on that node of local targets under `key`: by id for the first creation of that
   * node seen here, by `PID.key` for others (a decoded PID is a new object each time: no string
   * is built for it).
   */
  consumer(key: number | string): RemoteConsumer | undefined {
    if (this.#consumers !== null) return this.#consumers.get(key);
    return this.#one !== null && this.#oneKey === key ? this.#one : undefined;
  }
  /** Watchers on that node now. */
  get consumerCount(): number {
    return this.#consumers?.size ?? (this.#one === null ? 0 : 1);
  }
  /** The watchers on that node (a copy: the index may change while the caller walks it). */
  consumerList(): RemoteConsumer[] {
    if (this.#consumers !== null) return [...this.#consumers.values()];
    return this.#one === null ? [] : [this.#one];
  }
  setConsumer(key: number | string, c: RemoteConsumer): void {
    if (this.#consumers === null) {
      if (this.#one === null || this.#oneKey === key) {
        this.#one = c;
        this.#oneKey = key;
        return;
      }
      // A second watcher: both go to a Map (in the order they came).
      this.#consumers = new Map([[this.#oneKey, this.#one]]);
      this.#one = null;
    }
    this.#consumers.set(key, c);
  }
  deleteConsumer(key: number | string): void {
    if (this.#consumers !== null) this.#consumers.delete(key);
    else if (this.#one !== null && this.#oneKey === key) this.#one = null;
  }
}

const NO_HOSTS: ReadonlySet<KeyedHost> = new Set();
const NO_PIDS: ReadonlyMap<number, KeyedHost> = new Map();

/** The key of a remote watcher in its node's index (see {@link NodeIndex.consumer}). */
function consumerKey(x: NodeIndex, pid: PID): number | string {
  if (x.creation === -1) x.creation = pid.creation;
  return pid.creation === x.creation ? pid.id : pid.key;
}

/** Registry of links and monitors of one node. */
export class TargetManager {
  private readonly keyed = new Map<string, KeyedHost>();
  private readonly byNode = new Map<Atom, NodeIndex>();

  /** `local` names this node (read lazily): its targets are not indexed by node. */
  constructor(private readonly local: { readonly name: Atom } = { name: '' as Atom }) {}

  /** The index of a remote node, or undefined when nothing involves it. */
  nodeIndex(node: Atom): NodeIndex | undefined {
    return this.byNode.get(node);
  }

  private index(node: Atom): NodeIndex {
    let x = this.byNode.get(node);
    if (x === undefined) {
      x = new NodeIndex(node);
      this.byNode.set(node, x);
    }
    return x;
  }

  private unindex(x: NodeIndex): void {
    if (x.empty) this.byNode.delete(x.node);
  }

  /** The consumer entry of a remote watcher (`create`: make one if it has none yet). */
  remoteConsumer(pid: PID, create: boolean): RemoteConsumer | undefined {
    const x = create ? this.index(pid.node) : this.byNode.get(pid.node);
    if (x === undefined) return undefined;
    const key = consumerKey(x, pid);
    let c = x.consumer(key);
    if (c === undefined && create) {
      c = new RemoteConsumer(pid);
      x.setConsumer(key, c);
    }
    return c;
  }

  /** Number of remote nodes the store indexes (0 when nothing remote is involved). */
  get indexedNodes(): number {
    return this.byNode.size;
  }

  /** Number of non-process targets that have watchers (0 when nothing is watched). */
  get keyedHosts(): number {
    let n = this.keyed.size;
    for (const x of this.byNode.values()) n += x.pids.size;
    return n;
  }

  /** Every keyed host (string-keyed and remote PIDs by id), for checks and listings. */
  allKeyed(): KeyedHost[] {
    const out = [...this.keyed.values()];
    for (const x of this.byNode.values()) for (const h of x.pids.values()) out.push(h);
    return out;
  }

  /** The host of a non-process target (`create`: make one if it has none yet). */
  keyedHost(target: Target, create: boolean): TargetHost | undefined {
    if (target instanceof PID) {
      const node = target.node;
      if (node !== '' && node !== this.local.name) {
        const x = create ? this.index(node) : this.byNode.get(node);
        if (x === undefined) return undefined;
        const h = x.pids.get(target.id);
        if (h === undefined) {
          // A PID that went to the string-keyed map while its id was taken stays there.
          const old = this.keyed.size === 0 ? undefined : this.keyed.get(target.key);
          if (old !== undefined || !create) return old;
          const n = new KeyedHost(null, target, node);
          x.setPid(target.id, n);
          x.addTarget(n);
          return n;
        }
        if ((h.target as PID).creation === target.creation) return h;
        // Another incarnation's PID with this id: the string-keyed map holds it.
      }
    }
    const key = target.key;
    let h = this.keyed.get(key);
    if (h === undefined && create) {
      const node = target.node === '' || target.node === this.local.name ? null : target.node;
      h = new KeyedHost(key, target, node);
      this.keyed.set(key, h);
      if (node !== null) this.index(node).addTarget(h);
    }
    return h;
  }

  /** Finds the relation of `consumer` on `host` of the given kind (scans the shorter list). */
  private find(link: boolean, consumer: ConsumerHost, host: TargetHost): Relation | null {
    if (host.tCount <= consumer.cCount) {
      for (let r = host.tHead; r !== null; r = r.tNext) if (r.consumer === consumer && r.link === link) return r;
    } else {
      for (let r = consumer.cHead; r !== null; r = r.cNext) if (r.host === host && r.link === link) return r;
    }
    return null;
  }

  /** Adds a link (`link`) or monitor. ErrTargetExist when it exists already. */
  add(link: boolean, consumer: ConsumerHost, target: Target, host: TargetHost): void {
    if (this.find(link, consumer, host) !== null)
      throw ErrTargetExist.with(`${link ? 'link' : 'monitor'} ${consumer.pid} → ${target}`);
    const r = new Relation(link, consumer, target, host);
    if (host instanceof KeyedHost) host.fan = null;
    // Appended at the tails: notifications and listings come oldest first.
    r.tPrev = host.tTail;
    if (host.tTail !== null) host.tTail.tNext = r;
    else host.tHead = r;
    host.tTail = r;
    host.tCount++;
    r.cPrev = consumer.cTail;
    if (consumer.cTail !== null) consumer.cTail.cNext = r;
    else consumer.cHead = r;
    consumer.cTail = r;
    consumer.cCount++;
  }

  /**
   * Removes a link or monitor. Without a host (a process target that cannot be looked up, e.g.
   * still in init) the consumer's own list is searched. ErrTargetUnknown when there is none.
   */
  remove(link: boolean, consumer: ConsumerHost, target: Target, host: TargetHost | undefined): void {
    let r: Relation | null = null;
    if (host !== undefined) r = this.find(link, consumer, host);
    else
      for (let x = consumer.cHead; x !== null && r === null; x = x.cNext)
        if (x.link === link && x.target.equals(target)) r = x;
    if (r === null) throw ErrTargetUnknown.with(`${link ? 'link' : 'monitor'} ${consumer.pid} → ${target}`);
    this.unthreadTarget(r);
    this.unthreadConsumer(r);
  }

  has(link: boolean, consumer: ConsumerHost, host: TargetHost | undefined): boolean {
    return host !== undefined && this.find(link, consumer, host) !== null;
  }

  private unthreadTarget(r: Relation): void {
    const h = r.host;
    if (h instanceof KeyedHost) h.fan = null;
    if (r.tPrev !== null) r.tPrev.tNext = r.tNext;
    else h.tHead = r.tNext;
    if (r.tNext !== null) r.tNext.tPrev = r.tPrev;
    else h.tTail = r.tPrev;
    r.tPrev = r.tNext = null;
    if (--h.tCount === 0 && h instanceof KeyedHost) this.dropHost(h);
  }

  private dropHost(h: KeyedHost): void {
    if (h.key !== null) this.keyed.delete(h.key);
    if (h.node === null) return;
    const x = this.byNode.get(h.node);
    if (x === undefined) return;
    if (h.key === null) x.deletePid((h.target as PID).id);
    x.deleteTarget(h);
    this.unindex(x);
  }

  private dropRemoteConsumer(c: RemoteConsumer): void {
    const x = this.byNode.get(c.pid.node);
    if (x === undefined) return;
    x.deleteConsumer(consumerKey(x, c.pid));
    this.unindex(x);
  }

  private unthreadConsumer(r: Relation): void {
    const c = r.consumer;
    if (r.cPrev !== null) r.cPrev.cNext = r.cNext;
    else c.cHead = r.cNext;
    if (r.cNext !== null) r.cNext.cPrev = r.cPrev;
    else c.cTail = r.cPrev;
    r.cPrev = r.cNext = null;
    if (--c.cCount === 0 && c instanceof RemoteConsumer) this.dropRemoteConsumer(c);
  }

  /** Visits the consumers on a host without removing anything (event fan-out). */
  forEachConsumer(host: TargetHost, fn: (consumer: ConsumerHost) => void): void {
    for (let r = host.tHead; r !== null; r = r.tNext) fn(r.consumer);
  }

  /**
   * Removes every relation on `host` and returns the first (follow `tNext`, oldest first) for
   * notification; the caller delivers one exit (links) or down (monitors) per relation.
   */
  take(host: TargetHost): Relation | null {
    const head = host.tHead;
    for (let r = head; r !== null; r = r.tNext) this.unthreadConsumer(r);
    host.tHead = host.tTail = null;
    host.tCount = 0;
    if (host instanceof KeyedHost) {
      host.fan = null;
      this.dropHost(host);
    }
    return head;
  }

  /** Drops every relation of a consumer; returns them (their targets and kinds). */
  cleanupConsumer(consumer: ConsumerHost): Relation[] {
    const out: Relation[] = [];
    let r = consumer.cHead;
    while (r !== null) {
      const next = r.cNext;
      out.push(r);
      this.unthreadTarget(r);
      r.cPrev = r.cNext = null;
      r = next;
    }
    consumer.cHead = consumer.cTail = null;
    consumer.cCount = 0;
    if (consumer instanceof RemoteConsumer) this.dropRemoteConsumer(consumer);
    return out;
  }

  /** The targets a consumer links to and monitors, oldest first (for process info). */
  targetsOf(consumer: ConsumerHost): { links: Target[]; monitors: Target[] } {
    const links: Target[] = [];
    const monitors: Target[] = [];
    for (let r = consumer.cHead; r !== null; r = r.cNext) (r.link ? links : monitors).push(r.target);
    return { links, monitors };
  }
}

/** Classifies targets for info output. */
export function splitTargets(targets: Target[]): {
  pids: PID[];
  processIDs: ProcessID[];
  aliases: Alias[];
  events: Event[];
  nodes: Atom[];
} {
  const out = {
    pids: [] as PID[],
    processIDs: [] as ProcessID[],
    aliases: [] as Alias[],
    events: [] as Event[],
    nodes: [] as Atom[],
  };
  for (const t of targets) {
    if (t instanceof PID) out.pids.push(t);
    else if (t instanceof ProcessID) out.processIDs.push(t);
    else if (t instanceof Alias) out.aliases.push(t);
    else if (t instanceof Event) out.events.push(t);
    else out.nodes.push(t.name);
  }
  return out;
}
