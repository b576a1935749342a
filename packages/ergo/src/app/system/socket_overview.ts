// The meta and socket overview (what Phoenix LiveDashboard's Ports and Sockets pages show): every
// meta process of the node — TCP and UDP servers and connections, web servers, ports, SSE
// clients — with what the core counts for it (messages in/out, uptime, state) and what its
// handleInspect reports (bytes in/out, addresses), plus every network connection to another
// node with its messages and bytes in/out and age. For the Observer's Sockets page and the MCP
// `meta_overview` tool. Nothing is counted for it: the figures are those the metas and
// connections keep anyway; each row costs one metaInfo and one inspect request of that meta.

import type { Alias } from '../../gen/ref.js';
import type { Node } from '../../gen/node.js';
import { MetaState } from '../../gen/priority.js';

const META_STATES: Record<number, string> = {
  [MetaState.Sleep]: 'sleep',
  [MetaState.Running]: 'running',
  [MetaState.Terminated]: 'terminated',
};

/** Default and largest number of meta rows. */
export const META_OVERVIEW_LIMIT = { default: 100, max: 1000 };

/** Milliseconds a meta's inspect may take before its row goes without those figures. */
export const META_INSPECT_WAIT = 1000;

/** One meta process. */
export interface MetaRow {
  alias: string;
  /** The process that owns it, and its registered name when it has one. */
  parent: string;
  parentName: string;
  behavior: string;
  state: string;
  messagesIn: number;
  messagesOut: number;
  mailbox: number;
  uptime: number;
  /** Bytes in / out when its handleInspect reports them (TCP, UDP, ports, SSE clients), else null. */
  bytesIn: number | null;
  bytesOut: number | null;
  /** The address it listens on or talks to (`listener`, `local → remote`, a URL), when it says. */
  address: string;
  /** Its whole handleInspect map ({} when it did not answer in time). */
  inspect: Record<string, string>;
}

/** One connection to another node. */
export interface ConnectionRow {
  node: string;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Seconds since this connection was made. */
  connectionUptime: number;
  poolSize: number;
}

/** What {@link socketOverview} answers. */
export interface SocketOverview {
  node: string;
  /** Meta processes on the node (all of them, whatever `limit`). */
  metasTotal: number;
  metas: MetaRow[];
  connections: ConnectionRow[];
}

function numberOf(m: Record<string, string>, names: readonly string[]): number | null {
  for (const k of names) {
    const v = m[k];
    if (v !== undefined && v !== '' && Number.isFinite(Number(v))) return Number(v);
  }
  return null;
}

function addressOf(m: Record<string, string>): string {
  if (m.local !== undefined && m.remote !== undefined) return `${m.local} → ${m.remote}`;
  return m.listener ?? m.url ?? m.address ?? m.remote ?? m.path ?? m.command ?? '';
}

async function inspected(node: Node, alias: Alias, waitMs: number): Promise<Record<string, string>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<Record<string, string>>((resolve) => {
    timer = setTimeout(() => resolve({}), waitMs);
  });
  try {
    return await Promise.race([node.inspectMeta(alias).catch(() => ({})), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The overview of `node`: its first `limit` metas by bytes in + out (then messages), and every
 * connection by bytes in + out. Metas that end meanwhile are left out.
 */
export async function socketOverview(
  node: Node,
  limit = META_OVERVIEW_LIMIT.default,
  waitMs = META_INSPECT_WAIT,
): Promise<SocketOverview> {
  const aliases = node.metaList();
  const rows = await Promise.all(
    aliases.map(async (alias): Promise<MetaRow | null> => {
      let info;
      try {
        info = node.metaInfo(alias);
      } catch {
        return null; // ended meanwhile
      }
      const q = info.mailboxQueues;
      const m = await inspected(node, alias, waitMs);
      let parentName = '';
      try {
        parentName = String(node.processName(info.parent));
      } catch {
        // the parent has no name, or ended
      }
      return {
        alias: String(alias),
        parent: String(info.parent),
        parentName,
        behavior: info.behavior,
        state: META_STATES[info.state] ?? String(info.state),
        messagesIn: info.messagesIn,
        messagesOut: info.messagesOut,
        mailbox: q.urgent + q.system + q.main + q.log,
        uptime: info.uptime,
        bytesIn: numberOf(m, ['bytes in', 'bytes_in', 'bytesIn']),
        bytesOut: numberOf(m, ['bytes out', 'bytes_out', 'bytesOut']),
        address: addressOf(m),
        inspect: m,
      };
    }),
  );
  const bytes = (r: { bytesIn: number | null; bytesOut: number | null }): number =>
    (r.bytesIn ?? 0) + (r.bytesOut ?? 0);
  const metas = rows
    .filter((r): r is MetaRow => r !== null)
    .sort((a, b) => bytes(b) - bytes(a) || b.messagesIn + b.messagesOut - (a.messagesIn + a.messagesOut))
    .slice(0, limit);
  const connections: ConnectionRow[] = [];
  let names: string[] = [];
  try {
    names = node.network().nodes().map(String);
  } catch {
    // no network
  }
  for (const name of names) {
    try {
      const i = node
        .network()
        .node(name as never)
        .info();
      connections.push({
        node: name,
        messagesIn: i.messagesIn,
        messagesOut: i.messagesOut,
        bytesIn: i.bytesIn,
        bytesOut: i.bytesOut,
        connectionUptime: i.connectionUptime,
        poolSize: i.poolSize,
      });
    } catch {
      // disconnected meanwhile
    }
  }
  connections.sort((a, b) => bytes(b) - bytes(a));
  return { node: node.name, metasTotal: aliases.length, metas, connections };
}
