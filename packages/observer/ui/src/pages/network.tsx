// Network: mode, registrar, acceptors, routes, flags and the connected nodes; a connection page
// with its facts and 60 s charts of messages and bytes per second.

import { useCallback, useMemo, useState } from 'preact/hooks';

import { type Json } from '../api';
import { Chart } from '../chart';
import { bytes, count, list, networkMode, seconds } from '../format';
import { Series, go, useConnectionHistory, useFrames, useSubscription } from '../hooks';
import { Error, KV } from '../ui';

function flags(f: Json): string {
  if (f === null || typeof f !== 'object') return String(f ?? '');
  return (
    Object.entries(f)
      .filter(([, v]) => v === true)
      .map(([k]) => k.replace(/^enable/, ''))
      // Go's flags carry `Enable` (the flags are set at all) beside the flags themselves.
      .filter((k) => k !== '')
      .join(', ')
  );
}

const ver = (v: Json): string => (v ? `${v.name ?? ''} ${v.release ?? ''}` : '');

/**
 * A registrar's version: Go (and ergo-ts) report "none" "R0" for a node without a registrar,
 * which reads as one; a release is shown only when there is one.
 */
export function registrarVersion(v: Json): string {
  const name = String(v?.name ?? '');
  const release = String(v?.release ?? '');
  if (name === '' || name === 'none') return 'no registrar (static routes only)';
  return release === '' || release === 'R0' ? name : `${name} ${release}`;
}

/** The node's registrar in a line: `127.0.0.1:4499, embedded (ESRD R1)`, or that it has none. */
function registrarLine(r: Json): string {
  const version = registrarVersion(r?.version);
  if (String(r?.version?.name ?? '') === '' || r?.version?.name === 'none') return version;
  const server = String(r?.server ?? '');
  return `${server}${r?.embeddedServer ? ', embedded' : ''}${server === '' ? version : ` (${version})`}`;
}

/**
 * The registrar an acceptor registers with. A Go node names it in the acceptor's own fields
 * (`(embedded) 127.0.0.1:4499`); an ergo-ts node leaves them empty for an acceptor without a
 * registrar of its own (`customRegistrar` false), which uses the node's: the Registrar card's.
 * Empty fields never mean "no registrar" then.
 */
export function acceptorRegistrar(a: Json, node: Json): string {
  const server = String(a?.registrarServer ?? '');
  const named = String(a?.registrarVersion?.name ?? '') !== '';
  if (server !== '') return named ? `${server} (${registrarVersion(a.registrarVersion)})` : server;
  if (named) return registrarVersion(a.registrarVersion);
  return a?.customRegistrar ? 'a registrar of its own' : `the node's: ${registrarLine(node)}`;
}

export function NetworkPage() {
  const [data, error] = useSubscription('network_info', {});
  const i = data?.info;
  return (
    <div class="page" data-page="network">
      <h1>Network</h1>
      <Error text={error} />
      {data?.stopped ? <p class="muted">the network of this node is stopped</p> : null}
      {i === undefined || i === null ? null : (
        <>
          <div class="cards">
            <KV
              title="Network"
              rows={[
                ['mode', networkMode(i.mode)],
                ['handshake', ver(i.handshakeVersion)],
                ['proto', ver(i.protoVersion)],
                ['max message size', i.maxMessageSize ? bytes(i.maxMessageSize) : 'unlimited'],
                ['flags', flags(i.flags)],
              ]}
            />
            <KV
              title="Registrar"
              rows={[
                ['server', i.registrar?.server || 'none'],
                ['embedded server', String(i.registrar?.embeddedServer ?? '')],
                ['version', <span data-testid="registrar-version">{registrarVersion(i.registrar?.version)}</span>],
                [
                  'proxy / applications / config / events',
                  ['supportRegisterProxy', 'supportRegisterApplication', 'supportConfig', 'supportEvent']
                    .map((k) => (i.registrar?.[k] ? 'yes' : 'no'))
                    .join(' / '),
                ],
              ]}
            />
          </div>
          <div class="card wide">
            <h3>Acceptors</h3>
            <table class="grid">
              <thead>
                <tr>
                  <th>interface</th>
                  <th>TLS</th>
                  <th>handshake</th>
                  <th>proto</th>
                  <th>registrar</th>
                  <th>flags</th>
                </tr>
              </thead>
              <tbody>
                {list(i.acceptors).map((a: Json) => (
                  <tr key={a.interface}>
                    <td class="mono">{a.interface}</td>
                    <td>{String(a.tls)}</td>
                    <td>{ver(a.handshakeVersion)}</td>
                    <td>{ver(a.protoVersion)}</td>
                    <td data-testid="acceptor-registrar">{acceptorRegistrar(a, i.registrar)}</td>
                    <td>{flags(a.flags)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div class="card wide">
            <h3>Connected nodes</h3>
            <ul class="ids" data-testid="connected-nodes">
              {list(i.nodes).map((n: string) => (
                <li key={n}>
                  <a
                    class="mono"
                    href={`#/connection/${encodeURIComponent(n)}`}
                    onClick={(e) => (e.preventDefault(), go('connection', n))}
                  >
                    {n}
                  </a>
                </li>
              ))}
            </ul>
            <h3>Static routes</h3>
            <ul class="ids">
              {list(i.routes).map((r: Json) => (
                <li key={r.match} class="mono">
                  {r.match} → {r.host}:{r.port}
                </li>
              ))}
              {list(i.proxyRoutes).map((r: Json) => (
                <li key={`p${r.match}`} class="mono">
                  {r.match} via {r.proxy}
                </li>
              ))}
            </ul>
          </div>
        </>
      )}
    </div>
  );
}

export function ConnectionPage(props: { node: string }) {
  const charts = useMemo(
    () => ({ msgs: new Series(['in/s', 'out/s']), bytes: new Series(['in/s', 'out/s']) }),
    [props.node],
  );
  // Re-renders the page when a chart's series moved (each chart reads its series' version).
  const [, setTick] = useState(0);
  const [, setPrev] = useState<Json>(null);
  const [data, error] = useSubscription('connection_info', { node: props.node }, (d) => d.info?.node === props.node);
  useConnectionHistory(
    props.node,
    charts,
    useCallback(() => setTick((n) => n + 1), []),
  );
  useFrames(
    'connection_info',
    useCallback(
      (d: Json) => {
        if (d.info?.node !== props.node || d.disconnected) return;
        const t = Date.now() / 1000;
        const c = d.info;
        setPrev((p: Json) => {
          if (p !== null && t > p.t) {
            const dt = t - p.t;
            charts.msgs.push(t, [(c.messagesIn - p.mi) / dt, (c.messagesOut - p.mo) / dt]);
            charts.bytes.push(t, [(c.bytesIn - p.bi) / dt, (c.bytesOut - p.bo) / dt]);
          }
          return { t, mi: c.messagesIn, mo: c.messagesOut, bi: c.bytesIn, bo: c.bytesOut };
        });
        setTick((n) => n + 1);
      },
      [props.node, charts],
    ),
  );
  const i = data?.info;
  return (
    <div class="page" data-page="connection">
      <h1>
        Connection to <span class="mono">{props.node}</span>
        {data?.disconnected ? <span class="badge bad">disconnected</span> : null}
      </h1>
      <Error text={error} />
      {i === undefined ? null : (
        <>
          <div class="cards">
            <KV
              title="Peer"
              rows={[
                ['version', ver(i.version)],
                ['uptime', seconds(i.uptime)],
                ['connected for', seconds(i.connectionUptime)],
                ['handshake / proto', `${ver(i.handshakeVersion)} / ${ver(i.protoVersion)}`],
                ['pool', `${i.poolSize} ${list(i.poolDSN).join(', ')}`],
                ['flags', flags(i.networkFlags)],
                ['messages in / out', `${count(i.messagesIn)} / ${count(i.messagesOut)}`],
                ['bytes in / out', `${bytes(i.bytesIn)} / ${bytes(i.bytesOut)}`],
              ]}
            />
          </div>
          <div class="charts">
            <Chart title="Messages per second" series={charts.msgs} />
            <Chart title="Bytes per second" series={charts.bytes} format={bytes} />
          </div>
        </>
      )}
    </div>
  );
}
