// The suite contract. A suite is one file under bench/src/suites/ exporting a function whose
// name ends in `Suite` (or a default export) with the signature `(report, ctx?) => Promise<void>`.
// It measures and calls `report` once per figure. Optionally it exports `scenarios`, a list of
// ScenarioSpec: the runner then starts one fresh child process per scenario and per JS peer
// (ctx.scenario / ctx.peer say which), and runs the Erlang peer of the scenario when `erl` is
// installed and the Go Ergo peer when `ergo-bench` is there, so every figure of one scenario
// lands in the same table row.

/** One measured figure. Rows with the same `group` + `name` are one table row; `peer` picks the column. */
export interface Row {
  /** Table the row belongs to (e.g. "local messaging"). */
  group: string;
  /** Scenario label, the row key inside the group. */
  name: string;
  /** The figure: the runner uses the median of `samples` when they are given. */
  value: number;
  /** Unit of `value`: "msg/s", "calls/s", "spawns/s", "B/process", "ns/op"... */
  unit: string;
  note?: string;
  /** Who was measured: "ergo-ts" (default), "nact", "erlang", or any other peer name. */
  peer?: string;
  /** Per-round figures (after warm-up); `value` should be their median. */
  samples?: number[];
  /** "higher" (throughput, default) or "lower" (memory, latency) is better. */
  better?: 'higher' | 'lower';
}

/** The callback a suite reports its figures through. */
export type Report = (row: Row) => void;

/** What the child process tells a suite about the run it is part of. */
export interface SuiteContext {
  /** The scenario to run (an id from the module's `scenarios`), or undefined: run everything. */
  scenario: string | undefined;
  /** The JS peer to measure in this process: "ergo-ts" or "nact" (or another declared peer). */
  peer: string;
  /** Measured rounds (after warm-up). */
  rounds: number;
  /** Warm-up rounds (run, not reported). */
  warmup: number;
  /** `--quick`: fewer rounds; suites may also shrink sizes. */
  quick: boolean;
}

/** Erlang side of a scenario: `Module:Fun(Rounds, Warmup, Args...)` from bench/erlang/<module>.erl. */
export interface ErlangSpec {
  module: string;
  fun: string;
  /** Integer arguments after rounds and warm-up. */
  args?: number[];
  /** Maps the ids the Erlang function prints to table rows. */
  rows: Record<string, { group: string; name: string; unit: string; better?: 'higher' | 'lower' }>;
  /** Extra flags for `erl` (e.g. ["+P", "2000000"]). */
  flags?: string[];
  /** The Erlang columns to run (default both: "erlang", the VM's default, and "erlang-1", +S 1). */
  columns?: string[];
}

/**
 * Go Ergo side of a scenario: `ergo-bench -s=<scenario>` (the Go Ergo 3.2 program in
 * ../shared/peers/ergo-bench), run once with GOMAXPROCS=2 and once with GOMAXPROCS=1, each in a
 * fresh OS process. Its summary line becomes this table row.
 */
export interface GoSpec {
  /** ergo-bench's scenario id (`ergo-bench -list`). */
  scenario: string;
  group: string;
  name: string;
  unit: string;
  better?: 'higher' | 'lower';
  /** At most this many measured rounds (e.g. 3 for deterministic memory figures). */
  maxRounds?: number;
  /** At most this many warm-up rounds. */
  maxWarmup?: number;
}

/** One scenario of a suite module: a child process per peer, plus the Erlang and Go peers. */
export interface ScenarioSpec {
  id: string;
  /** JS peers, each measured in its own child process (default ["ergo-ts"]). */
  peers?: string[];
  erlang?: ErlangSpec;
  go?: GoSpec;
  /**
   * Run each JS peer in this many fresh child processes (default 1; `--spread=N` overrides):
   * the row's figure is the median of the per-process medians, and the table notes give their
   * min / median / max, so a process-dependent (e.g. bimodal JIT) outcome is visible.
   */
  processes?: number;
  /** At least this many warm-up rounds, for every peer (scenarios that reach steady state slowly). */
  minWarmup?: number;
  /** Seconds before the child is killed (default 180). */
  timeout?: number;
  /** Extra Node/V8 flags for this scenario's JS children (e.g. a larger old space). */
  nodeFlags?: string[];
}

/**
 * A target for ergo-ts: `value` in the row's unit; met when the figure is ≥ (or ≤ for
 * lower-is-better; < when `strict`) and, when `ahead` names peers, better than each of them in
 * the same run.
 */
export interface Target {
  /** The value ergo-ts must reach (absent: the row's goals are ratios only). */
  value?: number;
  better: 'higher' | 'lower';
  /** `<` / `>` instead of `≤` / `≥`. */
  strict?: boolean;
  /** Peers (column ids, e.g. "erlang", "erlang-1") ergo-ts must beat in the same run. */
  ahead?: string[];
  /**
   * Ratios ergo-ts ÷ peer (the row's "vs" columns, the peer measured in the same run) to reach:
   * at least `value` where higher is better, at most where lower is.
   */
  ratios?: RatioGoal[];
}

/** A goal on one "vs" column of a row: ergo-ts ÷ `peer`. */
export interface RatioGoal {
  peer: string;
  value: number;
}

/** A target a suite declares for one of its rows (printed with a met / not met mark). */
export interface FigureSpec {
  group: string;
  name: string;
  /**
   * Target for ergo-ts in the row's unit; `strict`: < / > instead of ≤ / ≥; `ahead`: peers
   * (column ids) ergo-ts must also beat in the same run; `ratios`: ergo-ts ÷ peer goals.
   */
  target?: Target;
}

/** The shape of a suite module as the runner sees it. */
export interface SuiteModule {
  scenarios?: ScenarioSpec[];
  figures?: FigureSpec[];
  [name: string]: unknown;
}

/** The function the runner calls. */
export type SuiteFn = (report: Report, ctx?: SuiteContext) => Promise<void>;

/** Line prefixes of the child → runner protocol (stdout). */
export const ROW_PREFIX = '@@row ';
export const LIST_PREFIX = '@@list ';
export const CPU_PREFIX = '@@cpu ';

/** The suite function of a module: the default export, or the export whose name ends in "Suite". */
export function suiteFunction(mod: SuiteModule): SuiteFn | undefined {
  if (typeof mod['default'] === 'function') return mod['default'] as SuiteFn;
  for (const [k, v] of Object.entries(mod)) if (k.endsWith('Suite') && typeof v === 'function') return v as SuiteFn;
  return undefined;
}
