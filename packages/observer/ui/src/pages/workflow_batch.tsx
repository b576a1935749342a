// The Batches page (#/batches; a batch's progress at #/batches/<id>): batch operations of
// @ergo-ts/entities (`entities.workflows.batch`) through `do/workflows`. The operator picks the
// instances — kind, status, a search attribute, start and end time ranges — and what to do to each
// (cancel, terminate, signal, resume, reset), then asks for the dry-run count; to start, they type
// that count (the word the page asks for) in the confirmation field: a changed query clears the
// count, so a batch never starts on a number nobody saw. The start carries that count and the node
// checks it: a query that matches another number by then is refused and counted again. A batch's page polls its progress (the
// count at its start; matched, done, failed, skipped; its first failures) and can stop it. The
// recent batches are listed below the form (their own workflow kind, `workflow-batch`).

import { useState } from 'preact/hooks';

import { api, type Json } from '../api';
import { list } from '../format';
import { go, usePolled } from '../hooks';
import { Error as ErrorBanner, Grid, KV } from '../ui';
import { WORKFLOW_STATUSES } from './workflow_filters';

const ACTIONS = ['cancel', 'terminate', 'signal', 'resume', 'reset'] as const;

/** The form as typed. */
interface BatchForm {
  kind: string;
  status: string;
  attribute: string;
  startedAfter: string;
  startedBefore: string;
  endedAfter: string;
  endedBefore: string;
  action: (typeof ACTIONS)[number];
  signal: string;
  payload: string;
  reason: string;
}

const EMPTY: BatchForm = {
  kind: '',
  status: 'running',
  attribute: '',
  startedAfter: '',
  startedBefore: '',
  endedAfter: '',
  endedBefore: '',
  action: 'cancel',
  signal: '',
  payload: '',
  reason: '',
};

/** An attribute value typed from its text (as the Workflows search bar types it). */
function typed(text: string): string | number | boolean {
  const t = text.trim();
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  if (t === 'true' || t === 'false') return t === 'true';
  const q = /^"(.*)"$/.exec(t);
  return q ? q[1]! : t;
}

/** The `batchStart` request's fields of `f`, or the problem with them. */
function requestOf(f: BatchForm): { fields: Record<string, Json> } | { problem: string } {
  const fields: Record<string, Json> = {};
  if (f.kind !== '') fields.workflow = f.kind;
  if (f.status !== '') fields.status = f.status;
  if (f.attribute.trim() !== '') {
    const eq = f.attribute.indexOf('=');
    if (eq <= 0) return { problem: 'attribute: name=value' };
    fields.attributes = { [f.attribute.slice(0, eq).trim()]: typed(f.attribute.slice(eq + 1)) };
  }
  for (const k of ['startedAfter', 'startedBefore', 'endedAfter', 'endedBefore'] as const) {
    if (f[k] === '') continue;
    const ms = new Date(f[k]).getTime();
    if (!Number.isFinite(ms)) return { problem: `${k}: not a time` };
    fields[k] = ms;
  }
  const action: Record<string, Json> = { type: f.action };
  if (f.reason.trim() !== '' && f.action !== 'signal' && f.action !== 'resume') action.reason = f.reason.trim();
  if (f.action === 'signal') {
    if (f.signal.trim() === '') return { problem: 'signal: its name' };
    action.name = f.signal.trim();
    if (f.payload.trim() !== '')
      try {
        action.payload = JSON.parse(f.payload);
      } catch {
        return { problem: 'payload: not JSON' };
      }
  }
  fields.action = action;
  return { fields };
}

/** The page: a batch's progress when the route names one, else the form and the recent batches. */
export function BatchesPage(props: { batchId: string }) {
  return props.batchId !== '' ? <BatchProgress batchId={props.batchId} /> : <BatchStart />;
}

function BatchStart() {
  const [form, setForm] = useState<BatchForm>(EMPTY);
  // The count and the request it was made for: any change of the form clears it.
  const [counted, setCounted] = useState<{ key: string; matched: number } | null>(null);
  const [typedConfirm, setTypedConfirm] = useState('');
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [kinds, kindsError] = usePolled('workflows', { op: 'kinds' });
  const [recent, recentError] = usePolled('workflows', { op: 'list', workflow: 'workflow-batch', limit: 20 });
  const req = requestOf(form);
  const key = 'fields' in req ? JSON.stringify(req.fields) : '';
  const count = counted !== null && counted.key === key ? counted.matched : null;
  const set = (patch: Partial<BatchForm>): void => {
    setForm({ ...form, ...patch });
    setTypedConfirm('');
  };
  const val = (e: Event): string => (e.target as HTMLInputElement).value;
  const ask = (): void => {
    if (!('fields' in req)) return;
    setFailure(null);
    setBusy(true);
    api.do('workflows', { op: 'batchStart', dryRun: true, ...req.fields }).then(
      (r: Json) => (setBusy(false), setCounted({ key, matched: Number(r.matched) })),
      (e: Error & { code?: string }) => (setBusy(false), setFailure(`${e.code ?? 'refused'}: ${e.message}`)),
    );
  };
  const start = (): void => {
    if (!('fields' in req) || count === null) return;
    setBusy(true);
    // The count the operator typed goes with the start: the node refuses it when the query matches
    // another number by now (ERR_WORKFLOW_BATCH_COUNT_CHANGED), and the count is asked for again.
    api.do('workflows', { op: 'batchStart', ...req.fields, confirm: count }).then(
      (r: Json) => (setBusy(false), go('batches', String(r.batchId))),
      (e: Error & { code?: string }) => {
        setBusy(false);
        setFailure(`${e.code ?? 'refused'}: ${e.message}`);
        if (e.code === 'ERR_WORKFLOW_BATCH_COUNT_CHANGED') {
          setCounted(null);
          setTypedConfirm('');
        }
      },
    );
  };
  const word = count === null ? '' : String(count);
  return (
    <>
      <h2>Batch operations</h2>
      <ErrorBanner text={kindsError ?? recentError} />
      <div class="card" data-testid="batch-form">
        <h3>which instances</h3>
        <div class="toolbar">
          <select data-testid="batch-kind" value={form.kind} onChange={(e) => set({ kind: val(e) })}>
            <option value="">every kind</option>
            {list(kinds)
              .filter((k) => k !== 'workflow-batch' && k !== 'workflow-retention')
              .map((k) => (
                <option key={k} value={k}>
                  {k}
                </option>
              ))}
          </select>
          <select data-testid="batch-status" value={form.status} onChange={(e) => set({ status: val(e) })}>
            <option value="">status: any</option>
            {WORKFLOW_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
          <input
            data-testid="batch-attribute"
            placeholder="attribute: customer=c-7"
            value={form.attribute}
            onInput={(e) => set({ attribute: val(e) })}
          />
        </div>
        <div class="toolbar">
          {(
            [
              ['startedAfter', 'started after'],
              ['startedBefore', 'started before'],
              ['endedAfter', 'ended after'],
              ['endedBefore', 'ended before'],
            ] as const
          ).map(([k, label]) => (
            <label key={k} class="muted">
              {label}{' '}
              <input
                type="datetime-local"
                step="1"
                data-testid={`batch-${k}`}
                value={form[k]}
                onChange={(e) => set({ [k]: val(e) } as Partial<BatchForm>)}
              />
            </label>
          ))}
        </div>
        <h3>what to do to each</h3>
        <div class="toolbar">
          <select
            data-testid="batch-action"
            value={form.action}
            onChange={(e) => set({ action: val(e) as BatchForm['action'] })}
          >
            {ACTIONS.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
          {form.action === 'signal' ? (
            <>
              <input
                data-testid="batch-signal"
                placeholder="signal name"
                value={form.signal}
                onInput={(e) => set({ signal: val(e) })}
              />
              <input
                class="mono"
                data-testid="batch-payload"
                placeholder="payload (JSON)"
                value={form.payload}
                onInput={(e) => set({ payload: val(e) })}
              />
            </>
          ) : form.action === 'resume' ? null : (
            <input
              data-testid="batch-reason"
              placeholder="reason"
              value={form.reason}
              onInput={(e) => set({ reason: val(e) })}
            />
          )}
          <button data-testid="batch-count" disabled={busy || !('fields' in req)} onClick={ask}>
            dry run: count
          </button>
        </div>
        {'problem' in req ? <p class="muted">{req.problem}</p> : null}
        {form.action === 'terminate' ? (
          <p class="muted">terminate ends each instance at once: no compensation runs (cancel lets it clean up)</p>
        ) : null}
        {count === null ? null : (
          <div data-testid="batch-confirm">
            <p>
              <b data-testid="batch-matched">{count}</b> instance{count === 1 ? '' : 's'} match: {form.action} each of
              them.
            </p>
            {count === 0 ? null : (
              <div class="toolbar">
                <label>
                  type <b class="mono">{word}</b> to confirm{' '}
                  <input
                    data-testid="batch-confirm-input"
                    size={8}
                    value={typedConfirm}
                    onInput={(e) => setTypedConfirm(val(e))}
                  />
                </label>{' '}
                <button data-testid="batch-start" disabled={busy || typedConfirm.trim() !== word} onClick={start}>
                  start batch
                </button>
              </div>
            )}
          </div>
        )}
        <ErrorBanner text={failure} />
      </div>
      <div class="card" data-testid="batch-recent">
        <h3>recent batches</h3>
        <Grid
          headers={['batch', 'status', 'action', 'matched', 'done', 'failed', 'skipped']}
          empty={list(recent?.items).length === 0 ? 'no batch yet' : null}
        >
          {list(recent?.items).map((b: Json) => (
            <tr key={b.id} data-batch={b.id}>
              <td class="mono">
                <a href={`#/batches/${encodeURIComponent(String(b.id))}`}>{b.id}</a>
              </td>
              <td>{b.status}</td>
              <td>{b.attributes?.action ?? ''}</td>
              <td>{b.attributes?.matched ?? 0}</td>
              <td>{b.attributes?.done ?? 0}</td>
              <td>{b.attributes?.failed ?? 0}</td>
              <td>{b.attributes?.skipped ?? 0}</td>
            </tr>
          ))}
        </Grid>
      </div>
    </>
  );
}

function BatchProgress(props: { batchId: string }) {
  const [again, setAgain] = useState(0);
  const [d, error] = usePolled('workflows', { op: 'batchDescribe', batchId: props.batchId }, true, again);
  const [failure, setFailure] = useState<string | null>(null);
  const stop = (): void => {
    api.do('workflows', { op: 'batchCancel', batchId: props.batchId }).then(
      () => setAgain(again + 1),
      (e: Error & { code?: string }) => setFailure(`${e.code ?? 'refused'}: ${e.message}`),
    );
  };
  const acted = d === null ? 0 : Number(d.done) + Number(d.failed) + Number(d.skipped);
  const expected = d === null ? 0 : Number(d.expected ?? d.matched);
  return (
    <>
      <h2>
        <a href="#/batches">Batches</a> / <span class="mono">{props.batchId}</span>
      </h2>
      <ErrorBanner text={error ?? failure} />
      {d === null ? null : (
        <div class="card" data-testid="batch-progress">
          <KV
            title="progress"
            rows={[
              ['status', <span data-testid="batch-status-now">{d.status}</span>],
              ['action', <span class="mono">{JSON.stringify(d.action)}</span>],
              ['query', <span class="mono">{JSON.stringify(d.query)}</span>],
              ['expected (its dry-run count)', String(expected)],
              ['matched so far', <span data-testid="batch-progress-matched">{d.matched}</span>],
              ['done', <span data-testid="batch-progress-done">{d.done}</span>],
              ['failed', <span data-testid="batch-progress-failed">{d.failed}</span>],
              ['skipped (nothing to do)', <span data-testid="batch-progress-skipped">{d.skipped}</span>],
            ]}
          />
          <progress
            data-testid="batch-progress-bar"
            style={{ width: '100%' }}
            max={Math.max(1, expected)}
            value={Math.min(acted, Math.max(1, expected))}
          />
          {d.status === 'running' ? (
            <p>
              <button data-testid="batch-cancel" onClick={stop}>
                stop this batch
              </button>
            </p>
          ) : null}
          {list(d.failures).length === 0 ? null : (
            <Grid headers={['workflow', 'id', 'error']} empty={null}>
              {list(d.failures).map((f: Json) => (
                <tr key={`${f.workflow}/${f.id}`}>
                  <td>{f.workflow}</td>
                  <td class="mono">{f.id}</td>
                  <td class="mono">{`${f.error?.code ?? ''} ${f.error?.message ?? ''}`}</td>
                </tr>
              ))}
            </Grid>
          )}
        </div>
      )}
    </>
  );
}
