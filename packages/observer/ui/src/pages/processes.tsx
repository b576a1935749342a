// Process list, refreshed each second. An ergo-ts node filters, sorts and pages its processes
// itself (the process page query: one pass over the table, no full sort), so a node with
// 100,000 processes sends one page; other nodes (Go Ergo 3.2) send a page of processes from a
// PID, filtered and sorted here. The table draws only the rows in view, so a page of 10,000
// processes scrolls smoothly. "By PID" pages go by a PID cursor (the next page starts after the
// last PID shown), so processes spawned or ended between two pages skip or repeat no row.

import { useEffect, useMemo, useState } from 'preact/hooks';

import { type Json } from '../api';
import { count, list, nanos, processState, runningNow, seconds } from '../format';
import { isErgoTS, useFramework, useSubscription } from '../hooks';
import { Error, PidLink } from '../ui';

const ROW = 24;
const VIEW = 600;

/** The process id a printed PID holds (`<CRC.hi.lo>`). */
export function pidId(pid: string): number {
  const m = /\.(\d+)\.(\d+)>$/.exec(pid);
  return m === null ? 0 : Number(m[1]) * 2 ** 32 + Number(m[2]);
}

type Sort = 'pid' | 'running' | 'messages' | 'mailbox';

export function ProcessesPage() {
  const [start, setStart] = useState(1000);
  const [limit, setLimit] = useState(500);
  const [name, setName] = useState('');
  const [behavior, setBehavior] = useState('');
  const [application, setApplication] = useState('');
  const [state, setState] = useState('');
  const [minMailbox, setMinMailbox] = useState(0);
  const [sort, setSort] = useState<Sort>('pid');
  const [scroll, setScroll] = useState(0);
  const [offset, setOffset] = useState(0);
  /** The PID cursor of "by PID" pages on an ergo-ts node: the page starts after this PID id. */
  const [after, setAfter] = useState(0);
  // Another filter, sort or page size starts again from the first page.
  useEffect(() => (setOffset(0), setAfter(0)), [name, behavior, application, state, minMailbox, sort, limit]);
  // The node does the work when it can (an ergo-ts node); the browser does it for the others.
  const framework = useFramework();
  const paged = isErgoTS(framework);
  const cursor = paged && sort === 'pid';
  const [data, error] = useSubscription(
    paged ? 'process_page' : 'process_list',
    paged
      ? {
          namePattern: name,
          behavior,
          application,
          state,
          minMailbox,
          sort,
          ...(cursor ? { after, offset: 0 } : { offset }),
          limit,
        }
      : { pidStart: start, pidLimit: limit },
    () => true,
    framework !== null,
  );
  const all: Json[] = list(data?.processes);
  const total = Number(data?.total ?? all.length);
  const rows = useMemo(() => {
    if (paged) return all;
    const n = name.toLowerCase();
    const out = all.filter(
      (p) =>
        (n === '' || String(p.name).toLowerCase().includes(n)) &&
        (behavior === '' || String(p.behavior).includes(behavior)) &&
        (application === '' || p.application === application) &&
        (state === '' || processState(p.state) === state) &&
        Number(p.messagesMailbox) >= minMailbox,
    );
    const key: Record<Sort, (p: Json) => number> = {
      pid: (p) => -pidId(p.pid),
      running: (p) => runningNow(p),
      messages: (p) => Number(p.messagesIn) + Number(p.messagesOut),
      mailbox: (p) => Number(p.messagesMailbox),
    };
    const k = key[sort];
    return out.sort((a, b) => k(b) - k(a));
  }, [data, paged, name, behavior, application, state, minMailbox, sort]);
  const first = Math.max(0, Math.floor(scroll / ROW) - 5);
  const visible = rows.slice(first, first + Math.ceil(VIEW / ROW) + 10);
  const last = all.length > 0 ? pidId(all[all.length - 1].pid) : start;
  // Where this page starts among the matches (with a cursor: how many lie before it now).
  const from = Number(data?.offset ?? offset);
  return (
    <div class="page" data-page="processes">
      <h1>Processes</h1>
      <div class="toolbar">
        <label style={{ display: paged ? 'none' : undefined }}>
          from PID id{' '}
          <input
            type="number"
            value={String(start)}
            min={1000}
            onChange={(e) => setStart(Number((e.target as HTMLInputElement).value) || 1000)}
          />
        </label>
        <label>
          limit
          {/* Values as strings: a number never equals the element's string value, so Preact
              would write it again on every render (each second), restyling the page. */}
          <select value={String(limit)} onChange={(e) => setLimit(Number((e.target as HTMLSelectElement).value))}>
            {[100, 500, 1000, 5000, 10000].map((n) => (
              <option key={n} value={String(n)}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <button
          data-testid="first-page"
          onClick={() => (cursor ? setAfter(0) : paged ? setOffset(0) : setStart(1000))}
          disabled={cursor ? after === 0 : paged ? offset === 0 : start <= 1000}
        >
          first
        </button>
        <button
          data-testid="next-page"
          onClick={() => (cursor ? setAfter(last) : paged ? setOffset(offset + limit) : setStart(last + 1))}
          disabled={paged ? from + all.length >= total || all.length === 0 : all.length < limit}
        >
          next page
        </button>
        <input
          placeholder="name contains"
          value={name}
          onInput={(e) => setName((e.target as HTMLInputElement).value)}
        />
        <input
          placeholder="behavior"
          value={behavior}
          onInput={(e) => setBehavior((e.target as HTMLInputElement).value)}
        />
        <input
          placeholder="application"
          value={application}
          onInput={(e) => setApplication((e.target as HTMLInputElement).value)}
        />
        <select value={state} onChange={(e) => setState((e.target as HTMLSelectElement).value)}>
          <option value="">any state</option>
          {['init', 'sleep', 'running', 'wait response', 'zombee'].map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
        <label>
          min mailbox{' '}
          <input
            type="number"
            min={0}
            value={String(minMailbox)}
            onInput={(e) => setMinMailbox(Number((e.target as HTMLInputElement).value) || 0)}
          />
        </label>
        <select value={sort} onChange={(e) => setSort((e.target as HTMLSelectElement).value as Sort)}>
          <option value="pid">by PID</option>
          <option value="running">top running</option>
          <option value="messages">top messaging</option>
          <option value="mailbox">top mailbox</option>
        </select>
      </div>
      <Error text={error} />
      <p class="muted" data-testid="process-count">
        {paged
          ? `${count(rows.length)} shown (from ${count(from + 1)}) of ${count(total)} matching`
          : `${count(rows.length)} shown of ${count(all.length)} in this page`}
      </p>
      <div class="table-head proc-grid">
        <span>PID</span>
        <span>name</span>
        <span>behavior</span>
        <span>application</span>
        <span>state</span>
        <span>in</span>
        <span>out</span>
        <span>mailbox</span>
        <span>running</span>
        <span>uptime</span>
      </div>
      <div
        class="virtual"
        style={{ height: `${VIEW}px` }}
        onScroll={(e) => setScroll((e.target as HTMLDivElement).scrollTop)}
      >
        <div style={{ height: `${rows.length * ROW}px`, position: 'relative' }}>
          {visible.map((p, i) => (
            <div
              class="row proc-grid"
              key={p.pid}
              data-pid={p.pid}
              data-name={p.name}
              style={{ top: `${(first + i) * ROW}px` }}
            >
              <PidLink pid={p.pid} />
              <span class="mono">{p.name}</span>
              <span>{p.behavior}</span>
              <span>{p.application}</span>
              <span>{processState(p.state)}</span>
              <span>{count(p.messagesIn)}</span>
              <span>{count(p.messagesOut)}</span>
              <span>{count(p.messagesMailbox)}</span>
              <span data-testid="running-time" data-ns={String(runningNow(p))}>
                {nanos(runningNow(p))}
              </span>
              <span>{seconds(p.uptime)}</span>
            </div>
          ))}
        </div>
      </div>
    </div>
  );
}
