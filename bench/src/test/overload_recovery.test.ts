// The overload suite's recovery figures on planted completion times, no process started: the kill
// row's "back to 90 % of the rate before" (lib/workflows_overload_kill.ts `backTo`) and the
// failover row's engine's part (lib/workflows_overload_failover.ts `recovery`: back to 90 % less the
// store's own outage). Without this a row could report a recovery the completions do not show —
// a burst of held work read as "back", or an outage credited to the engine.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { recovery } from '../lib/workflows_overload_failover.js';
import { backTo } from '../lib/workflows_overload_kill.js';

/** Completions at `rate`/s, evenly spaced, in (from, to]. */
function steady(rate: number, from: number, to: number): number[] {
  const out: number[] = [];
  for (let t = from + 1000 / rate; t <= to; t += 1000 / rate) out.push(t);
  return out;
}

test('backTo: the first window at the rate, not a window the outage is still in', () => {
  // 100/s until 10 s, nothing until 13 s, 100/s again.
  const done = [...steady(100, 0, 10_000), ...steady(100, 13_000, 30_000)];
  // (12.9, 13.9] holds 90 completions: 90 % of 100/s.
  assert.equal(backTo(done, 10_000, 30_000, 90, 1000, 100), 2900);
  // A 2 s window stepped by 250 ms: (12.75, 14.75] holds 175 (87.5/s), (13, 15] 200.
  assert.equal(backTo(done, 10_000, 30_000, 90), 3000);
  // Never at the rate: NaN, not the end of the measured time.
  assert.ok(Number.isNaN(backTo(steady(50, 0, 30_000), 10_000, 30_000, 90, 1000, 100)));
});

test('backTo counts a half-empty window made up by a burst; recovery starts at its first completion', () => {
  // 100/s until the kill at 10 s, nothing until 13.5 s, then the held work at 300/s for 1 s, then 100/s.
  const done = [...steady(100, 0, 10_000), ...steady(300, 13_500, 14_500), ...steady(100, 14_500, 30_000)];
  // The window (12.8, 13.8] holds 0.3 s of 300/s, about 90 completions: "back" 0.6–0.7 s before any completion.
  const w = backTo(done, 10_000, 30_000, 90, 1000, 100);
  assert.ok(w === 2800 || w === 2900, `window ${w}`);
  // recovery's back is that window's first completion: when the completions came back.
  const r = recovery(done, 10_000, 12_500, 30_000);
  assert.ok(Math.abs(r.back - 3503.3) < 1, `back ${r.back}`);
  assert.ok(Math.abs(r.part - 1003.3) < 1, `part ${r.part}`);
});

test("recovery: the engine's part is back − the store's outage, and the first completion after the promotion", () => {
  // 200/s until the kill at 10 s; Patroni names the new primary at 12.5 s; first completion at
  // 12.9 s; 200/s from 13.2 s.
  const done = [...steady(200, 0, 10_000), 12_900, ...steady(200, 13_200, 30_000)];
  const r = recovery(done, 10_000, 12_500, 30_000);
  assert.equal(Math.round(r.before), 200);
  assert.ok(Math.abs(r.firstDone - 400) < 1e-6, `first ${r.firstDone}`);
  // The first 1 s window with ≥ 180 completions starts at 13.1 s ((13.1, 14.1] holds 180); its
  // first completion is at 13.205 s.
  assert.equal(Math.round(r.back), 3205);
  assert.equal(Math.round(r.part), 705);
});

test('recovery: not back within the measured time is NaN, never a figure', () => {
  const done = [...steady(200, 0, 10_000), ...steady(100, 13_000, 30_000)];
  const r = recovery(done, 10_000, 12_500, 30_000);
  assert.ok(Number.isNaN(r.back));
  assert.ok(Number.isNaN(r.part));
});

test("recovery: completions before the promotion (the old primary's last) are not a recovery", () => {
  // 4/s before the kill at 10 s, the old primary's backends finish 4 more in the next 300 ms;
  // promotion at 12.5 s; 4/s again from 14 s.
  const done = [...steady(4, 0, 10_000), 10_100, 10_150, 10_200, 10_300, ...steady(4, 14_000, 30_000)];
  const r = recovery(done, 10_000, 12_500, 30_000);
  assert.ok(r.back >= 2500, `back ${r.back} before the promotion`);
  assert.ok(r.part >= 0, `part ${r.part}`);
});

test('recovery: the rate before does not count the first arrivals filling the pipeline', () => {
  // Nothing in the first 3 s (the fill), then 100/s: the rate before is 100/s, not 70/s.
  const done = steady(100, 3000, 10_000);
  const r = recovery(done, 10_000, 12_000, 30_000);
  assert.equal(Math.round(r.before), 100);
});

test("recovery: the bar is the control's rate when the rate before was above it", () => {
  // 300/s before the kill at 10 s (a pipeline filling at 2x); the control carries 200/s; promotion
  // at 12.5 s, 200/s from 13 s: back by the control's rate, never by the rate before's.
  const done = [...steady(300, 0, 10_000), ...steady(200, 13_000, 30_000)];
  assert.ok(Number.isNaN(recovery(done, 10_000, 12_500, 30_000).back));
  const r = recovery(done, 10_000, 12_500, 30_000, 200);
  assert.equal(Math.round(r.before), 300);
  assert.ok(r.back >= 3000 && r.back < 4100, `back ${r.back}`);
  // A control above the rate before changes nothing.
  assert.equal(recovery(done, 10_000, 12_500, 30_000, 1000).back, recovery(done, 10_000, 12_500, 30_000).back);
});
