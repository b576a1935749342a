// The results of one run: figures by row (group + name) and peer, ratios, targets (met or not),
// the printed tables and the JSON document.

import { targetOf } from './figures.js';
import { median } from './measure.js';
import type { Row, Target } from './types.js';

/** Columns of the measured peers, in print order (other peers a suite reports are appended). */
export const PEER_ORDER = ['ergo-ts', 'nact', 'erlang', 'erlang-1', 'go', 'go-1'];
export const PEER_LABEL: Record<string, string> = {
  'ergo-ts': 'ergo-ts',
  nact: 'nact',
  erlang: 'Erlang',
  'erlang-1': 'Erlang +S1',
  go: 'Go Ergo',
  'go-1': 'Go Ergo P1',
  node: 'bare Node',
  tcp: 'loopback TCP',
  '1-node': '1 node',
  threads: 'bare threads',
  nats: 'NATS',
  redis: 'Redis',
  'effect-cluster': '@effect/cluster',
  'effect-workflow': 'effect/workflow',
  restate: 'Restate',
  dbos: 'DBOS',
  'js-ring': 'raw JS ring',
  'socket.io': 'Socket.IO',
  ws: 'raw ws',
};

/** One peer's figure in one row. */
export interface Figure {
  /** Median of the samples (or of the reported values when a suite reported several). */
  value: number;
  /** One value per report (per child process when a scenario runs in several): its median. */
  values: number[];
  samples: number[];
  min: number;
  max: number;
  note?: string;
  /** Cores other processes used on average while this figure was measured (see the runner). */
  otherCores?: number;
}

/** Above this many cores used by other processes on average, a figure is marked unreliable. */
export const BUSY_CORES = 0.25;

/** One table row. */
export interface Entry {
  group: string;
  name: string;
  unit: string;
  better: 'higher' | 'lower';
  figures: Map<string, Figure>;
}

/** A failed or skipped piece of the run. */
export interface Problem {
  what: string;
  detail: string;
}

export class Results {
  readonly entries = new Map<string, Entry>();
  readonly failures: Problem[] = [];
  readonly skipped: Problem[] = [];
  /** Measurements during which other processes competed for the CPU (cores used on average). */
  readonly busy: { what: string; otherCores: number }[] = [];
  /** Peers whose column a group shows even without figures (e.g. Erlang when `erl` is missing). */
  private readonly expected = new Map<string, Set<string>>();
  private readonly raw = new Map<string, { values: number[]; samples: number[]; notes: string[] }>();

  /** Adds a reported row (peer defaults to ergo-ts); returns the merged figure. */
  add(row: Row, otherCores?: number): Figure {
    const peer = row.peer ?? 'ergo-ts';
    const key = `${row.group}|${row.name}`;
    let e = this.entries.get(key);
    if (e === undefined) {
      e = {
        group: row.group,
        name: row.name,
        unit: row.unit,
        better: row.better ?? targetOf(row.group, row.name)?.better ?? 'higher',
        figures: new Map(),
      };
      this.entries.set(key, e);
    }
    if (row.better !== undefined) e.better = row.better;
    const rk = `${key}|${peer}`;
    let r = this.raw.get(rk);
    if (r === undefined) this.raw.set(rk, (r = { values: [], samples: [], notes: [] }));
    const samples = row.samples !== undefined && row.samples.length > 0 ? row.samples : [row.value];
    r.values.push(row.samples !== undefined && row.samples.length > 0 ? median(row.samples) : row.value);
    r.samples.push(...samples);
    if (row.note !== undefined && row.note !== '' && !r.notes.includes(row.note)) r.notes.push(row.note);
    const f: Figure = {
      value: r.values.length === 1 ? r.values[0]! : median(r.values),
      values: r.values,
      samples: r.samples,
      min: Math.min(...r.samples),
      max: Math.max(...r.samples),
      note: r.notes.length > 0 ? r.notes.join('; ') : undefined,
      otherCores:
        otherCores !== undefined
          ? Math.max(otherCores, e.figures.get(peer)?.otherCores ?? 0)
          : e.figures.get(peer)?.otherCores,
    };
    e.figures.set(peer, f);
    return f;
  }

  /** Shows `peer`'s column in `group` even if it reports nothing there. */
  expect(group: string, peer: string): void {
    let s = this.expected.get(group);
    if (s === undefined) this.expected.set(group, (s = new Set()));
    s.add(peer);
  }

  /** Columns of a group: ergo-ts, then the known peers present or expected, then any other. */
  peersOf(group: string): string[] {
    const seen = new Set<string>(this.expected.get(group) ?? []);
    for (const e of this.entries.values()) if (e.group === group) for (const p of e.figures.keys()) seen.add(p);
    seen.delete('ergo-ts');
    return [
      'ergo-ts',
      ...PEER_ORDER.filter((p) => seen.has(p)),
      ...[...seen].filter((p) => !PEER_ORDER.includes(p)).sort(),
    ];
  }

  /** Group names in first-reported order. */
  groups(): string[] {
    const g: string[] = [];
    for (const e of this.entries.values()) if (!g.includes(e.group)) g.push(e.group);
    return g;
  }

  /** Peers that reported anything, in column order. */
  peers(): string[] {
    const seen = new Set<string>();
    for (const e of this.entries.values()) for (const p of e.figures.keys()) seen.add(p);
    return [...PEER_ORDER, ...[...seen].filter((p) => !PEER_ORDER.includes(p)).sort()];
  }
}

/** ergo-ts ÷ peer (undefined when either is missing). */
export function ratio(e: Entry, peer: string): number | undefined {
  const a = e.figures.get('ergo-ts')?.value;
  const b = e.figures.get(peer)?.value;
  if (a === undefined || b === undefined || b === 0 || !Number.isFinite(a) || !Number.isFinite(b)) return undefined;
  return a / b;
}

/** `a` is better than (or, unless `strict`, as good as) `b` in the direction `better`. */
function atLeast(a: number, b: number, better: 'higher' | 'lower', strict: boolean): boolean {
  if (better === 'lower') return strict ? a < b : a <= b;
  return strict ? a > b : a >= b;
}

/**
 * Whether ergo-ts meets the row's target: the value, and ahead of every `ahead` peer. Undefined
 * without a target or an ergo-ts figure, or when an `ahead` peer was not measured in this run
 * (nothing to compare with) while the value itself is met.
 */
export function met(e: Entry, t: Target | undefined): boolean | undefined {
  const v = e.figures.get('ergo-ts')?.value;
  if (t === undefined || v === undefined) return undefined;
  if (t.value !== undefined && !atLeast(v, t.value, t.better, t.strict === true)) return false;
  let unknown = false;
  for (const p of t.ahead ?? []) {
    const f = e.figures.get(p);
    if (f === undefined) unknown = true;
    else if (!atLeast(v, f.value, t.better, true)) return false;
  }
  for (const g of t.ratios ?? []) {
    const r = ratio(e, g.peer);
    if (r === undefined) unknown = true;
    else if (!atLeast(r, g.value, t.better, false)) return false;
  }
  return unknown ? undefined : true;
}

/**
 * How far ergo-ts is from the row's target, as a ratio: its value ÷ the target's value, or, for a
 * row whose goals are ratios only, its ratio to the first goal's peer ÷ that goal.
 */
export function vsTarget(e: Entry, t: Target | undefined): number | undefined {
  const v = e.figures.get('ergo-ts')?.value;
  if (t === undefined || v === undefined) return undefined;
  if (t.value !== undefined) return v / t.value;
  const g = t.ratios?.[0];
  const r = g === undefined ? undefined : ratio(e, g.peer);
  return g === undefined || r === undefined ? undefined : r / g.value;
}

/** The target as printed: "≥ 10.0 M, > Erlang, Erlang +S1". */
export function targetText(t: Target, unit: string): string {
  const op = t.better === 'lower' ? (t.strict === true ? '<' : '≤') : t.strict === true ? '>' : '≥';
  const parts: string[] = [];
  if (t.value !== undefined) parts.push(`${op} ${fmt(t.value, unit)}`);
  const ahead = (t.ahead ?? []).map((p) => PEER_LABEL[p] ?? p);
  if (ahead.length > 0) parts.push(`${t.better === 'lower' ? '<' : '>'} ${ahead.join(' & ')}`);
  const ratioOp = t.better === 'lower' ? '≤' : '≥';
  for (const g of t.ratios ?? []) parts.push(`${ratioOp} ${fmtRatio(g.value)} ${PEER_LABEL[g.peer] ?? g.peer}`);
  return parts.join(', ');
}

// --- formatting ---------------------------------------------------------------------------------

const isBytes = (unit: string): boolean => unit === 'B' || unit.startsWith('B/');

function sig3(v: number): string {
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** A figure with an SI prefix (bytes: B / KB / MB with 1024). */
export function fmt(v: number | undefined, unit: string): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  if (isBytes(unit)) {
    if (v < 1024) return `${v.toFixed(0)} B`;
    if (v < 1024 * 1024) return `${(v / 1024).toFixed(2)} KB`;
    return `${(v / 1024 / 1024).toFixed(2)} MB`;
  }
  const a = Math.abs(v);
  if (a >= 1e9) return `${sig3(v / 1e9)} G`;
  if (a >= 1e6) return `${sig3(v / 1e6)} M`;
  if (a >= 1e3) return `${sig3(v / 1e3)} K`;
  return sig3(v);
}

/** A figure followed by its unit (bytes units already carry B / KB). */
export function fmtWithUnit(v: number | undefined, unit: string): string {
  const s = fmt(v, unit);
  if (isBytes(unit)) return unit.startsWith('B/') ? `${s}${unit.slice(1)}` : s;
  return `${s} ${unit}`;
}

export function fmtRatio(r: number | undefined): string {
  return r === undefined ? '—' : `×${r >= 10 ? r.toFixed(1) : r.toFixed(2)}`;
}

function pad(s: string, w: number, left: boolean): string {
  const n = [...s].length;
  return n >= w ? s : left ? s + ' '.repeat(w - n) : ' '.repeat(w - n) + s;
}

/** Renders rows of cells as aligned text (first column left, the rest right-aligned). */
export function renderTable(header: string[], rows: string[][], sepAfter: number[] = []): string[] {
  const widths = header.map((h, i) => Math.max([...h].length, ...rows.map((r) => [...(r[i] ?? '')].length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => pad(c, widths[i]!, i === 0) + (sepAfter.includes(i) ? ' │' : ''))
      .join('  ')
      .trimEnd();
  const out = [line(header)];
  out.push(widths.map((w, i) => '─'.repeat(w) + (sepAfter.includes(i) ? '─┼' : '')).join('──'));
  for (const r of rows) out.push(line(r));
  return out;
}

/** The printed tables, one per group, with ratio and target columns and notes. */
export function renderResults(results: Results): string[] {
  const out: string[] = [];
  for (const group of results.groups()) {
    const peers = results.peersOf(group);
    const others = peers.filter((p) => p !== 'ergo-ts');
    const entries = [...results.entries.values()].filter((e) => e.group === group);
    const header = [
      'scenario',
      'unit',
      ...peers.map((p) => PEER_LABEL[p] ?? p),
      ...others.map((p) => `vs ${PEER_LABEL[p] ?? p}`),
      'target',
      'vs target',
      'met',
    ];
    const rows = entries.map((e) => {
      const t = targetOf(e.group, e.name);
      const m = met(e, t);
      const ergo = e.figures.get('ergo-ts')?.value;
      return [
        e.better === 'lower' ? `${e.name} (↓ better)` : e.name,
        e.unit,
        ...peers.map((p) => {
          const f = e.figures.get(p);
          return (
            fmt(f?.value, e.unit) +
            (f !== undefined && (f.otherCores ?? 0) > BUSY_CORES && !isBytes(e.unit) ? ' !' : '')
          );
        }),
        ...others.map((p) => fmtRatio(ratio(e, p))),
        t === undefined ? '—' : targetText(t, e.unit),
        t === undefined || ergo === undefined ? '—' : fmtRatio(vsTarget(e, t)),
        t === undefined || ergo === undefined ? '—' : m === undefined ? '?' : m ? 'met' : 'NOT MET',
      ];
    });
    out.push('', `■ ${group}`, ...renderTable(header, rows).map((l) => '  ' + l));
    const notes: string[] = [];
    for (const e of entries) {
      const parts: string[] = [];
      for (const p of peers) {
        const f = e.figures.get(p);
        if (f === undefined) continue;
        const vs = f.values;
        const spread =
          vs.length > 1
            ? `${vs.length} processes: min ${fmt(Math.min(...vs), e.unit)} / median ${fmt(median(vs), e.unit)} / max ${fmt(Math.max(...vs), e.unit)} (${vs.map((v) => fmt(v, e.unit)).join(', ')})`
            : f.samples.length > 1
              ? `${f.samples.length} rounds ${fmt(f.min, e.unit)}…${fmt(f.max, e.unit)}`
              : '1 value';
        parts.push(`${PEER_LABEL[p] ?? p}: ${spread}${f.note !== undefined ? `, ${f.note}` : ''}`);
      }
      if (parts.length > 0) notes.push(`    ${e.name} — ${parts.join(' | ')}`);
    }
    if (notes.length > 0) out.push('  notes:', ...notes);
  }
  return out;
}

/** The JSON document written to .bench-tmp/latest.json. */
export function resultsJSON(results: Results, meta: Record<string, unknown>): unknown {
  const peers = results.peers();
  return {
    ...meta,
    rows: [...results.entries.values()].map((e) => {
      const t = targetOf(e.group, e.name);
      return {
        group: e.group,
        name: e.name,
        unit: e.unit,
        better: e.better,
        figures: Object.fromEntries([...e.figures.entries()].map(([p, f]) => [p, f])),
        ratios: Object.fromEntries(
          peers.filter((p) => p !== 'ergo-ts' && e.figures.has(p)).map((p) => [p, ratio(e, p) ?? null]),
        ),
        target: t ?? null,
        vsTarget: vsTarget(e, t) ?? null,
        met: met(e, t) ?? null,
      };
    }),
    failures: results.failures,
    busy: results.busy,
    skipped: results.skipped,
  };
}
