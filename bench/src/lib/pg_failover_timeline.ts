// The throughput time line of one failover round (lib/pg_failover_row.ts, issue 81): the chains'
// completions counted in 500 ms buckets from before the kill to after the first write on the new
// primary, the steady rate before the kill, and when the rate was back to 90 % of it. The goal
// reads "throughput is back within 10 s": a mean over the 10 s after the first write says little
// about that (a slow first second and a normal rest give the same mean as a uniformly slow 10 s),
// the time line says when.

/** The width of one bucket of the time line, in ms. */
export const BUCKET_MS = 500;
/** The window before the kill whose rate is "before", in ms. */
export const BEFORE_MS = 5000;
/** "Back": a window of this many buckets whose rate is at least {@link BACK_SHARE} of the rate before. */
export const BACK_BUCKETS = 2;
/** The share of the rate before that counts as back. */
export const BACK_SHARE = 0.9;

/** What one round's time line says. */
export interface Timeline {
  /** Completions per second in [kill − {@link BEFORE_MS}, kill). */
  readonly before: number;
  /** Completions per second in [kill, first write). */
  readonly during: number;
  /** Completions per second in [first write, first write + 10 s). */
  readonly after10: number;
  /**
   * Ms from the first write to the start of the first window of {@link BACK_BUCKETS} buckets
   * (stepped by one bucket, the first starting at the first write) whose rate is at least
   * {@link BACK_SHARE} × `before`; undefined when none within the measured time, or when nothing
   * completed before the kill.
   */
  readonly backAfter: number | undefined;
  /** Completions per second in each bucket, the first starting at `from`. */
  readonly buckets: readonly number[];
  /** Where the buckets start (ms since the epoch): kill − {@link BEFORE_MS}, rounded down to a bucket. */
  readonly from: number;
  /** The median latency (issue → completion, ms) of the workflows completed before the kill and after `backAfter`. */
  readonly latency: { readonly before: number; readonly after: number };
}

/** Completions per second in [a, b). */
function perSec(done: readonly number[], a: number, b: number): number {
  return b > a ? (done.filter((t) => t >= a && t < b).length * 1000) / (b - a) : 0;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  if (s.length === 0) return 0;
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * The time line of one round. `completed` and `issued` are the chains' workflows (completion and
 * issue times by key); `until` is the end of the measured time (the chains were stopped there).
 */
export function timeline(
  completed: ReadonlyMap<string, number>,
  issued: ReadonlyMap<string, number>,
  at: { readonly fault: number; readonly firstWrite: number; readonly until: number },
): Timeline {
  const done = [...completed.values()];
  const before = perSec(done, at.fault - BEFORE_MS, at.fault);
  const from = Math.floor((at.fault - BEFORE_MS) / BUCKET_MS) * BUCKET_MS;
  const buckets: number[] = [];
  for (let t = from; t + BUCKET_MS <= at.until; t += BUCKET_MS) buckets.push(perSec(done, t, t + BUCKET_MS));
  let backAfter: number | undefined;
  const span = BACK_BUCKETS * BUCKET_MS;
  // No rate before (the chains stalled before the kill): nothing to be back to.
  for (let t = at.firstWrite; before > 0 && t + span <= at.until; t += BUCKET_MS)
    if (perSec(done, t, t + span) >= BACK_SHARE * before) {
      backAfter = t - at.firstWrite;
      break;
    }
  const lat = (a: number, b: number): number =>
    median(
      [...completed]
        .filter(([k, t]) => t >= a && t < b && issued.has(k) && issued.get(k)! >= a)
        .map(([k, t]) => t - issued.get(k)!),
    );
  const back = at.firstWrite + (backAfter ?? 0);
  return {
    before,
    during: perSec(done, at.fault, at.firstWrite),
    after10: perSec(done, at.firstWrite, at.firstWrite + 10_000),
    backAfter,
    buckets,
    from,
    latency: { before: lat(at.fault - BEFORE_MS, at.fault), after: lat(back, at.until) },
  };
}

/**
 * One line of the time line, for the log and the row's note: the rate of each bucket rounded,
 * `|K|` before the bucket holding the kill and `|W|` before the one holding the first write.
 */
export function timelineLine(tl: Timeline, at: { readonly fault: number; readonly firstWrite: number }): string {
  const kill = Math.floor((at.fault - tl.from) / BUCKET_MS);
  const write = Math.floor((at.firstWrite - tl.from) / BUCKET_MS);
  return tl.buckets.map((r, i) => `${i === kill ? '|K| ' : ''}${i === write ? '|W| ' : ''}${Math.round(r)}`).join(' ');
}
