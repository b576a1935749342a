// Sockets (LiveDashboard's Ports and Sockets pages): every meta process of the Observer's own
// node — TCP and UDP servers and connections, web servers, ports, SSE clients — with its owner,
// traffic (bytes in/out where it reports them, messages in/out), mailbox and age, and every
// connection to another node with its bytes, messages and age. Asked every 2 s
// (`do/socket_overview`): each ask is one metaInfo and one inspect per meta.

import { useEffect, useState } from 'preact/hooks';

import { api, type Json } from '../api';
import { bytes, count, list, seconds } from '../format';
import { go, useSession } from '../hooks';
import { Error, Grid, PidLink } from '../ui';

/** Milliseconds between two asks while the page is open. */
const REFRESH_MS = 2000;

const or = (v: Json, f: (x: Json) => string): string => (v === null || v === undefined ? '–' : f(v));

export function SocketsPage() {
  const session = useSession();
  const [data, setData] = useState<Json | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [limit, setLimit] = useState(100);
  useEffect(() => {
    if (session === '') return undefined;
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ask = (): void => {
      api.do('socket_overview', { limit }).then(
        (d: Json) => {
          if (!live) return;
          setData(d);
          setError(null);
          timer = setTimeout(ask, REFRESH_MS);
        },
        (e: Error) => {
          if (!live) return;
          setError(e.message);
          timer = setTimeout(ask, REFRESH_MS);
        },
      );
    };
    ask();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [session, limit]);
  const metas = list(data?.metas);
  const conns = list(data?.connections);
  return (
    <div class="page" data-page="sockets">
      <h1>Sockets and meta processes</h1>
      <div class="toolbar">
        <label>
          show{' '}
          <select value={String(limit)} onChange={(e) => setLimit(Number((e.target as HTMLSelectElement).value))}>
            {[100, 500, 1000].map((n) => (
              <option key={n} value={String(n)}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <span class="muted">the Observer's own node, every 2 s; metas by bytes in + out</span>
      </div>
      <Error text={error} />
      <h3 data-testid="metas-count">
        {data === null ? 'meta processes' : `${metas.length} of ${count(data.metasTotal)} meta processes`}
      </h3>
      <Grid
        headers={[
          'alias',
          'owner',
          'behavior',
          'state',
          'address',
          'bytes in',
          'bytes out',
          'msgs in',
          'msgs out',
          'mailbox',
          'age',
        ]}
        empty={data !== null && metas.length === 0 ? 'no meta processes' : null}
      >
        {metas.map((m) => (
          <tr key={m.alias} data-testid="meta-row" data-behavior={m.behavior}>
            <td>
              <a
                class="mono"
                href={`#/meta/${encodeURIComponent(m.alias)}`}
                onClick={(e) => (e.preventDefault(), go('meta', m.alias))}
              >
                {m.alias}
              </a>
            </td>
            <td>
              <PidLink pid={m.parent} label={m.parentName || m.parent} />
            </td>
            <td>{m.behavior}</td>
            <td>{m.state}</td>
            <td class="mono">{m.address}</td>
            <td data-testid="meta-bytes-in">{or(m.bytesIn, bytes)}</td>
            <td data-testid="meta-bytes-out">{or(m.bytesOut, bytes)}</td>
            <td>{count(m.messagesIn)}</td>
            <td>{count(m.messagesOut)}</td>
            <td>{count(m.mailbox)}</td>
            <td>{seconds(m.uptime)}</td>
          </tr>
        ))}
      </Grid>
      <h3>{`${conns.length} connection${conns.length === 1 ? '' : 's'} to other nodes`}</h3>
      <Grid
        headers={['node', 'bytes in', 'bytes out', 'msgs in', 'msgs out', 'age', 'pool']}
        empty={data !== null && conns.length === 0 ? 'not connected to any node' : null}
      >
        {conns.map((c) => (
          <tr key={c.node} data-testid="connection-row" data-node={c.node}>
            <td>
              <a
                href={`#/connection/${encodeURIComponent(c.node)}`}
                onClick={(e) => (e.preventDefault(), go('connection', c.node))}
              >
                {c.node}
              </a>
            </td>
            <td data-testid="connection-bytes-in">{bytes(c.bytesIn)}</td>
            <td>{bytes(c.bytesOut)}</td>
            <td>{count(c.messagesIn)}</td>
            <td>{count(c.messagesOut)}</td>
            <td>{seconds(c.connectionUptime)}</td>
            <td>{c.poolSize}</td>
          </tr>
        ))}
      </Grid>
    </div>
  );
}
