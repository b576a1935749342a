// The chaos test's model (see chaos.test.ts): a seeded PRNG and the World that mirrors what the
// engine should hold (processes, names, aliases, events, loggers, relations and the
// notifications they produced); the actors (chaos_actors.ts) record every successful operation in it.

import { type Alias, ErgoError, type PID, type Node, type Ref } from '../src/index.js';
import { engineOf, type NodeImpl } from '../src/node/internals.js';

// --- seeded randomness ---------------------------------------------------------------------------

/** A seeded PRNG (mulberry32): the same seed replays the same run. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Resolves after `ms` (the actors' own pauses, part of the chaos, not synchronisation). */
export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The test's own termination/init reasons (not framework errors). */
export class ChaosError extends Error {}

// --- the world model -----------------------------------------------------------------------------

/** What a relation targets: a PID, a registered name, an alias or an event. */
export type RelKind = 'pid' | 'name' | 'alias' | 'event';

/** One link or monitor the test saw succeed. */
export interface RelRec {
  link: boolean;
  kind: RelKind;
  key: string;
  /** Target incarnation: PID key / name generation / alias key / event generation. */
  gen: number;
  removed: boolean;
  notes: number;
  implicit?: 'parent' | 'child';
  /** The watcher's parent (exits from it are untrappable). */
  fromParent?: boolean;
}

/** One process the test started, as the World tracks it. */
export interface ProcRec {
  pid: PID;
  kind: string;
  alive: boolean;
  terminates: number;
  terminateEvents: number;
  chaos: boolean;
  trap: boolean;
}

/** An operation started and whether it has settled yet. */
export interface Tracked {
  what: string;
  settled: boolean;
}

/** Names the driver registers top-level processes under. */
export const NAMES_TOP = ['n0', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7'];
/** Names supervisor children are registered under. */
export const NAMES_CHILD = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5'];
/** Names actors register themselves under. */
export const NAMES_REG = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5'];
/** Names of the events actors register. */
export const EVENT_NAMES = ['ev0', 'ev1', 'ev2', 'ev3', 'ev4'];

/** What the engine should hold, as the test saw it: compared with the engine at the end. */
export class World {
  readonly violations: string[] = [];
  readonly procs = new Map<string, ProcRec>();
  readonly alive: PID[] = [];
  readonly dead: PID[] = [];
  readonly names = new Map<string, { pid: PID; gen: number }>();
  readonly aliases = new Map<string, { alias: Alias; owner: string }>();
  readonly deadAliases: Alias[] = [];
  readonly events = new Map<string, { owner: string; token: Ref; gen: number }>();
  readonly rels = new Map<string, RelRec[]>();
  readonly sentExits = new Map<string, number>();
  readonly recvExits = new Map<string, number>();
  readonly tracked: Tracked[] = [];
  readonly pools: PID[] = [];
  /** Process loggers the test registered: name → process. */
  readonly loggers = new Map<string, string>();
  logRecords = 0;
  readonly sups: { pid: PID; type: number; names: string[] }[] = [];
  readonly spawnedInitFailed = new Set<string>();
  inflight = 0;
  /** Inspects in flight (not awaited by anyone; excluded from quiescence). */
  inspects = 0;
  gen = 0;
  /** The engine behind `node`, for the invariant checks on its tables. */
  readonly engine: NodeImpl;

  constructor(
    readonly seed: number,
    readonly node: Node,
  ) {
    this.engine = engineOf(node);
  }

  fail(msg: string): void {
    if (this.violations.length < 50) this.violations.push(`seed ${this.seed}: ${msg}`);
  }

  /** Tracks a promise: it must settle; a rejection must be a framework error (or an expected one). */
  track<T>(p: Promise<T>, what: string): Promise<T | undefined> {
    const t: Tracked = { what, settled: false };
    this.tracked.push(t);
    this.inflight++;
    return p.then(
      (v) => {
        t.settled = true;
        this.inflight--;
        return v;
      },
      (e: unknown) => {
        t.settled = true;
        this.inflight--;
        this.expectError(e, what);
        return undefined;
      },
    );
  }

  /** An operation failed: fine if it is a framework error (or the test's own reasons). */
  expectError(e: unknown, what: string): void {
    if (e instanceof ErgoError || e instanceof ChaosError) return;
    if (e instanceof Error && (e.name === 'AbortError' || e.name === 'TimeoutError')) return;
    this.fail(`${what} failed with a non-framework error: ${String((e as Error)?.stack ?? e)}`);
  }

  // --- lifecycle (from diagnostics channels and terminate callbacks) ---

  onSpawn(pid: PID, behavior: string, name: string): void {
    const key = pid.toString();
    const existing = this.procs.get(key);
    if (existing !== undefined) {
      this.fail(`${key} entered the table twice`);
      return;
    }
    const chaos = behavior === 'ChaosActor';
    const pre = this.pendingTrap.get(key);
    this.procs.set(key, {
      pid,
      kind: behavior,
      alive: true,
      terminates: 0,
      terminateEvents: 0,
      chaos,
      trap: pre ?? false,
    });
    this.pendingTrap.delete(key);
    this.alive.push(pid);
    if (name !== '') this.names.set(name, { pid, gen: ++this.gen });
  }

  readonly pendingTrap = new Map<string, boolean>();

  onTerminateEvent(pid: PID): void {
    const key = pid.toString();
    const r = this.procs.get(key);
    if (r === undefined) {
      this.fail(`terminate event for ${key}, which never entered the table`);
      return;
    }
    r.terminateEvents++;
    if (!r.alive) return;
    r.alive = false;
    const i = this.alive.findIndex((p) => p.equals(pid));
    if (i >= 0) {
      this.alive[i] = this.alive[this.alive.length - 1]!;
      this.alive.pop();
    }
    this.dead.push(pid);
    if (this.dead.length > 40) this.dead.shift();
    for (const [n, v] of this.names) if (v.pid.equals(pid)) this.names.delete(n);
    for (const [k, v] of this.aliases) {
      if (v.owner === key) {
        this.aliases.delete(k);
        this.deadAlias(v.alias);
      }
    }
    for (const [n, v] of this.events) if (v.owner === key) this.events.delete(n);
    for (const [n, v] of this.loggers) if (v === key) this.loggers.delete(n);
  }

  onTerminateCallback(pid: PID): void {
    const r = this.procs.get(pid.toString());
    if (r === undefined) {
      this.fail(`terminate() called for ${pid}, which never entered the table (init failed?)`);
      return;
    }
    r.terminates++;
  }

  deadAlias(a: Alias): void {
    this.deadAliases.push(a);
    if (this.deadAliases.length > 10) this.deadAliases.shift();
  }

  isAlive(pid: PID): boolean {
    return this.procs.get(pid.toString())?.alive === true;
  }

  // --- picking targets ---

  pickPid(r: number): PID | undefined {
    if (r < 0.85 || this.dead.length === 0)
      return this.alive.length === 0
        ? undefined
        : this.alive[Math.floor((r / 0.85) * this.alive.length) % this.alive.length];
    return this.dead[Math.floor(((r - 0.85) / 0.15) * this.dead.length) % this.dead.length];
  }

  pickName(r: number): string {
    const names = [...this.names.keys()];
    if (r < 0.1 || names.length === 0) return 'ghost';
    return names[Math.floor(((r - 0.1) / 0.9) * names.length) % names.length]!;
  }

  pickAlias(r: number): Alias | undefined {
    const live = [...this.aliases.values()];
    if ((r < 0.15 || live.length === 0) && this.deadAliases.length > 0)
      return this.deadAliases[Math.floor(r * this.deadAliases.length) % this.deadAliases.length];
    return live.length === 0 ? undefined : live[Math.floor(r * live.length) % live.length]!.alias;
  }

  pickEvent(r: number): string {
    const evs = [...this.events.keys()];
    if (r < 0.1 || evs.length === 0) return 'ghostev';
    return evs[Math.floor(((r - 0.1) / 0.9) * evs.length) % evs.length]!;
  }

  // --- relations ---

  relsOf(key: string): RelRec[] {
    let l = this.rels.get(key);
    if (l === undefined) this.rels.set(key, (l = []));
    return l;
  }

  /**
   * Whether the target of `r` lives. A PID the model has not seen enter the table is a process
   * still in its init (a parent spawning children from init): alive when `initAlive`.
   */
  targetAlive(r: RelRec, initAlive = false): boolean {
    switch (r.kind) {
      case 'pid': {
        const p = this.procs.get(r.key);
        return p === undefined ? initAlive : p.alive;
      }
      case 'name':
        return this.names.get(r.key)?.gen === r.gen;
      case 'alias':
        return this.aliases.has(r.key);
      case 'event':
        return this.events.get(r.key)?.gen === r.gen;
    }
  }

  /** The incarnation a new relation on (kind, key) binds to. */
  genOf(kind: RelKind, key: string): number {
    if (kind === 'name') return this.names.get(key)?.gen ?? -1;
    if (kind === 'event') return this.events.get(key)?.gen ?? -1;
    return 0;
  }

  addRel(watcher: string, link: boolean, kind: RelKind, key: string, implicit?: 'parent' | 'child'): void {
    const list = this.relsOf(watcher);
    const gen = this.genOf(kind, key);
    if (gen === -1)
      this.fail(
        `${watcher} ${link ? 'linked' : 'monitored'} ${kind} ${key}, which the test does not know as registered`,
      );
    for (const r of list) {
      if (!r.removed && r.notes === 0 && r.link === link && r.kind === kind && r.key === key && this.targetAlive(r)) {
        this.fail(
          `${watcher}: a second ${link ? 'link' : 'monitor'} on ${kind} ${key} was accepted (expected ErrTargetExist)`,
        );
      }
    }
    list.push({ link, kind, key, gen, removed: false, notes: 0, implicit });
  }

  /** Relations of `watcher` on (link, kind, key) not removed and not notified yet, oldest first. */
  private open(watcher: string, link: boolean, kind: RelKind, key: string): RelRec[] {
    return this.relsOf(watcher).filter(
      (x) => !x.removed && x.notes === 0 && x.link === link && x.kind === kind && x.key === key,
    );
  }

  removeRel(watcher: string, link: boolean, kind: RelKind, key: string): void {
    // Only a relation whose target still lives can be removed: an ended one is gone already
    // (its notification is queued), so unlink/demonitor must have failed with ErrTargetUnknown.
    const open = this.open(watcher, link, kind, key);
    const r = open.find((x) => this.targetAlive(x));
    if (r === undefined) {
      this.fail(
        `${watcher}: ${link ? 'unlink' : 'demonitor'} ${kind} ${key} succeeded, but the test has no live relation on a live target (${open.length} open on ended targets)`,
      );
      return;
    }
    r.removed = true;
  }

  /** A down (monitor) or a trapped non-PID exit (link) arrived at `watcher`. */
  noted(watcher: string, link: boolean, kind: RelKind, key: string, what: string): void {
    const open = this.open(watcher, link, kind, key);
    const r = open.find((x) => !this.targetAlive(x));
    if (r === undefined) {
      this.fail(
        open.length > 0
          ? `${watcher} got ${what} for ${kind} ${key} whose target is still alive`
          : `${watcher} got ${what} for ${kind} ${key} with no open ${link ? 'link' : 'monitor'} recorded (duplicate, or after removal)`,
      );
      return;
    }
    r.notes++;
  }

  countExit(map: Map<string, number>, watcher: string, source: string): void {
    const k = `${watcher}|${source}`;
    map.set(k, (map.get(k) ?? 0) + 1);
  }
}
