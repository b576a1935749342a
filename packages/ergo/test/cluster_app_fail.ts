// A cluster application module that fails on its second node (cluster.test.ts: a failed start).

import type { ClusterNode } from '../src/cluster/index.js';

export default function app(cluster: ClusterNode): void {
  if (cluster.index === 1) throw new Error('this module refuses to start here');
}
