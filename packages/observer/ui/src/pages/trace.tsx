// Trace (Erlang's dbg/recon_trace over several processes): the message trace of a list of
// processes, or of an application's processes, at once, on the Observer's own node, under caps —
// at most N processes, at most R records a second over all of them (each keeps R ÷ N a second,
// the rest are counted as dropped), at most C records, S seconds. `do/trace_group` starts it;
// the session sends `trace_group` frames with the records kept each 250 ms and `trace_group_end`
// when it stops (its count, its time, every process ended, stop, or the page went away).

import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

import { api, type Json } from '../api';
import { clock, count } from '../format';
import { useFrames } from '../hooks';
import { Error, Grid, PidLink } from '../ui';

/** Records the page keeps (the newest). */
const KEEP = 2000;

export function TracePage() {
  const [targets, setTargets] = useState('');
  const [application, setApplication] = useState('');
  const [maxProcesses, setMaxProcesses] = useState('20');
  const [rate, setRate] = useState('100');
  const [total, setTotal] = useState('500');
  const [secs, setSecs] = useState('30');
  const [started, setStarted] = useState<Json | null>(null);
  const [status, setStatus] = useState<Json | null>(null);
  const [ended, setEnded] = useState<Json | null>(null);
  const [records, setRecords] = useState<Json[]>([]);
  const [error, setError] = useState<string | null>(null);
  const running = useRef(false);
  useFrames(
    'trace_group',
    useCallback((d: Json) => {
      setStatus(d);
      if (Array.isArray(d.records) && d.records.length > 0) setRecords((r) => [...r, ...d.records].slice(-KEEP));
    }, []),
  );
  useFrames(
    'trace_group_end',
    useCallback((d: Json) => {
      running.current = false;
      setEnded(d);
    }, []),
  );
  // Leaving the page stops the trace (its frames would go nowhere).
  useEffect(
    () => () => {
      if (running.current) api.do('trace_group_stop', {}).catch(() => undefined);
    },
    [],
  );
  const start = (): void => {
    setError(null);
    setEnded(null);
    setRecords([]);
    setStatus(null);
    const pids = targets
      .split(/[\s,]+/)
      .map((s) => s.trim())
      .filter((s) => s !== '');
    const body: Json = {
      max_processes: Number(maxProcesses),
      rate: Number(rate),
      count: Number(total),
      seconds: Number(secs),
      ...(application.trim() !== '' ? { application: application.trim() } : { pids }),
    };
    api.do('trace_group', body).then(
      (d: Json) => {
        running.current = true;
        setStarted(d);
      },
      (e: Error) => setError(e.message),
    );
  };
  const stop = (): void => {
    api.do('trace_group_stop', {}).catch((e: Error) => setError(e.message));
  };
  const number = (value: string, set: (v: string) => void, label: string, id: string) => (
    <label>
      {label}{' '}
      <input
        data-testid={`trace-${id}`}
        class="num"
        type="number"
        min={1}
        value={value}
        onInput={(e) => set((e.target as HTMLInputElement).value)}
      />
    </label>
  );
  return (
    <div class="page" data-page="trace">
      <h1>Trace</h1>
      <div class="toolbar">
        <input
          data-testid="trace-pids"
          placeholder="PIDs or names, comma separated"
          value={targets}
          onInput={(e) => setTargets((e.target as HTMLInputElement).value)}
        />
        <span class="muted">or</span>
        <input
          data-testid="trace-application"
          placeholder="application"
          value={application}
          onInput={(e) => setApplication((e.target as HTMLInputElement).value)}
        />
        {number(maxProcesses, setMaxProcesses, 'max processes', 'max')}
        {number(rate, setRate, 'records/s', 'rate')}
        {number(total, setTotal, 'records', 'count')}
        {number(secs, setSecs, 'seconds', 'seconds')}
        <button data-testid="trace-start" onClick={start}>
          trace
        </button>
        <button data-testid="trace-stop" onClick={stop}>
          stop
        </button>
      </div>
      <Error text={error} />
      {started === null ? (
        <p class="muted">
          what the processes receive and send, with time, peer and the message as text; on the Observer's own node
        </p>
      ) : (
        <p data-testid="trace-status">
          {`tracing ${started.traced.length} process${started.traced.length === 1 ? '' : 'es'}`}
          {started.application ? ` of ${started.application}` : ''}
          {`, ${started.perProcess} records a second each`}
          {started.skipped.length > 0 ? `; not traced: ${started.skipped.length} (${started.skipped[0].reason})` : ''}
          {status ? ` · kept ${count(status.kept)} · dropped ${count(status.dropped)}` : ''}
          {ended ? (
            <span data-testid="trace-ended">{` · ended (${ended.end}): ${count(ended.kept)} records`}</span>
          ) : null}
        </p>
      )}
      <Grid
        headers={['time', 'process', 'dir', 'kind', 'peer', 'message']}
        empty={started !== null && records.length === 0 ? 'no records yet' : null}
      >
        {records.map((r) => (
          <tr key={`${r.pid} ${r.n}`} data-testid="trace-row" data-pid={r.pid}>
            <td class="mono">{clock(Number(r.at) * 1e6)}</td>
            <td data-testid="trace-process">
              <PidLink pid={r.pid} />
              {started?.names?.[r.pid] ? <span class="mono muted">{` ${started.names[r.pid]}`}</span> : null}
            </td>
            <td>{r.dir}</td>
            <td>{r.kind}</td>
            <td class="mono" data-testid="trace-peer">
              {r.peer}
              {r.peerName ? <span class="muted">{` ${r.peerName}`}</span> : null}
            </td>
            <td class="mono">{r.text}</td>
          </tr>
        ))}
      </Grid>
    </div>
  );
}
