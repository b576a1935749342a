// @ergo-ts/mcp: Ergo's MCP application for ergo-ts. The inspector of a node, and of every node
// it reaches (Go Ergo included), as Model Context Protocol tools and resources over streamable
// HTTP, protected by a bearer token; actions only when enabled.
export { createMcpApplication, MCP_APP_NAME, type McpApplication } from './app.js';
export * from './options.js';
export { startMcpServer, McpServerActor, MCP_SERVER_NAME, type McpServerArgs, type McpServerHandle } from './server.js';
export { MCP_VERSION } from './version.js';
export { allTools } from './table.js';
export { ToolContext } from './context.js';
export { McpToolError, type McpToolErrorCode } from './errors.js';
export type { ToolSpec } from './tools.js';
export { DEFAULT_INSPECT_TIMEOUT, CONNECT_TIMEOUT, type Target } from './inspect.js';
export { DEFAULT_LOG_RING, REMOTE_RING_IDLE, type LogRecord, type LogTailAnswer } from './logring.js';
export { RESOURCE_VIEWS, resourceURI } from './resources.js';
export { toJSONValue, toJSONText } from './json.js';
