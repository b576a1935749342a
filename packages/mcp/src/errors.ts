// A tool that cannot answer says why, with a stable code the model (and a test) can read: the
// tool result is `isError: true` with the text `<code>: <message>`, never a broken connection.

import { ErgoError } from 'ergo-ts';

/** The codes of {@link McpToolError}. */
export type McpToolErrorCode =
  /** An argument is missing, of the wrong type or out of range. */
  | 'ERR_MCP_BAD_ARGUMENT'
  /** The node named by `node` cannot be reached (no network, no route, refused). */
  | 'ERR_MCP_UNREACHABLE'
  /** The node did not answer in time. */
  | 'ERR_MCP_TIMEOUT'
  /** The node answered with an error (an unknown PID, a process that is not there...). */
  | 'ERR_MCP_REFUSED'
  /** The node cannot answer this question (no system_inspect, a Go node asked an ergo-ts query). */
  | 'ERR_MCP_UNSUPPORTED'
  /** The tool failed in a way it does not foresee (a fault of this package: logged on the node). */
  | 'ERR_MCP_INTERNAL';

/** Why a tool could not answer; its text reaches the MCP client as a tool error. */
export class McpToolError extends ErgoError {
  constructor(
    override readonly code: McpToolErrorCode,
    message: string,
  ) {
    super(code, message);
    this.name = 'McpToolError';
  }
}
