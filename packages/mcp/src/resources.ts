// The resources: the same views as the read-only tools, as documents a client can list and
// read: `ergo://<node>/<view>` for this node and every node it is connected to. Reading one asks
// the node at that moment (JSON).

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
