// Schedules (@ergo-ts/entities' workflow schedules, docs/workflows.md "Schedules"): the schedules
// of the node's cluster, read from the store's index each second (`do/schedules` op list): id,
// the workflow it starts, active or paused (with its note), when (cron and time zone, or the
// interval), the overlap policy, runs started / skipped / missed / failed, and the last run (a
// link to its instance). A schedule's own view (`#/schedules/<id>`, op describe) adds its next
// nominal times and its recent runs, each with its outcome and a link to the instance it started.
// Actions, each a POST through the node, refused with `workflow_actions_disabled` where the
// Observer turned its workflow actions off: pause (with a note) and unpause, trigger now, and
// delete (asks first).

import { useState } from 'preact/hooks';

import { api, type Json } from '../api';
import { list } from '../format';
import { usePolled } from '../hooks';
import { Error, Grid, KV } from '../ui';

/** Epoch ms as an ISO time in UTC (nominal times are instants: a schedule's zone is shown beside). */
function when(ms: Json): string {
  const v = Number(ms);
  if (!Number.isFinite(v) || v <= 0) return '–';
  return new Date(v).toISOString().replace('.000Z', 'Z');
}

/** A schedule's spec in a few words. */
export function specText(spec: Json): string {
  if (spec === null || typeof spec !== 'object') return '–';
  const jitter = Number(spec.jitterMs) > 0 ? `, jitter ${spec.jitterMs} ms` : '';
  if (typeof spec.cron === 'string') return `cron ${spec.cron} (${spec.timeZone ?? 'UTC'})${jitter}`;
  const every = Number(spec.everyMs);
  const text =
    every % 60_000 === 0 ? `${every / 60_000} min` : every % 1000 === 0 ? `${every / 1000} s` : `${every} ms`;
  return `every ${text}${Number(spec.offsetMs) > 0 ? ` + ${spec.offsetMs} ms` : ''}${jitter}`;
}

/** A duration in ms in its largest whole unit. */
function span(ms: Json): string {
  const s = Math.round(Number(ms) / 1000);
  if (s % 86_400 === 0) return `${s / 86_400} d`;
  if (s % 3600 === 0) return `${s / 3600} h`;
  return s % 60 === 0 ? `${s / 60} min` : `${s} s`;
}

function counts(c: Json): string {
  if (c === null || typeof c !== 'object') return '–';
  return `${c.started} started · ${c.skipped} skipped · ${c.missed} missed · ${c.failed} failed`;
}

function RunLink(props: { workflow: string; id: Json }) {
  if (typeof props.id !== 'string') return <span>–</span>;
  return (
    <a class="mono" href={`#/workflow/${encodeURIComponent(props.workflow)}/${encodeURIComponent(props.id)}`}>
      {props.id}
    </a>
  );
}

/** The actions of one schedule: pause with a note / unpause, trigger, delete (asks first). */
function Actions(props: { id: string; paused: boolean; done: (text: string) => void; failed: (text: string) => void }) {
  const [note, setNote] = useState('');
  const [deleting, setDeleting] = useState(false);
  const act = (op: string, args: Json = {}): void => {
    api.do('schedules', { op, id: props.id, ...args }).then(
      (r: Json) => {
        props.done(`${op} ${props.id}: ${typeof r === 'string' ? r : JSON.stringify(r)}`);
        if (op === 'delete') location.hash = '#/schedules';
      },
      (e: Error & { code?: string }) => props.failed(`${op} refused${e.code ? ` (${e.code})` : ''}: ${e.message}`),
    );
  };
  return (
    <span class="toolbar">
      <input
        data-testid="schedule-note"
        placeholder="note"
        value={note}
        onInput={(e) => setNote((e.target as HTMLInputElement).value)}
      />
      {props.paused ? (
        <button
          class="small"
          data-testid="schedule-unpause"
          onClick={() => act('unpause', note === '' ? {} : { note })}
        >
          unpause
        </button>
      ) : (
        <button class="small" data-testid="schedule-pause" onClick={() => act('pause', note === '' ? {} : { note })}>
          pause
        </button>
      )}{' '}
      <button class="small" data-testid="schedule-trigger" onClick={() => act('trigger')}>
        trigger now
      </button>{' '}
      {deleting ? (
        <span class="confirm" data-testid="schedule-delete-confirm">
          delete {props.id} (its runs go on)?{' '}
          <button
            class="danger small"
            data-testid="schedule-delete-yes"
            onClick={() => (setDeleting(false), act('delete'))}
          >
            yes, delete
          </button>{' '}
          <button class="small" onClick={() => setDeleting(false)}>
            keep it
          </button>
        </span>
      ) : (
        <button class="small danger" data-testid="schedule-delete" onClick={() => setDeleting(true)}>
          delete…
        </button>
      )}
    </span>
  );
}

/** One schedule: its definition, next times and recent runs. */
function ScheduleView(props: { id: string; again: number; done: (t: string) => void; failed: (t: string) => void }) {
  const [d, error] = usePolled('schedules', { op: 'describe', id: props.id, next: 10 }, true, props.again);
  if (d === null) return <Error text={error} />;
  return (
    <div data-testid="schedule-view">
      <Error text={error} />
      <Actions id={props.id} paused={d.paused === true} done={props.done} failed={props.failed} />
      <KV
        title={`Schedule ${props.id}`}
        rows={[
          ['workflow', <a href="#/workflows">{d.workflow}</a>],
          ['status', <span data-testid="schedule-status">{d.paused ? 'paused' : 'active'}</span>],
          ['note', <span data-testid="schedule-view-note">{d.note}</span>],
          ['when', specText(d.spec)],
          ['overlap', d.policies?.overlap],
          ['catch-up window', span(d.policies?.catchupWindowMs)],
          ['runs', counts(d.counts)],
          ['dealt with up to', when(d.cursor)],
          ['running', list(d.running).join(', ') || '–'],
          ['buffered', list(d.buffered).map(when).join(', ') || '–'],
          ['input', <code>{JSON.stringify(d.input)}</code>],
        ]}
      />
      <h3>Next runs</h3>
      <Grid headers={['nominal time (UTC)', 'workflow id']} empty={list(d.next).length === 0 ? 'none (paused)' : null}>
        {list(d.next).map((t: Json) => (
          <tr key={String(t)} data-testid="schedule-next">
            <td class="mono">{when(t)}</td>
            <td class="mono muted">{`${props.id}-${when(t)}`}</td>
          </tr>
        ))}
      </Grid>
      <h3>Recent runs</h3>
      <Grid
        headers={['nominal time (UTC)', 'by', 'outcome', 'workflow id', 'dealt with']}
        empty={list(d.recent).length === 0 ? 'no runs yet' : null}
      >
        {list(d.recent).map((r: Json, i: number) => (
          <tr key={`${r.t}-${i}`} data-testid="schedule-run" data-outcome={r.outcome}>
            <td class="mono">{when(r.t)}</td>
            <td>{r.by}</td>
            <td class={r.outcome === 'failed' ? 'error-text' : ''}>
              {r.outcome}
              {r.count === undefined ? '' : ` (${r.count})`}
              {r.error === undefined ? '' : `: ${r.error}`}
            </td>
            <td>
              <RunLink workflow={String(d.workflow)} id={r.id} />
            </td>
            <td>{when(r.at)}</td>
          </tr>
        ))}
      </Grid>
    </div>
  );
}

export function SchedulesPage(props: { id?: string }) {
  const [n, setN] = useState(0);
  const [outcome, setOutcome] = useState<string | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [data, error] = usePolled('schedules', { op: 'list', limit: 200 }, true, n);
  const done = (t: string): void => (setFailure(null), setOutcome(t), setN((x) => x + 1));
  const failed = (t: string): void => (setOutcome(null), setFailure(t));
  const rows = list(data);
  return (
    <div>
      <h2>
        <a href="#/schedules">Schedules</a>
        {props.id === undefined || props.id === '' ? null : ` / ${props.id}`}
      </h2>
      <p class="muted">
        Durable schedules that start a workflow at cron or interval times, each run under{' '}
        <code>&lt;schedule&gt;-&lt;nominal time&gt;</code>.
      </p>
      <Error text={error} />
      {outcome === null ? null : (
        <p class="muted" data-testid="schedule-outcome">
          {outcome}
        </p>
      )}
      {failure === null ? null : (
        <p class="error" data-testid="schedule-refused">
          {failure}
        </p>
      )}
      {props.id === undefined || props.id === '' ? (
        <Grid
          headers={['schedule', 'workflow', 'status', 'when', 'overlap', 'runs', 'last run', 'note']}
          empty={data !== null && rows.length === 0 ? 'no schedules' : null}
        >
          {rows.map((s: Json) => (
            <tr key={s.id} data-schedule={s.id}>
              <td class="mono">
                <a href={`#/schedules/${encodeURIComponent(s.id)}`}>{s.id}</a>
              </td>
              <td class="mono">{s.workflow}</td>
              <td>{s.status}</td>
              <td>{specText(s.spec)}</td>
              <td>{s.overlap}</td>
              <td>{counts(s.counts)}</td>
              <td>{s.last === undefined ? '–' : `${when(s.last.t)} ${s.last.outcome}`}</td>
              <td>{s.note}</td>
            </tr>
          ))}
        </Grid>
      ) : (
        <ScheduleView id={props.id} again={n} done={done} failed={failed} />
      )}
    </div>
  );
}
