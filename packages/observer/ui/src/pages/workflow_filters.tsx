// The Workflows list's search bar (pages/workflows.tsx): the kind (every kind by default), the
// status (also a click on its total), a search attribute as `name=value` (a number, true/false or
// text; quote a number to search it as text) and a start time range, turned into the `list`
// request's fields (`do/workflows`, served by the store's state index); and the totals per status
// of the current filter the answer carries (`counts`), so failed and running instances are found
// without paging through completed ones.

import { useEffect, useState } from 'preact/hooks';
import type { Json } from '../api';

/** The statuses an instance may have, in the order the totals show them. */
export const WORKFLOW_STATUSES = ['running', 'completed', 'failed', 'cancelled'];

/** The search bar's fields as the page keeps them (text, as the inputs hold them). */
export interface WorkflowSearch {
  /** A kind's name, or '' for every kind. */
  readonly kind: string;
  /** A status, or '' for any. */
  readonly status: string;
  /** `name=value`, or ''. */
  readonly attribute: string;
  /** `datetime-local` values (local time), or ''. */
  readonly startedAfter: string;
  readonly startedBefore: string;
}

/** No filter: every kind, any status, newest first. */
export const NO_SEARCH: WorkflowSearch = { kind: '', status: '', attribute: '', startedAfter: '', startedBefore: '' };

/** An attribute value typed from its text: a number, a boolean, or text (quoted text stays text). */
function attributeValue(text: string): string | number | boolean {
  const t = text.trim();
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  if (t === 'true' || t === 'false') return t === 'true';
  const quoted = /^"(.*)"$/.exec(t);
  return quoted ? quoted[1]! : t;
}

/**
 * The `list` request's filter fields of `s`, or the problem with them (an attribute that is not
 * `name=value`, a time that is no time): shown beside the bar, nothing is asked then.
 */
export function searchFields(s: WorkflowSearch): { fields: Record<string, Json> } | { problem: string } {
  const fields: Record<string, Json> = {};
  if (s.kind !== '') fields.workflow = s.kind;
  if (s.status !== '') fields.status = s.status;
  if (s.attribute.trim() !== '') {
    const eq = s.attribute.indexOf('=');
    if (eq <= 0) return { problem: 'attribute: name=value' };
    fields.attributes = { [s.attribute.slice(0, eq).trim()]: attributeValue(s.attribute.slice(eq + 1)) };
  }
  for (const f of ['startedAfter', 'startedBefore'] as const) {
    if (s[f] === '') continue;
    const ms = new Date(s[f]).getTime();
    if (!Number.isFinite(ms)) return { problem: `${f}: not a time` };
    fields[f] = ms;
  }
  return { fields };
}

/** The search bar (see the top of this file); `counts` is the last answer's, null before one. */
export function WorkflowFilters(props: {
  kinds: readonly string[];
  search: WorkflowSearch;
  counts: Json;
  problem: string | null;
  onChange: (s: WorkflowSearch) => void;
}) {
  const { search: s, counts } = props;
  const set = (patch: Partial<WorkflowSearch>): void => props.onChange({ ...s, ...patch });
  const input = (e: Event): string => (e.target as HTMLInputElement).value;
  // What is typed in the attribute field, kept here until it is committed (change: Enter or
  // leaving the field): the page re-renders each second with the polled list, and a field bound
  // to the committed value alone would be set back to it under the user's typing.
  const [draft, setDraft] = useState(s.attribute);
  useEffect(() => setDraft(s.attribute), [s.attribute]);
  return (
    <>
      <div class="toolbar" data-testid="workflow-search">
        <select data-testid="workflow-kind" value={s.kind} onChange={(e) => set({ kind: input(e) })}>
          <option value="">every kind</option>
          {props.kinds.map((k) => (
            <option key={k} value={k}>
              {k}
            </option>
          ))}
        </select>
        <select data-testid="workflow-status" value={s.status} onChange={(e) => set({ status: input(e) })}>
          <option value="">status: any</option>
          {WORKFLOW_STATUSES.map((st) => (
            <option key={st} value={st}>
              {st}
            </option>
          ))}
        </select>
        <input
          data-testid="workflow-attribute"
          placeholder="attribute: customer=c-7"
          value={draft}
          onInput={(e) => setDraft(input(e))}
          onChange={(e) => set({ attribute: input(e) })}
        />
        <label class="muted">
          started after{' '}
          <input
            type="datetime-local"
            step="1"
            data-testid="workflow-started-after"
            value={s.startedAfter}
            onChange={(e) => set({ startedAfter: input(e) })}
          />
        </label>
        <label class="muted">
          before{' '}
          <input
            type="datetime-local"
            step="1"
            data-testid="workflow-started-before"
            value={s.startedBefore}
            onChange={(e) => set({ startedBefore: input(e) })}
          />
        </label>
        {s === NO_SEARCH ? null : (
          <button class="small" data-testid="workflow-clear" onClick={() => props.onChange(NO_SEARCH)}>
            clear
          </button>
        )}
      </div>
      {props.problem === null ? null : (
        <p class="error" data-testid="workflow-search-problem">
          {props.problem}
        </p>
      )}
      <div class="toolbar wf-totals" data-testid="workflow-totals">
        {WORKFLOW_STATUSES.map((st) => (
          <button
            key={st}
            class={`small wf-total wf-${st}${s.status === st ? ' active' : ''}`}
            data-testid={`workflow-count-${st}`}
            title={`only ${st} instances`}
            onClick={() => set({ status: s.status === st ? '' : st })}
          >
            {st} <b>{counts === null ? '–' : String(counts?.[st] ?? 0)}</b>
          </button>
        ))}
        <span class="muted" data-testid="workflow-count-total">
          {counts === null
            ? ''
            : `${String(counts?.total ?? 0)} in all${s.status === '' ? '' : ` (${s.status} shown)`}`}
        </span>
      </div>
    </>
  );
}
