// Links and monitors: who watches what. Relations are one-way (Ergo): the consumer reacts to the
// target's end. Each relation is one object threaded on two intrusive lists — the target's and
// the consumer's — so adding, removing, notifying and cleaning up are O(1) per relation with no
// string keys for process targets (the process itself holds the list heads). Other targets
// (names, aliases, events, nodes) get a keyed host object while they have watchers. Every
// notification removes the relation: one notification per relationship.

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
  get key(): string {
    return `Node\u0000${this.name}`;
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

/** The host of a target that is not a local process. */
class KeyedHost implements TargetHost {
  tHead: Relation | null = null;
  tTail: Relation | null = null;
  tCount = 0;
  constructor(readonly key: string) {}
}

/** Registry of links and monitors of one node. */
export class TargetManager {
  private readonly keyed = new Map<string, KeyedHost>();

  /** Number of non-process targets that have watchers (0 when nothing is watched). */
  get keyedHosts(): number {
    return this.keyed.size;
  }

  /** The host of a non-process target (`create`: make one if it has none yet). */
  keyedHost(target: Target, create: boolean): TargetHost | undefined {
    const key = target.key;
    let h = this.keyed.get(key);
    if (h === undefined && create) {
      h = new KeyedHost(key);
      this.keyed.set(key, h);
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
    if (this.find(link, consumer, host) !== null) throw ErrTargetExist.with(`${link ? 'link' : 'monitor'} ${consumer.pid} → ${target}`);
    const r = new Relation(link, consumer, target, host);
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
    else for (let x = consumer.cHead; x !== null && r === null; x = x.cNext) if (x.link === link && x.target.equals(target)) r = x;
    if (r === null) throw ErrTargetUnknown.with(`${link ? 'link' : 'monitor'} ${consumer.pid} → ${target}`);
    this.unthreadTarget(r);
    this.unthreadConsumer(r);
  }

  has(link: boolean, consumer: ConsumerHost, host: TargetHost | undefined): boolean {
    return host !== undefined && this.find(link, consumer, host) !== null;
  }

  private unthreadTarget(r: Relation): void {
    const h = r.host;
    if (r.tPrev !== null) r.tPrev.tNext = r.tNext;
    else h.tHead = r.tNext;
    if (r.tNext !== null) r.tNext.tPrev = r.tPrev;
    else h.tTail = r.tPrev;
    r.tPrev = r.tNext = null;
    if (--h.tCount === 0 && h instanceof KeyedHost) this.keyed.delete(h.key);
  }

  private unthreadConsumer(r: Relation): void {
    const c = r.consumer;
    if (r.cPrev !== null) r.cPrev.cNext = r.cNext;
    else c.cHead = r.cNext;
    if (r.cNext !== null) r.cNext.cPrev = r.cPrev;
    else c.cTail = r.cPrev;
    r.cPrev = r.cNext = null;
    c.cCount--;
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
    if (host instanceof KeyedHost) this.keyed.delete(host.key);
    return head;
  }

  /** Drops every relation of a consumer; returns the targets it had (links and monitors). */
  cleanupConsumer(consumer: ConsumerHost): Target[] {
    const out: Target[] = [];
    let r = consumer.cHead;
    while (r !== null) {
      const next = r.cNext;
      out.push(r.target);
      this.unthreadTarget(r);
      r.cPrev = r.cNext = null;
      r = next;
    }
    consumer.cHead = consumer.cTail = null;
    consumer.cCount = 0;
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
  const out = { pids: [] as PID[], processIDs: [] as ProcessID[], aliases: [] as Alias[], events: [] as Event[], nodes: [] as Atom[] };
  for (const t of targets) {
    if (t instanceof PID) out.pids.push(t);
    else if (t instanceof ProcessID) out.processIDs.push(t);
    else if (t instanceof Alias) out.aliases.push(t);
    else if (t instanceof Event) out.events.push(t);
    else out.nodes.push(t.name);
  }
  return out;
}
