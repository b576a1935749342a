// Waiting for a bench child's own child processes (forked peers, load generators, erl, ergo-peer)
// before it exits, so the runner's busy-machine guard counts their CPU time as the scenario's own.
//
// The guard takes the scenario's CPU time from the kernel: `cutime + cstime` of the runner, which
// grows when the runner reaps the child, by the child's own time plus that of every descendant the
// child reaped in turn. A peer the child does not wait for (it closed the IPC channel, or sent a
// signal, and exited at once) is re-parented to init when the child exits and its CPU time is lost
// to the runner — the second process of a two-process row then showed up as "other load" (≈ 1
// core) and every such row was flagged unreliable on a quiet machine.

import { readdirSync, readFileSync } from 'node:fs';

/** Live (or not yet reaped) child processes of `pid`, from /proc; empty off Linux. */
export function childPids(pid: number = process.pid): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const e of entries) {
    const c = e.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'latin1');
      // Field 4 (ppid) follows the command name, which is in parentheses and may hold spaces.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[1]) === pid) out.push(Number(e));
    } catch {
      // The process ended between readdir and read.
    }
  }
  return out;
}

/**
 * Resolves once this process has no child processes left (Node reaps the ones it spawned as they
 * end), or after `limitMs` (a child that will not end is left alone, and its CPU time is then
 * missing from the guard's count, as before). Polls /proc every 20 ms; the processes are already
 * ending (their IPC channel closed or a signal sent), so this waits for their shut-down only.
 */
export async function awaitChildren(limitMs = 10_000): Promise<number[]> {
  const until = performance.now() + limitMs;
  for (;;) {
    const left = childPids();
    if (left.length === 0 || performance.now() >= until) return left;
    await new Promise((r) => setTimeout(r, 20));
  }
}
