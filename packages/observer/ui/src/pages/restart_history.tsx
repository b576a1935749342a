// A supervisor's crash and restart history on its process page: an ergo-ts Supervisor's
// handleInspect carries its last 32 child exits (`restart_history`, JSON text: child, PID, reason,
// time, what it did, restarts counted in the intensity window then), refreshed each second with
// the State card. Other processes (and Go supervisors) report none: nothing is shown.

import { type Json } from '../api';
import { count } from '../format';
import { Grid, PidLink } from '../ui';

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
        headers={['time', 'child', 'PID', 'reason', 'what it did', 'restarts in window']}
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
            <td data-testid="restart-action">{ACTIONS[r.action] ?? r.action}</td>
            <td data-testid="restart-count">{`${r.restarts} of ${s.intensity}`}</td>
          </tr>
        ))}
      </Grid>
    </div>
  );
}
