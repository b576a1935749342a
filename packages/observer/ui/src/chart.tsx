// A line chart (uPlot) of a Series (at least 60 s wide, as far back as its samples go), redrawn
// when its series changed (a page re-rendered by another chart's data leaves it as it is). The time axis is the
// browser's clock (samples are stamped on arrival, in seconds, as uPlot expects) and its labels
// are clock times (hh:mm:ss), whatever the node's own clock or units.

import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

import type { Series } from './hooks';

const COLORS = ['#2f7de1', '#e8743b', '#19a979', '#945ecf', '#ed4a7b'];

/** A time axis value (Unix seconds) as a local clock time. */
export function clockLabel(t: number): string {
  return new Date(t * 1000).toLocaleTimeString('en-GB', { hour12: false });
}

/** Decimals that tell values `step` apart (0.25 → 2, 0.1 → 1, 5 → 0). */
export function decimalsOf(step: number): number {
  let d = 0;
  while (d < 8 && Math.abs(step * 10 ** d - Math.round(step * 10 ** d)) > 1e-6) d++;
  return d;
}

/**
 * The value axis's labels: each tick with as many decimals as the step between ticks needs (a
 * CPU chart at 0.02 % steps read "0 %, 0 %, 0.1 %" with one decimal), and a label equal to the
 * one before it left out (a format that keeps no decimals, such as sizes).
 */
export function valueLabels(vals: number[], format: (v: number, decimals: number) => string): string[] {
  // One tick: as many decimals as its own value needs.
  const step = vals.length > 1 ? Math.abs(vals[1]! - vals[0]!) : (vals[0] ?? 1);
  const decimals = decimalsOf(step);
  const labels = vals.map((v) => format(v, decimals));
  return labels.map((l, i) => (i > 0 && l === labels[i - 1] ? '' : l));
}

/**
 * The value axis's ticks of a chart of whole numbers between `min` and `max` (its data's, or its
 * scale's): from zero (or the multiple of the step below a negative value) to the first multiple
 * of the step at or above the largest value, two to four ticks, a whole step apart. uPlot's own
 * range around a count that holds still (18 processes, 4 messages in and out) was a unit or less
 * wide, and its ticks from a step list gave one label.
 */
export function wholeTicks(min: number | null, max: number | null): number[] {
  const top = Math.max(max ?? 0, 0);
  const bottom = Math.min(min ?? 0, 0);
  const span = Math.max(top - bottom, 1);
  const step = WHOLE_STEPS.find((x) => span / x <= 3) ?? WHOLE_STEPS.at(-1)!;
  const lo = Math.floor(bottom / step) * step;
  const hi = Math.max(Math.ceil(top / step) * step, lo + step);
  const ticks: number[] = [];
  for (let v = lo; v <= hi; v += step) ticks.push(v);
  return ticks;
}

/** Tick steps of a chart of whole numbers (processes, messages): never between two integers. */
const WHOLE_STEPS = [1, 2, 5].flatMap((m) => [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9].map((p) => m * p));

/**
 * A chart of `series`, drawn again each time the series changed (its `version`): a page re-renders
 * for other reasons (another chart's frame, a table) without redrawing it. `data-draws` counts its
 * draws, `data-points` the points of the last one, `data-max` each series' largest value and
 * `data-last` its last one, for tests and curious users.
 */
export function Chart(props: {
  title: string;
  series: Series;
  /** A value as the legend and the value axis read it; `decimals`: what the axis's step needs. */
  format?: (v: number, decimals?: number) => string;
  /** The values are whole numbers (counts): no tick between two integers. */
  whole?: boolean;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const draws = useRef(0);
  useEffect(() => {
    const fmt =
      props.format ??
      ((v: number, decimals?: number) =>
        String(decimals === undefined ? Math.round(v * 100) / 100 : +v.toFixed(decimals)));
    const series = props.series;
    const opts: uPlot.Options = {
      title: props.title,
      width: 360,
      height: 160,
      legend: { show: true, live: false },
      cursor: { show: false },
      // From the first sample kept (the node's history included) to the last, at least the 60 s
      // up to it (now, before the first one): an empty chart gets no 1970 axis, a single sample no
      // zero-width range.
      scales: {
        x: {
          time: true,
          range: () => {
            const last = series.t.at(-1) ?? Date.now() / 1000;
            return [Math.min(series.t[0] ?? last, last - 60), last];
          },
        },
        ...(props.whole
          ? {
              y: {
                range: (_u: uPlot, min: number | null, max: number | null): uPlot.Range.MinMax => {
                  const t = wholeTicks(min, max);
                  return [t[0]!, t.at(-1)!];
                },
              },
            }
          : {}),
      },
      axes: [
        {
          stroke: '#888',
          space: 70,
          values: (_u, vals) => {
            const labels = vals.map(clockLabel);
            // For tests and curious users: what the axis reads (uPlot draws it on a canvas).
            box.current?.setAttribute('data-x-labels', labels.join(' '));
            box.current?.setAttribute('data-x-last', String(Math.round(vals.at(-1) ?? 0)));
            return labels;
          },
        },
        {
          stroke: '#888',
          size: 72,
          ...(props.whole ? { splits: (_u: uPlot, _i: number, lo: number, hi: number) => wholeTicks(lo, hi) } : {}),
          values: (_u, vals) => {
            const labels = valueLabels(vals, fmt);
            box.current?.setAttribute('data-y-labels', labels.join('|'));
            return labels;
          },
        },
      ],
      series: [
        {},
        ...series.names.map((n, i) => ({
          label: n,
          stroke: COLORS[i % COLORS.length],
          width: 1.5,
          value: (_u: uPlot, v: number | null) => (v === null ? '' : fmt(v)),
        })),
      ],
    };
    plot.current = new uPlot(opts, [[], ...series.names.map(() => [])], box.current!);
    return () => plot.current?.destroy();
  }, [props.series]);
  const version = props.series.version;
  useEffect(() => {
    plot.current?.setData([props.series.t, ...props.series.v]);
    // Both set here, at the draw: the points a render put in the DOM before its effect ran would
    // be counted before the draw that shows them (a test reading both saw more draws than points).
    box.current?.setAttribute('data-points', String(props.series.t.length));
    // Each series' largest value kept (uPlot draws on a canvas): what a test reads of the curve.
    box.current?.setAttribute('data-max', props.series.v.map((a) => (a.length === 0 ? '' : Math.max(...a))).join(' '));
    box.current?.setAttribute('data-last', props.series.v.map((a) => a.at(-1) ?? '').join(' '));
    box.current?.setAttribute('data-draws', String(++draws.current));
  }, [version, props.series]);
  return <div class="chart" data-title={props.title} ref={box} />;
}
