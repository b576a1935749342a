// The Observer's UI: a sidebar (pages and the node switcher) and the page of the current route.

import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

import { api } from './api';
import { useRoute, useSession, go } from './hooks';
import { ApplicationsPage } from './pages/applications';
import { DeadLettersPage } from './pages/dead_letters';
import { SchedulesPage } from './pages/schedules';
import { QueuesPage } from './pages/queues';
import { EntitiesManagerWatch, EntitiesPage, EntityPage } from './pages/entities';
import { EventsPage } from './pages/events';
import { GraphPage } from './pages/graph';
import { InfoPage } from './pages/info';
import { LogPage } from './pages/log';
import { ConnectionPage, NetworkPage } from './pages/network';
import { MetaPage, ProcessPage } from './pages/process';
import { ProcessesPage } from './pages/processes';
import { SocketsPage } from './pages/sockets';
import { TabNodePage, TabProcessPage, TabsPage, useIsGateway } from './pages/tabs';
import { TopPage } from './pages/top';
import { TracePage } from './pages/trace';
import { WorkflowPage, WorkflowsPage } from './pages/workflows';
import { BatchesPage } from './pages/workflow_batch';
import './style.css';

const PAGES: [string, string][] = [
  ['info', 'Node'],
  ['processes', 'Processes'],
  ['top', 'Top'],
  ['applications', 'Applications'],
  ['events', 'Events'],
  ['network', 'Network'],
  ['log', 'Log'],
  ['trace', 'Trace'],
  ['sockets', 'Sockets'],
];

/** From this many nodes the switcher offers a filter and counts them (a list the sidebar can still show whole below it). */
const SWITCHER_FILTER_FROM = 10;

function Switcher() {
  useSession();
  const [open, setOpen] = useState(false);
  const [filter, setFilter] = useState('');
  const list = useRef<HTMLUListElement>(null);
  const c = api.connected;
  const current = c?.node.name;
  const nodes = c?.nodes ?? [];
  const many = nodes.length >= SWITCHER_FILTER_FROM;
  // A filter typed while the list was long stays applied only while it still is.
  const needle = many ? filter.trim().toLowerCase() : '';
  const shown = needle === '' ? nodes : nodes.filter((n) => n.name.toLowerCase().includes(needle));
  // The node observed stays in view in a long, scrolled list (after a switch, as the list loads,
  // and when a filter is cleared).
  useEffect(() => {
    list.current?.querySelector('li.on')?.scrollIntoView({ block: 'nearest' });
  }, [current, shown.length]);
  const [form, setForm] = useState({ node: '', cookie: '', host: '', port: '', tls: false });
  const [error, setError] = useState<string | null>(null);
  // Without a stream nothing about the nodes is current: every dot reads as down.
  const live = api.session !== '';
  const doSwitch = (node: string, extra: object = {}): void => {
    setError(null);
    api.post('switch', { node, ...extra }, true).then(
      () => {
        setOpen(false);
        go('info');
      },
      (e: Error) => setError(e.message),
    );
  };
  return (
    <div class="switcher">
      <div class="current" data-testid="current-node" title="the node observed">
        {c?.node.name ?? '…'}
      </div>
      {many ? (
        <>
          <div class="node-count" data-testid="node-count">
            {live ? `${nodes.filter((n) => n.connected).length} of ${nodes.length} connected` : `${nodes.length} nodes`}
          </div>
          <input
            class="node-filter"
            data-testid="node-filter"
            placeholder={`filter ${nodes.length} nodes`}
            value={filter}
            onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
          />
        </>
      ) : null}
      <ul class={many ? 'nodes many' : 'nodes'} data-testid="node-list" ref={list}>
        {shown.map((n) => (
          <li key={n.name} class={n.name === c?.node.name ? 'on' : ''}>
            <a href="#" data-node={n.name} title={n.name} onClick={(e) => (e.preventDefault(), doSwitch(n.name))}>
              <span class={`dot ${!live ? 'down' : n.connected ? 'up' : ''}`} />
              {n.name}
            </a>
          </li>
        ))}
      </ul>
      <button class="small" onClick={() => setOpen(!open)}>
        connect to…
      </button>
      {open ? (
        <form
          class="connect"
          onSubmit={(e) => {
            e.preventDefault();
            doSwitch(form.node, { cookie: form.cookie, host: form.host, port: Number(form.port) || 0, tls: form.tls });
          }}
        >
          <input
            placeholder="node@host"
            value={form.node}
            onInput={(e) => setForm({ ...form, node: (e.target as HTMLInputElement).value })}
          />
          <input
            placeholder="cookie"
            type="password"
            value={form.cookie}
            onInput={(e) => setForm({ ...form, cookie: (e.target as HTMLInputElement).value })}
          />
          <input
            placeholder="host"
            value={form.host}
            onInput={(e) => setForm({ ...form, host: (e.target as HTMLInputElement).value })}
          />
          <input
            placeholder="port"
            value={form.port}
            onInput={(e) => setForm({ ...form, port: (e.target as HTMLInputElement).value })}
          />
          <label>
            <input
              type="checkbox"
              checked={form.tls}
              onChange={(e) => setForm({ ...form, tls: (e.target as HTMLInputElement).checked })}
            />{' '}
            TLS
          </label>
          <button type="submit">connect</button>
        </form>
      ) : null}
      {error === null ? null : <p class="error">{error}</p>}
    </div>
  );
}

/**
 * No stream. Before the first `connected` frame: connecting. After it (the Observer's node
 * stopped or the network dropped; the browser keeps retrying): disconnected. A stream the server
 * refused: a GET of the API tells a missing or wrong token (401) from the rest, and a token
 * field is offered.
 */
function Offline() {
  const [needsToken, setNeedsToken] = useState(false);
  const [token, setToken] = useState('');
  const closed = api.status === 'closed';
  useEffect(() => {
    if (!closed) return;
    const headers: Record<string, string> = api.token === '' ? {} : { authorization: `Bearer ${api.token}` };
    fetch('/api/probe', { headers }).then(
      (r) => setNeedsToken(r.status === 401),
      () => undefined,
    );
  }, [closed]);
  if (!closed && api.connected === null) return <p class="muted">connecting…</p>;
  return (
    <div class="offline" data-testid="offline">
      <p class="error">
        <span class="dot down" />
        {needsToken
          ? api.token === ''
            ? 'this Observer needs a token'
            : 'the Observer refused this token'
          : closed
            ? 'disconnected from the Observer'
            : "disconnected from the Observer: its node stopped or can't be reached (retrying…)"}
      </p>
      {needsToken ? (
        <form
          class="connect"
          data-testid="token-form"
          onSubmit={(e) => {
            e.preventDefault();
            // The page reads ?token= at load, keeps it for this tab and drops it from the address.
            location.href = `${location.pathname}?token=${encodeURIComponent(token)}${location.hash}`;
          }}
        >
          <input
            type="password"
            placeholder="token"
            value={token}
            onInput={(e) => setToken((e.target as HTMLInputElement).value)}
          />
          <button type="submit">open</button>
        </form>
      ) : null}
    </div>
  );
}

function App() {
  const session = useSession();
  const route = useRoute();
  const [page, arg = ''] = route;
  // The Entities link shows only while the node observed runs an entities runtime (its manager's
  // PID, from EntitiesManagerWatch: the App re-renders when it changes, not at each of its frames).
  const [entities, setEntities] = useState<string | null>(null);
  // The Tabs link shows only on a node that runs a tab gateway.
  const gateway = useIsGateway(page ?? 'info');
  let body;
  if (session === '') body = <Offline />;
  else if (page === 'process') body = <ProcessPage key={arg} pid={arg} />;
  else if (page === 'graph') body = <GraphPage key={arg} pid={arg} />;
  else if (page === 'meta') body = <MetaPage key={arg} alias={arg} />;
  else if (page === 'connection') body = <ConnectionPage key={arg} node={arg} />;
  else if (page === 'processes') body = <ProcessesPage />;
  else if (page === 'top') body = <TopPage />;
  else if (page === 'trace') body = <TracePage />;
  else if (page === 'sockets') body = <SocketsPage />;
  else if (page === 'applications') body = <ApplicationsPage />;
  else if (page === 'events') body = <EventsPage />;
  else if (page === 'network') body = <NetworkPage />;
  else if (page === 'log') body = <LogPage />;
  else if (page === 'entities') body = <EntitiesPage manager={entities} />;
  else if (page === 'entity')
    body = <EntityPage key={route.join('/')} kind={arg} entityKey={route.slice(2).join('/')} />;
  else if (page === 'workflows') body = <WorkflowsPage />;
  else if (page === 'deadletters') body = <DeadLettersPage />;
  else if (page === 'batches') body = <BatchesPage key={route.join('/')} batchId={route.slice(1).join('/')} />;
  else if (page === 'schedules') body = <SchedulesPage key={arg} id={route.slice(1).join('/')} />;
  else if (page === 'queues') body = <QueuesPage />;
  else if (page === 'tabs') body = <TabsPage />;
  else if (page === 'tab') body = <TabNodePage key={arg} tab={arg} />;
  else if (page === 'tabproc') body = <TabProcessPage key={route.join('/')} tab={arg} id={route[2] ?? ''} />;
  else if (page === 'workflow') body = <WorkflowPage key={route.join('/')} kind={arg} id={route.slice(2).join('/')} />;
  else body = <InfoPage />;
  return (
    <div class="shell">
      <EntitiesManagerWatch page={page ?? 'info'} onChange={setEntities} />
      <nav class="side">
        <div class="brand">Ergo Observer</div>
        {PAGES.map(([id, label]) => (
          <a key={id} href={`#/${id}`} class={page === id ? 'on' : ''} data-nav={id}>
            {label}
          </a>
        ))}
        {entities === null ? null : (
          <a href="#/entities" class={page === 'entities' || page === 'entity' ? 'on' : ''} data-nav="entities">
            Entities
          </a>
        )}
        {entities === null ? null : (
          <a href="#/workflows" class={page === 'workflows' || page === 'workflow' ? 'on' : ''} data-nav="workflows">
            Workflows
          </a>
        )}
        {entities === null ? null : (
          <a href="#/batches" class={page === 'batches' ? 'on' : ''} data-nav="batches">
            Batches
          </a>
        )}
        {entities === null ? null : (
          <a href="#/schedules" class={page === 'schedules' ? 'on' : ''} data-nav="schedules">
            Schedules
          </a>
        )}
        {entities === null ? null : (
          <a href="#/queues" class={page === 'queues' ? 'on' : ''} data-nav="queues">
            Queues
          </a>
        )}
        {entities === null ? null : (
          <a href="#/deadletters" class={page === 'deadletters' ? 'on' : ''} data-nav="deadletters">
            Dead letters
          </a>
        )}
        {gateway ? (
          <a href="#/tabs" class={page === 'tabs' || page === 'tab' || page === 'tabproc' ? 'on' : ''} data-nav="tabs">
            Tabs
          </a>
        ) : null}
        <Switcher />
        <div class="muted small">
          {api.connected ? `observer ${api.connected.version} on ${api.connected.self}` : ''}
          {api.connected && session === '' ? <span data-testid="status-down"> · disconnected</span> : null}
        </div>
      </nav>
      {/* Keyed by the node: a switch starts every page afresh (charts, counters, page state). */}
      <main key={api.connected?.node.name ?? ''}>{body}</main>
    </div>
  );
}

api.open();
render(<App />, document.getElementById('app')!);
