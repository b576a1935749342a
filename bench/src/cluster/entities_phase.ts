// The cluster-scale harness's entities phase (issue 49: "entities across N: 10,000 keys, rebalance
// time and moved keys when 10 nodes join or drain"; kill -9 "until entities keys of the dead
// nodes are served again"), ergo-ts only, opt-in (`--entities K`). Every node runs an
// `@ergo-ts/entities` runtime on one PostgreSQL server in a test host of its own
// (scale_entities.ts: a counter kind whose calls answer the new value and the node that ran
// them). harness.ts calls its steps between its own phases:
//
// - activate: every node starts its runtime; then K keys, each node calling a slice of them once
//   (ENTITY_INFLIGHT at a time): activations/s and latency. Each activation is the key's first
//   call: its shard's lease the first time, the state read, one write;
// - join: the harness starts its joiners with the runtime already up (they report ready after
//   it); from their start, rounds of calls (every key once, from the nodes already there) until a
//   whole round is answered by the owners placement gives among all nodes: the time until the
//   last key's streak of answers from its new owner began, how many keys moved, against what
//   placement predicts and the naive K·j/(N+j);
// - drain: `drained` nodes stop (node.stop() drains their runtime: its keys hand off), the same
//   rounds from the nodes that stay until every key is served by its owner among them;
// - kill -9 (each round of the harness): from the kill, rounds over the keys the victims served
//   (from the survivors) until each answers from its owner among the survivors — the runtime
//   takes over a dead member's shard leases at once (leases.ts, `dead`), not after their TTL;
// - finish: every key once more from the nodes left.
//
// Every answer goes through a KeyBook (entity_keys.ts): a counter value that did not grow is an
// acknowledged write lost, counted over the whole phase (`lostWrites`, which must be 0). Failed
// calls are counted by error code in each step's figures; a rebalance that does not settle within
// SETTLE_MS leaves its time undefined and says how many keys were still elsewhere.

import { SCALE_SHARDS } from './scale_entities.js';
import { expectedOwners, keyNames, KeyBook, movedKeys, Settling, type KeyAnswer } from './entity_keys.js';
import type { ErgoMember } from './members.js';

/** Calls each node has in flight in the phase's rounds. */
export const ENTITY_INFLIGHT = 8;
/** How long a join, drain or kill has for every key to be served by its new owner. */
const SETTLE_MS = 60_000;

const wall = (): number => performance.timeOrigin + performance.now();

/** One round of calls: every key given called once. */
export interface EntityRoundFigures {
  calls: number;
  failed: number;
  failedBy: Record<string, number>;
  /** From the first call until the last answer. */
  ms: number;
  /** Calls that succeeded, per second. */
  perSecond: number;
  /** Latency of the calls that succeeded, ms. */
  p50Ms: number;
  p99Ms: number;
}

/** How keys settled on their new owners while rounds of calls ran (a rebalance, a kill's recovery). */
export interface SettlingFigures {
  /** Keys not served by their owner when it ended. */
  unsettled: number;
  /** With keys unsettled: from the change until the last of the others settled. */
  settledOthersMs?: number;
  /** Latency of the calls that succeeded meanwhile, ms. */
  p50Ms: number;
  p99Ms: number;
  /** Rounds run, and their mean length (the time's resolution). */
  rounds: number;
  roundMs: number;
  calls: number;
  failedBy: Record<string, number>;
}

/** Keys moving to new owners after nodes joined or drained. */
export interface RebalanceFigures extends SettlingFigures {
  /** Nodes that joined or drained. */
  nodes: number;
  /** Live members after it. */
  members: number;
  /** From the change until the last key's streak of answers from its new owner began (undefined: not within 60 s). */
  ms?: number;
  /** (drain) From the stop until every drained node said it stopped. */
  stopMs?: number;
  /** Keys answered by another node than before. */
  moved: number;
  /** Keys whose owner placement changes (what should move). */
  expectedMoved: number;
  /** K·j/(N+j) for a join, K·d/N for a drain. */
  naiveMoved: number;
}

/** The keys of killed nodes served again by survivors. */
export interface KillRecoveryFigures extends SettlingFigures {
  /** Nodes killed. */
  count: number;
  /** Keys they served. */
  keys: number;
  /** From the kill until the last of those keys' streak of answers from its new owner began (undefined: not within 60 s). */
  ms?: number;
}

/** What the entities phase measured. */
export interface EntitiesFigures {
  keys: number;
  shards: number;
  /** The first call of every key. */
  activation: EntityRoundFigures;
  join?: RebalanceFigures;
  drain?: RebalanceFigures;
  kills: KillRecoveryFigures[];
  /** Every key once more at the end, from the nodes left. */
  final?: EntityRoundFigures;
  /** Acknowledged writes lost (a counter that did not grow), over the whole phase. */
  lostWrites: number;
}

/** What a wait for keys to settle found. */
interface Settled {
  ms?: number;
  settledOthersMs?: number;
  rounds: number;
  roundMs: number;
  calls: number;
  failedBy: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
}

/** What one round of calls returned, merged. */
interface Round {
  calls: number;
  failedBy: Record<string, number>;
  ms: number;
  lat: number[];
}

function add(into: Record<string, number>, from: Record<string, number>): void {
  for (const [code, k] of Object.entries(from)) into[code] = (into[code] ?? 0) + k;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function roundFigures(r: Round): EntityRoundFigures {
  const failed = Object.values(r.failedBy).reduce((s, k) => s + k, 0);
  const lat = [...r.lat].sort((a, b) => a - b);
  return {
    calls: r.calls,
    failed,
    failedBy: r.failedBy,
    ms: r.ms,
    perSecond: ((r.calls - failed) / r.ms) * 1000,
    p50Ms: percentile(lat, 0.5) / 1000,
    p99Ms: percentile(lat, 0.99) / 1000,
  };
}

/** Options of {@link EntitiesPhase}. */
export interface EntitiesPhaseOptions {
  /** How many keys (K). */
  keys: number;
  /** The shared store's postgres:// URL. */
  url: string;
  /** The runtime's members when they are configured (the embedded registrar); undefined: the registrar's. */
  members?: readonly string[];
  /** Each entity call's timeout, ms. */
  callTimeout: number;
  log: (line: string) => void;
}

/** The entities phase of one run (see the file's header); harness.ts calls its steps in order. */
export class EntitiesPhase {
  readonly names: string[];
  readonly book: KeyBook;
  readonly #o: EntitiesPhaseOptions;
  #activation: EntityRoundFigures | undefined;
  #join: RebalanceFigures | undefined;
  #drain: RebalanceFigures | undefined;
  readonly #kills: KillRecoveryFigures[] = [];

  constructor(o: EntitiesPhaseOptions) {
    this.#o = o;
    this.names = keyNames(o.keys);
    this.book = new KeyBook(o.keys);
  }

  /** Starts every node's runtime, then calls every key once (its activation). */
  async activate(members: readonly ErgoMember[]): Promise<void> {
    await Promise.all(members.map((m) => m.startEntities(this.#o.url, this.#o.members)));
    const all = this.names.map((_, i) => i);
    const r = await this.#round(members, all);
    this.#activation = roundFigures(r);
    const f = this.#activation;
    this.#o.log(
      `entities: ${this.#o.keys} keys activated on ${members.length} nodes in ${(f.ms / 1000).toFixed(1)} s, ` +
        `${f.perSecond.toFixed(0)}/s, p50 ${f.p50Ms.toFixed(1)} / p99 ${f.p99Ms.toFixed(1)} ms` +
        `${f.failed > 0 ? ` (${JSON.stringify(f.failedBy)})` : ''}`,
    );
  }

  /**
   * `joiners` were started at `t0` (their runtime up before they report ready): rounds from the
   * nodes already there (`callers`) until every key is served by its owner among `callers` and
   * the joiners.
   */
  async join(callers: readonly ErgoMember[], joiners: readonly ErgoMember[], t0: number): Promise<void> {
    const before = callers.map((m) => m.name);
    const after = [...before, ...joiners.map((m) => m.name)];
    this.#join = await this.#rebalance(
      callers,
      before,
      after,
      t0,
      (this.#o.keys * joiners.length) / after.length,
      joiners,
    );
    this.#logRebalance('join', this.#join);
  }

  /** Stops `drained` (each node's stop drains its runtime) while rounds from `stay` wait for their keys to settle. */
  async drain(stay: readonly ErgoMember[], drained: readonly ErgoMember[]): Promise<void> {
    const before = [...stay, ...drained].map((m) => m.name);
    const after = stay.map((m) => m.name);
    const t0 = wall();
    const stopped = Promise.all(
      // The node answers, then exits: an exit that overtakes the answer is a stop too.
      drained.map((m) =>
        m.stop(60_000).catch((e: unknown) => (m.proc.exitCode !== null ? 'exited' : Promise.reject(e))),
      ),
    ).then(() => wall() - t0);
    const r = await this.#rebalance(stay, before, after, t0, (this.#o.keys * drained.length) / before.length);
    this.#drain = { ...r, stopMs: await stopped };
    this.#logRebalance('drain', this.#drain);
  }

  /** `victims` were killed at `at`: rounds over the keys they served, from `survivors`, until each answers from its new owner. */
  async recover(survivors: readonly ErgoMember[], victims: readonly ErgoMember[], at: number): Promise<void> {
    const keys = this.book.keysOf(new Set(victims.map((v) => v.name)));
    const owners = expectedOwners(
      this.names,
      survivors.map((m) => m.name),
      SCALE_SHARDS,
    );
    const settling = new Settling(new Map(keys.map((k) => [k, owners[k]!])));
    const s = await this.#settle(survivors, keys, settling, at);
    if (s.ms === undefined) await this.#explain(settling, survivors);
    const f: KillRecoveryFigures = {
      count: victims.length,
      keys: keys.length,
      ...s,
      unsettled: settling.unsettled(),
    };
    this.#kills.push(f);
    this.#o.log(
      `entities: the ${f.keys} keys of ${f.count} killed node${f.count === 1 ? '' : 's'} ` +
        `${f.ms === undefined ? `not all served again (${f.unsettled} left${f.settledOthersMs === undefined ? '' : `; the others after ${(f.settledOthersMs / 1000).toFixed(1)} s`})` : `served again after ${(f.ms / 1000).toFixed(1)} s`}, ` +
        `${f.rounds} rounds, ${f.calls} calls${Object.keys(f.failedBy).length > 0 ? ` failed ${JSON.stringify(f.failedBy)}` : ''}`,
    );
  }

  /** Every key once more from `alive`; then the phase's figures. */
  async finish(alive: readonly ErgoMember[]): Promise<EntitiesFigures> {
    const final =
      alive.length > 0
        ? roundFigures(
            await this.#round(
              alive,
              this.names.map((_, i) => i),
            ),
          )
        : undefined;
    if (final !== undefined)
      this.#o.log(
        `entities: final round ${final.calls - final.failed}/${final.calls} ok${final.failed > 0 ? ` ${JSON.stringify(final.failedBy)}` : ''}; ` +
          `${this.book.lost} acknowledged writes lost${this.book.lost > 0 ? `: ${JSON.stringify(this.book.lostSamples)}` : ''}`,
      );
    return {
      keys: this.#o.keys,
      shards: SCALE_SHARDS,
      activation: this.#activation ?? roundFigures({ calls: 0, failedBy: {}, ms: NaN, lat: [] }),
      ...(this.#join === undefined ? {} : { join: this.#join }),
      ...(this.#drain === undefined ? {} : { drain: this.#drain }),
      kills: this.#kills,
      ...(final === undefined ? {} : { final }),
      lostWrites: this.book.lost,
    };
  }

  #logRebalance(what: string, f: RebalanceFigures): void {
    this.#o.log(
      `entities: ${what} of ${f.nodes}: ${f.ms === undefined ? `not settled (${f.unsettled} keys elsewhere${f.settledOthersMs === undefined ? '' : `; the others after ${(f.settledOthersMs / 1000).toFixed(1)} s`})` : `every key on its new owner after ${(f.ms / 1000).toFixed(1)} s`}` +
        `${f.stopMs === undefined ? '' : ` (stopped in ${(f.stopMs / 1000).toFixed(1)} s)`}, ` +
        `${f.moved} keys moved (placement: ${f.expectedMoved}, naive: ${f.naiveMoved.toFixed(0)}), ` +
        `${f.rounds} rounds of ${(f.roundMs / 1000).toFixed(1)} s, ${f.calls} calls (p50 ${f.p50Ms.toFixed(1)} / p99 ${f.p99Ms.toFixed(1)} ms)` +
        `${Object.keys(f.failedBy).length > 0 ? ` failed ${JSON.stringify(f.failedBy)}` : ' ok'}`,
    );
  }

  /**
   * Why a rebalance did not settle: the first keys still elsewhere — who serves them, who should,
   * who holds their shard's lease and whether the node serving them owns that shard in its own
   * view — and how each node sees the members.
   */
  async #explain(settling: Settling, nodes: readonly ErgoMember[]): Promise<void> {
    const stuck = settling.unsettledKeys(5);
    const keys = stuck.map(({ key }) => this.names[key]!);
    const views = await Promise.all(nodes.map((m) => m.entityView(keys).catch((e: unknown) => String(e))));
    for (const { key, expected } of stuck) {
      const name = this.names[key]!;
      const server = this.book.node[key];
      const sv = views[nodes.findIndex((m) => m.name === server)];
      const k = typeof sv === 'string' || sv === undefined ? undefined : sv.keys.find((x) => x.key === name);
      this.#o.log(
        `  ${name}: served by ${server ?? 'none'}, its owner is ${expected}` +
          (k === undefined
            ? ''
            : `; shard ${k.shard}, its lease held by ${k.leaseOwner || 'nobody'}; the server runs it: ${k.here}, routes it to ${k.routesTo}`),
      );
    }
    views.forEach((v, i) => {
      const name = nodes[i]!.name;
      if (typeof v === 'string') return this.#o.log(`  ${name}: ${v}`);
      const missing = nodes.filter((m) => !v.members.includes(m.name)).map((m) => m.name);
      this.#o.log(
        `  ${name}: ${v.members.length} members, ${v.shardsOwned} shards, ${v.active} active${missing.length > 0 ? `; does not count ${missing.join(' ')}` : ''}`,
      );
    });
  }

  async #rebalance(
    callers: readonly ErgoMember[],
    before: readonly string[],
    after: readonly string[],
    t0: number,
    naiveMoved: number,
    others: readonly ErgoMember[] = [],
  ): Promise<RebalanceFigures> {
    const was = [...this.book.node];
    const owners = expectedOwners(this.names, after, SCALE_SHARDS);
    const all = this.names.map((_, i) => i);
    const settling = new Settling(new Map(all.map((k) => [k, owners[k]!])));
    const s = await this.#settle(callers, all, settling, t0);
    if (s.ms === undefined) await this.#explain(settling, [...callers, ...others]);
    return {
      nodes: Math.abs(after.length - before.length),
      members: after.length,
      ...s,
      moved: movedKeys(was, this.book.node),
      expectedMoved: movedKeys(expectedOwners(this.names, before, SCALE_SHARDS), owners),
      naiveMoved,
      unsettled: settling.unsettled(),
    };
  }

  /** Rounds over `keys` from `callers` until `settling` has settled or SETTLE_MS from `t0` passed. */
  async #settle(
    callers: readonly ErgoMember[],
    keys: readonly number[],
    settling: Settling,
    t0: number,
  ): Promise<Settled> {
    const failedBy: Record<string, number> = {};
    const lat: number[] = [];
    let rounds = 0;
    let calls = 0;
    let spent = 0;
    const done = (ms: number | undefined): Settled => {
      lat.sort((a, b) => a - b);
      const others = settling.settledAtOfSettled();
      return {
        ...(ms === undefined ? {} : { ms }),
        ...(ms !== undefined || others === undefined ? {} : { settledOthersMs: Math.max(0, others - t0) }),
        rounds,
        roundMs: rounds === 0 ? 0 : spent / rounds,
        calls,
        failedBy,
        p50Ms: percentile(lat, 0.5) / 1000,
        p99Ms: percentile(lat, 0.99) / 1000,
      };
    };
    if (keys.length === 0) return done(0);
    while (wall() - t0 < SETTLE_MS) {
      const r = await this.#round(callers, keys, settling);
      rounds++;
      calls += r.calls;
      spent += r.ms;
      add(failedBy, r.failedBy);
      for (const x of r.lat) lat.push(x);
      const at = settling.settledAt();
      if (at !== undefined) return done(Math.max(0, at - t0));
    }
    return done(undefined);
  }

  /** Calls each of `keys` once, the keys split among `callers`; every answer goes to the book (and `settling`). */
  async #round(callers: readonly ErgoMember[], keys: readonly number[], settling?: Settling): Promise<Round> {
    const per = Math.ceil(keys.length / callers.length);
    const t0 = wall();
    const slices = callers.map((_, i) => keys.slice(i * per, (i + 1) * per));
    const failedBy: Record<string, number> = {};
    const lat: number[] = [];
    await Promise.all(
      callers.map(async (m, i) => {
        const slice = slices[i]!;
        if (slice.length === 0) return;
        try {
          const a = await m.entityCalls(
            slice.map((k) => this.names[k]!),
            ENTITY_INFLIGHT,
            this.#o.callTimeout,
          );
          add(failedBy, a.failed);
          lat.push(...a.lat);
          slice.forEach((key, j) => {
            const value = a.value[j];
            if (value === null || value === undefined) return settling?.failed(key);
            const answer: KeyAnswer = { key, value, node: a.node[j]!, at: a.at[j]! };
            this.book.record(answer);
            settling?.answer(answer);
          });
        } catch (e) {
          // The caller itself did not answer: its whole slice counts as failed.
          const code = `caller: ${String((e as { code?: unknown }).code ?? (e as Error).message).slice(0, 60)}`;
          failedBy[code] = (failedBy[code] ?? 0) + slice.length;
          for (const key of slice) settling?.failed(key);
        }
      }),
    );
    return { calls: keys.length, failedBy, ms: wall() - t0, lat };
  }
}
