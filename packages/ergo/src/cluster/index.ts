// ergo-ts/cluster: every core of a host — one ordinary node per core in worker threads (or child
// processes), joined by the in-host transport, supervised by a launcher; helpers to spawn on the
// least loaded node and a pool spread over the nodes.

export {
  startCluster,
  type Cluster,
  type ClusterEvent,
  type ClusterMode,
  type ClusterNodeInfo,
  type ClusterOptions,
} from './launcher.js';
export type { ClusterApp, ClusterNode } from './node.js';
export { ClusterPool } from './pool.js';
