// A supervisor's crash and restart history on its process page: an ergo-ts Supervisor's
// handleInspect carries its last 32 child exits (`restart_history`, JSON text: child, PID, reason,
// the error a panicked child threw, time, what it did, restarts counted in the intensity window
// then), refreshed each second with the State card. Other processes (and Go supervisors) report
// none: nothing is shown. And the crash of an ended process, supervised or not (`do/crashes`: the
// node's recent crashes, kept by an ergo-ts node after the process ended): its reason, the error
// it threw, where, when and its stack, on that process's page.

import { useEffect, useState } from 'preact/hooks';

import { api, type Json } from '../api';
import { count, list } from '../format';
import { Grid, KV, PidLink } from '../ui';

/** The keys of a supervisor's inspection this card shows (the State card leaves the history out). */
export const HISTORY_KEY = 'restart_history';

function parsed(text: unknown): Json[] | null {
  if (typeof text !== 'string') return null;
  try {
    const v = JSON.parse(text);
    return Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}

const ACTIONS: Record<string, string> = {
  restart: 'restarted',
  shutdown: 'intensity exceeded: supervisor stops',
  none: 'not restarted',
};

export function RestartHistory(props: { state: Json }) {
  const s = props.state?.state ?? {};
  const history = parsed(s[HISTORY_KEY]);
  if (history === null) return null;
  const rows = history.slice().reverse();
  return (
    <div class="card wide" data-testid="restart-history">
      <h3>Restart history (newest first, last 32 child exits)</h3>
      <p class="muted" data-testid="restart-summary">
        {`${count(s.exits ?? history.length)} child exit${s.exits === '1' ? '' : 's'} recorded · ${s.restarts} restart${
          s.restarts === '1' ? '' : 's'
        } in the window now, ${s.intensity} allowed per ${s.period} s (${s.strategy}, ${s.type})`}
      </p>
      <Grid
        headers={['time', 'child', 'PID', 'reason', 'error', 'what it did', 'restarts in window']}
        empty={rows.length === 0 ? 'no child has exited' : null}
      >
        {rows.map((r: Json) => (
          <tr key={`${r.at} ${r.pid}`} data-testid="restart-row" data-child={r.child}>
            <td class="mono">
              {new Date(r.at).toLocaleTimeString('en-GB', { hour12: false })}.{String(r.at % 1000).padStart(3, '0')}
            </td>
            <td class="mono">{r.child}</td>
            <td>
              <PidLink pid={r.pid} />
            </td>
            <td class="mono" data-testid="restart-reason">
              {r.reason}
            </td>
            <td class="mono" data-testid="restart-error">
              {r.error ?? ''}
            </td>
            <td data-testid="restart-action">{ACTIONS[r.action] ?? r.action}</td>
            <td data-testid="restart-count">{`${r.restarts} of ${s.intensity}`}</td>
          </tr>
        ))}
      </Grid>
    </div>
  );
}

/** A clock time with milliseconds of epoch ms. */
function clock(at: number): string {
  return `${new Date(at).toLocaleTimeString('en-GB', { hour12: false })}.${String(at % 1000).padStart(3, '0')}`;
}

/**
 * The crash of the ended process `pid` (asked once of the node when the page finds it ended):
 * nothing while not asked, a note when the node recorded none (it ended normally, its crash is
 * older than the node's last 100, or the node is not an ergo-ts node).
 */
export function Crash(props: { pid: string }) {
  const [crash, setCrash] = useState<Json>(undefined);
  const [note, setNote] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    api.do('crashes', { pid: props.pid, limit: 1 }).then(
      (r: Json) => live && setCrash(list(r?.crashes)[0] ?? null),
      (e: Error) => live && (setCrash(null), setNote(e.message)),
    );
    return () => {
      live = false;
    };
  }, [props.pid]);
  if (crash === undefined) return null;
  if (crash === null)
    return (
      <p class="muted" data-testid="crash-none">
        No crash recorded for this process: it ended normally, or its crash is older than the node's last ones
        {note === null ? '' : ` (${note})`}.
      </p>
    );
  const at = Number(crash.at);
  return (
    <div class="cards" data-testid="crash">
      <KV
        title="Crash"
        rows={[
          ['when', `${new Date(at).toLocaleDateString('en-GB')} ${clock(at)}`],
          [
            'reason',
            <span class="mono" data-testid="crash-reason">
              {crash.reason}
            </span>,
          ],
          ...(crash.error
            ? [
                [
                  'error',
                  <span class="error-text" data-testid="crash-error">
                    {crash.error}
                  </span>,
                ] as [string, Json],
              ]
            : []),
          ...(crash.where ? [['thrown in', crash.where] as [string, Json]] : []),
          ['behavior', crash.behavior],
          ...(crash.name ? [['name', <span class="mono">{crash.name}</span>] as [string, Json]] : []),
          ['parent', <PidLink pid={crash.parent} />],
          ...(crash.stack
            ? [
                [
                  'stack',
                  <details>
                    <summary>{String(crash.stack).split('\n')[0]}</summary>
                    <pre class="mono small" data-testid="crash-stack">
                      {crash.stack}
                    </pre>
                  </details>,
                ] as [string, Json],
              ]
            : []),
        ]}
      />
    </div>
  );
}
