// The MCP application (`mcp_app`, Go Ergo's name): one member, the MCP server process. Add it to
// a node (`applications: [createMcpApplication({ token })]`, or `applicationLoad` +
// `applicationStart`) and point an MCP client at http://localhost:9922/mcp.

import { ApplicationMode, memberSpec, type ApplicationBehavior, type ApplicationSpec, type Node } from 'ergo-ts';

import type { McpOptions } from './options.js';
import { MCP_SERVER_NAME, McpServerActor } from './server.js';
import { MCP_VERSION } from './version.js';

/** The application's name (Go Ergo's). */
export const MCP_APP_NAME = 'mcp_app';

/** The application {@link createMcpApplication} returns. */
export interface McpApplication extends ApplicationBehavior {
  /** The MCP endpoint (`http://localhost:9922/mcp`) once the server listens; undefined before. */
  readonly url: string | undefined;
}

/**
 * Ergo's MCP application for ergo-ts: an MCP server (streamable HTTP, `/mcp`, default
 * localhost:9922) whose tools and resources inspect this node and any node it reaches (ergo-ts or
 * Go Ergo) through their `system_inspect`; the action tools only with `actions: true`. Starting
 * fails when the port is taken or an option is wrong. One instance per node (its process has a
 * registered name). Stopping the application closes the server.
 */
export function createMcpApplication(options: McpOptions = {}): McpApplication {
  let url: string | undefined;
  return {
    get url() {
      return url;
    },
    load(_node: Node): ApplicationSpec {
      return {
        name: MCP_APP_NAME,
        description: 'MCP: the node inspector as Model Context Protocol tools and resources',
        version: { name: 'ergo-ts mcp', release: MCP_VERSION },
        mode: ApplicationMode.Temporary,
        ...(options.logLevel === undefined ? {} : { logLevel: options.logLevel }),
        group: [
          memberSpec({
            name: MCP_SERVER_NAME,
            factory: McpServerActor,
            args: [{ options, onListen: (u: string) => (url = u) }],
          }),
        ],
      };
    },
  };
}
