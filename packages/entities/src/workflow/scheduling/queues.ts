// Queues (Temporal's task queues, DBOS's queues): where a step runs, how many at once, how fast.
// A step (or every step of a kind) names its queue; each attempt takes a slot of it before it
// runs and gives it back when it settles. The limits live in the store's lease table, so they
// hold across members and across kill -9 without a table of their own:
// - a queue's `concurrency` is N lease rows (kind `~queue:<name>`, keys 0..N-1): an attempt holds
//   one under its member's lease ttl, renewed while it runs; a member killed stops renewing, so its
//   slots free themselves when that ttl has passed (the member's own lease ends the same way);
// - its `rate` ({ limit, periodMs }) is `limit` lease rows (`~rate:<name>`) taken for `periodMs`
//   and never given back: at most `limit` attempts start in any window of `periodMs`, cluster-wide;
// - its `perMember` limit is counted on the member (what it runs is its own business).
// A member serves the queues of its `workflowQueues.serve` (default: all); a step of a queue this
// member does not serve waits, and describe() says so. Work waits in priority order (lower first,
// then first come) on each member; a waiting attempt shows in describe() with its queue, its
// position and what holds it, and `workflows.queue(name).waiting()` lists every live member's.
// A client-only node (`role: 'client'`) serves no queue and runs no step: what it tells of its
// queues (the limits, who serves them, what runs and waits) it asks the members.
// A slot freed goes to the next attempt at once: on its member, handed on to the head of the line
// without a store operation (the row stays held under the same token); with nothing waiting there,
// kept idle for a moment (LINGER_MS: the next attempt here, a workflow's next step after its
// journal write, takes it without a store operation either: taking and giving back were two round
// trips per queued step), then given back to the store and the other members woken (the store's
// wakes, contract/wakes.ts: PostgreSQL's LISTEN/NOTIFY), so one blocked by the limit asks the store
// again then, not on its poll. A member blocked by the limit says so (a wake `want`): the members
// hearing it give their idle rows back at once, and while another member wants a slot, they give
// each freed one back to the store for all to race for instead of handing it on or keeping it. The
// poll stays, for a wake lost or a slot freed by its lease's end.

import type { Log } from 'ergo-ts';
import { describeThrown } from '../../contract/thrown.js';
import type { EntityStore } from '../../contract/store.js';
import { notStarted } from '../model/errors.js';
import { timerMs } from '../model/bounds.js';
import { checkQueuesOptions, type QueueLimits, type WorkflowQueuesOptions } from './queue_options.js';
import type { RunOps } from '../model/run_host.js';
import type { WorkflowRunningOperation } from '../model/record.js';

export { checkQueuesOptions, type QueueLimits, type WorkflowQueuesOptions } from './queue_options.js';

/**
 * How long a freed concurrency row nothing here waits for is kept for the next attempt (ms; at
 * most pollMs: a member blocked by the limit says so at once and gets it, and one whose store has
 * no wakes would only have learnt of it on its poll).
 */
const LINGER_MS = 100;

/** The prefix of the queues' wakes (`wfq:["free", queue]`, `wfq:["want", queue, owner]`). */
const WAKE = 'wfq:';

/** The queue of a step that names none (nor does its kind): every member serves it; no limits unless set. */
export const DEFAULT_QUEUE = 'default';

/** One attempt waiting for a slot, as `describe()` and `workflows.queue(name).waiting()` show it. */
export interface QueuedWork {
  readonly queue: string;
  /** The member it waits on (where its body runs). */
  readonly member: string;
  /** Its place among that member's waiting work of the queue, from 1. */
  readonly position: number;
  readonly kind: string;
  readonly id: string;
  /** The step's name and operation number. */
  readonly step: string;
  readonly seq: number;
  readonly attempt: number;
  readonly priority: number;
  /** Since when it waits (epoch ms). */
  readonly since: number;
  /** What holds it: "waiting for queue gpu: the concurrency limit (2) is reached", "…: this member does not serve it". */
  readonly waiting: string;
}

/** A slot held by a running attempt: {@link QueueSlot.release} gives it back (once). */
export interface QueueSlot {
  release(): void;
}

/** What a waiting attempt asks for. */
export interface SlotRequest {
  readonly queue: string;
  readonly priority: number;
  readonly kind: string;
  readonly id: string;
  readonly step: string;
  readonly seq: number;
  readonly attempt: number;
  readonly since: number;
}

interface Waiter extends SlotRequest {
  readonly resolve: (slot: QueueSlot) => void;
}

/** An activity's attempt waiting for a live member that serves its queue. */
interface RouteWaiter extends SlotRequest {
  readonly resolve: (member: string) => void;
}

/** What the queues need of their runtime (the entities runtime). */
export interface QueueHost {
  readonly store: EntityStore;
  /** The runtime's lease owner string (unique per start). */
  readonly owner: string;
  readonly leaseTtlMs: number;
  readonly log: Log;
  /** The workflow kind `name` hosted here (an activity's, run here for another member). */
  kind(name: string): unknown;
  /** A live member other than this one that serves `queue` (activities.ts), or undefined. */
  findServer(queue: string): Promise<string | undefined>;
  /** Calls `request` to `member`'s entities manager (activities.ts). */
  call(member: string, request: unknown, timeoutMs?: number): Promise<unknown>;
  /** This node's name, and the live members (this node included when it is one). */
  readonly node: string;
  members(): string[];
  /** A client-only node (`role: 'client'`): it serves no queue and runs no step. */
  readonly client?: boolean;
}

/** A queue as the live members see it ({@link WorkflowQueueView.cluster}). */
export interface QueueInCluster {
  readonly name: string;
  /** Its limits, as the members that answered know them (every member is given the same). */
  readonly limits: QueueLimits;
  /** The live members that serve it, sorted. */
  readonly servedBy: readonly string[];
  /** Its attempts holding a slot on the members now, summed. */
  readonly running: number;
  /** The members that answered, and the live ones that did not within 5 s (left out), sorted. */
  readonly members: readonly string[];
  readonly missing: readonly string[];
}

/** One member's {@link WorkflowQueues.overview} row. */
type QueueRow = { name: string; limits: QueueLimits; served: boolean; running: number };

/** One queue on one member: its waiting attempts, in order, and the slots held here. */
class Gate {
  readonly waiters: Waiter[] = [];
  /** Activities' attempts waiting for a serving member (this one does not serve the queue). */
  readonly routing: RouteWaiter[] = [];
  finding = false;
  running = 0;
  /** Slot keys of `~queue:<name>` held here, with their fencing tokens. */
  readonly held = new Map<string, number>();
  pumping = false;
  again = false;
  /** What holds the head of the queue (shown with every waiter). */
  blocked = 'its turn has not come';
  poll: ReturnType<typeof setTimeout> | undefined;
  /** Slot keys held here that no attempt runs on (see LINGER_MS), and when they are given back. */
  readonly idle: string[] = [];
  linger: ReturnType<typeof setTimeout> | undefined;
  /** When another member last said it waits for a slot (a wake `want`), and when this one did (ms). */
  wantedAt = 0;
  wantSent = 0;
  constructor(
    readonly name: string,
    readonly limits: QueueLimits,
  ) {}
}

/** The queues of one entities runtime (see the top of this file). */
export class WorkflowQueues {
  readonly #host: QueueHost;
  readonly #serve: ReadonlySet<string> | undefined;
  readonly #limits: Readonly<Record<string, QueueLimits>>;
  readonly #pollMs: number;
  readonly #gates = new Map<string, Gate>();
  #rates = 0;
  #renewing: ReturnType<typeof setInterval> | undefined;
  #stopped = false;
  /** Stops listening to the store's wakes (set once a queue with a concurrency limit is used). */
  #unlisten: (() => void) | undefined;

  /** `options` checked by {@link checkQueuesOptions}. */
  constructor(host: QueueHost, options: WorkflowQueuesOptions = {}) {
    this.#host = host;
    this.#serve = options.serve === undefined ? undefined : new Set([DEFAULT_QUEUE, ...options.serve]);
    this.#limits = options.queues ?? {};
    this.#pollMs = options.pollMs ?? 100;
    // Listening from the start: a slot another member frees is heard by the first attempt waiting here.
    if (Object.values(this.#limits).some((l) => l.concurrency !== undefined)) this.#listen();
  }

  #listen(): void {
    if (this.#unlisten !== undefined || this.#stopped || this.#host.client === true) return;
    this.#unlisten = this.#host.store.wakes?.listen((topic) => this.#heard(topic)) ?? (() => undefined);
  }

  /** Whether this member runs steps of `queue` (a client-only node runs none). */
  serves(queue: string): boolean {
    if (this.#host.client === true) return false;
    return this.#serve === undefined || this.#serve.has(queue);
  }

  /** The queues this member serves (undefined: every one; a client-only node: none). */
  get served(): readonly string[] | undefined {
    if (this.#host.client === true) return [];
    return this.#serve === undefined ? undefined : [...this.#serve];
  }

  /** Whether this is a client-only node's (it serves nothing; the members answer for its queues). */
  get client(): boolean {
    return this.#host.client === true;
  }

  /** The limits of `queue` ({} when none were set). */
  limits(queue: string): QueueLimits {
    return this.#limits[queue] ?? {};
  }

  /** Whether an attempt of `queue` runs at once without asking anything (served, no limit). */
  free(queue: string): boolean {
    const l = this.#limits[queue];
    return this.serves(queue) && (l === undefined || (l.concurrency ?? l.perMember ?? l.rate) === undefined);
  }

  #gate(queue: string): Gate {
    let g = this.#gates.get(queue);
    if (g === undefined) this.#gates.set(queue, (g = new Gate(queue, this.limits(queue))));
    return g;
  }

  /** A wake from a member (this one included): a slot freed, or another member waiting for one. */
  #heard(topic: string): void {
    if (!topic.startsWith(WAKE) || this.#stopped) return;
    let what: unknown;
    try {
      what = JSON.parse(topic.slice(WAKE.length));
    } catch {
      return;
    }
    if (!Array.isArray(what) || typeof what[1] !== 'string') return;
    const g = this.#gates.get(what[1]);
    if (g === undefined) return;
    if (what[0] === 'free' && g.waiters.length > 0) this.#pump(g);
    else if (what[0] === 'want' && what[2] !== this.#host.owner) {
      g.wantedAt = Date.now();
      this.#giveIdle(g);
    }
  }

  #wake(what: readonly string[]): void {
    this.#host.store.wakes?.wake(WAKE + JSON.stringify(what));
  }

  /** Whether another member said lately that it waits for a slot of `g` (within two polls). */
  #contended(g: Gate): boolean {
    return Date.now() - g.wantedAt < 2 * this.#pollMs;
  }

  /**
   * Waits for a slot of `r.queue` in priority order: `resolve` gets it when granted. Returns a
   * cancel (the run ended, the step was cancelled): the attempt leaves the queue (a slot granted
   * after it left is given back by its caller: {@link waitForSlot}).
   */
  take(r: SlotRequest, resolve: (slot: QueueSlot) => void): () => void {
    const g = this.#gate(r.queue);
    const w: Waiter = { ...r, resolve };
    let i = g.waiters.findIndex((o) => o.priority > w.priority);
    if (i < 0) i = g.waiters.length;
    g.waiters.splice(i, 0, w);
    this.#pump(g);
    return () => {
      const at = g.waiters.indexOf(w);
      if (at >= 0) g.waiters.splice(at, 1);
    };
  }

  /**
   * Waits for a live member that serves `r.queue` (an activity this member cannot run): resolves
   * with its name. Returns a cancel, as {@link take}'s.
   */
  route(r: SlotRequest, resolve: (member: string) => void): () => void {
    const g = this.#gate(r.queue);
    const w: RouteWaiter = { ...r, resolve };
    g.routing.push(w);
    void this.#find(g);
    return () => {
      const at = g.routing.indexOf(w);
      if (at >= 0) g.routing.splice(at, 1);
    };
  }

  /** Calls `request` to `member`'s entities manager (an activity's attempt there). */
  call(member: string, request: unknown, timeoutMs?: number): Promise<unknown> {
    return this.#host.call(member, request, timeoutMs);
  }

  /** The workflow kind `name` hosted here (undefined: none). */
  kind(name: string): unknown {
    return this.#host.kind(name);
  }

  /** Looks for a serving member while activities wait for one (every `pollMs`). */
  async #find(g: Gate): Promise<void> {
    if (g.finding) return;
    g.finding = true;
    try {
      while (g.routing.length > 0 && !this.#stopped) {
        const member = await this.#host.findServer(g.name).catch(() => undefined);
        if (member !== undefined) {
          for (const w of g.routing.splice(0)) w.resolve(member);
          return;
        }
        await new Promise((r) => setTimeout(r, this.#pollMs).unref?.());
      }
    } finally {
      g.finding = false;
    }
  }

  /** The attempts waiting on this member (of `queue`, or of every queue), in order. */
  waiting(queue?: string): QueuedWork[] {
    const out: QueuedWork[] = [];
    for (const g of this.#gates.values()) {
      if (queue !== undefined && g.name !== queue) continue;
      const node = this.#host.node;
      g.waiters.forEach((w, i) => out.push(shown(g, node, w, i)));
      g.routing.forEach((w, i) => out.push(shown(g, node, w, g.waiters.length + i, 'no live member serves it')));
    }
    return out;
  }

  /**
   * {@link waiting} of `queue` (or of every queue) on every live member (asked through their
   * managers, `timeoutMs` each: one that does not answer is left out), this one's first: what
   * waits in the cluster (a client-only node's own is nothing).
   */
  async waitingEverywhere(queue?: string, timeoutMs = 5000): Promise<QueuedWork[]> {
    const request = { '~wfq': 'waiting', ...(queue === undefined ? {} : { queue }) };
    const theirs = await this.#askMembers(request, timeoutMs);
    return [...this.waiting(queue), ...theirs.flatMap(([, ws]) => (Array.isArray(ws) ? (ws as QueuedWork[]) : []))];
  }

  /**
   * The queues the live members know (this one's {@link overview} among them when it is one), each
   * with its limits, the members serving it and the attempts running on them summed, the default
   * first: what a client-only node tells of its queues.
   */
  async overviewEverywhere(queue?: string): Promise<QueueInCluster[]> {
    const h = this.#host;
    const asked = h.members().filter((m) => m !== h.node);
    const answers = await this.#askMembers({ '~wfq': 'queues', ...(queue === undefined ? {} : { queue }) });
    const rows: [string, QueueRow[]][] = answers.filter((a): a is [string, QueueRow[]] => Array.isArray(a[1]));
    if (!this.client) rows.unshift([h.node, this.overview(queue)]);
    const byName = new Map<string, { limits: QueueLimits; servedBy: string[]; running: number }>();
    for (const [member, queues] of rows)
      for (const q of queues) {
        const o = byName.get(q.name) ?? { limits: q.limits, servedBy: [], running: 0 };
        byName.set(q.name, o);
        if (q.served) o.servedBy.push(member);
        o.running += q.running;
      }
    const members = rows.map(([m]) => m).sort();
    const missing = asked.filter((m) => !members.includes(m)).sort();
    const names = [...byName.keys()].filter((n) => n !== DEFAULT_QUEUE).sort();
    if (byName.has(DEFAULT_QUEUE)) names.unshift(DEFAULT_QUEUE);
    return names.map((name) => {
      const o = byName.get(name)!;
      return { name, limits: o.limits, servedBy: o.servedBy.sort(), running: o.running, members, missing };
    });
  }

  /** Asks every live member but this one `request` (`timeoutMs` each): the answers of those that gave one. */
  async #askMembers(request: unknown, timeoutMs = 5000): Promise<[string, unknown][]> {
    const h = this.#host;
    const others = h.members().filter((m) => m !== h.node);
    const answers = await Promise.all(
      others.map((m) =>
        h.call(m, request, timeoutMs).then(
          (v): [string, unknown] | undefined => [m, v],
          () => undefined,
        ),
      ),
    );
    return answers.filter((a) => a !== undefined);
  }

  /** Where attempt `seq` of `kind`/`id` waits, if it does. */
  place(kind: string, id: string, seq: number): QueuedWork | undefined {
    return this.waiting().find((w) => w.kind === kind && w.id === id && w.seq === seq);
  }

  /** How many attempts of `queue` run on this member now. */
  runningHere(queue: string): number {
    return this.#gates.get(queue)?.running ?? 0;
  }

  /**
   * The queues this member knows (the default, those it serves, those given limits, those a step
   * asked for; and `also`, when given), the default first: each with its limits, whether it is
   * served here, and how many of its attempts run here now.
   */
  overview(also?: string): QueueRow[] {
    const names = new Set([...(this.#serve ?? []), ...Object.keys(this.#limits), ...this.#gates.keys()]);
    if (also !== undefined) names.add(also);
    names.delete(DEFAULT_QUEUE);
    return [DEFAULT_QUEUE, ...[...names].sort()].map((name) => ({
      name,
      limits: this.limits(name),
      served: this.serves(name),
      running: this.runningHere(name),
    }));
  }

  /** Stops polling and renewing (the runtime stops); slots held end with their ttl. */
  stop(): void {
    this.#stopped = true;
    this.#unlisten?.();
    for (const g of this.#gates.values()) {
      if (g.poll !== undefined) clearTimeout(g.poll);
      this.#giveIdle(g);
    }
    if (this.#renewing !== undefined) clearInterval(this.#renewing);
    this.#renewing = undefined;
  }

  /** Grants slots to the waiters at the head of `g` while the limits allow (one pump at a time). */
  #pump(g: Gate): void {
    if (g.pumping) {
      g.again = true;
      return;
    }
    g.pumping = true;
    this.#grant(g)
      .catch((e: unknown) => {
        this.#host.log.warning('workflow queue %s: taking a slot failed: %s', g.name, describeThrown(e));
        this.#later(g);
      })
      .finally(() => {
        g.pumping = false;
        if (g.again) {
          g.again = false;
          this.#pump(g);
        }
      });
  }

  async #grant(g: Gate): Promise<void> {
    const l = g.limits;
    while (g.waiters.length > 0 && !this.#stopped) {
      if (!this.serves(g.name)) return void (g.blocked = 'this member does not serve it');
      if (l.perMember !== undefined && g.running >= l.perMember)
        return void (g.blocked = `the per-member limit (${l.perMember}) is reached`);
      let slot: [string, number] | undefined;
      if (l.concurrency !== undefined) {
        slot = this.#idleSlot(g) ?? (await this.#takeSlot(g, l.concurrency));
        if (slot === undefined) {
          g.blocked = `the concurrency limit (${l.concurrency}) is reached`;
          if (Date.now() - g.wantSent >= this.#pollMs) {
            g.wantSent = Date.now();
            this.#wake(['want', g.name, this.#host.owner]);
          }
          return this.#later(g);
        }
      }
      if (l.rate !== undefined && !(await this.#takeRate(g, l.rate))) {
        if (slot !== undefined) this.#giveBack(g, slot[0], slot[1]);
        g.blocked = `the rate limit (${l.rate.limit} per ${l.rate.periodMs} ms) is reached`;
        return this.#later(g);
      }
      // The head now (a waiter of higher priority may have come, the one before may have left).
      const w = g.waiters.shift();
      if (w === undefined) {
        if (slot !== undefined) this.#giveBack(g, slot[0], slot[1]);
        return;
      }
      g.running++;
      g.blocked = 'its turn has not come';
      this.#granted(g, w, slot);
    }
  }

  /** Gives `w` its slot (`slot`: the concurrency row it holds, if any) and what gives it back. */
  #granted(g: Gate, w: Waiter, slot: [string, number] | undefined): void {
    let released = false;
    w.resolve({
      release: () => {
        if (released) return;
        released = true;
        if (slot !== undefined && this.#handOn(g, slot)) return;
        g.running--;
        if (slot !== undefined && this.#keep(g, slot)) return;
        if (slot !== undefined) this.#giveBack(g, slot[0], slot[1], true);
        // Contended: the wake of the slot given back pumps here as on the other members (a fair race).
        if (slot === undefined || !this.#contended(g) || this.#host.store.wakes === undefined) this.#pump(g);
      },
    });
  }

  /**
   * Hands a freed concurrency row on to the head of `g`'s line, still held under its token (no
   * store operation): false when nothing here may take it (none waits, a rate limit needs its own
   * row, the row was lost) or another member waits for a slot.
   */
  #handOn(g: Gate, slot: [string, number]): boolean {
    if (this.#stopped || g.waiters.length === 0 || g.limits.rate !== undefined || !this.serves(g.name)) return false;
    if (g.held.get(slot[0]) !== slot[1] || this.#contended(g)) return false;
    const w = g.waiters.shift()!;
    this.#granted(g, w, slot);
    return true;
  }

  /**
   * Keeps a freed concurrency row idle here for the next attempt (see LINGER_MS): false when it
   * goes back to the store instead (stopping, a rate limit, the row lost, another member waiting).
   */
  #keep(g: Gate, slot: [string, number]): boolean {
    if (this.#stopped || g.waiters.length > 0 || g.limits.rate !== undefined || this.#contended(g)) return false;
    if (g.held.get(slot[0]) !== slot[1]) return false;
    g.idle.push(slot[0]);
    g.linger ??= setTimeout(
      () => {
        g.linger = undefined;
        this.#giveIdle(g);
      },
      Math.min(LINGER_MS, this.#pollMs),
    );
    g.linger.unref?.();
    return true;
  }

  /** An idle row held here, taken for an attempt (no store operation), or undefined. */
  #idleSlot(g: Gate): [string, number] | undefined {
    for (let key = g.idle.pop(); key !== undefined; key = g.idle.pop()) {
      const token = g.held.get(key);
      if (token !== undefined) return [key, token];
    }
    return undefined;
  }

  /** Gives the idle rows held here back to the store, waking the members waiting for one. */
  #giveIdle(g: Gate): void {
    if (g.linger !== undefined) clearTimeout(g.linger);
    g.linger = undefined;
    for (const key of g.idle.splice(0)) {
      const token = g.held.get(key);
      if (token !== undefined) this.#giveBack(g, key, token, true);
    }
  }

  /** Takes a free `~queue:<name>` slot row (one not held here; from a random one on), or none. */
  async #takeSlot(g: Gate, n: number): Promise<[string, number] | undefined> {
    const h = this.#host;
    const start = Math.floor(Math.random() * n);
    for (let i = 0; i < n; i++) {
      const key = String((start + i) % n);
      if (g.held.has(key)) continue; // ours already (the store would give it to its owner again)
      const r = await h.store.acquire({ kind: `~queue:${g.name}`, key, owner: h.owner, ttlMs: h.leaseTtlMs });
      if (!r.acquired) continue;
      g.held.set(key, r.token);
      this.#renewSoon();
      return [key, r.token];
    }
    return undefined;
  }

  /** Takes a free `~rate:<name>` row for `periodMs`, under an owner of its own (never given back). */
  async #takeRate(g: Gate, rate: { limit: number; periodMs: number }): Promise<boolean> {
    const h = this.#host;
    const owner = `${h.owner}~r${this.#rates++}`;
    const start = Math.floor(Math.random() * rate.limit);
    for (let i = 0; i < rate.limit; i++) {
      const key = String((start + i) % rate.limit);
      const r = await h.store.acquire({ kind: `~rate:${g.name}`, key, owner, ttlMs: rate.periodMs });
      if (r.acquired) return true;
    }
    return false;
  }

  /** Gives a concurrency row back to the store; `wake`: then wakes the members waiting for one. */
  #giveBack(g: Gate, key: string, token: number, wake = false): void {
    if (g.held.get(key) !== token) return;
    g.held.delete(key);
    this.#host.store.release({ kind: `~queue:${g.name}`, key }, token).then(
      () => {
        if (wake && !this.#stopped) this.#wake(['free', g.name]);
      },
      (e: unknown) => {
        this.#host.log.warning('workflow queue %s: releasing slot %s failed: %s', g.name, key, describeThrown(e));
      },
    );
  }

  /** Asks again after `pollMs` (a slot held on another member, a rate window not passed). */
  #later(g: Gate): void {
    if (g.poll !== undefined || this.#stopped) return;
    g.poll = setTimeout(() => {
      g.poll = undefined;
      this.#pump(g);
    }, this.#pollMs);
    g.poll.unref?.();
  }

  /** Renews the slots held here every third of their ttl while any is held. */
  #renewSoon(): void {
    if (this.#renewing !== undefined || this.#stopped) return;
    this.#renewing = setInterval(() => void this.#renew(), Math.max(1, Math.floor(this.#host.leaseTtlMs / 3)));
    this.#renewing.unref?.();
  }

  async #renew(): Promise<void> {
    const h = this.#host;
    let any = false;
    for (const g of this.#gates.values()) {
      if (g.held.size === 0) continue;
      any = true;
      try {
        const lost = await h.store.renew(`~queue:${g.name}`, h.owner, new Map(g.held), h.leaseTtlMs);
        // Lost (this member was paused past its ttl): another member may hold it now; the attempt runs on.
        for (const key of lost) {
          h.log.warning('workflow queue %s: slot %s was lost (its lease ended)', g.name, key);
          g.held.delete(key);
        }
      } catch (e) {
        h.log.warning('workflow queue %s: renewing slots failed: %s', g.name, describeThrown(e));
      }
    }
    if (!any && this.#renewing !== undefined) {
      clearInterval(this.#renewing);
      this.#renewing = undefined;
    }
  }
}

function shown(g: Gate, member: string, w: SlotRequest, i: number, blocked = g.blocked): QueuedWork {
  return {
    queue: w.queue,
    member,
    position: i + 1,
    kind: w.kind,
    id: w.id,
    step: w.step,
    seq: w.seq,
    attempt: w.attempt,
    priority: w.priority,
    since: w.since,
    waiting: `waiting for queue ${w.queue}: ${blocked}`,
  };
}

const registry = new WeakMap<object, WorkflowQueues>();

/** Registers the queues of runtime `rt` (its constructor, from the `workflowQueues` option). */
export function registerQueues(rt: object, host: QueueHost, options: WorkflowQueuesOptions | undefined): void {
  checkQueuesOptions(options);
  registry.set(rt, new WorkflowQueues(host, options));
}

/** The queues of runtime `rt` (a runtime registered none: every queue served, no limits). */
export function queuesOf(rt: object): WorkflowQueues | undefined {
  return registry.get(rt);
}

/** What a step names of its queue (its options', else its kind's). */
export interface QueueChoice {
  readonly queue?: string | undefined;
  readonly priority?: number | undefined;
}

/**
 * Waits for a slot of the queue of attempt `attempt` of step `name` (operation `seq`): undefined at
 * once when its queue has no limit and is served here (no store operation). The wait is the run's:
 * its end (or, `cancellable`, a cancel) rejects it, and the attempt leaves the queue; so does the
 * step's scheduleToStartTimeoutMs (`start`) once past.
 */
export async function waitForSlot(
  ops: RunOps,
  seq: number,
  name: string,
  attempt: number,
  choice: QueueChoice,
  cancellable: boolean,
  route?: { member?: string | undefined; priority?: number; seq?: number },
  start?: { readonly by: number; readonly ms: number },
): Promise<QueueSlot | undefined> {
  const h = ops.host;
  const bounded =
    <T>(why: string, wait: (resolve: (v: T) => void) => () => void) =>
    (resolve: (v: T) => void, reject: (e: Error) => void): (() => void) => {
      const leave = wait(resolve);
      if (start === undefined) return leave;
      const t = h.clock.setTimeout(() => reject(notStarted(name, start.ms, why)), timerMs(start.by - h.clock.now()));
      return () => {
        h.clock.clearTimeout(t);
        leave();
      };
    };
  const queue = choice.queue ?? h.spec.queue ?? DEFAULT_QUEUE;
  const queues = queuesOf(h.entities);
  const priority = choice.priority ?? h.spec.priority ?? 0;
  const request = { queue, priority, kind: h.spec.name, id: h.id, step: name, seq, attempt, since: h.clock.now() };
  if (route !== undefined) {
    // An activity: run here when this member serves its queue, else on a member that does (its slot taken there).
    route.member = undefined;
    route.priority = priority;
    route.seq = seq;
    if (queues !== undefined && !queues.serves(queue)) {
      const why = `no live member serves queue ${queue}`;
      route.member = await ops.waitFor<string>(
        bounded(why, (resolve) => queues.route(request, resolve)),
        cancellable,
      );
      return undefined;
    }
  }
  if (queues === undefined || queues.free(queue)) return undefined;
  let granted: QueueSlot | undefined;
  let left = false;
  try {
    const why = `queue ${queue} gave it no slot`;
    return await ops.waitFor<QueueSlot>(
      bounded(why, (resolve) => {
        const leave = queues.take(request, (slot) => {
          // Granted after the wait ended (the run's end, a cancel, its start timeout): given back.
          if (left) slot.release();
          else resolve((granted = slot));
        });
        return () => {
          left = true;
          leave();
        };
      }),
      cancellable,
    );
  } catch (e) {
    granted?.release();
    throw e;
  }
}

/** The attempts of instance `kind`/`id` waiting for a slot on runtime `rt`, as describe() shows them. */
export function queuedSteps(rt: object, kind: string, id: string): WorkflowRunningOperation[] {
  const queues = queuesOf(rt);
  if (queues === undefined) return [];
  return queues
    .waiting()
    .filter((w) => w.kind === kind && w.id === id)
    .map((w) => ({
      s: w.seq,
      t: 'step' as const,
      n: w.step,
      attempt: w.attempt,
      startedAt: w.since,
      queued: { queue: w.queue, position: w.position, priority: w.priority, waiting: w.waiting },
    }));
}

/** A queue as one member sees it ({@link WorkflowClient.queue}). */
export interface WorkflowQueueView {
  readonly name: string;
  /**
   * Its limits as this node was given them (`workflowQueues.queues`; every member is given the
   * same). A client-only node, which takes no slot, may be given none: {@link cluster} asks the members.
   */
  readonly limits: QueueLimits;
  /** Whether this member runs its steps (a client-only node: false, it runs none). */
  readonly served: boolean;
  /** How many of its attempts run on this member now. */
  running(): number;
  /**
   * The queue as the live members see it, asked through their entities managers (this node's
   * own figures among them when it is a member; one that does not answer within 5 s is named
   * `missing`): its limits, the members that serve it, its attempts running on them.
   */
  cluster(): Promise<QueueInCluster>;
  /**
   * The attempts waiting for a slot on every live member (each asked through its entities
   * manager; one that does not answer within 5 s is left out), each with its member and its place
   * there, in the order each member grants them.
   */
  waiting(): Promise<QueuedWork[]>;
}

/** Queue `name` of runtime `rt` (a runtime with no queues registered: served, unlimited, idle). */
export function queueView(rt: object, name: string): WorkflowQueueView {
  const q = queuesOf(rt);
  return {
    name,
    limits: q?.limits(name) ?? {},
    served: q?.serves(name) ?? true,
    running: () => q?.runningHere(name) ?? 0,
    waiting: async () => (q === undefined ? [] : q.waitingEverywhere(name)),
    cluster: async () => {
      const all = q === undefined ? [] : await q.overviewEverywhere(name);
      // A queue no member knows yet: no limits, nobody serving it (the members asked, as for any other).
      const known = all.find((x) => x.name === name);
      const asked = { members: all[0]?.members ?? [], missing: all[0]?.missing ?? [] };
      return known ?? { name, limits: {}, servedBy: [], running: 0, ...asked };
    },
  };
}
