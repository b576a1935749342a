// A cluster application module for cluster.whenup.test.ts: every node, once `whenUp(size)`
// resolved, lists the nodes its network is connected to and at once (same turn) sends 20,000
// messages to the `sink` of every other node, counting the sends that throw (by code). The
// named process `probe` answers a call with that report (null until it is made).

import { Actor, ProcessID, type Atom, type PID, type Ref } from '../src/index.js';
import type { ClusterNode } from '../src/cluster/index.js';

export const BURST = 20_000;

interface Report {
  connected: string[];
  sent: number;
  refused: Record<string, number>;
}

let report: Report | null = null;

class Probe extends Actor {
  override handleCall(_from: PID, _ref: Ref, _req: unknown): unknown {
    return report;
  }
}

class Sink extends Actor {
  received = 0;
  override handleMessage(): void {
    this.received++;
  }
  override handleCall(): unknown {
    return this.received;
  }
}

export default async function app(cluster: ClusterNode): Promise<void> {
  await cluster.node.spawnRegister('probe', Probe, {});
  await cluster.node.spawnRegister('sink', Sink, {});
  void cluster.whenUp(cluster.size).then(() => {
    const me = cluster.node.name;
    const r: Report = { connected: cluster.node.network().nodes().sort(), sent: 0, refused: {} };
    for (const other of cluster.nodes()) {
      if (other === me) continue;
      const to = new ProcessID('sink' as Atom, other);
      for (let i = 0; i < BURST; i++) {
        try {
          cluster.node.send(to, i);
          r.sent++;
        } catch (e) {
          const code = String((e as { code?: unknown }).code);
          r.refused[code] = (r.refused[code] ?? 0) + 1;
        }
      }
    }
    report = r;
  });
}
