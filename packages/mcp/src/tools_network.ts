// Go Ergo's `network`, `registrar` and `cron` tool groups. network_info, network_nodes and
// network_node_info reach any node through its inspector (Go nodes too); the others read or
// change this node's own network, registrar and cron (another node: through its MCP application,
// the cluster proxy). Connecting and disconnecting change the node: they are action tools here.

import {
  ErrProcessUnknown,
  ErrTimeout,
  MessageInspectConnection,
  MessageInspectConnectionList,
  MessageInspectNetwork,
  ProcessID,
  RequestInspectConnection,
  RequestInspectConnectionList,
  RequestInspectNetwork,
  type Atom,
  type Network,
  type Node,
} from 'ergo-ts';
import { z } from 'zod';

import { McpToolError } from './errors.js';
import { ask, deadline, message, seconds } from './inspect.js';
import { common, snapshotOf, target, timeoutOf, type ToolSpec } from './tools.js';
import { PROXY_NAME, proxyRequest } from './proxy_protocol.js';

const nodeName = z.string().min(1).describe('Node name (name@host)');
const int = (d: string) => z.number().int().min(0).optional().describe(d);

function networkOf(node: Node): Network {
  try {
    return node.network();
  } catch {
    throw new McpToolError('ERR_MCP_UNSUPPORTED', `${node.name} runs without a network`);
  }
}

function checkName(name: unknown): Atom {
  if (typeof name !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(name))
    throw new McpToolError('ERR_MCP_BAD_ARGUMENT', `name: "${String(name)}" is not a node name (name@host)`);
  return name as Atom;
}

/** Dates as ISO text, for answers. */
const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

/**
 * A registrar lookup tool: one name in (a node's for `name`, an application's for `application`),
 * the registrar's routes for it out, bounded by the call's timeout. Runs on the node asked (no
 * remote form: another node's registrar is reached through the cluster proxy).
 */
function resolveTool(
  name: string,
  title: string,
  description: string,
  subject: 'name' | 'application',
  lookup: (r: ReturnType<Network['registrar']>, name: Atom) => Promise<unknown>,
): ToolSpec {
  const argument = subject === 'name' ? nodeName : z.string().min(1).describe('The application name');
  return {
    name,
    title,
    description,
    action: false,
    remote: 'none',
    shape: { ...common, name: argument },
    async run(ctx, args) {
      const asked = subject === 'name' ? checkName(args.name) : (String(args.name) as Atom);
      const routes = await registrarCall(ctx.node, timeoutOf(ctx, args), (r) => lookup(r, asked));
      return { node: ctx.node.name, [subject]: asked, routes };
    },
  };
}

/** The network, registrar and cron tools. */
export const networkTools: ToolSpec[] = [
  {
    name: 'network_info',
    title: 'Network',
    description:
      'The network of a node: mode, registrar, acceptors (listening ports), static and proxy routes, connected nodes, flags, handshake and protocol versions',
    action: false,
    remote: 'inspector',
    shape: { ...common },
    async run(ctx, args) {
      const t = await target(ctx, args);
      const m = await snapshotOf(
        ctx,
        t,
        new RequestInspectNetwork(),
        'network_info',
        timeoutOf(ctx, args),
        MessageInspectNetwork,
        'network',
      );
      return { node: t.node, stopped: m.stopped, ...(m.info ?? {}) };
    },
  },
  {
    name: 'network_nodes',
    title: 'Connected nodes',
    description:
      'The nodes a node is connected to, with traffic (messages and bytes in/out), pool size and uptimes; filters: name (substring) and minimum thresholds (on a Go Ergo node reached through its inspector: their names)',
    action: false,
    remote: 'inspector',
    shape: {
      ...common,
      name: z.string().optional().describe('Node names containing this'),
      min_uptime: int('Minimum uptime of the remote node (s)'),
      min_connection_uptime: int('Minimum uptime of the connection (s)'),
      min_messages_in: int('Minimum messages received'),
      min_messages_out: int('Minimum messages sent'),
      min_bytes_in: int('Minimum bytes received'),
      min_bytes_out: int('Minimum bytes sent'),
    },
    async run(ctx, args) {
      const t = await target(ctx, args);
      const timeout = timeoutOf(ctx, args);
      const part = (args.name as string | undefined) ?? '';
      if (await ctx.isErgoTS(t, timeout)) {
        const m = await snapshotOf(
          ctx,
          t,
          new RequestInspectConnectionList({ limit: -1, name: part }),
          'network_nodes',
          timeout,
          MessageInspectConnectionList,
          'connection list',
        );
        const at = (k: string): number => Number(args[k] ?? 0);
        const connections = (m.connections ?? []).filter(
          (c) =>
            Number(c.uptime) >= at('min_uptime') &&
            Number(c.connectionUptime) >= at('min_connection_uptime') &&
            Number(c.messagesIn) >= at('min_messages_in') &&
            Number(c.messagesOut) >= at('min_messages_out') &&
            Number(c.bytesIn) >= at('min_bytes_in') &&
            Number(c.bytesOut) >= at('min_bytes_out'),
        );
        return { node: t.node, connections };
      }
      const m = await snapshotOf(
        ctx,
        t,
        new RequestInspectNetwork(),
        'network_nodes',
        timeout,
        MessageInspectNetwork,
        'network',
      );
      const nodes = (m.info?.nodes ?? []).filter((n) => n.includes(part));
      return {
        node: t.node,
        nodes,
        note: 'a Go node through its inspector: ask network_node_info for the traffic of one',
      };
    },
  },
  {
    name: 'network_node_info',
    title: 'Connection',
    description:
      'The connection of a node to one remote node: versions, flags, pool, messages and bytes in/out, uptimes',
    action: false,
    remote: 'inspector',
    shape: { ...common, name: nodeName },
    async run(ctx, args) {
      const t = await target(ctx, args);
      const request = new RequestInspectConnection({ remoteNode: checkName(args.name) });
      const m = await snapshotOf(
        ctx,
        t,
        request,
        'network_node_info',
        timeoutOf(ctx, args),
        MessageInspectConnection,
        'connection',
      );
      if (m.disconnected)
        throw new McpToolError('ERR_MCP_REFUSED', `${t.node} is not connected to ${String(args.name)}`);
      return { node: t.node, connection: m.info ?? null };
    },
  },
  {
    name: 'network_acceptors',
    title: 'Acceptors',
    description: 'The listening ports of a node: interface, TLS, flags, maximum message size, registrar, versions',
    action: false,
    remote: 'inspector',
    shape: { ...common },
    async run(ctx, args) {
      const t = await target(ctx, args);
      const m = await snapshotOf(
        ctx,
        t,
        new RequestInspectNetwork(),
        'network_acceptors',
        timeoutOf(ctx, args),
        MessageInspectNetwork,
        'network',
      );
      return { node: t.node, acceptors: m.info?.acceptors ?? [] };
    },
  },
  {
    name: 'network_connect',
    title: 'Connect to a node',
    description: 'Connects this node to a remote node, found through the registrar or the static routes',
    action: true,
    remote: 'none',
    shape: { ...common, name: nodeName },
    async run(ctx, args) {
      const name = checkName(args.name);
      const timeout = timeoutOf(ctx, args);
      ctx.node.log.info('mcp: action network_connect %s', name);
      try {
        const remote = await deadline(
          networkOf(ctx.node).getNode(name),
          timeout,
          `no connection to ${name} within ${seconds(timeout)} s`,
        );
        return { node: ctx.node.name, connected: name, info: remote.info() };
      } catch (err) {
        if (err instanceof McpToolError) throw new McpToolError('ERR_MCP_UNREACHABLE', err.message);
        throw new McpToolError('ERR_MCP_UNREACHABLE', `could not connect to ${name}: ${message(err)}`);
      }
    },
  },
  {
    name: 'network_connect_route',
    title: 'Connect to a node by address',
    description: 'Connects this node to a remote node at host:port (optionally TLS, another cookie)',
    action: true,
    remote: 'none',
    shape: {
      ...common,
      name: nodeName,
      host: z.string().min(1).describe('Host or address'),
      port: z.number().int().min(1).max(65535).describe('Port'),
      tls: z.boolean().optional().describe('Use TLS (default false)'),
      cookie: z.string().optional().describe("Cookie (default: this node's)"),
      insecure_skip_verify: z.boolean().optional().describe('Accept any TLS certificate'),
    },
    async run(ctx, args) {
      const name = checkName(args.name);
      const timeout = timeoutOf(ctx, args);
      const V = { name: '', release: '' };
      ctx.node.log.info('mcp: action network_connect_route %s %s:%d', name, String(args.host), Number(args.port));
      const route = {
        route: {
          host: String(args.host),
          port: Number(args.port),
          tls: args.tls === true,
          handshakeVersion: V,
          protoVersion: V,
        },
        ...(typeof args.cookie === 'string' && args.cookie !== '' ? { cookie: args.cookie } : {}),
        ...(args.insecure_skip_verify === true ? { insecureSkipVerify: true } : {}),
      };
      try {
        const remote = await deadline(
          networkOf(ctx.node).getNodeWithRoute(name, route),
          timeout,
          `no connection to ${name} within ${seconds(timeout)} s`,
        );
        return { node: ctx.node.name, connected: name, info: remote.info() };
      } catch (err) {
        if (err instanceof McpToolError) throw new McpToolError('ERR_MCP_UNREACHABLE', err.message);
        throw new McpToolError('ERR_MCP_UNREACHABLE', `could not connect to ${name}: ${message(err)}`);
      }
    },
  },
  {
    name: 'network_disconnect',
    title: 'Disconnect a node',
    description: 'Closes the connection of this node to a remote node (every watcher of it is told)',
    action: true,
    remote: 'none',
    shape: { ...common, name: nodeName },
    async run(ctx, args) {
      const name = checkName(args.name);
      let remote;
      try {
        remote = networkOf(ctx.node).node(name);
      } catch {
        throw new McpToolError('ERR_MCP_REFUSED', `${ctx.node.name} is not connected to ${name}`);
      }
      ctx.node.log.info('mcp: action network_disconnect %s', name);
      remote.disconnect();
      return { node: ctx.node.name, disconnected: name };
    },
  },
  {
    name: 'network_ping',
    title: 'Ping a node',
    description:
      "Round trip to a remote node through the whole path (this node's connection, the remote node's MCP application, or its system_inspect when it runs none): rtt_ms of the exchange that answered, elapsed_ms of the whole ping",
    action: false,
    remote: 'none',
    shape: { ...common, name: nodeName },
    async run(ctx, args) {
      const name = checkName(args.name);
      const timeout = Math.min(timeoutOf(ctx, args), 5000); // Go's ping waits 5 s
      const began = performance.now();
      const t = await ctx.reach(name, timeout);
      const ms = (from: number): number => +(performance.now() - from).toFixed(3);
      const started = performance.now();
      try {
        // Important delivery: a node without an MCP application says so at once (ErrProcessUnknown)
        // instead of dropping the call and letting it wait its whole time limit.
        await ctx.node.call(new ProcessID(PROXY_NAME, name), proxyRequest('runtime_stats', {}), {
          timeout,
          important: true,
        });
        return { node: ctx.node.name, name, rtt_ms: ms(started), elapsed_ms: ms(began), via: PROXY_NAME };
      } catch (err) {
        const code = (err as { code?: unknown } | null)?.code;
        if (code === ErrTimeout.code)
          throw new McpToolError('ERR_MCP_TIMEOUT', `${name} did not answer the ping within ${seconds(timeout)} s`);
        if (code !== ErrProcessUnknown.code)
          throw new McpToolError('ERR_MCP_UNREACHABLE', `the ping to ${name} failed: ${message(err)}`);
      }
      // No MCP application there (a Go node, or ergo-ts without it): its inspector answers.
      const again = performance.now();
      await ask(ctx.node, t, new RequestInspectNetwork(), 'network_ping', timeout);
      return {
        node: ctx.node.name,
        name,
        rtt_ms: ms(again),
        elapsed_ms: ms(began),
        via: 'system_inspect',
        probe: `${PROXY_NAME}: not running there (${ErrProcessUnknown.code}, ${+(again - started).toFixed(3)} ms)`,
      };
    },
  },
  {
    name: 'registrar_info',
    title: 'Registrar',
    description: "The node's registrar: server address, version, embedded or not, features",
    action: false,
    remote: 'none',
    shape: { ...common },
    async run(ctx) {
      const r = registrarOf(ctx.node);
      return { node: ctx.node.name, ...r.info(), version: r.version() };
    },
  },
  resolveTool(
    'registrar_resolve',
    'Resolve a node',
    'The routes (host, port, TLS, versions) the registrar gives for a node name',
    'name',
    (r, name) => r.resolver().resolve(name),
  ),
  resolveTool(
    'registrar_resolve_proxy',
    'Resolve proxy routes',
    'The proxy routes (through other nodes) the registrar gives for a node name',
    'name',
    (r, name) => r.resolver().resolveProxy(name),
  ),
  resolveTool(
    'registrar_resolve_app',
    'Resolve an application',
    'Which nodes run an application, as the registrar knows (name, node, weight, mode, state)',
    'application',
    (r, name) => r.resolver().resolveApplication(name),
  ),
  {
    name: 'cluster_nodes',
    title: 'Cluster nodes',
    description:
      'Every node known here: this one, the connected ones, and those the registrar knows (each list sorted, with its count)',
    action: false,
    remote: 'none',
    shape: { ...common },
    async run(ctx, args) {
      const node = ctx.node;
      const network = networkOf(node);
      const connected = network.nodes();
      let discovered: string[] = [];
      let registrar = '';
      try {
        discovered = await registrarCall(node, timeoutOf(ctx, args), (r) => r.nodes());
      } catch (err) {
        registrar = message(err);
      }
      // Sorted and counted: at a hundred nodes an agent compares lists and reads the sizes.
      const others = discovered.filter((n) => n !== node.name).sort();
      return {
        self: node.name,
        connected: [...connected].sort(),
        connected_count: connected.length,
        discovered: others,
        discovered_count: others.length,
        ...(registrar === '' ? {} : { registrar_error: registrar }),
      };
    },
  },
  {
    name: 'cron_info',
    title: 'Cron',
    description: "The node's scheduler: the next minute it runs jobs at, the jobs due then, and every job",
    action: false,
    remote: 'none',
    shape: { ...common },
    async run(ctx) {
      const info = ctx.node.cron().info();
      return {
        node: ctx.node.name,
        next: iso(info.next),
        spool: info.spool,
        jobs: info.jobs.map((j) => ({ ...j, lastRun: iso(j.lastRun) })),
      };
    },
  },
  {
    name: 'cron_job',
    title: 'Cron job',
    description: 'One cron job: spec, location, action, last run and its error',
    action: false,
    remote: 'none',
    shape: { ...common, name: z.string().min(1).describe('The job name') },
    async run(ctx, args) {
      try {
        const j = ctx.node.cron().jobInfo(String(args.name) as Atom);
        return { node: ctx.node.name, ...j, lastRun: iso(j.lastRun) };
      } catch {
        throw new McpToolError('ERR_MCP_REFUSED', `${ctx.node.name} has no cron job ${String(args.name)}`);
      }
    },
  },
  {
    name: 'cron_schedule',
    title: 'Cron schedule',
    description: 'The jobs planned within the next duration_seconds (default 3600): each minute and its jobs',
    action: false,
    remote: 'none',
    shape: {
      ...common,
      duration_seconds: z
        .number()
        .int()
        .min(1)
        .max(31 * 86_400)
        .optional()
        .describe('Window (s, default 3600)'),
    },
    async run(ctx, args) {
      const ms = Number(args.duration_seconds ?? 3600) * 1000;
      const plan = ctx.node.cron().schedule(new Date(), ms);
      return { node: ctx.node.name, schedule: plan.map((p) => ({ time: iso(p.time), jobs: p.jobs })) };
    },
  },
];

function registrarOf(node: Node): ReturnType<Network['registrar']> {
  try {
    return networkOf(node).registrar();
  } catch (err) {
    if (err instanceof McpToolError) throw err;
    throw new McpToolError('ERR_MCP_UNSUPPORTED', `${node.name} has no registrar: ${message(err)}`);
  }
}

async function registrarCall<T>(
  node: Node,
  timeout: number,
  fn: (r: ReturnType<Network['registrar']>) => Promise<T>,
): Promise<T> {
  const r = registrarOf(node);
  try {
    return await deadline(fn(r), timeout, `the registrar did not answer within ${seconds(timeout)} s`);
  } catch (err) {
    if (err instanceof McpToolError) throw err;
    throw new McpToolError('ERR_MCP_REFUSED', `the registrar of ${node.name}: ${message(err)}`);
  }
}
