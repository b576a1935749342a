// The Go Ergo 3.2 peer: `ergo-bench` (../shared/peers/ergo-bench/ergo-bench from the repository
// root, or $ERGO_BENCH_BIN) runs the same scenarios written in Go against Go Ergo's public API and
// prints JSON lines. The runner starts it once per scenario and GOMAXPROCS value, in a fresh OS
// process (`-fresh=false`: the program measures in that process; the runner's busy-machine guard
// applies to it like to every other child). Its timing is inside the Go program, so process
// start-up never counts.

import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join, resolve } from 'node:path';
import { runChild, type ChildResult } from './proc.js';
import type { GoSpec } from './types.js';

/** Environment variable naming the ergo-bench binary (overrides the default path). */
export const GO_BENCH_ENV = 'ERGO_BENCH_BIN';

/** Every line ergo-bench prints on stdout is a JSON object starting with its type. */
export const GO_PREFIX = '{"type":';

/** The Go Ergo columns: GOMAXPROCS=2 (all cores here) and GOMAXPROCS=1 (like-for-like). */
export const GO_PEERS: { peer: string; procs: number }[] = [
  { peer: 'go', procs: 2 },
  { peer: 'go-1', procs: 1 },
];

/** What the runner knows about ergo-bench. */
export interface GoInfo {
  available: boolean;
  /** Why the Go columns are empty (when not available). */
  reason?: string;
  bin?: string;
  /** Scenario ids the binary lists (`-list`). */
  scenarios?: Set<string>;
}

/** One summary line of ergo-bench (the fields the runner uses). */
export interface GoSummary {
  type: 'summary';
  scenario: string;
  median: number;
  unit: string;
  samples: number[];
  gomaxprocs: number;
  note?: string;
  go?: string;
  ergo?: string;
}

/** Finds ergo-bench ($ERGO_BENCH_BIN, else `<repoRoot>/../shared/peers/ergo-bench/ergo-bench`) and lists its scenarios. */
export function prepareGo(repoRoot: string): GoInfo {
  const fromEnv = process.env[GO_BENCH_ENV];
  const bin =
    fromEnv !== undefined && fromEnv !== ''
      ? resolve(fromEnv)
      : join(repoRoot, '..', 'shared', 'peers', 'ergo-bench', 'ergo-bench');
  const where =
    fromEnv !== undefined && fromEnv !== ''
      ? `$${GO_BENCH_ENV}=${bin}`
      : `${bin} (set $${GO_BENCH_ENV} to use another path)`;
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    return { available: false, reason: `ergo-bench not found or not executable: ${where}` };
  }
  const probe = spawnSync(bin, ['-list'], { encoding: 'utf8', timeout: 30_000 });
  if (probe.error !== undefined)
    return { available: false, reason: `ergo-bench failed to start (${where}): ${probe.error.message}` };
  if (probe.status !== 0)
    return { available: false, reason: `ergo-bench -list exited with ${probe.status}: ${probe.stderr.trim()}` };
  const scenarios = new Set(
    probe.stdout
      .split('\n')
      .map((l) => l.trim().split(/\s+/)[0]!)
      .filter((id) => id !== ''),
  );
  if (scenarios.size === 0) return { available: false, reason: `ergo-bench -list printed no scenarios (${where})` };
  return { available: true, bin, scenarios };
}

/**
 * Runs one ergo-bench scenario in a fresh OS process with GOMAXPROCS=`procs`; calls `onSummary`
 * with its summary line. Error lines (`"type":"error"`) stay in the result's `lines`.
 */
export function runGo(
  info: GoInfo,
  spec: GoSpec,
  procs: number,
  rounds: number,
  warmup: number,
  timeoutMs: number,
  onSummary: (s: GoSummary) => void,
  echo: (line: string) => void,
): Promise<ChildResult> {
  const r = Math.min(rounds, spec.maxRounds ?? rounds);
  const w = Math.min(warmup, spec.maxWarmup ?? warmup);
  const args = [
    `-s=${spec.scenario}`,
    `-procs=${procs}`,
    '-fresh=false',
    `-rounds=${r}`,
    `-warmup=${w}`,
    `-timeout=${Math.max(1, Math.floor(timeoutMs / 1000))}s`,
  ];
  const env = { ...process.env, GOMAXPROCS: String(procs) };
  return runChild(
    info.bin!,
    args,
    [GO_PREFIX],
    timeoutMs,
    (line) => {
      const o = JSON.parse(line) as { type: string };
      if (o.type === 'summary') onSummary(o as GoSummary);
    },
    echo,
    undefined,
    env,
  );
}
