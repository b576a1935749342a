// A 60 s line chart (uPlot) of a Series, redrawn when the series grows.

import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

import type { Series } from './hooks';

const COLORS = ['#2f7de1', '#e8743b', '#19a979', '#945ecf', '#ed4a7b'];

export function Chart(props: { title: string; series: Series; tick: number; format?: (v: number) => string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const fmt = props.format ?? ((v: number) => String(Math.round(v * 100) / 100));
    const opts: uPlot.Options = {
      title: props.title,
      width: 360,
      height: 160,
      legend: { show: true, live: false },
      cursor: { show: false },
      // Always the last 60 s, whatever number of samples there is yet.
      scales: { x: { time: true, range: (_u, _min, max) => [max - 60, max] } },
      axes: [{ stroke: '#888' }, { stroke: '#888', size: 72, values: (_u, vals) => vals.map((v) => fmt(v)) }],
      series: [
        {},
        ...props.series.names.map((n, i) => ({
          label: n,
          stroke: COLORS[i % COLORS.length],
          width: 1.5,
          value: (_u: uPlot, v: number | null) => (v === null ? '' : fmt(v)),
        })),
      ],
    };
    plot.current = new uPlot(opts, [[], ...props.series.names.map(() => [])], box.current!);
    return () => plot.current?.destroy();
  }, [props.series]);
  useEffect(() => {
    plot.current?.setData([props.series.t, ...props.series.v]);
  }, [props.tick, props.series]);
  return <div class="chart" ref={box} data-points={props.series.t.length} />;
}
