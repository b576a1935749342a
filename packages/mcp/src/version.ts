// The version the MCP server reports to its clients and the application carries.

/** Version the server reports to MCP clients. */
export const MCP_VERSION = '0.1.0';
