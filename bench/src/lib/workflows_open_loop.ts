// The measuring side of the workflows overload suite (suites/workflows_overload.ts): what an engine
// must offer (an OverloadTarget), a closed-loop capacity measure, and open-loop arrivals at a fixed
// rate with their outcomes (completions timed, refusals and failures by code, latencies), the
// same for every engine. Every figure is taken in the bench child, the engines' client.
//
// Open loop: arrival k of a phase is due at t0 + k / rate, whatever has completed. A timer issues
// every arrival whose time has come (several at once when the client's event loop was late, so the
// offered count never shrinks under load), and an arrival's latency is measured from its due time,
// not from when the client got round to it: a slow client never hides its own queueing
// (coordinated omission). A start that is refused is counted by its code, never retried.

import type { Pool } from 'pg';

import { percentile } from './workflows_rows.js';

/** A start the engine did not accept (its code: an `ERR_…`, an HTTP status, …); never retried. */
export class Refused extends Error {
  /** The refusal's code, the key the row counts it under. */
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** The code of an error: an ErgoError's `code`, else the first `ERR_…` in its text, else its name. */
export function codeOf(e: unknown): string {
  if (e instanceof Refused) return e.code;
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code !== '') return code;
  const text = e instanceof Error ? e.message : String(e);
  return /ERR_[A-Z0-9_]+/.exec(text)?.[0] ?? /HTTP \d+/.exec(text)?.[0] ?? (e instanceof Error ? e.name : 'thrown');
}

/** One engine as the overload rows drive it. */
export interface OverloadTarget {
  /** What the rows' notes say about the engine's set-up. */
  readonly what: string;
  /**
   * Starts the 3-step workflow `id` (its effects rows tagged `tag`) and resolves once it completed.
   * Throws {@link Refused} when the start was not accepted, any other error when the workflow
   * failed after it was.
   */
  load(tag: string, id: string): Promise<void>;
  /** Issue 95's order (net/workflows_overload_kinds.ts), signal-with-start, to its result (ergo-ts only). */
  order?(tag: string, id: string): Promise<void>;
  /** Kills member `i` with SIGKILL (ergo-ts: one of its member processes). */
  killMember?(i: number): void;
  /** Lines of the members' logs (ergo-ts: where step attempt failures are warned). */
  memberLogs?(): string[];
  /** The user's pool on the database the steps write `effects` and `shipments` to. */
  readonly effects: Pool;
  close(): Promise<void>;
}

/** Every arrival's outcome of one phase (times in ms from the phase's start). */
export interface PhaseOutcome {
  /** Arrivals offered. */
  offered: number;
  /** Completion times of the completed ones. */
  done: number[];
  /** Latency (completion − due time) of each completed one, ms. */
  latency: number[];
  /** Due time of each completed one (the phase an arrival belongs to). */
  due: number[];
  /** Refused starts by code. */
  refused: Map<string, number>;
  /** When each refusal came (ms from the start). */
  refusedAt: number[];
  /** Workflows that failed after their start was accepted, by code. */
  failed: Map<string, number>;
  /** Arrivals still unsettled when the drain ended. */
  unsettled: number;
  /** When the last arrival was issued, and when the drain ended (ms from the start). */
  issuedUntil: number;
  endedAt: number;
  /** The start on `performance.now()`'s clock: an event timed during the phase is `performance.now() − t0` in its terms. */
  t0: number;
}

/** Adds one to `m[k]`. */
function bump(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

/** Resolves after `ms`. */
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Closed loop: `inFlight` lanes each starting the next workflow as soon as theirs completed, for
 * `ms` after `warmMs` not counted. Returns completed/s (refusals are not completions: a lane whose
 * start was refused waits 50 ms, as a client backing off would, and goes on).
 */
export async function capacity(
  run: (k: number) => Promise<void>,
  inFlight: number,
  warmMs: number,
  ms: number,
): Promise<{ rate: number; errors: Map<string, number> }> {
  const t0 = performance.now();
  const from = t0 + warmMs;
  const until = from + ms;
  let next = 0;
  let counted = 0;
  const errors = new Map<string, number>();
  const lane = async (): Promise<void> => {
    while (performance.now() < until) {
      try {
        await run(next++);
        const now = performance.now();
        if (now >= from && now < until) counted++;
      } catch (e) {
        bump(errors, codeOf(e));
        await pause(50);
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return { rate: (counted * 1000) / ms, errors };
}

/**
 * Open loop: the phases' arrivals (each `rate`/s for `ms`, one after another) issued on a timer
 * whatever completes, then a drain of at most `drainMs` for the admitted work to end. `run(k)`
 * starts arrival k and resolves when it completed (rejects: {@link Refused}, or failed).
 */
export async function openLoop(
  phases: readonly { rate: number; ms: number }[],
  drainMs: number,
  run: (k: number) => Promise<void>,
): Promise<PhaseOutcome> {
  const dueTimes: number[] = [];
  let t = 0;
  for (const p of phases) {
    const n = Math.round((p.rate * p.ms) / 1000);
    for (let i = 0; i < n; i++) dueTimes.push(t + (i * 1000) / p.rate);
    t += p.ms;
  }
  const out: PhaseOutcome = {
    offered: dueTimes.length,
    done: [],
    latency: [],
    due: [],
    refused: new Map(),
    refusedAt: [],
    failed: new Map(),
    unsettled: 0,
    issuedUntil: 0,
    endedAt: 0,
    t0: performance.now(),
  };
  const t0 = out.t0;
  const settled: Promise<void>[] = [];
  let pending = 0;
  let k = 0;
  const issue = (i: number): void => {
    const due = dueTimes[i]!;
    pending++;
    settled.push(
      run(i)
        .then(
          () => {
            const now = performance.now() - t0;
            out.done.push(now);
            out.latency.push(now - due);
            out.due.push(due);
          },
          (e: unknown) => {
            if (e instanceof Refused) out.refusedAt.push(performance.now() - t0);
            bump(e instanceof Refused ? out.refused : out.failed, codeOf(e));
          },
        )
        .finally(() => pending--),
    );
  };
  // Issue every arrival that is due, then sleep until the next one (at least a timer's tick).
  while (k < dueTimes.length) {
    const now = performance.now() - t0;
    while (k < dueTimes.length && dueTimes[k]! <= now) issue(k++);
    if (k < dueTimes.length) await pause(Math.max(1, dueTimes[k]! - (performance.now() - t0)));
  }
  out.issuedUntil = performance.now() - t0;
  const drainEnd = performance.now() + drainMs;
  while (pending > 0 && performance.now() < drainEnd) await pause(20);
  out.unsettled = pending;
  out.endedAt = performance.now() - t0;
  // What is still unsettled keeps running in the engine; its outcome is not counted.
  void Promise.allSettled(settled);
  return out;
}

/** Completions per `bucketMs` from 0 to `until` (ms from the start). */
export function buckets(done: readonly number[], until: number, bucketMs = 10_000): number[] {
  const out = new Array<number>(Math.max(1, Math.ceil(until / bucketMs))).fill(0);
  for (const d of done) {
    const b = Math.min(out.length - 1, Math.floor(d / bucketMs));
    out[b]!++;
  }
  return out;
}

/** The longest stretch (ms) within [from, to] with no completion. */
export function longestGap(done: readonly number[], from: number, to: number): number {
  const xs = done.filter((d) => d >= from && d <= to).sort((a, b) => a - b);
  let prev = from;
  let gap = 0;
  for (const d of [...xs, to]) {
    gap = Math.max(gap, d - prev);
    prev = d;
  }
  return gap;
}

/** p50 and p99 of `xs` (NaN when empty). */
export function p50p99(xs: readonly number[]): [number, number] {
  return xs.length === 0 ? [NaN, NaN] : [percentile(xs, 50), percentile(xs, 99)];
}

/** "CODE×n, …" (or "none"). */
export function byCode(m: ReadonlyMap<string, number>): string {
  return m.size === 0
    ? 'none'
    : [...m]
        .sort((a, b) => b[1] - a[1])
        .map(([c, n]) => `${c}×${n}`)
        .join(', ');
}

/** Sum of a count map. */
export function total(m: ReadonlyMap<string, number>): number {
  let n = 0;
  for (const v of m.values()) n += v;
  return n;
}

/**
 * Step executions beyond one per (workflow, step) among the rows tagged `tag` of `table`
 * (`key`: the workflow column, `step`: the step column or a constant).
 */
export async function runAgain(effects: Pool, table: 'effects' | 'shipments', tag: string): Promise<number> {
  const distinct = table === 'effects' ? 'count(distinct (wf, step))' : 'count(distinct order_id)';
  const r = await effects.query<{ again: string }>(
    `select count(*) - ${distinct} as again from ${table} where tag = $1`,
    [tag],
  );
  return Number(r.rows[0]!.again);
}
