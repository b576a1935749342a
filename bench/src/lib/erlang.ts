// The Erlang/OTP peer: find `erl`, compile bench/erlang/*.erl with `erlc` into a temp directory,
// and run one scenario function per fresh VM. The Erlang functions time themselves, so the VM's
// start-up never counts.

import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runChild, type ChildResult } from './proc.js';
import { CPU_PREFIX, type ErlangSpec } from './types.js';

export const ERL_PREFIX = '@@erl ';
export const ERL_ERROR_PREFIX = '@@error ';

/** What the runner knows about the local Erlang installation. */
export interface ErlangInfo {
  available: boolean;
  /** Why Erlang is not used (when not available). */
  reason?: string;
  release?: string;
  schedulers?: number;
  /** Directory holding the compiled .beam files. */
  beamDir?: string;
}

/** One figure printed by an Erlang scenario function. */
export interface ErlangRow {
  id: string;
  samples: number[];
  note: string;
}

/** Detects erl/erlc and compiles the modules of `srcDir` into `beamDir`. */
export function prepareErlang(srcDir: string, beamDir: string, flags: string[]): ErlangInfo {
  const probe = spawnSync(
    'erl',
    [
      ...flags,
      '-noshell',
      '-eval',
      'io:format("~s ~b~n", [erlang:system_info(otp_release), erlang:system_info(schedulers_online)]), halt().',
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  if (probe.error !== undefined) {
    const code = (probe.error as NodeJS.ErrnoException).code;
    return {
      available: false,
      reason:
        code === 'ENOENT'
          ? '`erl` is not on PATH (install Erlang/OTP, e.g. Debian package erlang-base)'
          : `erl failed to start: ${probe.error.message}`,
    };
  }
  if (probe.status !== 0)
    return { available: false, reason: `erl exited with ${probe.status}: ${probe.stderr.trim()}` };
  const [release, schedulers] = probe.stdout.trim().split(/\s+/);
  let sources: string[];
  try {
    sources = readdirSync(srcDir).filter((f) => f.endsWith('.erl'));
  } catch (e) {
    return { available: false, reason: `cannot read ${srcDir}: ${(e as Error).message}` };
  }
  rmSync(beamDir, { recursive: true, force: true });
  mkdirSync(beamDir, { recursive: true });
  const c = spawnSync('erlc', ['-o', beamDir, ...sources.map((f) => join(srcDir, f))], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (c.error !== undefined) {
    const code = (c.error as NodeJS.ErrnoException).code;
    return {
      available: false,
      reason: code === 'ENOENT' ? '`erl` is installed but `erlc` is not on PATH' : `erlc failed: ${c.error.message}`,
    };
  }
  if (c.status !== 0) return { available: false, reason: `erlc failed: ${(c.stdout + c.stderr).trim()}` };
  return { available: true, release, schedulers: Number(schedulers), beamDir };
}

/** Runs `spec` in a fresh VM; calls `onRow` for every figure as it is printed. */
export function runErlang(
  info: ErlangInfo,
  spec: ErlangSpec,
  rounds: number,
  warmup: number,
  flags: string[],
  timeoutMs: number,
  onRow: (row: ErlangRow) => void,
  echo: (line: string) => void,
): Promise<ChildResult> {
  const args = [
    ...flags,
    ...(spec.flags ?? []),
    '-noshell',
    '-pa',
    info.beamDir!,
    '-run',
    'bench_util',
    'main',
    spec.module,
    spec.fun,
    String(rounds),
    String(warmup),
    ...(spec.args ?? []).map(String),
  ];
  return runChild(
    'erl',
    args,
    [ERL_PREFIX, ERL_ERROR_PREFIX, CPU_PREFIX],
    timeoutMs,
    (line) => {
      if (line.startsWith(ERL_PREFIX)) onRow(JSON.parse(line.slice(ERL_PREFIX.length)) as ErlangRow);
    },
    echo,
  );
}
