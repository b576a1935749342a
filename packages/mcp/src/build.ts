// The SDK server of one request: every tool of the table and the `ergo://<node>/<view>`
// resources, on the shared ToolContext. Kept apart from the public modules: the package's
// declarations name no SDK type (the SDK's own need the DOM library, which a Node project may
// leave out).

import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';

import type { ToolContext } from './context.js';
import { codeOf, guarded } from './guard.js';
import { message } from './inspect.js';
import { toJSONText } from './json.js';
import { RESOURCE_VIEWS, resourceURI } from './resources.js';
import { MCP_VERSION } from './version.js';
import { runTool } from './proxy.js';
import { allTools, toolNamed } from './table.js';

/** The text of a tool's failure: `<code>: <message>` (guarded() gives every failure a code). */
function failure(err: unknown): string {
  const code = codeOf(err);
  return code !== null ? `${code}: ${message(err)}` : message(err);
}

/** An SDK server with every tool and resource on `ctx` (the action tools disabled unless enabled). */
export function buildServer(ctx: ToolContext): McpServer {
  const server = new McpServer(
    { name: 'ergo-ts-mcp', title: 'ergo-ts node inspector', version: MCP_VERSION },
    {
      instructions:
        `Inspects the ergo-ts node ${ctx.node.name} and the nodes it reaches (Go Ergo nodes too): every tool takes ` +
        '`node` (name@host, this node when absent). PIDs are written <CRC.0.1001>; a registered name works where a PID is asked.',
    },
  );
  for (const spec of allTools) {
    const tool = server.registerTool(
      spec.name,
      {
        title: spec.title,
        description: spec.description,
        inputSchema: spec.shape,
        annotations: { readOnlyHint: !spec.action, destructiveHint: spec.action, openWorldHint: false },
      },
      async (args: Record<string, unknown>) => {
        try {
          const text = await guarded(ctx, spec.name, async () => toJSONText(await runTool(ctx, spec, args)));
          return { content: [{ type: 'text' as const, text }] };
        } catch (err) {
          return { isError: true, content: [{ type: 'text' as const, text: failure(err) }] };
        }
      },
    );
    // Not listed, and a call is answered "disabled" (an error result, not a crash).
    if (spec.action && !ctx.actions) tool.disable();
  }
  registerResources(server, ctx);
  return server;
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
      const spec = toolNamed(view.tool)!;
      const text = await guarded(ctx, spec.name, async () => toJSONText(await runTool(ctx, spec, { node })));
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text }] };
    },
  );
}
