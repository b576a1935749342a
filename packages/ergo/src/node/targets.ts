// Links and monitors: who watches what. Relations are one-way (Ergo): the consumer reacts to the
// target's end. Each relation is stored twice (by target, to notify; by consumer, to clean up and
// report), and every notification removes the relation: one notification per relationship.

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
  get key(): string {
    return `Node\u0000${this.name}`;
  }
  toString(): string {
    return this.name;
  }
}

interface TargetRel {
  target: Target;
  links: Map<string, PID> | null;
  monitors: Map<string, PID> | null;
}

interface ConsumerRel {
  consumer: PID;
  links: Map<string, Target> | null;
  monitors: Map<string, Target> | null;
}

/** The relations a target had when it ended. */
export interface Watchers {
  target: Target;
  links: PID[];
  monitors: PID[];
}

const enum Kind {
  Link,
  Monitor,
}

/** Registry of links and monitors of one node. */
export class TargetManager {
  private readonly byTarget = new Map<string, TargetRel>();
  private readonly byConsumer = new Map<string, ConsumerRel>();

  addLink(consumer: PID, target: Target): void {
    this.add(Kind.Link, consumer, target);
  }
  addMonitor(consumer: PID, target: Target): void {
    this.add(Kind.Monitor, consumer, target);
  }
  /** ErrTargetUnknown when there is no such link. */
  removeLink(consumer: PID, target: Target): void {
    this.remove(Kind.Link, consumer, target.key);
  }
  /** ErrTargetUnknown when there is no such monitor. */
  removeMonitor(consumer: PID, target: Target): void {
    this.remove(Kind.Monitor, consumer, target.key);
  }
  hasLink(consumer: PID, target: Target): boolean {
    return this.byTarget.get(target.key)?.links?.has(consumer.key) ?? false;
  }
  hasMonitor(consumer: PID, target: Target): boolean {
    return this.byTarget.get(target.key)?.monitors?.has(consumer.key) ?? false;
  }

  /** Number of links plus monitors on a target. */
  count(targetKey: string): number {
    const t = this.byTarget.get(targetKey);
    if (t === undefined) return 0;
    return (t.links?.size ?? 0) + (t.monitors?.size ?? 0);
  }

  /** The consumers of a target without removing anything (event fan-out). */
  consumersOf(targetKey: string): { links: Iterable<PID>; monitors: Iterable<PID> } | undefined {
    const t = this.byTarget.get(targetKey);
    if (t === undefined) return undefined;
    return { links: t.links?.values() ?? [], monitors: t.monitors?.values() ?? [] };
  }

  /** Removes every relation on `targetKey` and returns who was watching (for notifications). */
  takeTarget(targetKey: string): Watchers | undefined {
    const t = this.byTarget.get(targetKey);
    if (t === undefined) return undefined;
    this.byTarget.delete(targetKey);
    const links: PID[] = [];
    const monitors: PID[] = [];
    if (t.links !== null) {
      for (const c of t.links.values()) {
        links.push(c);
        this.dropFromConsumer(Kind.Link, c, targetKey);
      }
    }
    if (t.monitors !== null) {
      for (const c of t.monitors.values()) {
        monitors.push(c);
        this.dropFromConsumer(Kind.Monitor, c, targetKey);
      }
    }
    return { target: t.target, links, monitors };
  }

  /** Drops every relation of a consumer; returns the targets it had (links and monitors). */
  cleanupConsumer(consumer: PID): Target[] {
    const c = this.byConsumer.get(consumer.key);
    if (c === undefined) return [];
    this.byConsumer.delete(consumer.key);
    const out: Target[] = [];
    if (c.links !== null) {
      for (const [k, t] of c.links) {
        out.push(t);
        this.dropFromTarget(Kind.Link, consumer.key, k);
      }
    }
    if (c.monitors !== null) {
      for (const [k, t] of c.monitors) {
        out.push(t);
        this.dropFromTarget(Kind.Monitor, consumer.key, k);
      }
    }
    return out;
  }

  /** The targets a consumer links to and monitors (for process info). */
  targetsOf(consumer: PID): { links: Target[]; monitors: Target[] } {
    const c = this.byConsumer.get(consumer.key);
    return {
      links: c?.links ? [...c.links.values()] : [],
      monitors: c?.monitors ? [...c.monitors.values()] : [],
    };
  }

  private add(kind: Kind, consumer: PID, target: Target): void {
    const tk = target.key;
    let t = this.byTarget.get(tk);
    if (t === undefined) {
      t = { target, links: null, monitors: null };
      this.byTarget.set(tk, t);
    }
    const m = kind === Kind.Link ? (t.links ??= new Map()) : (t.monitors ??= new Map());
    const ck = consumer.key;
    if (m.has(ck)) throw ErrTargetExist.with(`${kindName(kind)} ${consumer} → ${target}`);
    m.set(ck, consumer);
    let c = this.byConsumer.get(ck);
    if (c === undefined) {
      c = { consumer, links: null, monitors: null };
      this.byConsumer.set(ck, c);
    }
    (kind === Kind.Link ? (c.links ??= new Map()) : (c.monitors ??= new Map())).set(tk, target);
  }

  private remove(kind: Kind, consumer: PID, tk: string): void {
    const t = this.byTarget.get(tk);
    const m = t === undefined ? null : kind === Kind.Link ? t.links : t.monitors;
    if (m === null || !m.delete(consumer.key)) throw ErrTargetUnknown.with(`${kindName(kind)} ${consumer} → ${t?.target ?? tk}`);
    if (t!.links?.size === 0) t!.links = null;
    if (t!.monitors?.size === 0) t!.monitors = null;
    if (t!.links === null && t!.monitors === null) this.byTarget.delete(tk);
    this.dropFromConsumer(kind, consumer, tk);
  }

  private dropFromConsumer(kind: Kind, consumer: PID, tk: string): void {
    const c = this.byConsumer.get(consumer.key);
    if (c === undefined) return;
    const m = kind === Kind.Link ? c.links : c.monitors;
    if (m === null) return;
    m.delete(tk);
    if (m.size === 0) {
      if (kind === Kind.Link) c.links = null;
      else c.monitors = null;
    }
    if (c.links === null && c.monitors === null) this.byConsumer.delete(consumer.key);
  }

  private dropFromTarget(kind: Kind, ck: string, tk: string): void {
    const t = this.byTarget.get(tk);
    if (t === undefined) return;
    const m = kind === Kind.Link ? t.links : t.monitors;
    if (m === null) return;
    m.delete(ck);
    if (m.size === 0) {
      if (kind === Kind.Link) t.links = null;
      else t.monitors = null;
    }
    if (t.links === null && t.monitors === null) this.byTarget.delete(tk);
  }
}

function kindName(kind: Kind): string {
  return kind === Kind.Link ? 'link' : 'monitor';
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
