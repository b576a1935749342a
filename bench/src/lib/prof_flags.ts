// Profiling knobs of the tabs benches' forked processes (issue 93: where a publish's time goes on
// both sides of the sockets). A broadcast's time on a shared host is the servers' writes and the
// client processes' reads on the same cores, so each side can be profiled on its own:
//   BENCH_GW_PROF=DIR      a V8 CPU profile of each server process (a gateway node, a floor server)
//   BENCH_CLIENT_PROF=DIR  a V8 CPU profile of each client process (lean tabs, floor clients)
//   BENCH_PERF_MAP=1       every such process writes /tmp/perf-<pid>.map, so a system-wide
//                          `perf record -a -g` names its JavaScript beside the kernel's work
// Each profile is written as its process exits (`--cpu-prof`).

/** Which side of the sockets a forked process is. */
export type ProfSide = 'server' | 'client';

/** The Node flags the profiling knobs above ask for a process of side `side` (none: []). */
export function profFlags(side: ProfSide): string[] {
  const dir = process.env[side === 'server' ? 'BENCH_GW_PROF' : 'BENCH_CLIENT_PROF'];
  const flags = dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
  if (process.env['BENCH_PERF_MAP'] === '1') flags.push('--perf-basic-prof-only-functions');
  return flags;
}
