// The Log page's search (LiveDashboard's log search): text in the message, levels, a process
// (PID or registered name) and a time range, over the records the Observer's History keeps of its
// own node (`historyLogRecords`, default 1000; `do/log_search`). The matches replace the live lines
// until "back to live".

import { useState } from 'preact/hooks';

import { api, type Json } from '../api';
import { clock, count, logLevel } from '../format';
import { Error, LogMessage, PidLink } from '../ui';

/** Most matches one search shows. */
const SEARCH_LIMIT = 500;

/** A `datetime-local` value (local time) in ms since the epoch; 0 when empty. */
function localTime(v: string): number {
  if (v.trim() === '') return 0;
  const t = new Date(v).getTime();
  return Number.isFinite(t) ? t : 0;
}

/** The search form and, once searched, its results (`onResults(null)`: back to the live lines). */
export function LogSearch(props: { levels: string[]; results: Json | null; onResults: (r: Json | null) => void }) {
  const [text, setText] = useState('');
  const [process, setProcess] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [error, setError] = useState<string | null>(null);
  const search = (): void => {
    setError(null);
    api
      .do('log_search', {
        text,
        process,
        levels: props.levels,
        from: localTime(from),
        to: localTime(to),
        limit: SEARCH_LIMIT,
      })
      .then(
        (d: Json) => props.onResults(d),
        (e: Error) => setError(e.message),
      );
  };
  return (
    <>
      <form
        class="toolbar"
        data-testid="log-search"
        onSubmit={(e) => {
          e.preventDefault();
          search();
        }}
      >
        <input
          data-testid="log-search-text"
          placeholder="search the kept log: text"
          value={text}
          onInput={(e) => setText((e.target as HTMLInputElement).value)}
        />
        <input
          data-testid="log-search-process"
          placeholder="process (PID or name)"
          value={process}
          onInput={(e) => setProcess((e.target as HTMLInputElement).value)}
        />
        <label>
          from{' '}
          <input
            data-testid="log-search-from"
            type="datetime-local"
            step="1"
            value={from}
            onInput={(e) => setFrom((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          to{' '}
          <input
            data-testid="log-search-to"
            type="datetime-local"
            step="1"
            value={to}
            onInput={(e) => setTo((e.target as HTMLInputElement).value)}
          />
        </label>
        <button type="submit" data-testid="log-search-go">
          search
        </button>
        {props.results === null ? null : (
          <button type="button" data-testid="log-search-back" onClick={() => props.onResults(null)}>
            back to live
          </button>
        )}
      </form>
      <Error text={error} />
    </>
  );
}

/** The matches of a search, as the live lines are drawn. */
export function LogSearchResults(props: { results: Json }) {
  const r = props.results;
  const records: Json[] = Array.isArray(r.records) ? r.records : [];
  return (
    <>
      <p class="muted" data-testid="log-search-count">
        {`${count(r.matched)} matching of ${count(r.searched)} records kept${
          r.matched > records.length ? ` (the newest ${count(records.length)} shown)` : ''
        }`}
      </p>
      <div class="log" data-testid="log-search-results">
        {records.map((x) => (
          <div key={x.seq} class={`line lvl-${logLevel(x.level)}`} data-testid="log-search-line">
            <span class="muted">{clock(x.timestamp)}</span> <b>{logLevel(x.level)}</b>{' '}
            {x.pid ? (
              <PidLink pid={x.pid} label={x.name ? `${x.name}` : x.pid} />
            ) : (
              <span class="mono">{x.meta ?? x.peer ?? 'node'}</span>
            )}{' '}
            <LogMessage text={x.message} />
          </div>
        ))}
      </div>
    </>
  );
}
