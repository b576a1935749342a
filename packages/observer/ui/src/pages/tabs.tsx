// Browser tabs as nodes (@ergo-ts/tabs): the pages of a tab gateway's tabs, read each second
// through `do/tabs` (the session asks the observed node's `tabs_inspect`; src/tabs.ts).
// - Tabs (`#/tabs`): every tab of the gateway, its label, connected or away (and how long its
//   reconnect window still keeps it), frames and bytes in and out with their rates per second
//   (the change since the previous answer), bytes queued for it, frames refused, the nodes it
//   spoke with. Its node name links to its page.
// - A tab node (`#/tab/<node>`): its processes with their mailboxes (each queue), state,
//   registered name, messages in and out, as the tab's own inspector reports them; a PID links to
//   the process.
// - A tab process (`#/tabproc/<node>/<id>`): the row, its parent and leader, links, monitors,
//   aliases, registered events and its handleInspect map.
// A refusal (the tab is away, answered nothing within the gateway's deadline, answered garbage)
// shows its code and text above the last data the page had; the page keeps polling.

import { useEffect, useRef, useState } from 'preact/hooks';

import { api, type Json } from '../api';
import { bytes, count, list, nanos, seconds } from '../format';
import { Error, Grid, KV } from '../ui';

/** Processes a tab node's page asks for. */
const PROCESSES = 500;

/** `do/tabs` each second: the last answer, and the last refusal as `CODE: text` (null once answered). */
function useTabs(args: Json, enabled = true): [Json, string | null] {
  const [data, setData] = useState<Json>(null);
  const [error, setError] = useState<string | null>(null);
  const key = JSON.stringify(args);
  useEffect(() => {
    if (!enabled) return undefined;
    let live = true;
    let asking = false;
    const ask = (): void => {
      // One question at a time: a tab that takes the gateway's whole deadline is not asked twice.
      if (asking) return;
      asking = true;
      api.do('tabs', args).then(
        (d: Json) => {
          asking = false;
          if (!live) return;
          setData(d);
          setError(null);
        },
        (e: Error & { code?: string }) => {
          asking = false;
          if (live) setError(e.code ? `${e.code}: ${e.message}` : e.message);
        },
      );
    };
    ask();
    const timer = setInterval(ask, 1000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [key, enabled]);
  return [data, error];
}

/**
 * Whether the observed node runs a tab gateway (its `tabs_inspect` answers): asked once per node
 * and page, so the sidebar shows the Tabs link on a gateway only.
 */
export function useIsGateway(page: string): boolean {
  const [gateway, setGateway] = useState(false);
  const node = api.connected?.node.name ?? '';
  useEffect(() => {
    if (node === '') return undefined;
    let live = true;
    api.do('tabs', { op: 'probe' }).then(
      (v) => live && setGateway((v as { gateway?: unknown } | null)?.gateway === true),
      () => live && setGateway(false),
    );
    return () => {
      live = false;
    };
  }, [node, page]);
  return gateway;
}

/** Counters whose rate per second the Tabs page shows. */
const RATED = ['messagesIn', 'messagesOut', 'bytesIn', 'bytesOut'] as const;
type Rates = Record<(typeof RATED)[number], number>;

/** Rates per second of each tab's counters between the previous list and `data`. */
function useRates(data: Json): Map<string, Rates> {
  const prev = useRef<{ at: number; tabs: Map<string, Json> } | null>(null);
  const rates = useRef(new Map<string, Rates>());
  const at = Number(data?.at);
  useEffect(() => {
    if (!Number.isFinite(at)) return;
    const tabs = new Map<string, Json>(list(data?.tabs).map((x: Json) => [String(x.node), x]));
    const p = prev.current;
    const next = new Map<string, Rates>();
    if (p !== null && at > p.at)
      for (const [node, x] of tabs) {
        const before = p.tabs.get(node);
        if (before === undefined) continue;
        const r = {} as Rates;
        for (const k of RATED) r[k] = Math.max(0, (Number(x[k]) - Number(before[k])) / ((at - p.at) / 1000));
        next.set(node, r);
      }
    prev.current = { at, tabs };
    rates.current = next;
  }, [at]);
  return rates.current;
}

function rate(n: number | undefined, unit: (v: number) => string): string {
  return n === undefined ? '' : ` (${unit(n)}/s)`;
}

const perSecond = (v: number): string => (v < 10 ? v.toFixed(1) : count(Math.round(v)));
const bytesPerSecond = (v: number): string => bytes(Math.round(v));

/** A tab's connection: connected, or away with how long its window still keeps it. */
function status(x: Json, window: number, now: number): string {
  if (x.connected === true) return 'connected';
  const since = Number(x.awaySince);
  if (!(since > 0)) return 'away';
  const left = Math.max(0, Math.round((since + window - now) / 1000));
  return `away ${Math.round((now - since) / 1000)} s (window: ${left} s left)`;
}

export function TabsPage() {
  const [data, error] = useTabs({ op: 'list' });
  const rates = useRates(data);
  const tabs = list(data?.tabs);
  const now = Number(data?.at) || Date.now();
  const window = Number(data?.window) || 0;
  const away = tabs.filter((x: Json) => x.connected !== true).length;
  return (
    <div>
      <h2>Tabs</h2>
      <p class="muted">
        Browser tabs joined to the tab gateway on this node, each a node of its own (
        <code>tab-&lt;id&gt;-&lt;this node&gt;</code>
        ). A tab that lost its socket stays here as away until its reconnect window passes.
      </p>
      <Error text={error} />
      <p class="muted" data-testid="tabs-count">
        {data === null
          ? ''
          : `${tabs.length} tab${tabs.length === 1 ? '' : 's'}${away > 0 ? `, ${away} away` : ''} · reconnect window ${window / 1000} s`}
      </p>
      <Grid
        headers={[
          'tab node',
          'label',
          'status',
          'frames in',
          'frames out',
          'bytes in',
          'bytes out',
          'queued',
          'refused',
          'peers',
        ]}
        empty={data !== null && tabs.length === 0 ? 'no tabs' : null}
      >
        {tabs.map((x: Json) => {
          const node = String(x.node);
          const r = rates.get(node);
          return (
            <tr key={node} data-tab={node}>
              <td class="mono">
                <a href={`#/tab/${encodeURIComponent(node)}`}>{node}</a>
              </td>
              <td>{String(x.label ?? '')}</td>
              <td class={x.connected === true ? '' : 'error-text'} data-testid="tab-status">
                {status(x, window, now)}
              </td>
              <td data-testid="tab-in">
                {count(x.messagesIn)}
                {rate(r?.messagesIn, perSecond)}
              </td>
              <td data-testid="tab-out">
                {count(x.messagesOut)}
                {rate(r?.messagesOut, perSecond)}
              </td>
              <td>
                {bytes(x.bytesIn)}
                {rate(r?.bytesIn, bytesPerSecond)}
              </td>
              <td>
                {bytes(x.bytesOut)}
                {rate(r?.bytesOut, bytesPerSecond)}
              </td>
              <td>{bytes(x.queuedBytes)}</td>
              <td class={Number(x.refused) > 0 ? 'error-text' : ''}>{count(x.refused)}</td>
              <td class="mono">{list(x.peers).join(', ') || '–'}</td>
            </tr>
          );
        })}
      </Grid>
    </div>
  );
}

function queues(m: Json): string {
  return `${count(m?.main)} / ${count(m?.system)} / ${count(m?.urgent)} / ${count(m?.log)}`;
}

function TabCrumbs(props: { tab: string; last?: string }) {
  return (
    <h2>
      <a href="#/tabs">Tabs</a> /{' '}
      {props.last === undefined ? (
        <span class="mono">{props.tab}</span>
      ) : (
        <>
          <a class="mono" href={`#/tab/${encodeURIComponent(props.tab)}`}>
            {props.tab}
          </a>{' '}
          / <span class="mono">{props.last}</span>
        </>
      )}
    </h2>
  );
}

export function TabNodePage(props: { tab: string }) {
  const [data, error] = useTabs({ op: 'processes', tab: props.tab, limit: PROCESSES });
  const processes = list(data?.processes);
  const total = Number(data?.total) || 0;
  return (
    <div>
      <TabCrumbs tab={props.tab} />
      <p class="muted">
        The processes of the tab's node, as its inspector (<code>tab_inspect</code>) reports them through the gateway.
        Mailbox: messages waiting in its main / system / urgent / log queues.
      </p>
      <Error text={error} />
      <p class="muted" data-testid="tab-processes-total">
        {data === null
          ? ''
          : `${count(total)} process${total === 1 ? '' : 'es'}${total > processes.length ? `, the first ${processes.length} shown` : ''}`}
      </p>
      <Grid
        headers={['PID', 'name', 'behavior', 'state', 'mailbox', 'in', 'out', 'running', 'uptime']}
        empty={data !== null && processes.length === 0 ? 'no processes' : null}
      >
        {processes.map((p: Json) => {
          const waiting = Number(p.mailbox?.main) + Number(p.mailbox?.system) + Number(p.mailbox?.urgent);
          return (
            <tr key={String(p.id)} data-tab-pid={String(p.id)}>
              <td class="mono">
                <a href={`#/tabproc/${encodeURIComponent(props.tab)}/${encodeURIComponent(String(p.id))}`}>
                  {String(p.pid)}
                </a>
              </td>
              <td class="mono">{String(p.name ?? '') || '–'}</td>
              <td>{String(p.behavior ?? '')}</td>
              <td>{String(p.state ?? '')}</td>
              <td class={waiting > 0 ? 'error-text' : ''} data-testid="tab-mailbox">
                {queues(p.mailbox)}
              </td>
              <td>{count(p.messagesIn)}</td>
              <td>{count(p.messagesOut)}</td>
              <td>{nanos(p.runningTime)}</td>
              <td>{seconds(p.uptime)}</td>
            </tr>
          );
        })}
      </Grid>
    </div>
  );
}

function lines(v: Json) {
  const xs = list(v);
  return xs.length === 0 ? <span class="muted">–</span> : <span class="mono">{xs.join(', ')}</span>;
}

export function TabProcessPage(props: { tab: string; id: string }) {
  const [data, error] = useTabs({ op: 'process', tab: props.tab, id: Number(props.id) });
  const p = data;
  const inspect = p?.inspect !== null && typeof p?.inspect === 'object' ? Object.entries(p.inspect) : [];
  return (
    <div>
      <TabCrumbs tab={props.tab} last={p ? String(p.pid) : props.id} />
      <Error text={error} />
      {p === null ? (
        error === null ? (
          <p class="muted" data-testid="tab-process-gone">
            no such process on {props.tab} (it ended, or is not known yet)
          </p>
        ) : null
      ) : (
        <div class="cards">
          <KV
            title="Process"
            rows={[
              ['PID', <span class="mono">{String(p.pid)}</span>],
              ['name', <span class="mono">{String(p.name ?? '') || '–'}</span>],
              ['behavior', String(p.behavior ?? '')],
              ['application', String(p.application ?? '') || '–'],
              ['state', String(p.state ?? '')],
              ['mailbox (main / system / urgent / log)', queues(p.mailbox)],
              ['messages in / out', `${count(p.messagesIn)} / ${count(p.messagesOut)}`],
              ['running time', nanos(p.runningTime)],
              ['uptime', seconds(p.uptime)],
              ['parent', <span class="mono">{String(p.parent ?? '')}</span>],
              ['leader', <span class="mono">{String(p.leader ?? '')}</span>],
            ]}
          />
          <KV
            title="Relations"
            rows={[
              ['links', lines(p.links)],
              ['monitors', lines(p.monitors)],
              ['aliases', lines(p.aliases)],
              ['events', lines(p.events)],
            ]}
          />
          <KV
            title="Inspect (handleInspect)"
            rows={
              inspect.length === 0
                ? [['', <span class="muted">nothing reported</span>]]
                : inspect.map(([k, v]): [string, string] => [k, String(v)])
            }
          />
        </div>
      )}
    </div>
  );
}
