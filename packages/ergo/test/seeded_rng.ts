// A seeded pseudo-random generator for the fuzz and property tests: the same seed gives the same
// sequence on every run and every machine, so a failure reproduces from the seed it prints.

/**
 * mulberry32: small, seeded, reproducible. Returns a function giving numbers in [0, 1).
 * Not for anything but tests (not cryptographic, 32-bit state).
 */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
