// The overload suite's failover row (suites/workflows_overload.ts `--only=workflows-overload-failover`,
// issue 89: "a Patroni failover at 2× capacity: the engine's part ≤ 1 s as at low load"), ergo-ts
// only. The store is the highly available PostgreSQL of the failover row (@ergo-ts/test-support's
// pg_ha.ts: etcd, three PostgreSQL 15 members under Debian's Patroni with synchronous_mode, HAProxy
// routing to the primary; fsync on here), the overload suite's three members and client-only API
// node on it through HAProxy (lib/workflows_overload_ergo.ts). The steps' `effects` rows go to the
// child's own plain PostgreSQL, so the store alone fails over: what the row times is the engine's.
//
// The cluster's capacity on that store is measured as in the open-loop row (closed loop, 128 in
// flight); then, per round, arrivals at twice it for the window, and a kill -9 of the primary's
// postmaster a third of the way in. Times, from the kill (the signal sent, on the client's clock):
// - the store's own outage: until a member other than the old primary answers Patroni's REST
//   `/primary` (polled every 20 ms, as the low-load row does; Patroni's history time in the note);
// - back to capacity: the first completion of the first 1 s window (stepped by 100 ms from the
//   promotion: as the low-load row looks from the first write on, what the old primary's last
//   backends finished after the kill is not a recovery) whose completions reach 90 % of the rate
//   completed before the kill (from 3 s in to the kill: at 2× offered, what the cluster carries),
//   or of the no-kill control round's rate over the same span when that is lower —
//   its first completion, not its start, so that a burst of held work right after the outage
//   cannot count the window's empty part as recovered;
// - the engine's part: back to capacity − the store's outage, the same subtraction as the low-load
//   row's "first write − Patroni's promotion" (docs/deploy.md), taken at the recovery of the rate
//   rather than at the first write; the first completion after the promotion is reported beside it.
// The cluster is whole again (the old primary a replica) before the next round.

import { copyFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';

import { startPgHa, type PgHa } from '@ergo-ts/test-support';
import pg, { type Pool } from 'pg';

import { median } from './measure.js';
import { failoverMissing } from './pg_failover_row.js';
import type { FigureSpec, Report, SuiteContext } from './types.js';
import {
  buckets,
  byCode,
  capacity,
  longestGap,
  openLoop,
  runAgain,
  total,
  type OverloadTarget,
} from './workflows_open_loop.js';
import { startErgoOverload } from './workflows_overload_ergo.js';
import { backTo } from './workflows_overload_kill.js';
import { overloadSizes } from './workflows_overload_rows.js';

/** The row's table. */
export const G_PGHA = 'workflows overload: Patroni failover at 2× capacity';
export const N_PGHA_OUTAGE = "primary kill -9 → Patroni names the new primary (the store's own outage)";
export const N_PGHA_FIRST = "Patroni's promotion → first workflow completed";
export const N_PGHA_CONTROL = "control, no kill: completed/s from the kill's time to the window's end";
export const N_PGHA_PLAIN = 'primary kill -9 → a plain client commits through HAProxy again';
export const N_PGHA_BACK = 'primary kill -9 → completions back to 90 % of the rate before';
export const N_PGHA_PART = "engine's part (back to 90 % − the store's outage; goal ≤ 1 s)";

/** Issue 89's goal: the engine's part ≤ 1 s, as at low load. */
export const pgHaFigures: FigureSpec[] = [
  { group: G_PGHA, name: N_PGHA_PART, target: { value: 1000, better: 'lower' } },
];

/** The window (ms) whose completions say "back", and its step. */
const BACK_WINDOW_MS = 1000;
const BACK_STEP_MS = 100;
/** The share of the rate before that counts as back. */
const BACK_SHARE = 0.9;
/** Where the rate before starts (ms into the window: the first arrivals' fill not counted). */
const BEFORE_FROM_MS = 3000;

/** What one round's completion times say about its recovery (ms on the round's clock). */
export interface Recovery {
  /** Completions per second from {@link BEFORE_FROM_MS} to the kill. */
  before: number;
  /**
   * Kill → the first completion of the first window from the promotion on back at 90 % of
   * `before` (or of the control's rate, when lower); NaN when none before `until`.
   */
  back: number;
  /** `back` − the store's outage (kill → promotion); NaN when not back. */
  part: number;
  /** Promotion → the first completion after it; NaN when none. */
  firstDone: number;
}

/**
 * The recovery of one round from its completion times `done`, the kill at `kill`, Patroni's
 * promotion at `promoted`, measured until `until` (all ms on one clock); `carried`: the no-kill
 * control's completions per second from the kill's time on (the bar is 90 % of the lower of it and
 * the rate before).
 */
export function recovery(
  done: readonly number[],
  kill: number,
  promoted: number,
  until: number,
  carried = Infinity,
): Recovery {
  const from = Math.min(BEFORE_FROM_MS, kill / 2);
  const before = (done.filter((d) => d > from && d <= kill).length * 1000) / Math.max(1, kill - from);
  // The bar: what the cluster carried before the kill, or what it carries with no kill over the
  // same span (the control round) when that is lower: a rate before still above what the cluster
  // carries (a pipeline filling at 2x) is not a rate any cluster comes back to.
  const bar = Math.min(before, carried);
  const w = bar > 0 ? backTo(done, promoted, until, BACK_SHARE * bar, BACK_WINDOW_MS, BACK_STEP_MS) : NaN;
  // The window's first completion (the window is (start, start + 1 s]).
  const back = Number.isNaN(w) ? NaN : Math.min(...done.filter((d) => d > promoted + w)) - kill;
  const after = done.filter((d) => d > promoted);
  return {
    before,
    back,
    part: back - (promoted - kill),
    firstDone: after.length === 0 ? NaN : Math.min(...after) - promoted,
  };
}

/** Rounds to 3 significant figures for notes. */
const r3 = (x: number): string => (Number.isFinite(x) ? String(Number(x.toPrecision(3))) : String(x));

/** One round's figures (ms from the kill unless said). */
interface Round {
  rec: Recovery;
  outage: number;
  history: number | undefined;
  routed: number;
  /** The plain client's figures (storeProbe). */
  plain: { back: number; before: number; after: number };
  gap: number;
  afterBack: number;
  failed: number;
  refused: number;
  again: number;
  line: string;
}

/** What the kill saw: its times on both clocks, then Patroni's and HAProxy's. */
interface Kill {
  perf: number;
  wall: number;
  seen: Promise<{ promoted: number; routed: number } | { error: unknown }>;
}

/** One commit of the store probe: when it began and ended (performance.now()), and whether it committed. */
interface ProbeCommit {
  from: number;
  to: number;
  ok: boolean;
}

/**
 * A plain client beside the engine: one connection through HAProxy committing a one-row insert
 * every 100 ms (a new connection after a failure), so the store's own answer is timed apart from
 * the engine's — when a client that is not the engine commits again after the kill, and how long
 * a commit takes before and after it.
 */
function storeProbe(url: string): { stop(): Promise<ProbeCommit[]> } {
  const pool = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 2000 });
  pool.on('error', () => undefined);
  const commits: ProbeCommit[] = [];
  let going = true;
  const loop = (async () => {
    await pool.query('create table if not exists probe (at timestamptz not null default now())').catch(() => {});
    while (going) {
      const from = performance.now();
      const ok = await pool.query('insert into probe default values').then(
        () => true,
        () => false,
      );
      commits.push({ from, to: performance.now(), ok });
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    async stop() {
      going = false;
      await loop;
      await pool.end().catch(() => {});
      return commits;
    },
  };
}

/** The probe's figures: kill → its first commit after the kill ended, and commit p50 before / after that. */
function probeFigures(commits: readonly ProbeCommit[], kill: number): { back: number; before: number; after: number } {
  const first = commits.find((c) => c.ok && c.from >= kill);
  const p50 = (xs: ProbeCommit[]): number => median(xs.map((c) => c.to - c.from));
  return {
    back: first === undefined ? NaN : first.to - kill,
    before: p50(commits.filter((c) => c.ok && c.from >= kill - 5000 && c.to < kill)),
    after: first === undefined ? NaN : p50(commits.filter((c) => c.ok && c.from > first.to)),
  };
}

/** The control round: the same arrivals with no fault. */
interface Control {
  /** Completed/s from 3 s in to the kill's time, and from the kill's time to the window's end. */
  before: number;
  after: number;
  line: string;
}

/**
 * A round with no kill (the same arrivals, the same window): whether the rate after the kill's time
 * is back is read against what the cluster does there with no failover at all.
 */
async function controlRound(
  target: OverloadTarget,
  tag: string,
  rate: number,
  windowMs: number,
  drainMs: number,
): Promise<Control> {
  const out = await openLoop([{ rate, ms: windowMs }], drainMs, (k) => target.load(tag, `${tag}.${k}`));
  const at = Math.round(windowMs / 3);
  const from = Math.min(BEFORE_FROM_MS, at / 2);
  const rateIn = (a: number, b: number): number => (out.done.filter((d) => d > a && d <= b).length * 1000) / (b - a);
  const before = rateIn(from, at);
  const after = rateIn(at, windowMs);
  const perS = buckets(
    out.done.filter((d) => d <= windowMs),
    windowMs,
    1000,
  );
  const line =
    `control (no kill): ${r3(before)}/s completed from ${from / 1000} s to ${at / 1000} s, ${r3(after)}/s from there ` +
    `to the window's end; refused ${byCode(out.refused)}; failed ${byCode(out.failed)}; unsettled ${out.unsettled}; ` +
    `completions per s [${perS.join(', ')}]`;
  return { before, after, line };
}

/** How often the members print their figures (net/workflows_overload_member.ts, ERGO_STATS_MS). */
const STATS_MS = 500;

/** One member's figures at one time (a `stats` line). */
interface StatsLine {
  member: string;
  at: number;
  load?: {
    activeRuns: number;
    startsWaiting: number;
    startsRefused: number;
    startsAdmitted?: number;
    startsHeld?: number;
    roomKept?: number;
    retryAfterMs: number;
    stepsWaiting: number;
  };
  started?: number;
  completed?: number;
  remindersFired?: number;
  remindersStanding?: number;
  waitingForStore?: number;
  ops?: Record<string, [number, number, number]>;
  active?: number;
  activations?: number;
  stopped?: number;
  refused?: number;
  handedOff?: number;
  storeInFlight: number;
  storeOldestMs: number;
}

/**
 * The members' figures per second from 2 s before the kill (`killWall`, epoch ms) to 12 s after:
 * runs working / starts waiting / starts refused / activations begun / activations ended / store
 * operations in flight and the oldest one's age (ms), summed over the members (the oldest: their
 * largest), each second's last line of each member; counts since the previous second; then the
 * writes refused as stale and the activations handed off over those seconds (a lease taken over
 * from a live member shows as both).
 */
function statsTimeline(lines: readonly string[], killWall: number): string {
  const all: StatsLine[] = [];
  for (const l of lines) {
    const m = /^stats (\S+) (\d+) (.*)$/.exec(l);
    if (m !== null)
      all.push({ member: m[1]!, at: Number(m[2]), ...(JSON.parse(m[3]!) as Omit<StatsLine, 'member' | 'at'>) });
  }
  const last = (member: string, until: number): StatsLine | undefined =>
    all.filter((x) => x.member === member && x.at <= until).at(-1);
  const members = [...new Set(all.map((x) => x.member))];
  const out: string[] = [];
  for (let s = -2; s <= 12; s++) {
    const now = members.map((m) => last(m, killWall + s * 1000)).filter((x) => x !== undefined);
    const then = members.map((m) => last(m, killWall + (s - 1) * 1000));
    const sum = (f: (x: StatsLine) => number): number => now.reduce((a, x) => a + f(x), 0);
    const delta = (f: (x: StatsLine) => number): number =>
      now.reduce((a, x) => {
        const p = then.find((y) => y?.member === x.member);
        return a + f(x) - (p === undefined ? 0 : f(p));
      }, 0);
    out.push(
      `${s}s ${sum((x) => x.load?.activeRuns ?? 0)}/${sum((x) => x.load?.startsWaiting ?? 0)}/` +
        `${delta((x) => x.load?.startsRefused ?? 0)}/${delta((x) => x.activations ?? 0)}/${delta((x) => x.stopped ?? 0)}/` +
        `${sum((x) => x.storeInFlight)}/${Math.max(0, ...now.map((x) => x.storeOldestMs))}` +
        // The members' own: instances started / completed, starts given room, room kept, reminders
        // fired, due reminders left standing by (their instance runs on its member), activations
        // waiting for the store to answer again.
        ` m${delta((x) => x.started ?? 0)}/${delta((x) => x.completed ?? 0)}/` +
        `${delta((x) => (x.load?.startsAdmitted ?? 0) + (x.load?.startsHeld ?? 0))}/${sum((x) => x.load?.roomKept ?? 0)}/` +
        `${delta((x) => x.remindersFired ?? 0)}/${sum((x) => x.remindersStanding ?? 0)}/${sum((x) => x.waitingForStore ?? 0)}`,
    );
  }
  const span = (f: (x: StatsLine) => number): number =>
    members.reduce((a, m) => {
      const end = last(m, killWall + 12_000);
      const start = last(m, killWall - 2000);
      return a + (end === undefined ? 0 : f(end) - (start === undefined ? 0 : f(start)));
    }, 0);
  // The store operations per second by name: finished / mean ms / failed, summed over the members.
  const ops: string[] = [];
  for (let s = -1; s <= 6; s++) {
    const now = members.map((m) => last(m, killWall + s * 1000)).filter((x) => x !== undefined);
    const by = new Map<string, [number, number, number]>();
    for (const x of now) {
      const p = last(x.member, killWall + (s - 1) * 1000);
      for (const [op, [c, sum, e]] of Object.entries(x.ops ?? {})) {
        const q = p?.ops?.[op] ?? [0, 0, 0];
        const acc = by.get(op) ?? [0, 0, 0];
        by.set(op, [acc[0] + c - q[0], acc[1] + sum - q[1], acc[2] + e - q[2]]);
      }
    }
    const parts = [...by]
      .filter(([, v]) => v[0] > 0)
      .sort((a, b) => b[1][0] - a[1][0])
      .map(([op, [c, sum, e]]) => `${op} ${c}/${Math.round((sum * 1000) / c)}/${e}`);
    ops.push(`${s}s ${parts.join(' ')}`);
  }
  return `${out.join(', ')}; store ops per s (finished/mean ms/failed): ${ops.join('; ')}; stale writes refused ${span((x) => x.refused ?? 0)}, handed off ${span((x) => x.handedOff ?? 0)}`;
}

/**
 * Member log lines logged from `fromWall` (epoch ms; each line starts with its time in ns), counted
 * by their text with numbers and names blanked: the top few. By time, not by position: the lines
 * are every member's log one after the other.
 */
function logSummary(lines: readonly string[], fromWall: number): string {
  const counts = new Map<string, number>();
  for (const l of lines) {
    if (l.trim() === '' || l.startsWith('stats ')) continue;
    const at = /^(\d+) /.exec(l);
    if (at === null || Number(at[1]) / 1e6 < fromWall) continue;
    const key = l
      .replace(/^\S+\s+\S+\s+/, '')
      .replace(/<[^>]*>|"[^"]*"|\d+/g, '#')
      .slice(0, 110);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([k, n]) => `${n}× ${k}`)
    .join(' | ');
}

/**
 * Starts the highly available store and ergo-ts' cluster on it, measures capacity, then the rounds
 * (`--quick`: 1, else 3), and reports the rows; the effects go through `effects` (on `effectsUrl`).
 */
export async function measurePgHaFailover(
  report: Report,
  ctx: SuiteContext,
  o: { effects: Pool; effectsUrl: string; dir: string },
): Promise<void> {
  const why = failoverMissing();
  if (why !== undefined) {
    console.error(`overload failover: skipped: ${why}`);
    return;
  }
  const ha = await startPgHa({ settings: { fsync: 'on', full_page_writes: 'on' } });
  try {
    // BENCH_MEMBER_CPU_PROF=<dir>: each member writes a CPU profile there at its exit (its log's
    // `clock` line places the kill on the profile's timeline).
    const prof = process.env.BENCH_MEMBER_CPU_PROF;
    const target = await startErgoOverload(ha.url, o.effects, o.dir, o.effectsUrl, {
      ERGO_STATS_MS: String(STATS_MS),
      ...(prof === undefined || prof === '' ? {} : { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${prof}` }),
    });
    try {
      await rounds(report, ctx, ha, target);
    } finally {
      await target.close();
      // The members' logs beside their profiles (the suite removes its directory).
      if (prof !== undefined && prof !== '')
        for (const f of readdirSync(o.dir)) if (f.endsWith('.log')) copyFileSync(join(o.dir, f), join(prof, f));
    }
  } finally {
    await ha.stop();
  }
}

/** The capacity, the rounds and the rows. */
async function rounds(report: Report, ctx: SuiteContext, ha: PgHa, target: OverloadTarget): Promise<void> {
  const z = overloadSizes(ctx);
  const run = `f${process.pid}`;
  const cap = await capacity((k) => target.load(`${run}-cap`, `${run}-cap.${k}`), 128, z.warmMs, z.capacityMs);
  if (!(cap.rate > 0)) throw new Error('failover row: capacity measured as 0');
  console.error(`overload failover: capacity on the HA store ${r3(cap.rate)}/s`);
  const windowMs = z.killWindowMs;
  const n = ctx.quick ? 1 : 3;
  const control = await controlRound(target, `${run}-c`, 2 * cap.rate, windowMs, z.drainMs);
  console.error(`overload failover: ${control.line}`);
  const done: Round[] = [];
  for (let r = 0; r < n; r++) {
    const old = await ha.primary();
    if (old === undefined) throw new Error('failover row: no primary before the round');
    const tag = `${run}-r${r}`;
    const logFrom = Date.now();
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const probe = storeProbe(ha.url);
    // Set by the timer (a holder: a `let` assigned in a callback is not seen by the narrowing below).
    const fired: { kill?: Kill } = {};
    const timer = setTimeout(
      () => {
        const wall = ha.killPostmaster(old);
        fired.kill = {
          perf: performance.now(),
          wall,
          // Settled into a value: the round reads it after the window.
          seen: (async () => {
            const p = await ha.newPrimary(old, 90_000);
            return { promoted: p.at, routed: await ha.routedTo(p.member, 90_000) };
          })().catch((error: unknown) => ({ error })),
        };
      },
      Math.round(windowMs / 3),
    );
    const out = await openLoop([{ rate: 2 * cap.rate, ms: windowMs }], z.drainMs, (k) =>
      target.load(tag, `${tag}.${k}`),
    );
    clearTimeout(timer);
    lag.disable();
    const commits = await probe.stop();
    const kill = fired.kill;
    if (kill === undefined) throw new Error('failover row: the kill did not happen within the window');
    const seen = await kill.seen;
    if ('error' in seen) throw new Error(`failover row: round ${r}: ${String(seen.error)}`);
    const killAt = kill.perf - out.t0;
    const outage = seen.promoted - kill.wall;
    const history = (await ha.history().catch(() => [])).filter((h) => h.at >= kill.wall - 1000).at(-1)?.at;
    const rec = recovery(out.done, killAt, killAt + outage, windowMs, control.after);
    const plain = probeFigures(commits, kill.perf);
    const gap = longestGap(out.done, killAt, windowMs);
    const backAt = killAt + (Number.isNaN(rec.back) ? windowMs : rec.back);
    const afterBack =
      (out.done.filter((d) => d > backAt && d <= windowMs).length * 1000) / Math.max(1, windowMs - backAt);
    const again = await runAgain(target.effects, 'effects', tag);
    const perS = buckets(
      out.done.filter((d) => d <= windowMs),
      windowMs,
      1000,
    );
    const memberLines = target.memberLogs?.() ?? [];
    const logs = logSummary(memberLines, logFrom);
    const figures = statsTimeline(memberLines, kill.wall);
    const refusedPerS = buckets(
      out.refusedAt.filter((d) => d <= windowMs),
      windowMs,
      1000,
    );
    const line =
      `round ${r}: primary ${old.name} killed -9 at ${r3(killAt / 1000)} s (epoch ${Math.round(kill.wall)} ms); Patroni named the new primary ` +
      `${r3(outage)} ms later (its history: ${history === undefined ? '?' : r3(history - kill.wall)} ms), HAProxy ` +
      `routed ${r3(seen.routed - kill.wall)} ms, a plain client committed through it again ${r3(plain.back)} ms after ` +
      `the kill (its commit p50 ${r3(plain.before)} ms before, ${r3(plain.after)} ms after); ${r3(rec.before)}/s before; first completion ${r3(rec.firstDone)} ms ` +
      `after the promotion; back to 90 % ${Number.isNaN(rec.back) ? 'not within the window' : `${r3(rec.back)} ms after the kill`} ` +
      `(engine's part ${r3(rec.part)} ms); longest stretch without a completion ${r3(gap)} ms; ` +
      `${r3(afterBack)}/s from then to the window's end; refused ${byCode(out.refused)}; failed ${byCode(out.failed)}; ` +
      `unsettled ${out.unsettled}; effects run again ${again}; the client's event-loop delay p99 ` +
      `${r3(lag.percentile(99) / 1e6)} ms; completions per s [${perS.join(', ')}]`;
    console.error(`overload failover: ${line}`);
    console.error(`overload failover: round ${r}: members' log lines in the round: ${logs || 'none'}`);
    console.error(`overload failover: round ${r}: starts refused per s [${refusedPerS.join(', ')}]`);
    // The client's completions on the members' timeline's seconds (from 2 s before the kill), to
    // read beside what the members completed: work no caller waited for shows as the difference.
    const fromKill = (xs: readonly number[]): number[] =>
      Array.from(
        { length: 15 },
        (_, i) => xs.filter((d) => d > killAt + (i - 3) * 1000 && d <= killAt + (i - 2) * 1000).length,
      );
    console.error(
      `overload failover: round ${r}: from -2 s to 12 s after the kill, per s: completions seen by the client ` +
        `[${fromKill(out.done).join(', ')}], starts refused [${fromKill(out.refusedAt).join(', ')}]`,
    );
    console.error(
      `overload failover: round ${r}: the members per s from the kill (runs working/starts waiting/refused/` +
        `activations begun/ended/store ops in flight/oldest ms, then m: instances started/completed on the members, ` +
        `starts given room/room kept/reminders fired/due reminders standing by/activations waiting for the store): ${figures}`,
    );
    done.push({
      rec,
      outage,
      history: history === undefined ? undefined : history - kill.wall,
      routed: seen.routed - kill.wall,
      plain,
      gap,
      afterBack,
      failed: total(out.failed),
      refused: total(out.refused),
      again,
      line,
    });
    // The old primary back as a replica with a synchronous standby: the next round starts whole.
    await ha.healthy(180_000);
  }
  reportRows(report, cap.rate, windowMs, done, control, target.what);
}

/** The rows: each figure's median over the rounds, every round's value in its samples. */
function reportRows(
  report: Report,
  cap: number,
  windowMs: number,
  done: readonly Round[],
  control: Control,
  what: string,
): void {
  const notBack = done.filter((d) => Number.isNaN(d.rec.back)).length;
  const rest = windowMs - Math.round(windowMs / 3);
  const mid = done[done.findIndex((d) => d.rec.part === median(done.map((x) => x.rec.part)))] ?? done[0]!;
  const note =
    `${r3(2 * cap)}/s offered (2× the capacity ${r3(cap)}/s on this store) for ${windowMs / 1000} s per round, ` +
    `the primary's postmaster killed -9 a third of the way in, ${done.length} round(s); Patroni 3.0.2 (etcd v2, ` +
    `synchronous_mode, ttl 10, loop_wait 1), HAProxy 2.6, PostgreSQL 15 fsync on; the effects on a PostgreSQL ` +
    `of their own; ${what}; a median round: ${mid.line}`;
  const row = (name: string, xs: number[], unit: string, better: 'lower' | 'higher', n?: string): void =>
    report({
      group: G_PGHA,
      name,
      value: median(xs),
      samples: xs,
      unit,
      better,
      ...(n === undefined ? {} : { note: n }),
    });
  row(
    'completed/s before the kill',
    done.map((d) => d.rec.before),
    'workflows/s',
    'higher',
    note,
  );
  row(
    N_PGHA_CONTROL,
    [control.after],
    'workflows/s',
    'higher',
    `the same arrivals with no kill, before the rounds: ${control.line}`,
  );
  row(
    N_PGHA_OUTAGE,
    done.map((d) => d.outage),
    'ms',
    'lower',
    `Patroni's REST /primary polled every 20 ms by the client; per round Patroni's own history time / HAProxy ` +
      `routing to it (ms from the kill): ${done.map((d) => `${d.history === undefined ? '?' : Math.round(d.history)}/${Math.round(d.routed)}`).join(', ')}`,
  );
  row(
    N_PGHA_PLAIN,
    done.map((d) => d.plain.back),
    'ms',
    'lower',
    `one connection through HAProxy committing a one-row insert every 100 ms beside the engine (the store's answer ` +
      `as any client sees it, HAProxy included); its commit p50 before / after per round (ms): ` +
      done.map((d) => `${r3(d.plain.before)}/${r3(d.plain.after)}`).join(', '),
  );
  row(
    N_PGHA_FIRST,
    done.map((d) => d.rec.firstDone),
    'ms',
    'lower',
  );
  // Not back within the window: its rest after the kill stands in (and the note says so).
  const backs = done.map((d) => (Number.isNaN(d.rec.back) ? rest : d.rec.back));
  const backNote =
    `the first completion of the first ${BACK_WINDOW_MS / 1000} s window (stepped by ${BACK_STEP_MS} ms from ` +
    `Patroni's promotion) whose completions reach ${BACK_SHARE * 100} % of the rate before, or of the no-kill ` +
    `control's rate over the same span when lower (${r3(control.after)}/s: the bar ${r3(BACK_SHARE * control.after)}/s ` +
    `in rounds whose rate before was above it)` +
    (notBack === 0 ? '' : `; ${notBack} round(s) NOT back within the window: counted as its rest, ${rest} ms`);
  row(N_PGHA_BACK, backs, 'ms', 'lower', backNote);
  row(
    N_PGHA_PART,
    done.map((d, i) => backs[i]! - d.outage),
    'ms',
    'lower',
    'kill → back to 90 % of the rate before, less kill → Patroni names the new primary: what HAProxy, the ' +
      "engine's pool and its runs add to the store's own outage",
  );
  row(
    'longest stretch with no completion after the kill',
    done.map((d) => d.gap),
    'ms',
    'lower',
  );
  row(
    'completed/s from back to the end of the window',
    done.map((d) => d.afterBack),
    'workflows/s',
    'higher',
  );
  row(
    'starts refused',
    done.map((d) => d.refused),
    'starts',
    'lower',
  );
  row(
    'workflows failed after their start',
    done.map((d) => d.failed),
    'workflows',
    'lower',
  );
  row(
    'effects run again',
    done.map((d) => d.again),
    'effects',
    'lower',
  );
}
