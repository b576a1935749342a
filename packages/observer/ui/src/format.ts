// How values read: states and levels by name (numbers from the wire, names from JSON), sizes,
// durations and counts.

import type { Json } from './api';

const PROCESS_STATES: Record<number, string> = {
  1: 'init',
  2: 'sleep',
  4: 'running',
  8: 'wait response',
  16: 'terminated',
  32: 'zombee',
};
const LOG_LEVELS: Record<number, string> = {
  [-100]: 'system',
  [-2]: 'trace',
  [-1]: 'debug',
  0: 'default',
  1: 'info',
  2: 'warning',
  3: 'error',
  4: 'panic',
  5: 'disabled',
};
const NETWORK_MODES: Record<number, string> = { 0: 'enabled', 1: 'hidden', [-1]: 'disabled' };
const APP_MODES: Record<number, string> = { 1: 'temporary', 2: 'transient', 3: 'permanent' };
const APP_STATES: Record<number, string> = { 1: 'loaded', 2: 'running', 3: 'stopping' };
const META_STATES: Record<number, string> = { 1: 'sleep', 2: 'running', 4: 'terminated' };
const PRIORITIES: Record<number, string> = { 0: 'normal', 1: 'high', 2: 'max' };

function named(table: Record<number, string>, v: Json): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return table[v] ?? String(v);
  return '';
}

export const processState = (v: Json): string => named(PROCESS_STATES, v);
export const logLevel = (v: Json): string => named(LOG_LEVELS, v);
export const networkMode = (v: Json): string => named(NETWORK_MODES, v);
export const appMode = (v: Json): string => named(APP_MODES, v);
export const appState = (v: Json): string => named(APP_STATES, v);
export const metaState = (v: Json): string => named(META_STATES, v);
export const priority = (v: Json): string => named(PRIORITIES, v);

export function bytes(n: Json): string {
  const x = Number(n);
  if (!Number.isFinite(x)) return '';
  if (x < 1024) return `${x} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = x / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function seconds(n: Json): string {
  let s = Math.floor(Number(n) || 0);
  const d = Math.floor(s / 86400);
  s %= 86400;
  const h = Math.floor(s / 3600);
  s %= 3600;
  const m = Math.floor(s / 60);
  s %= 60;
  return d > 0 ? `${d}d ${h}h` : h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${s}s` : `${s}s`;
}

/** Nanoseconds as µs / ms / s, and from a minute on as minutes (`7m 3s`). */
export function nanos(n: Json): string {
  const x = Number(n) || 0;
  if (x < 1e6) return `${(x / 1e3).toFixed(0)} µs`;
  if (x < 1e9) return `${(x / 1e6).toFixed(1)} ms`;
  if (x < 60e9) return `${(x / 1e9).toFixed(2)} s`;
  return seconds(x / 1e9);
}

/**
 * Milliseconds since the handler a process is still in began (an ergo-ts node reports when it
 * began: `handlerStartedAt`), 0 when it is in none or the node does not say (a Go node, or
 * any node but the Observer's own: the field does not cross the network).
 */
export function inHandlerMs(info: Json, now = Date.now()): number {
  const since = Number(info?.handlerStartedAt ?? 0);
  const inHandler = info?.state === 4 || info?.state === 8; // running, waiting for a response
  return inHandler && since > 0 ? Math.max(0, now - since) : 0;
}

/**
 * A process's running time (ns) with the handler it is still in: the node counts a handler's
 * time after its first `await` nowhere, and Go's only once the handler returns, so a process
 * busy for minutes in one handler would read as a few µs.
 */
export function runningNow(info: Json, now = Date.now()): number {
  return (Number(info?.runningTime) || 0) + inHandlerMs(info, now) * 1e6;
}

export function count(n: Json): string {
  return (Number(n) || 0).toLocaleString('en-US');
}

export function list(v: Json): Json[] {
  return Array.isArray(v) ? v : [];
}

/** Unix nanoseconds (number or string) as local time with milliseconds. */
export function clock(ns: Json): string {
  const ms = Number(BigInt(Math.trunc(Number(ns) / 1e6)));
  const d = new Date(ms);
  return d.toLocaleTimeString('en-GB', { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
}
