// Targets (from the issues) and reference figures (measured earlier on these 2-core machines,
// ARCHITECTURE.md §7), keyed by "group|name". They are printed beside the live figures and are
// never presented as measured in this run. A suite module may declare more (`export const figures`).

import type { FigureSpec } from './types.js';

/** A target for ergo-ts: `value` in the row's unit; met when the figure is ≥ (or ≤ for lower-is-better). */
export interface Target {
  value: number;
  better: 'higher' | 'lower';
}

/** Reference figures for one row, by peer label. */
export type References = Record<string, number>;

/** Column labels of the reference figures, in print order. */
export const REFERENCE_PEERS = ['Go Ergo', 'Erlang', 'nact'] as const;

export const G_MESSAGING = 'local messaging';
export const G_PROCESSES = 'processes';
export const G_EVENTS = 'events, links and monitors';

export const N_SEND_1 = 'local send 1→1';
export const N_SEND_N = 'local send N→N (2 pairs)';
export const N_CALL = 'sequential call';
export const N_SPAWN = 'spawn rate';
export const N_HEAP = 'heap per idle process';
export const N_FANOUT = 'event fan-out to 100K subscribers';
export const N_MONITOR = 'monitor: create + down';
export const N_LINK = 'link: create + exit (trapped)';
export const N_STOP = 'process stop only (baseline)';

const key = (group: string, name: string): string => `${group}|${name}`;

const targets = new Map<string, Target>([
  [key(G_MESSAGING, N_SEND_1), { value: 10e6, better: 'higher' }],
  [key(G_MESSAGING, N_SEND_N), { value: 10e6, better: 'higher' }],
  [key(G_MESSAGING, N_CALL), { value: 1e6, better: 'higher' }],
  [key(G_PROCESSES, N_SPAWN), { value: 500e3, better: 'higher' }],
  [key(G_PROCESSES, N_HEAP), { value: 1024, better: 'lower' }],
]);

const references = new Map<string, References>([
  [key(G_MESSAGING, N_SEND_1), { 'Go Ergo': 4.0e6, Erlang: 8.3e6, nact: 0.39e6 }],
  [key(G_MESSAGING, N_CALL), { 'Go Ergo': 265e3, Erlang: 554e3, nact: 259e3 }],
  [key(G_PROCESSES, N_SPAWN), { 'Go Ergo': 63e3, Erlang: 162e3, nact: 225e3 }],
  [key(G_PROCESSES, N_HEAP), { 'Go Ergo': 2.6 * 1024, Erlang: 2.7 * 1024, nact: 1.2 * 1024 }],
]);

export function targetOf(group: string, name: string): Target | undefined {
  return targets.get(key(group, name));
}

export function referencesOf(group: string, name: string): References | undefined {
  return references.get(key(group, name));
}

/** Adds the targets/references a suite module declares (`export const figures`). */
export function addFigures(specs: readonly FigureSpec[]): void {
  for (const f of specs) {
    if (f.target !== undefined) targets.set(key(f.group, f.name), f.target);
    if (f.references !== undefined) references.set(key(f.group, f.name), { ...references.get(key(f.group, f.name)), ...f.references });
  }
}
