// Small shared pieces: key/value cards, error lines, PID links, the level picker.

import type { ComponentChildren } from 'preact';

import { go } from './hooks';

export function KV(props: { title: string; rows: [string, ComponentChildren][] }) {
  return (
    <div class="card">
      <h3>{props.title}</h3>
      <table class="kv">
        <tbody>
          {props.rows.map(([k, v]) => (
            <tr key={k}>
              <th>{k}</th>
              <td>{v}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * A `grid` table: the header cells, then the rows given as children; when `empty` is a text, one
 * muted row saying it across every column (a table with nothing to list still says so).
 */
export function Grid(props: { headers: string[]; empty: string | null; children: ComponentChildren }) {
  return (
    <table class="grid">
      <thead>
        <tr>
          {props.headers.map((h) => (
            <th key={h}>{h}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {props.empty === null ? null : (
          <tr>
            <td colSpan={props.headers.length} class="muted">
              {props.empty}
            </td>
          </tr>
        )}
        {props.children}
      </tbody>
    </table>
  );
}

export function Error(props: { text: string | null }) {
  return props.text === null ? null : <p class="error">{props.text}</p>;
}

export function PidLink(props: { pid: string; label?: string }) {
  if (!props.pid || props.pid.endsWith('.0.0>')) return <span class="muted">–</span>;
  return (
    <a
      class="mono"
      href={`#/process/${encodeURIComponent(props.pid)}`}
      onClick={(e) => (e.preventDefault(), go('process', props.pid))}
    >
      {props.label ?? props.pid}
    </a>
  );
}

export const LEVELS = ['trace', 'debug', 'info', 'warning', 'error', 'panic', 'disabled'];

export function LevelSelect(props: { value: string; onChange: (level: string) => Promise<unknown> }) {
  return (
    <select
      value={props.value}
      onChange={(e) => {
        void props.onChange((e.target as HTMLSelectElement).value).catch((err: Error) => alert(err.message));
      }}
    >
      {LEVELS.map((l) => (
        <option key={l} value={l}>
          {l}
        </option>
      ))}
    </select>
  );
}

/**
 * A log message: its first line, and the rest (a stack trace, a dump) folded under it, opened
 * by a click, so a log of many errors stays one line a record.
 */
export function LogMessage(props: { text: unknown }) {
  const text = String(props.text ?? '');
  const nl = text.indexOf('\n');
  if (nl < 0) return <span class="msg">{text}</span>;
  const rest = text.slice(nl + 1).replace(/\n+$/, '');
  if (rest === '') return <span class="msg">{text.slice(0, nl)}</span>;
  const more = rest.split('\n').length;
  return (
    <details class="msg folded" data-testid="log-folded">
      <summary>
        {text.slice(0, nl)}{' '}
        <span class="muted">
          (+{more} line{more === 1 ? '' : 's'})
        </span>
      </summary>
      <pre class="folded-rest">{rest}</pre>
    </details>
  );
}
