// The update action of a workflow instance's page (@ergo-ts/entities' updates): an update's name
// and JSON input, sent through the node (`do/workflows` op update) with an update id drawn here,
// and the body's answer shown. The node waits a few seconds for the answer; one that did not come
// by then is ERR_WORKFLOW_TIMEOUT, and the id is kept so "ask again" gets that update's answer
// rather than sending a second update. A refusal (its input refused, an ended instance, a failure
// the body answered) shows its code.

import { useState } from 'preact/hooks';

import { api, type Json } from '../api';
import { list } from '../format';
import { Grid } from '../ui';

/** A fresh update id (the browser's UUID where it has one: a page served over plain HTTP may not). */
function newId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (typeof c?.randomUUID === 'function') return c.randomUUID();
  return `ui-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

/**
 * The form (see the top of this file) and the updates the instance accepted and has not answered
 * (`pending`: its description's `updates`); `onDone` after each answer, to read the instance again.
 */
export function WorkflowUpdateForm(props: {
  kind: string;
  id: string;
  running: boolean;
  pending: Json;
  onDone: () => void;
}) {
  const waiting = list(props.pending);
  const [name, setName] = useState('');
  const [input, setInput] = useState('');
  // The id of an update that timed out: asked again until it is answered.
  const [pending, setPending] = useState<string | null>(null);
  const [answer, setAnswer] = useState<string | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const send = (): void => {
    setAnswer(null);
    setFailure(null);
    let parsed: Json = null;
    if (input.trim() !== '')
      try {
        parsed = JSON.parse(input);
      } catch (e) {
        setFailure(`the input is not JSON: ${(e as Error).message}`);
        return;
      }
    const updateId = pending ?? newId();
    setBusy(true);
    api.do('workflows', { op: 'update', workflow: props.kind, id: props.id, name, input: parsed, updateId }).then(
      (r: Json) => {
        setBusy(false);
        setPending(null);
        setAnswer(`${name} (${updateId}) answered ${JSON.stringify(r)}`);
        props.onDone();
      },
      (e: Error & { code?: string }) => {
        setBusy(false);
        const timedOut = e.code === 'ERR_WORKFLOW_TIMEOUT';
        setPending(timedOut ? updateId : null);
        // A failure the body answered is its answer; anything else was refused before it ran.
        const how = e.code === 'ERR_WORKFLOW_UPDATE_FAILED' ? 'failed' : timedOut ? 'not answered yet' : 'refused';
        setFailure(`${name} ${how}${e.code ? ` (${e.code})` : ''}: ${e.message}`);
        props.onDone();
      },
    );
  };
  return (
    <div class="card" data-testid="workflow-update">
      <h3>update</h3>
      <div class="toolbar">
        <input
          data-testid="workflow-update-name"
          placeholder="update name"
          value={name}
          disabled={pending !== null}
          onInput={(e) => setName((e.target as HTMLInputElement).value)}
        />{' '}
        <input
          class="mono"
          data-testid="workflow-update-input"
          placeholder='input (JSON), e.g. {"qty": 2}'
          size={40}
          value={input}
          disabled={pending !== null}
          onInput={(e) => setInput((e.target as HTMLInputElement).value)}
        />{' '}
        <button
          data-testid="workflow-update-send"
          disabled={busy || name.trim() === '' || (!props.running && pending === null)}
          onClick={send}
        >
          {pending === null ? 'send update' : 'ask again'}
        </button>
        {pending === null ? null : (
          <button data-testid="workflow-update-forget" onClick={() => (setPending(null), setFailure(null))}>
            forget it
          </button>
        )}
      </div>
      {answer === null ? null : (
        <p class="mono" data-testid="workflow-update-answer">
          {answer}
        </p>
      )}
      {failure === null ? null : (
        <p class="error" data-testid="workflow-update-refused">
          {failure}
        </p>
      )}
      {waiting.length === 0 ? null : (
        <div data-testid="workflow-updates-pending">
          <h3>not answered yet ({waiting.length})</h3>
          <Grid headers={['update', 'id', 'input', 'accepted', 'taken by']} empty={null}>
            {waiting.map((u: Json) => (
              <tr key={u.id} data-update={u.id}>
                <td class="mono">{u.name}</td>
                <td class="mono">{u.id}</td>
                <td class="mono">{JSON.stringify(u.input)}</td>
                <td>{new Date(Number(u.at)).toLocaleTimeString('en-GB', { hour12: false })}</td>
                <td>{u.taken === undefined ? 'not yet' : `#${u.taken}`}</td>
              </tr>
            ))}
          </Grid>
        </div>
      )}
    </div>
  );
}
