// Entities (@ergo-ts/entities): the shards of every member and the entities active on the node
// observed, from the entities manager's handleInspect (a process_state subscription of its PID,
// each second); an entity's page shows its host's handleInspect: fencing token, state version,
// idle time and the state itself (unless the node hides states: `inspectState: false`), its pending
// reminders (name, next due time, period: the host reads them from the store in the background and
// shows its last read) and, for an event-sourced entity, its last events. The node's page also
// shows its inbox sweeper (keys with durable messages waiting, the oldest one's age), its reminder
// counts and the projections started on it (running here or standing by, offset, failures).

import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

import { api, type Json } from '../api';
import { count, list, seconds } from '../format';
import { go, isErgoTS, useFramework, useFrames, useSubscription } from '../hooks';
import { Error, Grid, KV, PidLink } from '../ui';

/** The name of an entity's host process. */
const hostName = (kind: string, key: string): string => `~entity/${kind}/${key}`;

/**
 * Follows the PID of the observed node's entities manager, or null (no entities runtime, not
 * known yet, or a node other than ergo-ts): the sidebar shows the Entities link only when there
 * is one. `page` is the route's page: the Node page subscribes to node_info for good, so there the
 * framework comes from the page's own frames (no second hold of that subscription is needed).
 * A component of its own that renders nothing and calls `onChange` when the PID changes (and once
 * mounted): the entities_find frames (one a second) re-render it alone, not the whole UI.
 */
export function EntitiesManagerWatch(props: { page: string; onChange: (manager: string | null) => void }) {
  // Re-rendered when a node_info frame (anyone's) tells a framework other than the one drawn.
  const [, rerender] = useState(0);
  const drawn = useRef(api.framework);
  drawn.current = api.framework;
  useFrames(
    'node_info',
    useCallback(() => {
      if (api.framework !== drawn.current) rerender((n) => n + 1);
    }, []),
  );
  const framework = api.framework;
  const [info] = useSubscription('node_info', {}, () => true, framework === null && props.page !== 'info');
  const f = info?.info?.framework;
  const ergoTS = isErgoTS(framework ?? (f ? `${f.name ?? ''}` : null));
  // Frames of every entities_find come to every holder of the type: the manager's look-up takes
  // only its own (the manager, or none: an empty one while an entity's page shows is that page's).
  const { page } = props;
  const mine = useCallback(
    (d: Json) => {
      const ps = list(d?.processes);
      return ps.length > 0 ? ps.every((p: Json) => p.behavior === 'EntityManager') : page !== 'entity';
    },
    [page],
  );
  const [data] = useSubscription('entities_find', {}, mine, ergoTS);
  const first = list(data?.processes)[0];
  const manager = typeof first?.pid === 'string' ? first.pid : null;
  const { onChange } = props;
  useEffect(() => onChange(manager), [manager, onChange]);
  return null;
}

function parse(text: Json): Json {
  if (typeof text !== 'string') return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function ms(n: Json): string {
  const v = Number(n);
  if (!Number.isFinite(v)) return '';
  return v < 1000 ? `${v} ms` : v < 60_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.floor(v / 60_000)} min`;
}

const sum = (o: Record<string, number> | undefined): number =>
  Object.values(o ?? {}).reduce((a, b) => a + Number(b), 0);

/** One row per member: the shards it owns (a cell each, darker with more active entities). */
function ShardGrid(props: { shards: number; cluster: Json[] }) {
  return (
    <div class="card" data-testid="entity-shards">
      <h3>shards per node ({props.shards} shards)</h3>
      <table class="grid">
        <thead>
          <tr>
            <th>node</th>
            <th>shards owned</th>
            <th>active entities</th>
            <th>shards (owned: filled; number: active entities)</th>
          </tr>
        </thead>
        <tbody>
          {props.cluster.map((t: Json) => {
            const owned = new Set<number>(list(t.owned));
            const active: Record<string, Record<string, number>> = t.active ?? {};
            const total = Object.values(active).reduce((a, per) => a + sum(per), 0);
            return (
              <tr key={t.node} data-member={t.node}>
                <td class="mono">{t.node}</td>
                <td data-testid="owned-count">{t.error ? <span class="muted">{t.error}</span> : owned.size}</td>
                <td data-testid="active-count">{count(total)}</td>
                <td>
                  <div class="shard-cells">
                    {Array.from({ length: props.shards }, (_, s) => {
                      const n = sum(active[String(s)]);
                      const per = Object.entries(active[String(s)] ?? {})
                        .map(([k, v]) => `${k} ${v}`)
                        .join(', ');
                      return (
                        <span
                          key={s}
                          class={`shard ${owned.has(s) ? 'own' : ''} ${n > 0 ? 'busy' : ''}`}
                          data-shard={s}
                          title={`shard ${s}${owned.has(s) ? ' (owned)' : ''}${per ? `: ${per}` : ''}`}
                        >
                          {n > 0 ? n : ''}
                        </span>
                      );
                    })}
                  </div>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** The inbox sweeper: durable messages accepted and not handled yet on this node's shards. */
function InboxCard(props: { inbox: Json }) {
  const i = props.inbox;
  const age = Number(i.oldestPendingAgeMs) || 0;
  return (
    <KV
      title="inbox"
      rows={[
        ['keys waiting', <span data-testid="inbox-pending">{count(i.pendingKeys)}</span>],
        [
          'oldest waiting',
          <span data-testid="inbox-oldest" class={age > 5000 ? 'error' : ''}>
            {age === 0 ? 'none' : age < 1000 ? `${age} ms` : seconds(age / 1000)}
          </span>,
        ],
        ['activated by the sweeper', count(i.activated)],
        ['activations failed (retried)', count(i.failed)],
      ]}
    />
  );
}

/** The projections started on this node: running here or standing by, and how far each is. */
function Projections(props: { rows: Json[] }) {
  if (props.rows.length === 0) return null;
  const now = Date.now();
  return (
    <>
      <h3>projections started here</h3>
      <table class="grid" data-testid="projections">
        <thead>
          <tr>
            <th>name</th>
            <th>kind</th>
            <th>mode</th>
            <th>here</th>
            <th>token</th>
            <th>offset</th>
            <th>events</th>
            <th>caught up</th>
            <th>last handled</th>
            <th>failures</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map((p: Json) => (
            <tr key={p.name} data-projection={p.name}>
              <td class="mono">{p.name}</td>
              <td>{p.tag ? `${p.kind} (tag ${p.tag})` : p.kind}</td>
              <td>{p.singleton ? `${p.mode}, one member` : p.mode}</td>
              <td data-testid="projection-here">{p.running ? 'running' : p.singleton ? 'standing by' : 'stopped'}</td>
              <td>{count(p.token)}</td>
              <td data-testid="projection-offset">{count(p.offset)}</td>
              <td>{count(p.delivered)}</td>
              <td>{p.caughtUp ? 'yes' : 'no'}</td>
              <td>{Number(p.lastHandledAt) > 0 ? `${seconds((now - Number(p.lastHandledAt)) / 1000)} ago` : '–'}</td>
              <td class={Number(p.failures) > 0 ? 'error' : ''} title={p.lastError ?? ''}>
                {count(p.failures)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

export function EntitiesPage(props: { manager: string | null }) {
  const [kind, setKind] = useState('');
  const [key, setKey] = useState('');
  const framework = useFramework();
  const [data, error] = useSubscription(
    'process_state',
    { pid: props.manager ?? '' },
    (d) => d.pid === props.manager,
    props.manager !== null,
  );
  const info = parse(data?.state?.info);
  const cluster: Json[] = list(parse(data?.state?.cluster));
  const rows: Json[] = list(info?.entities).filter(
    (e: Json) => (kind === '' || e.kind === kind) && (key === '' || String(e.key).includes(key)),
  );
  const node = api.connected?.node.name ?? '';
  return (
    <div class="page" data-page="entities">
      <h1>Entities</h1>
      {props.manager === null ? (
        <p class="note" data-testid="entities-none">
          {framework !== null && !isErgoTS(framework)
            ? `${node} runs ${framework}: no entities runtime.`
            : `${node} runs no entities runtime (@ergo-ts/entities) now.`}
        </p>
      ) : null}
      <Error text={error} />
      {info === null ? null : (
        <>
          <div class="cards">
            <KV
              title="runtime"
              rows={[
                ['manager', <PidLink pid={props.manager ?? ''} />],
                ['members', <span class="mono">{list(info.members).join(', ')}</span>],
                ['shards', `${info.table?.owned?.length ?? 0} of ${info.shards} owned here`],
                ['active here', <span data-testid="entities-total">{count(info.total)}</span>],
                [
                  'per kind',
                  Object.entries(info.activePerKind ?? {})
                    .map(([k, n]) => `${k} ${String(n)}`)
                    .join(', ') || '–',
                ],
                ['states', info.stateShown ? 'shown' : 'hidden (inspectState: false)'],
              ]}
            />
            {info.inbox ? <InboxCard inbox={info.inbox} /> : null}
            {info.reminders ? (
              <KV
                title="reminders"
                rows={[
                  ['fired', count(info.reminders.fired)],
                  ['failed (retried)', count(info.reminders.failed)],
                  ['being delivered', count(info.reminders.inFlight)],
                ]}
              />
            ) : null}
          </div>
          <ShardGrid shards={Number(info.shards)} cluster={cluster} />
          <Projections rows={list(info.projections)} />
          <h3>active on {node}</h3>
          <div class="toolbar">
            <select
              data-testid="entity-kind"
              value={kind}
              onChange={(e) => setKind((e.target as HTMLSelectElement).value)}
            >
              <option value="">kind: any</option>
              {list(info.kinds).map((k: string) => (
                <option key={k} value={k}>
                  {k}
                </option>
              ))}
            </select>
            <input
              data-testid="entity-key"
              placeholder="key contains"
              value={key}
              onInput={(e) => setKey((e.target as HTMLInputElement).value)}
            />
            {kind !== '' && key !== '' ? (
              <button class="small" data-testid="entity-open" onClick={() => go('entity', kind, key)}>
                open {kind}/{key}
              </button>
            ) : null}
          </div>
          {Number(info.total) > list(info.entities).length ? (
            <p class="muted small">
              listing the {list(info.entities).length} most recently active of {count(info.total)}; the filter applies
              to those (open a kind and key to reach any other)
            </p>
          ) : null}
          <table class="grid" data-testid="entities">
            <thead>
              <tr>
                <th>kind</th>
                <th>key</th>
                <th>shard</th>
                <th>token</th>
                <th>version</th>
                <th>idle</th>
                <th>process</th>
              </tr>
            </thead>
            <tbody>
              {rows.length === 0 ? (
                <tr>
                  <td colSpan={7} class="muted">
                    no active entities{kind !== '' || key !== '' ? ' match these filters' : ''}
                  </td>
                </tr>
              ) : null}
              {rows.map((e: Json) => (
                <tr key={`${e.kind}/${e.key}`} data-entity={`${e.kind}/${e.key}`}>
                  <td>{e.kind}</td>
                  <td class="mono">
                    <a
                      href={`#/entity/${encodeURIComponent(e.kind)}/${encodeURIComponent(e.key)}`}
                      onClick={(ev) => (ev.preventDefault(), go('entity', e.kind, e.key))}
                    >
                      {e.key}
                    </a>
                  </td>
                  <td>{e.shard}</td>
                  <td>{e.token}</td>
                  <td>{e.version}</td>
                  <td>{ms(e.idleMs)}</td>
                  <td>
                    <PidLink pid={e.pid} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}

/** One entity: found by its host's registered name, then its host's handleInspect each second. */
export function EntityPage(props: { kind: string; entityKey: string }) {
  const name = hostName(props.kind, props.entityKey);
  const framework = useFramework();
  // Only frames of this look-up: the sidebar's (the manager) come under the same type.
  const [found, findError] = useSubscription(
    'entities_find',
    { kind: props.kind, key: props.entityKey },
    (d) => list(d?.processes).every((p: Json) => p.behavior !== 'EntityManager'),
    isErgoTS(framework),
  );
  const host = list(found?.processes).find((p: Json) => p.name === name);
  const pid: string | null = typeof host?.pid === 'string' ? host.pid : null;
  const [data, error] = useSubscription('process_state', { pid: pid ?? '' }, (d) => d.pid === pid, pid !== null);
  const st = data?.state?.entity === `${props.kind}/${props.entityKey}` ? data.state : null;
  const node = api.connected?.node.name ?? '';
  return (
    <div class="page" data-page="entity">
      <h1>
        <a href="#/entities" onClick={(e) => (e.preventDefault(), go('entities'))}>
          Entities
        </a>{' '}
        / <span class="mono">{props.kind}</span> / <span class="mono">{props.entityKey}</span>
      </h1>
      <Error text={findError ?? error} />
      {found !== null && pid === null ? (
        <p class="note" data-testid="entity-inactive">
          {props.kind}/{props.entityKey} is not active on {node}: it is passivated, never called, or active on the node
          that owns its shard (see the shards on the Entities page and switch to that node).
        </p>
      ) : null}
      {st === null ? null : (
        <>
          <div class="cards">
            <KV
              title="activation"
              rows={[
                ['process', <PidLink pid={pid ?? ''} />],
                ['shard', st.shard],
                ['fencing token', <span data-testid="entity-token">{st.token}</span>],
                ['state version', <span data-testid="entity-version">{st.version}</span>],
                ['idle', ms(st.idleMs)],
              ]}
            />
          </div>
          <div class="card">
            <h3>state{st.state_truncated === 'true' ? ' (truncated)' : ''}</h3>
            {st.state_hidden === 'true' ? (
              <p class="note" data-testid="entity-state-hidden">
                {node} hides entity states (its entities runtime runs with inspectState: false).
              </p>
            ) : (
              <pre class="mono state" data-testid="entity-state">
                {st.state}
              </pre>
            )}
          </div>
          {typeof st.reminders === 'string' || typeof st.reminders_error === 'string' ? (
            <Reminders text={st.reminders} readAt={st.reminders_read_at} error={st.reminders_error} />
          ) : null}
          {typeof st.recent_events === 'string' ? <RecentEvents text={st.recent_events} /> : null}
        </>
      )}
    </div>
  );
}

/** Parses an inspection item's JSON text; undefined when it is not JSON (a rendering cut short). */
function parsed(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The pending reminders of an entity, soonest first, as its host last read them from the store. */
function Reminders(props: { text: string | undefined; readAt: string | undefined; error: string | undefined }) {
  const rows = list(parsed(props.text));
  return (
    <div class="card" data-testid="entity-reminders">
      <h3>pending reminders {props.text === undefined ? null : <span class="muted">({count(rows.length)})</span>}</h3>
      <Error text={props.error === undefined ? null : `reading the reminders failed: ${props.error}`} />
      {props.text === undefined ? null : (
        <Grid headers={['name', 'due', 'period']} empty={rows.length === 0 ? 'none' : null}>
          {rows.map((r: Json) => (
            <tr key={r.name} data-reminder={r.name}>
              <td class="mono">{r.name}</td>
              <td class="mono" data-testid="reminder-due">
                {r.dueAt}
              </td>
              <td data-testid="reminder-period">
                {typeof r.everyMs === 'number'
                  ? `every ${r.everyMs} ms`
                  : typeof r.cron === 'string'
                    ? `cron ${r.cron}${typeof r.location === 'string' ? ` (${r.location})` : ''}`
                    : 'once'}
              </td>
            </tr>
          ))}
        </Grid>
      )}
      {props.readAt === undefined ? null : <p class="note">read from the store at {props.readAt}</p>}
    </div>
  );
}

/** An event-sourced entity's last events (its host keeps 20), newest first. */
function RecentEvents(props: { text: string }) {
  const events = parsed(props.text);
  const rows = Array.isArray(events) ? [...(events as Json[])].reverse() : null;
  return (
    <div class="card" data-testid="entity-events">
      <h3>recent events</h3>
      {rows === null ? (
        <pre class="mono state">{props.text}</pre>
      ) : (
        <Grid
          headers={['version', 'type', 'event']}
          empty={rows.length === 0 ? "no events since this activation's snapshot" : null}
        >
          {rows.map((e: Json) => (
            <tr key={e.version} data-event-version={e.version}>
              <td>{e.version}</td>
              <td class="mono">{e.type}</td>
              <td class="mono">{JSON.stringify(e.event)}</td>
            </tr>
          ))}
        </Grid>
      )}
    </div>
  );
}
