// Links and monitors of a process as a graph: the process in the middle, what it links to and
// monitors one hop out (solid edges: links; dashed: monitors). Clicking a neighbour that is a
// process expands it: its own links and monitors are drawn around it.

import { useCallback, useEffect, useState } from 'preact/hooks';

import { type Json } from '../api';
import { list } from '../format';
import { go, useSubscription } from '../hooks';

interface Edge {
  from: string;
  to: string;
  kind: 'link' | 'monitor';
}

/** Subscribes to one process and reports its edges; renders nothing. */
function Probe(props: { pid: string; onEdges: (pid: string, edges: Edge[], name: string) => void }) {
  const [data] = useSubscription('process_info', { pid: props.pid }, (d) => d.info?.pid === props.pid);
  const { pid, onEdges } = props;
  useEffect(() => {
    const i = data?.info;
    if (i === undefined) return;
    const links = [
      ...list(i.linksPID),
      ...list(i.linksProcessID),
      ...list(i.linksAlias),
      ...list(i.linksEvent),
      ...list(i.linksNode),
    ];
    const monitors = [
      ...list(i.monitorsPID),
      ...list(i.monitorsProcessID),
      ...list(i.monitorsAlias),
      ...list(i.monitorsEvent),
      ...list(i.monitorsNode),
    ];
    onEdges(
      pid,
      [
        ...links.map((t: Json): Edge => ({ from: pid, to: String(t), kind: 'link' })),
        ...monitors.map((t: Json): Edge => ({ from: pid, to: String(t), kind: 'monitor' })),
      ],
      String(i.name ?? ''),
    );
  }, [data, pid, onEdges]);
  return null;
}

const isPID = (s: string): boolean => /^<[0-9A-F]{8}\.\d+\.\d+>$/.test(s);

export function GraphPage(props: { pid: string }) {
  const [expanded, setExpanded] = useState<string[]>([props.pid]);
  const [edges, setEdges] = useState<Record<string, Edge[]>>({});
  const [names, setNames] = useState<Record<string, string>>({});
  const onEdges = useCallback((pid: string, e: Edge[], name: string) => {
    setEdges((old) => (JSON.stringify(old[pid]) === JSON.stringify(e) ? old : { ...old, [pid]: e }));
    setNames((old) => (old[pid] === name ? old : { ...old, [pid]: name }));
  }, []);
  // Layout: the centre, then each expanded process's neighbours on a circle around it.
  const pos: Record<string, { x: number; y: number }> = { [props.pid]: { x: 450, y: 300 } };
  const all: Edge[] = [];
  for (const p of expanded) {
    const around = pos[p] ?? { x: 450, y: 300 };
    const es = edges[p] ?? [];
    const r = p === props.pid ? 200 : 110;
    es.forEach((e, k) => {
      all.push(e);
      if (pos[e.to] === undefined) {
        const a = (2 * Math.PI * k) / Math.max(1, es.length) + (p === props.pid ? 0 : 0.4);
        pos[e.to] = { x: around.x + r * Math.cos(a), y: around.y + r * Math.sin(a) };
      }
    });
  }
  return (
    <div class="page" data-page="graph">
      <h1>
        Links and monitors of <span class="mono">{props.pid}</span>
      </h1>
      <p class="muted">solid: link, dashed: monitor; click a process to expand it, double-click to open it</p>
      {expanded.map((p) => (
        <Probe key={p} pid={p} onEdges={onEdges} />
      ))}
      <svg class="graph" viewBox="0 0 900 600" width="900" height="600" data-testid="graph">
        <defs>
          <marker
            id="arrow"
            viewBox="0 0 10 10"
            refX="10"
            refY="5"
            markerWidth="6"
            markerHeight="6"
            orient="auto-start-reverse"
          >
            <path d="M 0 0 L 10 5 L 0 10 z" fill="#888" />
          </marker>
        </defs>
        {all.map((e, k) => {
          const a = pos[e.from]!;
          const b = pos[e.to]!;
          return <line key={k} x1={a.x} y1={a.y} x2={b.x} y2={b.y} class={`edge ${e.kind}`} marker-end="url(#arrow)" />;
        })}
        {Object.entries(pos).map(([id, p]) => (
          <g
            key={id}
            class={`gnode ${id === props.pid ? 'centre' : ''} ${isPID(id) ? 'pid' : ''}`}
            transform={`translate(${p.x},${p.y})`}
            onClick={() => isPID(id) && !expanded.includes(id) && setExpanded([...expanded, id])}
            onDblClick={() => isPID(id) && go('process', id)}
          >
            <circle r={id === props.pid ? 14 : 9} />
            <text y={-16} text-anchor="middle">
              {names[id] ? `${names[id]} ` : ''}
              {id}
            </text>
          </g>
        ))}
      </svg>
    </div>
  );
}
