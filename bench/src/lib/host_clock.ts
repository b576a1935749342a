// One clock for the stamps that bench processes compare with each other (a call's start in a
// client process against a broadcast's start and end in the bench's own): the host's monotonic
// clock, which every process of the host reads alike. Not `performance.timeOrigin + now()`: a
// process's time origin is the wall clock read once at its start, so two processes started on
// either side of a step of the wall clock (NTP, a VM resumed or restored from a snapshot) disagree
// by that step for as long as they live, and every comparison between them is off by it.

/**
 * Milliseconds on the host's monotonic clock (`process.hrtime`: CLOCK_MONOTONIC on Linux, the
 * same reading in every process, never stepped; its zero is arbitrary, so compare, never show).
 */
export function hostMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
