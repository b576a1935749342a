// Process page: info, the four queues, links, monitors, aliases, events, metas, 60 s charts of
// messages and mailbox, the handleInspect state (refreshed each second), its log, and actions:
// send, exit, kill, log level. Meta page: the same for a meta process (two queues, no kill).

import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';

import { api, type Json } from '../api';
import { Chart } from '../chart';
import { useFollow } from '../follow';
import {
  clock,
  count,
  inHandlerMs,
  list,
  logLevel,
  metaState,
  nanos,
  priority,
  processState,
  runningNow,
  seconds,
} from '../format';
import { Series, go, useFrames, useSubscription } from '../hooks';
import { Error, KV, LevelSelect, LogMessage, PidLink } from '../ui';
import { MailboxPeek, MessageTrace } from './process_tools';
import { Crash, HISTORY_KEY, RestartHistory } from './restart_history';

/** Linked and monitored PIDs named: the first this many of a list (one inspector each while shown). */
const NAMED = 20;

/** A PID of the node observed (another node's PID is not asked about: the session reads PIDs against its node). */
const localPID = (s: string): boolean =>
  new RegExp(`^<${api.connected?.node.crc32 ?? '-'}\\.\\d+\\.\\d+>$`, 'i').test(s);

/** Records waiting in all four queues (`mailboxSize` is the queues' limit, 0 for none). */
const queued = (i: Json): number =>
  ['urgent', 'system', 'main', 'log'].reduce((n, q) => n + Number(i?.mailboxQueues?.[q] ?? 0), 0);

/** The registered name of `pid` (from its own process_info), beside the link. */
function PidName(props: { pid: string }) {
  const [data] = useSubscription('process_info', { pid: props.pid }, (d) => d.info?.pid === props.pid);
  const name = data?.terminated ? 'ended' : data?.info?.name;
  return name ? <span class="mono muted"> {name}</span> : null;
}

function Ids(props: { title: string; items: Json[]; pid?: boolean; testid?: string }) {
  return (
    <div class="card" data-testid={props.testid}>
      <h3>
        {props.title} <span class="muted">({props.items.length})</span>
      </h3>
      <ul class="ids">
        {props.items.map((x, n) => (
          <li key={String(x)}>
            {props.pid ? <PidLink pid={String(x)} /> : <span class="mono">{String(x)}</span>}
            {props.pid && n < NAMED && localPID(String(x)) ? <PidName pid={String(x)} /> : null}
          </li>
        ))}
      </ul>
    </div>
  );
}

/**
 * What the page knows of a process in a handler: since when (ms) it is in it — when the handler
 * began if the node says (`known`: an ergo-ts node's handlerStartedAt), else since the first
 * frame of this page that showed it running or waiting for a response — and when its state last
 * came.
 */
interface Busy {
  pid: string;
  since: number;
  known: boolean;
  /** When this page first saw it in the handler (the wait for a state answer counts from here). */
  seenAt: number;
  stateAt: number;
}

/**
 * Since when (ms) the process is in a handler, once its state has not come for BUSY_AFTER while
 * it was: it answers handleInspect only between messages (the request waits in its urgent
 * queue). Null while it reports.
 */
function busySince(b: Busy, now: number): number | null {
  if (b.since === 0) return null;
  return now - Math.max(b.seenAt, b.stateAt) >= BUSY_AFTER ? b.since : null;
}

/** Milliseconds without a state answer while running before the card says the process is busy. */
const BUSY_AFTER = 2000;

function State(props: {
  state: Json;
  error: string | null;
  note?: string | null;
  busy?: number | null;
  /** The node said when the handler began (else `busy` is when this page first saw it). */
  busyKnown?: boolean;
  urgent?: number;
  what?: string;
}) {
  // A supervisor's restart history has a card of its own (RestartHistory).
  const entries = Object.entries(props.state?.state ?? {}).filter(([k]) => k !== HISTORY_KEY);
  const busy =
    props.busy === null || props.busy === undefined ? null : (
      <p class="note" data-testid="state-busy">
        busy: {props.what} since{' '}
        <span data-testid="busy-since" data-ms={String(props.busy)}>
          {clock(props.busy * 1e6)}
        </span>{' '}
        ({seconds(Math.round(Math.max(0, Date.now() - props.busy) / 1000))}
        {props.busyKnown ? '' : ', as first seen here'}) and has not come back to its mailbox; it reports its state
        between messages
        {(props.urgent ?? 0) > 0 ? ` (the request waits in its urgent queue, ${count(props.urgent)} there)` : ''}
        {entries.length > 0 ? '; below, what it reported last' : ''}
      </p>
    );
  return (
    <div class="card" data-testid="inspect-state">
      <h3>State (handleInspect, each second)</h3>
      <Error text={props.error} />
      {busy}
      {props.note ? (
        <p class="muted" data-testid="state-note">
          {props.note}
        </p>
      ) : entries.length === 0 ? (
        busy === null ? (
          <p class="muted">nothing reported</p>
        ) : null
      ) : (
        <table class="kv">
          <tbody>
            {entries.map(([k, v]) => (
              <tr key={k}>
                <th>{k}</th>
                <td class="mono">{String(v)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

/** Every level a log search asks for (the process's kept lines, whatever their level). */
const ALL_LEVELS = ['trace', 'debug', 'info', 'warning', 'error', 'panic'];
/** Most kept lines a process's page shows. */
const KEPT_LINES = 200;

/** A line's identity across the kept lines and the live ones (the same record may come as both). */
const lineKey = (r: Json): string => `${String(r.timestamp)}|${String(r.message)}`;

/**
 * The Log card: the lines the node logs for the process while the page is open, after the lines
 * of it the Observer's History kept before (`do/log_search`, the Observer's own node: a process
 * that crashed before the page opened shows its last lines); when there are none, why.
 */
function ProcessLog(props: { match: (r: Json) => boolean; pid?: string }) {
  const [lines, setLines] = useState<Json[]>([]);
  // What the kept lines' search said: how many records it searched, or why it could not.
  const [kept, setKept] = useState<{ searched: number } | { error: string } | null>(null);
  const follow = useFollow(lines);
  useSubscription('log', {});
  useFrames(
    'log',
    useCallback((r: Json) => {
      if (props.match(r)) setLines((l) => [...l.slice(-199), r]);
    }, []),
  );
  useEffect(() => {
    if (props.pid === undefined) return;
    let live = true;
    api.do('log_search', { text: '', process: props.pid, levels: ALL_LEVELS, from: 0, to: 0, limit: KEPT_LINES }).then(
      (d: Json) => {
        if (!live) return;
        setKept({ searched: Number(d?.searched ?? 0) });
        const records: Json[] = Array.isArray(d?.records) ? d.records : [];
        setLines((l) => {
          const seen = new Set(l.map(lineKey));
          return [...records.filter((r) => !seen.has(lineKey(r))), ...l].slice(-200);
        });
      },
      (e: Error) => live && setKept({ error: e.message }),
    );
    return () => {
      live = false;
    };
  }, [props.pid]);
  return (
    <div class="card wide" data-testid="process-log">
      <h3>Log</h3>
      {lines.length === 0 && kept !== null ? (
        <p class="muted" data-testid="process-log-none">
          {'error' in kept
            ? `No line logged by this process since this page opened; earlier lines cannot be read here (${kept.error}).`
            : `No line logged by this process among the ${kept.searched} records the Observer keeps of this node's log (historyLogRecords), nor since this page opened.`}
        </p>
      ) : null}
      <div class="log small" ref={follow.box} onScroll={follow.onScroll}>
        {lines.map((r, i) => (
          <div key={i} class={`lvl-${logLevel(r.level)}`}>
            <span class="muted">{clock(r.timestamp)}</span> <b>{logLevel(r.level)}</b> <LogMessage text={r.message} />
          </div>
        ))}
      </div>
    </div>
  );
}

export function ProcessPage(props: { pid: string }) {
  const pid = props.pid;
  const charts = useMemo(() => ({ msgs: new Series(['in', 'out']), mailbox: new Series(['mailbox']) }), [pid]);
  // Re-renders the page when a chart's series moved (each chart reads its series' version).
  const [, setTick] = useState(0);
  const [info, infoError] = useSubscription('process_info', { pid }, (d) => d.info?.pid === pid);
  const i = info?.info;
  const terminated = info?.terminated === true;
  // system_inspect refuses to inspect its own state (Go's and ergo-ts's): not asked, so no 502.
  const self = i?.name === 'system_inspect';
  const [state, stateError] = useSubscription(
    'process_state',
    { pid },
    (d) => d.pid === pid || d.terminated === true,
    i !== undefined && !terminated && !self,
  );
  const [message, setMessage] = useState('"hello"');
  const [reason, setReason] = useState('normal');
  const [result, setResult] = useState<string | null>(null);
  const [confirmKill, setConfirmKill] = useState(false);
  // An ended process sends no more frames: that silence is no network trouble.
  const error = terminated ? null : infoError;
  const busy = useMemo<Busy>(() => ({ pid, since: 0, known: false, seenAt: 0, stateAt: 0 }), [pid]);
  useFrames(
    'process_state',
    useCallback(
      (d: Json) => {
        if (d.pid === pid) busy.stateAt = Date.now();
      },
      [pid, busy],
    ),
  );
  useFrames(
    'process_info',
    useCallback(
      (d: Json) => {
        if (d.info?.pid !== pid || d.terminated) return;
        // Running (4) or waiting for a response (8) in a handler: since it began when the node
        // says (an ergo-ts node), else since the first frame that says so.
        const now = Date.now();
        if (d.info.state !== 4 && d.info.state !== 8) busy.since = busy.seenAt = 0;
        else {
          if (busy.seenAt === 0) busy.seenAt = now;
          const began = inHandlerMs(d.info, now);
          busy.known = began > 0;
          if (busy.known) busy.since = now - began;
          else if (busy.since === 0) busy.since = now;
        }
        const t = Date.now() / 1000;
        charts.msgs.push(t, [d.info.messagesIn, d.info.messagesOut]);
        charts.mailbox.push(t, [queued(d.info)]);
        setTick((n) => n + 1);
      },
      [pid, charts],
    ),
  );
  // The synthetic last frame of a PID that had ended before the page opened carries no facts.
  const gone = terminated && (i?.behavior === undefined || i.behavior === '');
  // The tools stay once the process was seen alive: a trace's end ("the process ended") must
  // not vanish with it when its last frame carries no facts.
  const seenAlive = useMemo(() => ({ pid, yes: false }), [pid]);
  if (i?.behavior) seenAlive.yes = true;
  const act = (action: string, args: Json): void => {
    setResult(null);
    api.do(action, { pid, ...args }).then(
      () => setResult(`${action}: done`),
      (e: Error) => setResult(`${action}: ${e.message}`),
    );
  };
  return (
    <div class="page" data-page="process">
      <h1>
        Process <span class="mono">{pid}</span> {i?.name ? <span class="mono">({i.name})</span> : null}
        {terminated ? (
          <span class="badge bad" data-testid="terminated">
            terminated
          </span>
        ) : null}
      </h1>
      <Error text={error} />
      <div class="toolbar">
        <button onClick={() => go('graph', pid)}>links &amp; monitors graph</button>
        <input
          value={message}
          onInput={(e) => setMessage((e.target as HTMLInputElement).value)}
          title="message (JSON)"
        />
        <button
          onClick={() => {
            let m: Json;
            try {
              m = JSON.parse(message);
            } catch {
              setResult('send: the message is not JSON');
              return;
            }
            act('send', { message: m });
          }}
        >
          send
        </button>
        <input value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} title="exit reason" />
        <button onClick={() => act('send_exit', { reason })}>exit</button>
        {confirmKill ? (
          <span class="confirm" data-testid="kill-confirm">
            kill {i?.name ? i.name : pid}?{' '}
            <button
              class="danger"
              data-testid="kill-yes"
              onClick={() => {
                setConfirmKill(false);
                act('kill', {});
              }}
            >
              yes, kill
            </button>{' '}
            <button onClick={() => setConfirmKill(false)}>cancel</button>
          </span>
        ) : (
          <button data-testid="kill" class="danger" disabled={terminated} onClick={() => setConfirmKill(true)}>
            kill
          </button>
        )}
        {i ? (
          <LevelSelect
            value={logLevel(i.logLevel)}
            onChange={(level) => api.do('set_log_level', { target: 'process', pid, level })}
          />
        ) : null}
        {result === null ? null : (
          <span class="muted" data-testid="action-result">
            {result}
          </span>
        )}
      </div>
      {gone ? (
        <p class="note" data-testid="process-gone">
          This process is not running on {api.connected?.node.name ?? 'the node'}: it has ended (or never existed).
        </p>
      ) : i === undefined ? (
        <p class="muted">waiting for the process inspector…</p>
      ) : (
        <>
          <div class="cards">
            <KV
              title="Info"
              rows={[
                ['state', <span data-testid="process-state">{terminated ? 'terminated' : processState(i.state)}</span>],
                ['behavior', i.behavior],
                ['application', i.application],
                ['parent', <PidLink pid={i.parent} />],
                ['leader', <PidLink pid={i.leader} />],
                ['uptime', seconds(i.uptime)],
                [
                  'running time',
                  <span data-testid="running-time" data-ns={String(runningNow(i))}>
                    {nanos(runningNow(i))}
                    {inHandlerMs(i) > 0
                      ? ` (${seconds(inHandlerMs(i) / 1000)} of it in the handler still running)`
                      : ''}
                  </span>,
                ],
                ['messages in / out', `${count(i.messagesIn)} / ${count(i.messagesOut)}`],
                ['priority', priority(i.messagePriority)],
                ['keep order / important', `${i.keepNetworkOrder} / ${i.importantDelivery}`],
                [
                  'compression',
                  i.compression?.enable
                    ? `${i.compression.type} ${i.compression.level} > ${i.compression.threshold}`
                    : 'off',
                ],
                ['fallback', i.fallback?.enable ? `${i.fallback.name} (${i.fallback.tag})` : 'off'],
              ]}
            />
            <KV
              title={`Mailbox (${count(queued(i))}${i.mailboxSize > 0 ? ` of ${count(i.mailboxSize)} a queue` : ''})`}
              rows={[
                ['urgent', count(i.mailboxQueues?.urgent)],
                ['system', count(i.mailboxQueues?.system)],
                ['main', count(i.mailboxQueues?.main)],
                ['log', count(i.mailboxQueues?.log)],
              ]}
            />
            <State
              state={state}
              busy={terminated || self ? null : busySince(busy, Date.now())}
              busyKnown={busy.known}
              urgent={Number(i.mailboxQueues?.urgent ?? 0)}
              what={i.state === 8 ? 'waiting for a response in a handler' : 'running a handler'}
              error={terminated ? null : stateError}
              note={self ? 'system_inspect does not inspect its own state' : terminated ? 'ended' : null}
            />
            <RestartHistory state={state} />
          </div>
          <div class="charts">
            <Chart title="Messages" series={charts.msgs} whole />
            <Chart title="Mailbox" series={charts.mailbox} whole />
          </div>
          <div class="cards">
            <Ids
              title="Links"
              testid="links"
              items={[
                ...list(i.linksPID),
                ...list(i.linksProcessID),
                ...list(i.linksAlias),
                ...list(i.linksEvent),
                ...list(i.linksNode),
              ]}
              pid
            />
            <Ids
              title="Monitors"
              testid="monitors"
              items={[
                ...list(i.monitorsPID),
                ...list(i.monitorsProcessID),
                ...list(i.monitorsAlias),
                ...list(i.monitorsEvent),
                ...list(i.monitorsNode),
              ]}
              pid
            />
            <Ids title="Aliases" items={list(i.aliases)} />
            <Ids title="Events" items={list(i.events)} />
            <div class="card" data-testid="metas">
              <h3>Metas ({list(i.metas).length})</h3>
              <ul class="ids">
                {list(i.metas).map((m: string) => (
                  <li key={m}>
                    <a class="mono" href={`#/meta/${encodeURIComponent(m)}`}>
                      {m}
                    </a>
                  </li>
                ))}
              </ul>
            </div>
          </div>
        </>
      )}
      {terminated ? <Crash pid={pid} /> : null}
      {gone && !seenAlive.yes ? null : (
        <>
          <MailboxPeek pid={pid} ended={terminated} />
          <MessageTrace pid={pid} ended={terminated} />
        </>
      )}
      <ProcessLog match={(r) => r.pid === pid} pid={pid} />
    </div>
  );
}

export function MetaPage(props: { alias: string }) {
  const alias = props.alias;
  const [info, error] = useSubscription('meta_info', { alias }, (d) => d.info?.id === alias);
  const [state, stateError] = useSubscription(
    'meta_state',
    { alias },
    (d) => d.meta === alias || d.terminated === true,
  );
  const i = info?.info;
  return (
    <div class="page" data-page="meta">
      <h1>
        Meta process <span class="mono">{alias}</span>
        {info?.terminated ? <span class="badge bad">terminated</span> : null}
      </h1>
      <Error text={error} />
      <div class="toolbar">
        <button
          onClick={() => void api.do('send_exit', { alias, reason: 'normal' }).catch((e: Error) => alert(e.message))}
        >
          exit
        </button>
      </div>
      {i === undefined ? (
        <p class="muted">waiting for the meta process inspector…</p>
      ) : (
        <div class="cards" data-testid="meta-info">
          <KV
            title="Info"
            rows={[
              ['behavior', i.behavior],
              ['parent', <PidLink pid={i.parent} />],
              ['application', i.application],
              ['state', metaState(i.state)],
              ['uptime', seconds(i.uptime)],
              ['messages in / out', `${count(i.messagesIn)} / ${count(i.messagesOut)}`],
              ['mailbox main / system', `${count(i.mailboxQueues?.main)} / ${count(i.mailboxQueues?.system)}`],
              ['log level', logLevel(i.logLevel)],
            ]}
          />
          <State state={state} error={stateError} />
        </div>
      )}
      <ProcessLog match={(r) => r.meta === alias} />
    </div>
  );
}
