// Row names of the built-in suites and the targets ergo-ts must meet (issue 14), keyed by
// "group|name". Targets are printed beside the live figures with a met / not met mark computed
// from this run. A suite module may declare more (`export const figures`).

import type { FigureSpec, Target } from './types.js';

export const G_MESSAGING = 'local messaging';
export const G_PROCESSES = 'processes';
export const G_EVENTS = 'events, links and monitors';

export const N_SEND_1 = 'local send 1→1, windowed';
export const N_SEND_BURST = 'local send 1→1, burst of 3 M';
export const N_SEND_8 = 'local send, 8 actor classes';
export const N_SEND_SPREAD = 'local send 1→1, windowed: spread over fresh processes';
export const N_SEND_N = 'local send N→N (2 pairs)';
export const N_CALL = 'sequential call';
export const N_CALL_SPREAD = 'sequential call: spread over fresh processes';
export const N_SPAWN = 'spawn rate';
export const N_SPAWN_SPREAD = 'spawn rate: spread over fresh processes';
// The controls of the spread rows: a plain JS await ping-pong run before each round in the same
// processes (measure.ts jsControlRound).
export const N_CONTROL_SEND_SPREAD = 'control (plain JS awaits) in the windowed-spread processes';
export const N_CONTROL_CALL_SPREAD = 'control (plain JS awaits) in the call-spread processes';
export const N_CONTROL_SPAWN_SPREAD = 'control (plain JS awaits) in the spawn-spread processes';
export const N_HEAP = 'heap per idle process';
export const N_RETAINED = 'mailbox retained after a 3 M burst is drained';
export const N_FANOUT = 'event fan-out to 100K subscribers';
export const N_MONITOR = 'monitor: create + down';
export const N_LINK = 'link: create + exit (trapped)';
export const N_STOP = 'process stop only (baseline)';

const MiB = 1024 * 1024;

const key = (group: string, name: string): string => `${group}|${name}`;

const targets = new Map<string, Target>([
  [key(G_MESSAGING, N_SEND_BURST), { value: 10e6, better: 'higher', ahead: ['erlang', 'erlang-1'] }],
  // Issue 47: the public API keeps at least 0.6 of the raw JS ring's rate.
  [key(G_MESSAGING, N_SEND_1), { value: 25e6, better: 'higher', ratios: [{ peer: 'js-ring', value: 0.6 }] }],
  [key(G_MESSAGING, N_SEND_8), { value: 15e6, better: 'higher' }],
  [key(G_MESSAGING, N_SEND_N), { value: 10e6, better: 'higher' }],
  [key(G_MESSAGING, N_CALL), { value: 1.5e6, better: 'higher' }],
  [key(G_PROCESSES, N_SPAWN), { value: 750e3, better: 'higher' }],
  [key(G_PROCESSES, N_HEAP), { value: 512, better: 'lower' }],
  [key(G_MESSAGING, N_RETAINED), { value: 8 * MiB, better: 'lower', strict: true }],
]);

export function targetOf(group: string, name: string): Target | undefined {
  return targets.get(key(group, name));
}

/** Adds the targets a suite module declares (`export const figures`). */
export function addFigures(specs: readonly FigureSpec[]): void {
  for (const f of specs) if (f.target !== undefined) targets.set(key(f.group, f.name), f.target);
}
