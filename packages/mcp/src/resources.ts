// The resources: the same views as the read-only tools, as documents a client can list and
// read: `ergo://<node>/<view>` for this node and every node it is connected to. Reading one asks
// the node at that moment (JSON).

import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';

import type { ToolContext } from './context.js';
import { toJSONText } from './json.js';
import { readTools } from './tools.js';

/** The views a resource can show, with the tool that builds each. */
export const RESOURCE_VIEWS: Record<string, { tool: string; title: string }> = {
  info: { tool: 'node_info', title: 'node info' },
  processes: { tool: 'process_list', title: 'processes (first 100 by PID)' },
  applications: { tool: 'app_list', title: 'applications' },
  events: { tool: 'event_list', title: 'events' },
  network: { tool: 'network_info', title: 'network' },
  log: { tool: 'log_tail', title: 'log (newest 100 records)' },
};

/** The URI of `view` of `node`. */
export function resourceURI(node: string, view: string): string {
  return `ergo://${encodeURIComponent(node)}/${view}`;
}

/** Registers the `ergo://{node}/{view}` resources on `server`. */
export function registerResources(server: McpServer, ctx: ToolContext): void {
  const template = new ResourceTemplate('ergo://{node}/{view}', {
    list: () => {
      let nodes: string[] = [ctx.node.name];
      try {
        nodes = [ctx.node.name, ...ctx.node.network().nodes()];
      } catch {
        // no network: this node only
      }
      return {
        resources: nodes.flatMap((n) =>
          Object.entries(RESOURCE_VIEWS).map(([view, v]) => ({
            uri: resourceURI(n, view),
            name: `${n} ${view}`,
            title: `${n}: ${v.title}`,
            mimeType: 'application/json',
          })),
        ),
      };
    },
    complete: {
      view: () => Object.keys(RESOURCE_VIEWS),
    },
  });
  server.registerResource(
    'node-view',
    template,
    {
      title: 'A view of a node',
      description:
        "ergo://<node>/<view>: a node's info, processes, applications, events, network or log, read when asked",
      mimeType: 'application/json',
    },
    async (uri, variables) => {
      const node = decodeURIComponent(String(variables.node));
      const view = RESOURCE_VIEWS[String(variables.view)];
      if (view === undefined)
        throw new Error(
          `ERR_MCP_BAD_ARGUMENT: no view ${String(variables.view)} (${Object.keys(RESOURCE_VIEWS).join(', ')})`,
        );
      const tool = readTools.find((t) => t.name === view.tool)!;
      const data = await tool.run(ctx, { node });
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: toJSONText(data) }] };
    },
  );
}
