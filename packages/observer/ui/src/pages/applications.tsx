// Applications: every application of the node with its facts; the selected one's processes drawn
// as its supervision tree (each process under its parent); start (in a mode) and stop, each
// confirmed first. A Go node starts an application it enabled for remote start, and cannot stop one.

import { useState } from 'preact/hooks';

import { api, type Json } from '../api';
import { appMode, appState, list, processState, seconds } from '../format';
import { isErgoTS, useFramework, useSubscription } from '../hooks';
import { Error, PidLink } from '../ui';

const MODES = ['temporary', 'transient', 'permanent'];

/**
 * Start (with a mode) or stop of one application, asked for first: the row shows the question
 * until "yes" or "cancel". `stoppable` is false for nodes that cannot stop remotely (Go).
 */
function AppActions(props: { app: Json; stoppable: boolean; onResult: (text: string) => void }) {
  const { app } = props;
  const state = appState(app.state);
  // '' starts it as Node.applicationStart does: in its own mode, its dependencies first.
  const [mode, setMode] = useState('');
  const shown = mode === '' ? appMode(app.mode) : mode;
  const [confirm, setConfirm] = useState(false);
  const [busy, setBusy] = useState(false);
  // The system application runs the node itself: it cannot be stopped.
  if (app.name === 'system_app') return null;
  const action = state === 'loaded' ? 'start' : state === 'running' ? 'stop' : '';
  if (action === '' || (action === 'stop' && !props.stoppable)) return null;
  const run = (): void => {
    setConfirm(false);
    setBusy(true);
    const body = action === 'start' ? { app: app.name, mode } : { app: app.name };
    api
      .do(`application_${action}`, body)
      .then(
        () => props.onResult(`${app.name}: ${action === 'start' ? `started (${shown})` : 'stopped'}`),
        (err: Error) => props.onResult(`${app.name}: ${err.message}`),
      )
      .finally(() => setBusy(false));
  };
  const stop = (e: Event): void => e.stopPropagation();
  return (
    <span onClick={stop} data-testid={`app-actions-${app.name}`}>
      {action === 'start' ? (
        <select
          value={mode}
          data-testid="app-mode"
          onChange={(e) => setMode((e.target as HTMLSelectElement).value)}
          disabled={busy}
        >
          <option value="">{appMode(app.mode)} (its mode)</option>
          {MODES.map((m) => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
        </select>
      ) : null}{' '}
      {confirm ? (
        <span class="confirm" data-testid="app-confirm">
          {action} {app.name}
          {action === 'start' ? ` (${shown})` : ''}?{' '}
          <button class={action === 'stop' ? 'danger' : ''} data-testid="app-yes" onClick={run}>
            yes, {action}
          </button>{' '}
          <button data-testid="app-cancel" onClick={() => setConfirm(false)}>
            cancel
          </button>
        </span>
      ) : (
        <button
          class={action === 'stop' ? 'danger' : ''}
          data-testid={`app-${action}`}
          disabled={busy}
          onClick={() => setConfirm(true)}
        >
          {action}
        </button>
      )}
    </span>
  );
}

/** Processes of a tree whose restart figures are asked for (one state inspector each). */
const SUPERVISORS = 20;

/**
 * A supervisor's restart figures from its handleInspect (an ergo-ts supervisor reports
 * `restarts`, `intensity` and `period`; Go's reports nothing, and then nothing is shown).
 */
function SupFacts(props: { pid: string }) {
  const [data] = useSubscription('process_state', { pid: props.pid }, (d) => d.pid === props.pid);
  const st = data?.state;
  if (st?.intensity === undefined) return null;
  const restarts = Number(st.restarts ?? 0);
  return (
    <span
      class={`badge ${restarts > 0 ? 'warn' : ''}`}
      data-testid="sup-facts"
      title="restarts within the period; the supervisor gives up past the intensity"
    >
      restarts {restarts} of {st.intensity} allowed per {st.period} s
    </span>
  );
}

function Tree(props: { app: string; running: boolean }) {
  // A loaded (not running) application has no processes: its inspector never publishes.
  const [data, error] = useSubscription(
    'application_tree',
    { app: props.app, limit: 1000 },
    (d) => d.application === props.app,
    props.running,
  );
  const procs: Json[] = list(data?.processes);
  const byParent = new Map<string, Json[]>();
  const ids = new Set(procs.map((p) => p.pid));
  for (const p of procs) {
    const parent = ids.has(p.parent) ? p.parent : '';
    byParent.set(parent, [...(byParent.get(parent) ?? []), p]);
  }
  // A process with children in the tree is (in a supervision tree) a supervisor: its figures.
  const sups = new Set([...byParent.keys()].filter((k) => k !== '').slice(0, SUPERVISORS));
  const branch = (parent: string, depth: number): Json =>
    depth > 32 ? null : (
      <ul class="tree">
        {(byParent.get(parent) ?? []).map((p) => (
          <li key={p.pid}>
            <span class="tnode">
              <PidLink pid={p.pid} /> <span class="mono">{p.name}</span> <span class="muted">{p.behavior}</span>{' '}
              <span class="badge">{processState(p.state)}</span>
              {sups.has(p.pid) ? <SupFacts pid={p.pid} /> : null}
            </span>
            {byParent.has(p.pid) ? branch(p.pid, depth + 1) : null}
          </li>
        ))}
      </ul>
    );
  return (
    <div class="card wide" data-testid="app-tree">
      <h3>Supervision tree of {props.app}</h3>
      <Error text={error} />
      {!props.running ? (
        <p class="muted" data-testid="app-not-running">
          not running: no processes
        </p>
      ) : data === null ? (
        <p class="muted">waiting…</p>
      ) : (
        branch('', 0)
      )}
    </div>
  );
}

export function ApplicationsPage() {
  const [data, error] = useSubscription('application_list', {});
  const [selected, setSelected] = useState('');
  const [result, setResult] = useState<string | null>(null);
  // Any ergo-ts node stops applications through its inspector; Go's has no such request.
  const framework = useFramework();
  const stoppable = isErgoTS(framework);
  const apps: Json[] = Object.values(data?.applications ?? {});
  apps.sort((a, b) => String(a.name).localeCompare(String(b.name)));
  return (
    <div class="page" data-page="applications">
      <h1>Applications</h1>
      <Error text={error} />
      {result === null ? null : (
        <p class="muted" data-testid="app-result">
          {result}
        </p>
      )}
      <table class="grid">
        <thead>
          <tr>
            <th>name</th>
            <th>state</th>
            <th>mode</th>
            <th>version</th>
            <th>uptime</th>
            <th>members</th>
            <th>depends on</th>
            <th>description</th>
            <th>actions</th>
          </tr>
        </thead>
        <tbody>
          {apps.map((a) => (
            <tr
              key={a.name}
              class={a.name === selected ? 'selected' : ''}
              onClick={() => setSelected(a.name)}
              data-app={a.name}
            >
              <td class="mono link">{a.name}</td>
              <td>{appState(a.state)}</td>
              <td>{appMode(a.mode)}</td>
              <td>{a.version?.release ?? ''}</td>
              {/* Uptime counts from the start: a loaded application has none (Go sends the epoch). */}
              <td data-testid="app-uptime">{appState(a.state) === 'running' ? seconds(a.uptime) : '–'}</td>
              <td>{list(a.group).length}</td>
              <td>{list(a.depends?.applications).join(', ')}</td>
              <td>{a.description}</td>
              <td>{framework === null ? null : <AppActions app={a} stoppable={stoppable} onResult={setResult} />}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {selected === '' ? (
        <p class="muted">select an application to draw its tree</p>
      ) : (
        <Tree
          key={selected}
          app={selected}
          running={appState(apps.find((a) => a.name === selected)?.state) !== 'loaded'}
        />
      )}
    </div>
  );
}
