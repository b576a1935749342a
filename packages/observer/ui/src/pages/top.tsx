// Top (Erlang observer's "Load Charts"/top, LiveDashboard's Processes sorted): the N processes
// that spend the most CPU in handlers (Erlang's reductions), spend the most time in handlers
// counting the time an async handler waits, hold the most mail (the nearest to memory a Node
// process has) or handle the most messages, refreshed each second. The node sorts (the
// process_page query of an ergo-ts node: one pass over its table, no full sort) and sends only the
// N rows; the page adds each row's rate since the previous frame (ms per second, messages per
// second). CPU and waiting are apart: a handler awaiting for a minute uses no CPU, and ranked by
// their sum it would sit above a process that spins.

import { useMemo, useRef, useState } from 'preact/hooks';

import { type Json } from '../api';
import { count, list, nanos, processState, runningNow } from '../format';
import { isErgoTS, useFramework, useSubscription } from '../hooks';
import { Error, Grid, PidLink } from '../ui';

type Sort = 'cpu' | 'running' | 'mailbox' | 'messages';

/** What one frame said of a process: its totals and when the frame came. */
interface Seen {
  /** Handler time the node measured (ns): on the CPU, without the waits after an `await`. */
  cpu: number;
  /** Time in the handler it is still in (ns): an async handler's wait. */
  waiting: number;
  in: number;
  out: number;
  at: number;
}

const round = (x: number, digits = 1): string => (Number.isFinite(x) ? x.toFixed(digits) : '');

export function TopPage() {
  const [sort, setSort] = useState<Sort>('cpu');
  const [limit, setLimit] = useState(20);
  const framework = useFramework();
  const paged = isErgoTS(framework);
  const [data, error] = useSubscription(
    'process_page',
    { namePattern: '', behavior: '', application: '', state: '', minMailbox: 0, sort, offset: 0, limit },
    () => true,
    paged,
  );
  // The previous frame's totals by PID, for the rates (kept across frames, not renders).
  const previous = useRef(new Map<string, Seen>());
  const rows = useMemo(() => {
    const now = Date.now();
    const before = previous.current;
    const next = new Map<string, Seen>();
    const out = list(data?.processes).map((p: Json) => {
      const cpu = Number(p.runningTime) || 0;
      const seen: Seen = {
        cpu,
        waiting: runningNow(p, now) - cpu,
        in: Number(p.messagesIn),
        out: Number(p.messagesOut),
        at: now,
      };
      next.set(p.pid, seen);
      const b = before.get(p.pid);
      const s = b === undefined ? 0 : (now - b.at) / 1000;
      return {
        p,
        cpuPerSec: s > 0 ? Math.max(0, seen.cpu - b!.cpu) / 1e6 / s : NaN,
        // Of the time since the previous frame, what the handler still open spent waiting in it
        // (a handler that ended meanwhile took its wait with it: not counted).
        waitingPerSec: s > 0 ? Math.min(1000, Math.max(0, seen.waiting - b!.waiting) / 1e6 / s) : NaN,
        waiting: seen.waiting,
        inPerSec: s > 0 ? Math.max(0, seen.in - b!.in) / s : NaN,
        outPerSec: s > 0 ? Math.max(0, seen.out - b!.out) / s : NaN,
      };
    });
    previous.current = next;
    return out;
  }, [data]);
  return (
    <div class="page" data-page="top">
      <h1>Top</h1>
      <div class="toolbar">
        <label>
          by{' '}
          <select
            data-testid="top-sort"
            value={sort}
            onChange={(e) => setSort((e.target as HTMLSelectElement).value as Sort)}
          >
            <option value="cpu">CPU in handlers</option>
            <option value="running">time in handlers (CPU + waiting)</option>
            <option value="mailbox">mailbox (memory)</option>
            <option value="messages">messages</option>
          </select>
        </label>
        <label>
          top{' '}
          <select
            data-testid="top-limit"
            value={String(limit)}
            onChange={(e) => setLimit(Number((e.target as HTMLSelectElement).value))}
          >
            {[10, 20, 50, 100].map((n) => (
              <option key={n} value={String(n)}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <span class="muted">
          refreshed each second; rates since the previous second; CPU: handler time on the thread; waiting: the time an
          async handler still open has spent awaiting
        </span>
      </div>
      {framework !== null && !paged ? (
        <p class="muted" data-testid="top-unsupported">
          Top asks the node to sort its processes, which an ergo-ts node does; this node ({framework}) does not: the
          Processes page sorts its first page in the browser.
        </p>
      ) : null}
      <Error text={error} />
      <p class="muted" data-testid="top-count">
        {data === null ? '' : `top ${rows.length} of ${count(data.total)} processes`}
      </p>
      <Grid
        headers={[
          '#',
          'PID',
          'name',
          'behavior',
          'state',
          'CPU',
          'CPU ms/s',
          'waiting',
          'waiting ms/s',
          'mailbox',
          'in/s',
          'out/s',
        ]}
        empty={rows.length === 0 ? 'no processes yet' : null}
      >
        {rows.map(({ p, cpuPerSec, waitingPerSec, waiting, inPerSec, outPerSec }, i) => (
          <tr key={p.pid} data-testid="top-row" data-name={p.name} data-pid={p.pid}>
            <td>{i + 1}</td>
            <td>
              <PidLink pid={p.pid} />
            </td>
            <td class="mono wrap">{p.name}</td>
            <td>{p.behavior}</td>
            <td>{processState(p.state)}</td>
            <td class="figure" data-testid="top-cpu">
              {nanos(p.runningTime)}
            </td>
            <td class="figure" data-testid="top-cpu-rate">
              {round(cpuPerSec)}
            </td>
            <td class="figure" data-testid="top-waiting">
              {waiting > 0 ? nanos(waiting) : ''}
            </td>
            <td class="figure" data-testid="top-waiting-rate">
              {round(waitingPerSec)}
            </td>
            <td data-testid="top-mailbox">{count(p.messagesMailbox)}</td>
            <td>{round(inPerSec)}</td>
            <td>{round(outPerSec)}</td>
          </tr>
        ))}
      </Grid>
    </div>
  );
}
