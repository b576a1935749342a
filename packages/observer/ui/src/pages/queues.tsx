// Queues (@ergo-ts/entities' workflow queues, docs/workflows.md "Queues"): the queues the node's
// member knows, each with its limits (concurrency, per member, rate), whether this member serves it
// and how many of its attempts run here; and the step attempts waiting here for a slot, in the
// order this member grants them: queue, member, position, priority, the workflow instance (a link
// to its page), step and operation, attempt, since when, and what holds it ("waiting for queue
// gpu: the concurrency limit (2) is reached", "…: no live member serves it"). Both are read each
// second (`do/queues` ops `queues` and `waiting`, server-side in src/queues.ts). Other members'
// waiting attempts are on their own nodes' page (switch nodes). A client-only node serves no queue
// and runs no step: its manager answers the members' (each queue with the members serving it and
// what runs on them, every member's waiting attempts), and the page says so — never "served here".

/** Whether the rows are a client-only node's (the members', each with who serves it). */
const fromMembers = (rows: Json[]): boolean => rows.some((q: Json) => Array.isArray(q.servedBy));

import { type Json } from '../api';
import { list } from '../format';
import { usePolled } from '../hooks';
import { Error, Grid } from '../ui';

/** Epoch ms as a UTC time of day and how long ago (the full ISO time is its title). */
function Since(props: { ms: Json }) {
  const v = Number(props.ms);
  if (!Number.isFinite(v) || v <= 0) return <span>–</span>;
  const iso = new Date(v).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const ago = Math.max(0, Math.round((Date.now() - v) / 1000));
  return (
    <span title={iso} style={{ whiteSpace: 'nowrap' }}>
      {iso.slice(11)} · {ago} s ago
    </span>
  );
}

function limit(v: Json): string {
  return typeof v === 'number' ? String(v) : 'no limit';
}

function rate(r: Json): string {
  if (r === null || typeof r !== 'object') return 'no limit';
  return `${r.limit} per ${r.periodMs} ms`;
}

/** The Queues page (see the top of this file). */
export function QueuesPage() {
  const [queues, queuesError] = usePolled('queues', { op: 'queues' });
  const [waiting, waitingError] = usePolled('queues', { op: 'waiting' });
  const rows = list(queues);
  const waits = list(waiting);
  const members = fromMembers(rows);
  const missing: string[] = members ? list(rows[0]?.missing) : [];
  return (
    <div>
      <h2>Queues</h2>
      {members ? (
        <p class="muted" data-testid="queues-client">
          This node is client-only: it serves no queue and runs no step. The queues, who serves them and the step
          attempts waiting for a slot are the members' ({list(rows[0]?.members).join(', ')}), asked each second.
          {missing.length === 0 ? '' : ` Not answering (left out): ${missing.join(', ')}.`}
        </p>
      ) : (
        <p class="muted">
          Where workflow steps run, how many at once, how fast: the queues this member knows and the step attempts
          waiting on it for a slot. Other members' waiting attempts show on their own node.
        </p>
      )}
      <Error text={queuesError} />
      <Grid
        headers={
          members
            ? ['queue', 'served by', 'concurrency (cluster)', 'per member', 'rate', 'running on the members']
            : ['queue', 'served here', 'concurrency (cluster)', 'per member', 'rate', 'running here']
        }
        empty={queues !== null && rows.length === 0 ? 'no queues' : null}
      >
        {rows.map((q: Json) => (
          <tr key={q.name} data-testid="queue" data-queue={q.name}>
            <td class="mono">{q.name}</td>
            {members ? (
              <td class={list(q.servedBy).length > 0 ? 'mono' : 'error-text'}>
                {list(q.servedBy).length > 0 ? list(q.servedBy).join(', ') : 'no member'}
              </td>
            ) : (
              <td class={q.served ? '' : 'error-text'}>{q.served ? 'yes' : 'no'}</td>
            )}
            <td>{limit(q.limits?.concurrency)}</td>
            <td>{limit(q.limits?.perMember)}</td>
            <td>{rate(q.limits?.rate)}</td>
            <td>{q.running}</td>
          </tr>
        ))}
      </Grid>
      <h3>
        Waiting <span class="muted small">{waiting === null ? '' : `(${waits.length})`}</span>
      </h3>
      <Error text={waitingError} />
      <Grid
        headers={['queue', 'member', 'position', 'priority', 'workflow', 'step', 'attempt', 'since', 'why it waits']}
        empty={waiting !== null && waits.length === 0 ? 'nothing waits' : null}
      >
        {waits.map((w: Json) => (
          <tr
            key={`${w.queue}/${w.kind}/${w.id}/${w.seq}`}
            data-testid="queue-waiting"
            data-queue={w.queue}
            data-position={w.position}
          >
            <td class="mono">{w.queue}</td>
            <td class="mono">{w.member}</td>
            <td>{w.position}</td>
            <td>{w.priority}</td>
            <td class="mono">
              <a href={`#/workflow/${encodeURIComponent(w.kind)}/${encodeURIComponent(w.id)}`}>
                {w.kind}/{w.id}
              </a>
            </td>
            <td class="mono" style={{ whiteSpace: 'nowrap' }}>
              {w.step} (#{w.seq})
            </td>
            <td>{w.attempt}</td>
            <td>
              <Since ms={w.since} />
            </td>
            <td data-testid="queue-waiting-why">{w.waiting}</td>
          </tr>
        ))}
      </Grid>
    </div>
  );
}
