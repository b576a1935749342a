// Dead letters (@ergo-ts/entities): the durable messages the node's entities runtime set apart
// after `inbox.maxAttempts` failed attempts at handling them (`entities.deadLetters`), read from
// the store each second (`do/deadletters` op list), the one moved first listed first, filtered by
// entity kind: the key (a link to the entity's page), the message id, its attempts, the last
// failure's text, when it was accepted and set apart, and the message. Two actions, each a POST
// through the node: retry (back to the end of its key's inbox, handed to the key again: for after
// the fix is deployed) and drop (removed for good, its id counted as processed; asks first). Both
// are refused with `workflow_actions_disabled` where the Observer turned its entity actions off.

import { useState } from 'preact/hooks';

import { api, type Json } from '../api';
import { list } from '../format';
import { usePolled } from '../hooks';
import { Error, Grid } from '../ui';

/** Rows a page shows (the store's order: the one moved first first). */
const PAGE = 200;
/** The longest message text a row shows (the rest is cut). */
const MESSAGE_CHARS = 200;

/** Epoch ms as a local date and time. */
function when(ms: Json): string {
  const v = Number(ms);
  if (!Number.isFinite(v) || v <= 0) return '–';
  return new Date(v).toLocaleString('en-GB', { hour12: false });
}

function messageText(m: Json): string {
  const t = JSON.stringify(m) ?? String(m);
  return t.length > MESSAGE_CHARS ? `${t.slice(0, MESSAGE_CHARS)}…` : t;
}

/** The key a row's actions name. */
interface Letter {
  kind: string;
  key: string;
  id: string;
}

export function DeadLettersPage() {
  const [kind, setKind] = useState('');
  const [n, setN] = useState(0);
  const [outcome, setOutcome] = useState<string | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [dropping, setDropping] = useState<Letter | null>(null);
  const [data, error] = usePolled(
    'deadletters',
    { op: 'list', limit: PAGE, ...(kind === '' ? {} : { kind }) },
    true,
    n,
  );
  const act = (op: 'retry' | 'drop', l: Letter): void => {
    setOutcome(null);
    setFailure(null);
    api.do('deadletters', { op, kind: l.kind, key: l.key, id: l.id }).then(
      (r: Json) => (
        setOutcome(`${op} ${l.kind}/${l.key} ${l.id}: ${r === true ? 'done' : 'no such dead letter'}`),
        setN((x) => x + 1)
      ),
      (e: Error & { code?: string }) => setFailure(`${op} refused${e.code ? ` (${e.code})` : ''}: ${e.message}`),
    );
  };
  const rows = list(data);
  const kinds = [...new Set(rows.map((r: Json) => String(r.kind)))].sort();
  return (
    <div>
      <h2>
        <a href="#/entities">Entities</a> / dead letters
      </h2>
      <p class="muted">
        Durable messages whose handler failed <code>inbox.maxAttempts</code> times, set apart so their key goes on.
        Retry one once the cause is fixed, or drop it.
      </p>
      <Error text={error} />
      <div class="toolbar">
        <select data-testid="dead-kind" value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value)}>
          <option value="">kind: any</option>
          {[...new Set([...kinds, ...(kind === '' ? [] : [kind])])].map((k) => (
            <option key={k} value={k}>
              {k}
            </option>
          ))}
        </select>
        <span class="muted" data-testid="dead-count">
          {data === null
            ? ''
            : `${rows.length}${rows.length === PAGE ? '+' : ''} dead letter${rows.length === 1 ? '' : 's'}`}
        </span>
        {dropping === null ? null : (
          <span class="confirm" data-testid="dead-drop-confirm">
            drop {dropping.kind}/{dropping.key} {dropping.id} for good (its id then counts as processed)?{' '}
            <button
              class="danger"
              data-testid="dead-drop-yes"
              onClick={() => {
                const l = dropping;
                setDropping(null);
                act('drop', l);
              }}
            >
              yes, drop
            </button>{' '}
            <button data-testid="dead-drop-no" onClick={() => setDropping(null)}>
              keep it
            </button>
          </span>
        )}
        {outcome === null ? null : (
          <span class="muted" data-testid="dead-outcome">
            {outcome}
          </span>
        )}
      </div>
      {failure === null ? null : (
        <p class="error" data-testid="dead-refused">
          {failure}
        </p>
      )}
      <Grid
        headers={['kind', 'key', 'id', 'attempts', 'last error', 'accepted', 'set apart', 'message', '']}
        empty={data !== null && rows.length === 0 ? 'no dead letters' : null}
      >
        {rows.map((r: Json) => {
          const l: Letter = { kind: String(r.kind), key: String(r.key), id: String(r.id) };
          return (
            <tr key={`${l.kind}/${l.key}/${l.id}`} data-dead={l.id}>
              <td class="mono">{l.kind}</td>
              <td class="mono">
                <a href={`#/entity/${encodeURIComponent(l.kind)}/${encodeURIComponent(l.key)}`}>{l.key}</a>
              </td>
              <td class="mono">{l.id}</td>
              <td>{r.attempts}</td>
              <td class="error-text">{r.error}</td>
              <td>{when(r.acceptedAt)}</td>
              <td>{when(r.deadAt)}</td>
              <td class="mono">{messageText(r.message)}</td>
              <td>
                <button class="small" data-testid="dead-retry" onClick={() => act('retry', l)}>
                  retry
                </button>{' '}
                <button class="small danger" data-testid="dead-drop" onClick={() => setDropping(l)}>
                  drop…
                </button>
              </td>
            </tr>
          );
        })}
      </Grid>
    </div>
  );
}
