// The process page's operator tools: the mailbox peek (the first messages waiting in each queue,
// on demand) and the live message trace (what the process receives and sends, rate-limited,
// stopping by itself). Message texts come from the server and are shown as text only (Preact
// escapes them): a message holding markup never becomes markup.

import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

import { api, type Json } from '../api';
import { clock } from '../format';
import { useFrames } from '../hooks';
import { PidLink } from '../ui';

const QUEUES = ['urgent', 'system', 'main', 'log'] as const;

/** Records the trace list keeps (the oldest go first). */
const TRACE_KEEP = 500;

/** Why a tool is off, from the server's stable code (null: some other failure, shown as is). */
function offReason(e: Json): string | null {
  switch (e?.code) {
    case 'mailbox_peek_disabled':
      return 'Mailbox peek is turned off on this Observer (mailboxPeek: false): this node’s messages may hold secrets.';
    case 'message_trace_disabled':
      return 'Message trace is turned off on this Observer (messageTrace: false): this node’s messages may hold secrets.';
    case 'local_only':
    case 'messages_hidden':
      return String(e.message);
    default:
      return null;
  }
}

export function MailboxPeek(props: { pid: string; ended: boolean }) {
  const [limit, setLimit] = useState('20');
  const [view, setView] = useState<Json>(null);
  const [error, setError] = useState<string | null>(null);
  const [off, setOff] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const peek = (): void => {
    setBusy(true);
    api.do('mailbox_peek', { pid: props.pid, limit: Number(limit) }).then(
      (d: Json) => {
        setBusy(false);
        setError(null);
        setView({ ...d, at: Date.now() });
      },
      (e: Json) => {
        setBusy(false);
        const why = offReason(e);
        if (why !== null) setOff(why);
        else setError(String(e.message));
      },
    );
  };
  return (
    <div class="card wide" data-testid="mailbox-peek">
      <h3>Mailbox peek</h3>
      {off !== null ? (
        <p class="note" data-testid="peek-off">
          {off}
        </p>
      ) : (
        <>
          <div class="toolbar">
            <label>
              first{' '}
              <select value={limit} onChange={(e) => setLimit((e.target as HTMLSelectElement).value)}>
                {['5', '20', '50', '100'].map((n) => (
                  <option key={n} value={n}>
                    {n}
                  </option>
                ))}
              </select>{' '}
              per queue
            </label>
            <button data-testid="peek" disabled={busy || props.ended} onClick={peek}>
              {view === null ? 'peek' : 'refresh'}
            </button>
            {view === null ? (
              <span class="muted">shows what waits in the mailbox now, without taking it</span>
            ) : (
              <span class="muted" data-testid="peek-at">
                as of {clock(view.at * 1e6)}
              </span>
            )}
          </div>
          {error === null ? null : <p class="error">{error}</p>}
          {view === null ? null : (
            <div class="peek">
              {QUEUES.map((q) => {
                const rows: Json[] = view.queues?.[q] ?? [];
                const total: number = view.lengths?.[q] ?? 0;
                return (
                  <div key={q} class={rows.length > 0 ? 'peek-queue filled' : 'peek-queue'} data-testid={`peek-${q}`}>
                    <b>{q}</b>{' '}
                    <span class="muted">
                      {total === 0 ? 'empty' : rows.length < total ? `first ${rows.length} of ${total}` : `${total}`}
                    </span>
                    {rows.length === 0 ? null : (
                      <ol class="log small peek-list">
                        {rows.map((r, i) => (
                          <li key={i}>
                            <span class="muted">{r.kind}</span> <span class="muted">from {r.from}</span>{' '}
                            <span class="msg">{r.text}</span>
                          </li>
                        ))}
                      </ol>
                    )}
                  </div>
                );
              })}
            </div>
          )}
        </>
      )}
    </div>
  );
}

export function MessageTrace(props: { pid: string; ended: boolean }) {
  const pid = props.pid;
  const [rate, setRate] = useState('20');
  const [count, setCount] = useState('200');
  const [seconds, setSeconds] = useState('60');
  const [running, setRunning] = useState(false);
  // Whether the node has answered the start: until then the status says "starting", not
  // "tracing" (on a remote node the trace runs only once its answer is back).
  const [started, setStarted] = useState(false);
  const [records, setRecords] = useState<Json[]>([]);
  const [stats, setStats] = useState({ kept: 0, dropped: 0 });
  const [end, setEnd] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [off, setOff] = useState<string | null>(null);
  const live = useRef(false);
  useFrames(
    'trace',
    useCallback(
      (d: Json) => {
        if (d.pid !== pid || !live.current) return;
        setStats({ kept: d.kept, dropped: d.dropped });
        if (d.records?.length > 0) setRecords((r) => [...r, ...d.records].slice(-TRACE_KEEP));
      },
      [pid],
    ),
  );
  useFrames(
    'trace_end',
    useCallback(
      (d: Json) => {
        if (d.pid !== pid || !live.current) return;
        live.current = false;
        setRunning(false);
        setStats({ kept: d.kept, dropped: d.dropped });
        const why: Record<string, string> = {
          count: `stopped after ${d.kept} records`,
          time: 'stopped: time limit reached',
          stopped: 'stopped',
          ended: `the process ended (${d.reason})`,
          closed: 'stopped: the session closed',
        };
        setEnd(why[d.end] ?? String(d.end));
      },
      [pid],
    ),
  );
  // Leaving the page (or another PID) stops the trace; a closed tab ends the session, and it.
  useEffect(
    () => () => {
      if (live.current) void api.do('trace_stop', { pid }).catch(() => undefined);
      live.current = false;
    },
    [pid],
  );
  const start = (): void => {
    setError(null);
    setEnd(null);
    setRecords([]);
    setStats({ kept: 0, dropped: 0 });
    live.current = true;
    setRunning(true);
    setStarted(false);
    api
      .do('trace_start', { pid, rate: Number(rate), count: Number(count), seconds: Number(seconds) })
      .then(() => setStarted(true))
      .catch((e: Json) => {
        live.current = false;
        setRunning(false);
        const why = offReason(e);
        if (why !== null) setOff(why);
        else setError(String(e.message));
      });
  };
  const stop = (): void => void api.do('trace_stop', { pid }).catch((e: Json) => setError(String(e.message)));
  const field = (value: string, set: (v: string) => void, title: string, testid: string) => (
    <input
      class="num"
      data-testid={testid}
      value={value}
      title={title}
      disabled={running}
      onInput={(e) => set((e.target as HTMLInputElement).value)}
    />
  );
  return (
    <div class="card wide" data-testid="message-trace">
      <h3>Message trace</h3>
      {off !== null ? (
        <p class="note" data-testid="trace-off">
          {off}
        </p>
      ) : (
        <>
          <div class="toolbar">
            <label>at most {field(rate, setRate, 'records a second', 'trace-rate')} / s,</label>
            <label>stop after {field(count, setCount, 'records', 'trace-count')} records</label>
            <label>or {field(seconds, setSeconds, 'seconds', 'trace-seconds')} s</label>
            {running ? (
              <button data-testid="trace-stop" onClick={stop}>
                stop
              </button>
            ) : (
              <button data-testid="trace-start" disabled={props.ended} onClick={start}>
                start trace
              </button>
            )}
            <span class="muted" data-testid="trace-status">
              {running ? (started ? 'tracing… ' : 'starting… ') : ''}
              {stats.kept} records, {stats.dropped} dropped (over the rate)
              {end === null ? '' : ` — ${end}`}
            </span>
          </div>
          {error === null ? null : <p class="error">{error}</p>}
          {records.length === 0 && !running ? null : (
            <ol class="log small trace-list" data-testid="trace-records">
              {records.map((r) => (
                <li key={r.n} class={`trace-${r.dir}`}>
                  <span class="muted">{clock(r.at * 1e6)}</span> <b>{r.dir === 'in' ? '←' : '→'}</b>{' '}
                  <span class="muted">
                    {r.kind}
                    {r.queue ? ` (${r.queue})` : ''} {r.dir === 'in' ? 'from' : 'to'}
                  </span>{' '}
                  {/^<[0-9A-F]{8}\.\d+\.\d+>$/.test(r.peer) ? (
                    <PidLink pid={r.peer} />
                  ) : (
                    <span class="mono">{r.peer}</span>
                  )}{' '}
                  <span class="msg">{r.text}</span>
                </li>
              ))}
            </ol>
          )}
        </>
      )}
    </div>
  );
}
