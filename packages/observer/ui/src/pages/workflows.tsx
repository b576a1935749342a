// Workflows (@ergo-ts/entities' durable workflows), on a node running an entities runtime: the
// instances found by the store's state index (`do/workflows` op list, each second), newest first
// (a running one whose step waits for a queue slot on any member shown waiting, with where and why),
// searched by kind, status, a search attribute and a start time range (workflow_filters.tsx) with
// the totals per status, paged by cursor; an instance's page (op describe, each second) shows its status, input
// and outcome, its step history (the journal: each operation with its time, its offset from the
// start, the time since the previous one and its attempts; a step still open shows as its step: a
// failed attempt at the time it failed, or an attempt running with its heartbeat), the attempts
// running now (a step's or a compensation's, with its start and timeout, its heartbeat and its
// previous attempt's error with when it failed: a hung one is seen), its pending timers and its buffered
// signals, and the actions cancel, resume (retry the failed steps), reset (run again from an
// operation: cancel and reset ask first and take a reason) and update (workflow_update.tsx), each
// a POST through the node (refused with `workflow_actions_disabled` where the Observer turned them
// off). The kind's charts are workflow_charts.tsx's.

import { useState } from 'preact/hooks';

import { api, type Json } from '../api';
import { list } from '../format';
import { Error, Grid, KV } from '../ui';
import { usePolled } from '../hooks';
import { WorkflowCharts } from './workflow_charts';
import { WorkflowUpdateForm } from './workflow_update';
import { NO_SEARCH, searchFields, WorkflowFilters, type WorkflowSearch } from './workflow_filters';

/**
 * Epoch ms as local time with milliseconds, with its date when it is not today: a deadline a day
 * away shown as a bare time reads as one later today.
 */
function at(ms: Json): string {
  const v = Number(ms);
  if (!Number.isFinite(v) || v <= 0) return '–';
  const d = new Date(v);
  const time = d.toLocaleTimeString('en-GB', { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
  if (d.toDateString() === new Date().toDateString()) return time;
  const day = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
  return `${day} ${time}`;
}

/** A duration in ms, short. */
function span(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${Math.floor(ms / 3_600_000)} h ${Math.round((ms % 3_600_000) / 60_000)} min`;
}

const text = (v: Json): string => (v === undefined ? '–' : JSON.stringify(v));

/** A stored error as one line: its code (else its name) and message. */
const errorLine = (e: Json): string => `${e?.code ?? e?.name}: ${e?.message}`;

/**
 * A step's open `retry` entry as the history shows it. With a failed attempt: the failure at its
 * own time (`ea`: the entry's `at` is its last write, which the next attempt's heartbeats move on),
 * then the attempt running since (its last heartbeat) or when the next is due. With none (a first
 * attempt's heartbeat details written): the attempt running, with its heartbeat — no retry.
 */
function openStep(e: Json): { when: number; attempts: string; result: string } {
  const running = `attempt ${Number(e.a ?? 0) + 1} running`;
  const beat = e.h === undefined ? '' : `, last heartbeat written ${at(e.at)} ${text(e.h)}`;
  if (e.e === undefined) return { when: Number(e.at), attempts: '', result: `${running}${beat}` };
  const failedAt = Number(e.ea ?? e.at);
  const after =
    e.h !== undefined && Number(e.at) !== failedAt
      ? `; ${running}${beat}`
      : e.r === undefined
        ? ''
        : `; next attempt ${at(e.r)}`;
  return {
    when: failedAt,
    attempts: String(e.a),
    result: `attempt ${e.a} failed ${at(failedAt)}: ${errorLine(e.e)}${after}`,
  };
}

/**
 * A running instance whose step attempts wait for a queue slot (the list's `queued`), as its status:
 * waiting, the first one's place, member and what holds it, and how many more wait.
 */
function queuedLine(q: Json[]): string {
  const w = q[0];
  const why = String(w.waiting).replace(/^waiting for queue [^:]*: /, '');
  const more = q.length > 1 ? ` (and ${q.length - 1} more step${q.length > 2 ? 's' : ''})` : '';
  return `waiting: ${w.step} #${w.position} in queue ${w.queue} on ${w.member}, ${why}${more}`;
}

/** When a history row happened: a failed attempt's own time for an open step, else its entry's. */
const whenOf = (e: Json): number => (e.t === 'retry' ? openStep(e).when : Number(e.at));

/** Asks `op` of the observed node's workflows each second while mounted (and once when `args` change). */
function usePolledOp(op: string, args: Json, enabled: boolean): [Json, string | null, () => void] {
  const [n, setN] = useState(0);
  const [data, error] = usePolled('workflows', { op, ...args }, enabled, n);
  return [data, error, () => setN((x) => x + 1)];
}

export function WorkflowsPage() {
  const [kinds, kindsError] = usePolledOp('kinds', {}, true);
  const [search, setSearch] = useState<WorkflowSearch>(NO_SEARCH);
  const [after, setAfter] = useState<string[]>([]);
  const cursor = after.at(-1);
  const asked = searchFields(search);
  const fields = 'fields' in asked ? asked.fields : {};
  const [polled, error] = usePolledOp(
    'list',
    { ...fields, limit: 50, ...(cursor === undefined ? {} : { cursor }) },
    'fields' in asked,
  );
  // A search the bar cannot ask (its problem shown) shows no rows of the previous one.
  const page = 'fields' in asked ? polled : null;
  const items = list(page?.items);
  // The charts show the kind the search names, or with every kind selected every kind's summed.
  const chartKind = search.kind !== '' ? search.kind : null;
  return (
    <div>
      <h2>Workflows</h2>
      <Error text={kindsError ?? error} />
      {kinds !== null && list(kinds).length === 0 ? <p class="muted">no workflow kinds on this node</p> : null}
      <WorkflowFilters
        kinds={list(kinds)}
        search={search}
        counts={page?.counts ?? null}
        problem={'problem' in asked ? asked.problem : null}
        onChange={(s) => (setSearch(s), setAfter([]))}
      />
      <div class="toolbar">
        {after.length > 0 ? (
          <button class="small" data-testid="workflow-prev" onClick={() => setAfter(after.slice(0, -1))}>
            previous page
          </button>
        ) : null}
        {typeof page?.next === 'string' ? (
          <button class="small" data-testid="workflow-next" onClick={() => setAfter([...after, page.next])}>
            next page
          </button>
        ) : null}
        <span class="muted">newest first</span>
        <a class="small" href="#/deadletters" data-testid="workflow-dead-letters">
          dead letters
        </a>
      </div>
      {list(kinds).length === 0 ? null : <WorkflowCharts key={chartKind ?? ''} kind={chartKind} />}
      <Grid
        headers={['id', 'kind', 'status', 'started', 'ended', 'took', 'runs', 'steps', 'attributes', 'problem']}
        empty={page !== null && items.length === 0 ? 'no instances' : null}
      >
        {items.map((w: Json) => (
          <tr key={`${w.workflow}/${w.id}`} data-workflow={w.id} data-kind={w.workflow}>
            <td class="mono figure">
              <a href={`#/workflow/${encodeURIComponent(w.workflow)}/${encodeURIComponent(w.id)}`}>{w.id}</a>
            </td>
            <td class="mono">{w.workflow}</td>
            <td data-testid="workflow-row-status" class={list(w.queued).length > 0 ? 'wf-queued' : `wf-${w.status}`}>
              {list(w.queued).length > 0 ? queuedLine(list(w.queued)) : w.status}
              {w.blocked ? ' (blocked)' : ''}
            </td>
            <td>{at(w.startedAt)}</td>
            <td>{at(w.endedAt)}</td>
            <td class="figure">{w.endedAt ? span(Number(w.endedAt) - Number(w.startedAt)) : '–'}</td>
            <td>{w.runs}</td>
            <td>{w.steps}</td>
            <td class="mono figure" data-testid="workflow-row-attributes">
              {Object.entries(w.attributes ?? {})
                .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
                .join(' ')}
            </td>
            <td class="muted">{w.blocked?.message ?? w.error?.message ?? w.cancel ?? ''}</td>
          </tr>
        ))}
      </Grid>
    </div>
  );
}

export function WorkflowPage(props: { kind: string; id: string }) {
  const [d, error, again] = usePolledOp('describe', { workflow: props.kind, id: props.id }, true);
  const [outcome, setOutcome] = useState<string | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  // A cancel and a reset ask first and take a reason, as a kill or an application stop does.
  const [confirmCancel, setConfirmCancel] = useState(false);
  const [confirmReset, setConfirmReset] = useState(false);
  const [reason, setReason] = useState('');
  const [toSeq, setToSeq] = useState('0');
  const act = (op: string, extra: Record<string, string | number> = {}): void => {
    setOutcome(null);
    setFailure(null);
    api.do('workflows', { op, workflow: props.kind, id: props.id, ...extra }).then(
      (r: Json) => (setOutcome(`${op}: ${String(r)}`), again()),
      (e: Error & { code?: string }) => setFailure(`${op} refused${e.code ? ` (${e.code})` : ''}: ${e.message}`),
    );
  };
  const history = list(d?.history);
  // Failed attempts a resume ran again left the journal; shown at their place, before the rerun.
  const attempts = list(d?.failedAttempts);
  const rows = [
    ...attempts.map((e: Json) => ({ e, attempt: true })),
    ...history.map((e: Json) => ({ e, attempt: false })),
  ].sort((x, y) => Number(x.e.s) - Number(y.e.s) || Number(x.e.at) - Number(y.e.at));
  const start = Number(d?.startedAt);
  return (
    <div>
      <h2>
        <a href="#/workflows">Workflows</a> / {props.kind} / <span class="mono">{props.id}</span>
      </h2>
      <Error text={error} />
      {d === null ? null : (
        <>
          <div class="toolbar">
            {confirmCancel && d.status === 'running' ? (
              <span class="confirm" data-testid="workflow-cancel-confirm">
                cancel {props.id}?{' '}
                <input
                  data-testid="workflow-cancel-reason"
                  placeholder="reason (cancelled by an operator)"
                  value={reason}
                  onInput={(e) => setReason((e.target as HTMLInputElement).value)}
                />{' '}
                <button
                  class="danger"
                  data-testid="workflow-cancel-yes"
                  onClick={() => {
                    setConfirmCancel(false);
                    act('cancel', reason.trim() === '' ? {} : { reason: reason.trim() });
                  }}
                >
                  yes, cancel
                </button>{' '}
                <button data-testid="workflow-cancel-no" onClick={() => setConfirmCancel(false)}>
                  keep it
                </button>
              </span>
            ) : (
              <button
                class="danger"
                data-testid="workflow-cancel"
                disabled={d.status !== 'running'}
                onClick={() => (setReason(''), setConfirmReset(false), setConfirmCancel(true))}
              >
                cancel
              </button>
            )}
            {confirmReset ? (
              <span class="confirm" data-testid="workflow-reset-confirm">
                reset {props.id}: run again from operation{' '}
                <select
                  data-testid="workflow-reset-seq"
                  value={toSeq}
                  onChange={(e) => setToSeq((e.target as HTMLSelectElement).value)}
                >
                  {/* A history entry's `s`: the journal keeps what came before it (0: the start). */}
                  {history.length === 0 ? <option value="0">0 (the start)</option> : null}
                  {history.map((e: Json) => (
                    <option key={e.s} value={String(e.s)}>
                      {`${e.s} ${e.t} ${e.n ?? ''}${Number(e.s) === 0 ? ' (the start)' : ''}`}
                    </option>
                  ))}
                </select>
                , its effects from there again?{' '}
                <input
                  data-testid="workflow-reset-reason"
                  placeholder="reason"
                  value={reason}
                  onInput={(e) => setReason((e.target as HTMLInputElement).value)}
                />{' '}
                <button
                  class="danger"
                  data-testid="workflow-reset-yes"
                  onClick={() => {
                    setConfirmReset(false);
                    act('reset', {
                      toSeq: Number(toSeq),
                      ...(reason.trim() === '' ? {} : { reason: reason.trim() }),
                    });
                  }}
                >
                  yes, reset
                </button>{' '}
                <button data-testid="workflow-reset-no" onClick={() => setConfirmReset(false)}>
                  keep it
                </button>
              </span>
            ) : (
              <button
                class="danger"
                data-testid="workflow-reset"
                onClick={() => (setReason(''), setToSeq('0'), setConfirmCancel(false), setConfirmReset(true))}
              >
                reset…
              </button>
            )}
            <button
              data-testid="workflow-resume"
              disabled={d.status !== 'failed' && d.blocked === undefined}
              onClick={() => act('resume')}
            >
              resume (retry failed steps)
            </button>
            {outcome === null ? null : (
              <span class="muted" data-testid="workflow-outcome">
                {outcome}
              </span>
            )}
          </div>
          {failure === null ? null : (
            <p class="error" data-testid="workflow-refused">
              {failure}
            </p>
          )}
          <WorkflowUpdateForm
            kind={props.kind}
            id={props.id}
            running={d.status === 'running'}
            pending={d.updates}
            onDone={again}
          />
          <div class="cards">
            <KV
              title="instance"
              rows={[
                ['status', <span data-testid="workflow-status-now">{d.status}</span>],
                ['started', at(d.startedAt)],
                ['ended', at(d.endedAt)],
                ['runs', String(d.runs)],
                ['running here now', d.active ? 'yes' : 'no'],
                ['input', <span class="mono">{text(d.input)}</span>],
                ...(d.output === undefined
                  ? []
                  : [['output', <span class="mono">{text(d.output)}</span>] as [string, Json]]),
                ...(d.error === undefined
                  ? []
                  : [
                      ['error', <span class="error">{`${d.error.code ?? d.error.name}: ${d.error.message}`}</span>] as [
                        string,
                        Json,
                      ],
                    ]),
                ...(d.cancel === undefined ? [] : [['cancelled', d.cancel] as [string, Json]]),
                ...(d.blocked === undefined ? [] : [['blocked', d.blocked.message] as [string, Json]]),
                ...list(d.resets).map(
                  (r: Json) =>
                    [
                      'reset',
                      <span data-testid="workflow-reset-row">{`at ${at(r.at)} to operation ${r.toSeq}${r.reason ? `: ${r.reason}` : ''}`}</span>,
                    ] as [string, Json],
                ),
                ...(d.attributes === undefined
                  ? []
                  : [['attributes', <span class="mono">{text(d.attributes)}</span>] as [string, Json]]),
              ]}
            />
          </div>
          <div class="card" data-testid="workflow-running">
            {/* Attempts its body runs now (a step, a call, a compensation): a hung one shows here, with how long it ran. */}
            <h3>
              running now ({list(d.running).filter((r: Json) => r.queued === undefined).length}
              {list(d.running).some((r: Json) => r.queued !== undefined)
                ? `, and ${list(d.running).filter((r: Json) => r.queued !== undefined).length} waiting for a queue slot`
                : ''}
              )
            </h3>
            <Grid
              headers={[
                '#',
                'op',
                'name',
                'attempt',
                'started',
                'running for',
                'times out',
                'last heartbeat',
                'previous attempt',
              ]}
              empty={list(d.running).length === 0 ? 'nothing' : null}
            >
              {list(d.running).map((r: Json) => (
                <tr
                  key={`${r.s}-${r.attempt}`}
                  data-seq={r.s}
                  class={
                    r.queued !== undefined
                      ? 'wf-queued'
                      : String(r.n).startsWith('compensate:')
                        ? 'wf-compensating'
                        : ''
                  }
                >
                  <td>{r.s}</td>
                  <td>{r.t}</td>
                  <td class="mono">{r.n}</td>
                  <td>{r.attempt}</td>
                  <td>{at(r.startedAt)}</td>
                  {/* An attempt waiting for its queue's slot has not started: shown as waiting, with its place and why. */}
                  <td>
                    {r.queued === undefined
                      ? span(Date.now() - Number(r.startedAt))
                      : `waiting ${span(Date.now() - Number(r.startedAt))}: #${r.queued.position} in queue ${r.queued.queue}, ${String(r.queued.waiting).replace(/^waiting for queue [^:]*: /, '')}`}
                  </td>
                  <td>
                    {r.queued !== undefined
                      ? 'not started'
                      : r.timeoutAt === undefined
                        ? 'no timeout'
                        : at(r.timeoutAt)}
                  </td>
                  {/* Its last heartbeat, the details it gave and when the next is due (info.heartbeat). */}
                  <td class="mono">
                    {r.heartbeatAt === undefined
                      ? r.heartbeatDueAt === undefined
                        ? '–'
                        : `none yet, due ${at(r.heartbeatDueAt)}`
                      : `${at(r.heartbeatAt)}${r.heartbeat === undefined ? '' : ` ${text(r.heartbeat)}`}${
                          r.heartbeatDueAt === undefined ? '' : `, due ${at(r.heartbeatDueAt)}`
                        }`}
                  </td>
                  {/* What the step's previous attempt failed with (a retried one). */}
                  <td class="mono">
                    {r.lastError === undefined
                      ? '–'
                      : `${r.lastError.code === undefined ? '' : `${r.lastError.code}: `}${r.lastError.message}${
                          r.lastErrorAt === undefined ? '' : ` (failed ${at(r.lastErrorAt)})`
                        }`}
                  </td>
                </tr>
              ))}
            </Grid>
          </div>
          <div class="card" data-testid="workflow-history">
            <h3>
              step history ({history.length}
              {attempts.length > 0
                ? `, and ${attempts.length} failed attempt${attempts.length > 1 ? 's' : ''} run again`
                : ''}
              )
            </h3>
            <Grid
              headers={['#', 'op', 'name', 'at', 'since start', 'since previous', 'attempts', 'result']}
              empty={rows.length === 0 ? 'nothing recorded yet' : null}
            >
              {rows.map(({ e, attempt }, i: number) => {
                const prev = i === 0 ? start : whenOf(rows[i - 1]!.e);
                if (attempt)
                  return (
                    <tr key={`a${e.s}-${e.at}`} data-attempt={e.s} class="wf-attempt">
                      <td>{e.s}</td>
                      <td>{e.t}</td>
                      <td class="mono">{e.n}</td>
                      <td>{at(e.at)}</td>
                      <td>{span(Number(e.at) - start)}</td>
                      <td>{span(Number(e.at) - prev)}</td>
                      <td>{e.a ?? ''}</td>
                      <td class="attempt-error">
                        {`${e.e?.code ?? e.e?.name}: ${e.e?.message}`}
                        <span class="muted"> (failed; resumed at {at(e.resumedAt)})</span>
                      </td>
                    </tr>
                  );
                if (e.t === 'retry') {
                  // The step runs (or waits for its next attempt): shown as its own op, never as "retry … 0".
                  const o = openStep(e);
                  return (
                    <tr key={e.s} data-seq={e.s} data-open="step" class={e.e === undefined ? '' : 'wf-retried'}>
                      <td>{e.s}</td>
                      <td>{e.of ?? 'step'}</td>
                      <td class="mono">{e.n}</td>
                      <td>{at(o.when)}</td>
                      <td>{span(o.when - start)}</td>
                      <td>{span(o.when - prev)}</td>
                      <td>{o.attempts}</td>
                      <td class={e.e === undefined ? 'mono' : 'error'}>{o.result}</td>
                    </tr>
                  );
                }
                return (
                  <tr key={e.s} data-seq={e.s}>
                    <td>{e.s}</td>
                    <td>{e.t}</td>
                    <td class="mono">{e.n}</td>
                    <td>{at(e.at)}</td>
                    <td>{span(Number(e.at) - start)}</td>
                    <td>{span(Number(e.at) - prev)}</td>
                    <td>{e.a ?? ''}</td>
                    <td class={e.e ? 'error' : 'mono'}>
                      {e.e
                        ? `${e.e.code ?? e.e.name}: ${e.e.message}`
                        : e.done === false || (e.done === undefined && e.until !== undefined)
                          ? `waits until ${at(e.until)}`
                          : text(e.v)}
                    </td>
                  </tr>
                );
              })}
            </Grid>
          </div>
          <div class="card" data-testid="workflow-timers">
            <h3>pending timers ({list(d.timers).length})</h3>
            <Grid headers={['#', 'op', 'name', 'due', 'in']} empty={list(d.timers).length === 0 ? 'none' : null}>
              {list(d.timers).map((t: Json) => (
                <tr key={t.s} data-seq={t.s}>
                  <td>{t.s}</td>
                  <td>{t.t}</td>
                  <td class="mono">{t.n}</td>
                  <td>{at(t.until)}</td>
                  <td>{span(Number(t.until) - Date.now())}</td>
                </tr>
              ))}
            </Grid>
          </div>
          <div class="card" data-testid="workflow-signals">
            <h3>buffered signals ({list(d.signals).length})</h3>
            <Grid headers={['signal', 'payload']} empty={list(d.signals).length === 0 ? 'none' : null}>
              {list(d.signals).map((s: Json, i: number) => (
                <tr key={i}>
                  <td class="mono">{s.name}</td>
                  <td class="mono">{text(s.payload)}</td>
                </tr>
              ))}
            </Grid>
          </div>
        </>
      )}
    </div>
  );
}
