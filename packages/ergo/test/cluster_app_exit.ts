// A cluster application module that says how its node's process ended (cluster.test.ts: the
// signals of a terminal's Ctrl-C reach every process of the group). An 'exit' handler runs when
// the node stops gracefully and ends by process.exit; not when a signal's default action ends it.

import type { ClusterNode } from '../src/cluster/index.js';

export default function app(cluster: ClusterNode): void {
  process.on('exit', (code) => process.stderr.write(`${cluster.node.name} process exit ${code}\n`));
}
