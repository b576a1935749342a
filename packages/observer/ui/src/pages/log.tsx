// Live log: every record of the chosen levels as the node logs it (the log inspector pushes each
// one at once), with pause and a cap on the lines kept. It follows the newest record like
// `tail -f` (see follow.ts): opened at the end, scrolled up it stays put, at the end it follows.

import { useCallback, useRef, useState } from 'preact/hooks';

import { api, type Json } from '../api';
import { useFollow } from '../follow';
import { clock, logLevel } from '../format';
import { useFrames, useSubscription } from '../hooks';
import { Error, LogMessage, PidLink } from '../ui';
import { LogSearch, LogSearchResults } from './log_search';

const LEVELS = ['debug', 'info', 'warning', 'error', 'panic'];

export function LogPage() {
  const [levels, setLevels] = useState<string[]>(['info', 'warning', 'error', 'panic']);
  const [cap, setCap] = useState(1000);
  const [paused, setPaused] = useState(false);
  const [lines, setLines] = useState<Json[]>([]);
  /** A search's answer (log_search.tsx): shown instead of the live lines while set. */
  const [results, setResults] = useState<Json | null>(null);
  // Each line's own key (its arrival number): when the oldest line goes, the others keep their
  // elements, instead of every element being redrawn with its neighbour's record.
  const seq = useRef(0);
  const number = (r: Json): Json => ({ ...r, key: ++seq.current });
  const pausedRef = useRef(false);
  pausedRef.current = paused;
  const capRef = useRef(cap);
  capRef.current = cap;
  const levelsRef = useRef(levels);
  levelsRef.current = levels;
  const [, error] = useSubscription('log', { levels });
  const follow = useFollow(lines);
  // What the node logged before (kept by the Observer for its own node): the log starts filled.
  // Each record comes once a stream (the frame brings only what this tab was not sent): the
  // lines are those the tab kept, of the levels shown.
  useFrames(
    'log_history',
    useCallback(() => {
      if (pausedRef.current) return;
      const shown = api.logHistory.filter((r) => levelsRef.current.includes(logLevel(r.level)));
      setLines(shown.slice(-capRef.current).map(number));
    }, []),
  );
  useFrames(
    'log',
    useCallback((r: Json) => {
      if (pausedRef.current) return;
      setLines((l) => {
        const next = l.length >= capRef.current ? l.slice(l.length - capRef.current + 1) : l.slice();
        next.push(number(r));
        return next;
      });
    }, []),
  );
  return (
    <div class="page" data-page="log">
      <h1>Log</h1>
      <div class="toolbar">
        {LEVELS.map((l) => (
          <label key={l}>
            <input
              type="checkbox"
              checked={levels.includes(l)}
              onChange={(e) =>
                setLevels(
                  (e.target as HTMLInputElement).checked
                    ? LEVELS.filter((x) => x === l || levels.includes(x))
                    : levels.filter((x) => x !== l),
                )
              }
            />
            {l}
          </label>
        ))}
        <label>
          keep last{' '}
          <select value={String(cap)} onChange={(e) => setCap(Number((e.target as HTMLSelectElement).value))}>
            {[100, 1000, 5000, 20000].map((n) => (
              <option key={n} value={String(n)}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <button data-testid="pause" onClick={() => setPaused(!paused)}>
          {paused ? 'play' : 'pause'}
        </button>
        <button onClick={() => setLines([])}>clear</button>
        <span class="muted">{lines.length} lines</span>
        {follow.following ? (
          <span class="muted" data-testid="log-following">
            following the newest
          </span>
        ) : (
          <button data-testid="log-follow" onClick={follow.toEnd}>
            ↓ follow the newest
          </button>
        )}
      </div>
      <LogSearch levels={levels} results={results} onResults={setResults} />
      <Error text={error} />
      {results === null ? null : <LogSearchResults results={results} />}
      <div
        class="log"
        data-testid="log-lines"
        ref={follow.box}
        onScroll={follow.onScroll}
        style={{ display: results === null ? undefined : 'none' }}
      >
        {lines.map((r) => (
          <div key={r.key} class={`line lvl-${logLevel(r.level)}`}>
            <span class="muted">{clock(r.timestamp)}</span> <b>{logLevel(r.level)}</b>{' '}
            {r.pid ? (
              <PidLink pid={r.pid} label={r.name ? `${r.name}` : r.pid} />
            ) : r.meta ? (
              <span class="mono">{r.meta}</span>
            ) : r.peer ? (
              <span class="mono">{r.peer}</span>
            ) : (
              <span class="mono">node</span>
            )}{' '}
            <LogMessage text={r.message} />
          </div>
        ))}
      </div>
    </div>
  );
}
