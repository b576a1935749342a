// Preloaded into each ergo-ts node of the cluster-scale harness (`--import`, after
// `ergo-ts/register`): marks when Node's own start ended and the program's imports begin, in wall
// clock and CPU ms, for the node's start timeline (scale_node.ts, up_timeline.ts).

/** Where the mark is left for scale_node.ts. */
export const BOOT_MARK = Symbol.for('ergo-ts.bench.scale.boot');

const u = process.cpuUsage();
(globalThis as Record<symbol, unknown>)[BOOT_MARK] = {
  at: performance.timeOrigin + performance.now(),
  cpu: (u.user + u.system) / 1000,
};
