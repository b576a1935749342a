// The Workflows page's charts: one workflow kind's counters over the cluster, or (every kind
// selected) every kind's summed (`do/workflows` op stats with `scope: 'cluster'`, with the kind or
// without it for every kind's, each second: the node observed asks every live member and sums
// their figures — the figures @ergo-ts/metrics exports as `ergo_workflow_*`, counted where things
// happen, no store read — so a client-only node, which runs no instance, charts the cluster too)
// drawn as rates over the last second (instances started, completed, failed, cancelled; step
// attempts, retries, failures) and as levels (instances open and blocked in the members'
// activations; outbox messages journaled and not delivered, and the oldest one's age). The
// counters run from each member's start, so a rate needs two samples and a sum that went down (a
// member restarted or left) starts the rates afresh. The nodes summed, and the members that did
// not answer, are named under the title.

import { useCallback, useMemo, useState } from 'preact/hooks';

import { type Json } from '../api';
import { Chart } from '../chart';
import { count, list } from '../format';
import { Series, usePolled } from '../hooks';
import { Error } from '../ui';

/** The counters a rate is drawn of, in each chart's order. */
const INSTANCE_RATES = ['started', 'completed', 'failed', 'cancelled'] as const;
const STEP_RATES = ['stepAttempts', 'stepRetries', 'stepFailures'] as const;

/** The series of one kind's charts. */
interface WorkflowSeries {
  instances: Series;
  open: Series;
  steps: Series;
  outbox: Series;
  outboxAge: Series;
}

/** The counters of a sample summed over kinds (the oldest outbox age is the largest, not summed). */
const SUMMED = [
  ...['started', 'completed', 'failed', 'cancelled', 'blockedTotal', 'open', 'blocked'],
  ...['stepAttempts', 'stepRetries', 'stepFailures', 'outboxPending'],
] as const;

/**
 * The sample the charts draw: kind `kind`'s, or with `kind` null every kind's summed — the nodes
 * and the silent members of any of them, and the kinds summed. Undefined when there is none.
 */
export function sampleOf(d: Json, kind: string | null): Json {
  if (kind !== null) return d?.[kind];
  const names = Object.keys(d ?? {}).sort();
  if (names.length === 0) return undefined;
  const kinds = names.map((n) => d[n]);
  const sum: Json = { kinds: names };
  for (const f of SUMMED) sum[f] = kinds.reduce((n: number, k: Json) => n + Number(k[f] ?? 0), 0);
  sum.outboxOldestPendingMs = Math.max(...kinds.map((k: Json) => Number(k.outboxOldestPendingMs ?? 0)));
  const union = (f: string): string[] => [...new Set(kinds.flatMap((k: Json) => list(k[f])))].sort() as string[];
  sum.nodes = union('nodes');
  sum.missing = union('missing');
  return sum;
}

/** Per second from `prev` to `now` over `dt` seconds; null when a counter went down (a restart). */
function rates(now: Json, prev: Json, names: readonly string[], dt: number): number[] | null {
  const out = names.map((n) => (Number(now[n]) - Number(prev[n])) / dt);
  return out.some((v) => !Number.isFinite(v) || v < 0) ? null : out;
}

const perSecond = (v: number, decimals?: number): string =>
  `${decimals === undefined ? Math.round(v * 100) / 100 : +v.toFixed(decimals)}/s`;
const whole = (v: number): string => count(Math.round(v));
const ageSeconds = (v: number, decimals?: number): string =>
  `${decimals === undefined ? Math.round(v * 10) / 10 : +v.toFixed(decimals)} s`;

/** Which nodes a sample sums, and which members did not answer. */
function nodesLine(s: Json): string {
  const nodes: string[] = Array.isArray(s?.nodes) ? s.nodes : [];
  const missing: string[] = Array.isArray(s?.missing) ? s.missing : [];
  const summed =
    nodes.length === 0 ? 'no member runs this kind' : `summed over ${nodes.length} node(s): ${nodes.join(', ')}`;
  return missing.length === 0 ? summed : `${summed}; not answering (left out): ${missing.join(', ')}`;
}

/**
 * Samples `kind`'s counters (null: every kind's, summed) each second while mounted and charts them
 * (see the top of this file).
 */
export function WorkflowCharts(props: { kind: string | null }) {
  const charts = useMemo<WorkflowSeries>(
    () => ({
      instances: new Series(['started', 'completed', 'failed', 'cancelled']),
      open: new Series(['open', 'blocked']),
      steps: new Series(['attempts', 'retries', 'failures']),
      outbox: new Series(['pending']),
      outboxAge: new Series(['oldest pending']),
    }),
    [props.kind],
  );
  // Re-renders when a sample moved the series (each chart reads its series' version).
  const [, setTick] = useState(0);
  // The previous sample (null before the first): a rate needs two.
  const prev = useMemo<{ t: number; s: Json }>(() => ({ t: 0, s: null }), [props.kind]);
  const [data, error] = usePolled(
    'workflows',
    { op: 'stats', ...(props.kind === null ? {} : { workflow: props.kind }), scope: 'cluster' },
    true,
    0,
    useCallback(
      (d: Json) => {
        const s = sampleOf(d, props.kind);
        if (s === undefined) return;
        // Every kind's: a kind that came or went changes the sum, so the rates start afresh.
        if (prev.s !== null && String(prev.s.kinds) !== String(s.kinds)) prev.s = null;
        const t = Date.now() / 1000;
        charts.open.push(t, [Number(s.open), Number(s.blocked)]);
        charts.outbox.push(t, [Number(s.outboxPending)]);
        charts.outboxAge.push(t, [Number(s.outboxOldestPendingMs) / 1000]);
        if (prev.s !== null && t > prev.t) {
          const dt = t - prev.t;
          const inst = rates(s, prev.s, INSTANCE_RATES, dt);
          const steps = rates(s, prev.s, STEP_RATES, dt);
          if (inst !== null) charts.instances.push(t, inst);
          if (steps !== null) charts.steps.push(t, steps);
        }
        Object.assign(prev, { t, s });
        setTick((n) => n + 1);
      },
      [props.kind, charts, prev],
    ),
  );
  const last: Json = sampleOf(data, props.kind) ?? null;
  const every = list(last?.kinds);
  return (
    <div class="card" data-testid="workflow-charts">
      <h3 data-testid="workflow-charts-title">
        {props.kind === null
          ? `every kind in the cluster (${every.length}: ${every.join(', ')})`
          : `${props.kind} in the cluster`}
      </h3>
      {last === null ? null : (
        <p class="muted" data-testid="workflow-chart-nodes">
          {nodesLine(last)}
        </p>
      )}
      {last === null ? null : (
        <p class="muted" data-testid="workflow-chart-totals">
          Since each member's runtime started: {whole(last.started)} started, {whole(last.completed)} completed,{' '}
          {whole(last.failed)} failed, {whole(last.cancelled)} cancelled, {whole(last.blockedTotal)} blocked; step
          attempts {whole(last.stepAttempts)}, retries {whole(last.stepRetries)}, failed for good{' '}
          {whole(last.stepFailures)}.
        </p>
      )}
      <Error text={error} />
      <div class="charts">
        <Chart title="Instances per second" series={charts.instances} format={perSecond} />
        <Chart title="Open instances" series={charts.open} format={whole} whole />
        <Chart title="Step attempts per second" series={charts.steps} format={perSecond} />
        <Chart title="Outbox pending" series={charts.outbox} format={whole} whole />
        <Chart title="Oldest outbox message (s)" series={charts.outboxAge} format={ageSeconds} />
      </div>
    </div>
  );
}
