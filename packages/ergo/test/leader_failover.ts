// Failover measurement (a script, not a test): 5 members in separate OS processes with Ergo's
// default timing (election timeout 150–300 ms, heartbeat 50 ms); the leader is killed with
// kill -9, and the time until every survivor knows a new leader is taken from the survivors'
// own observation lines (their wall clock, the same machine's). The killed member is restarted
// and the cluster converges before the next kill.
//
//   node dist/test/leader_failover.js            # 50 kills
//   LEADER_FAILOVER_KILLS=200 node dist/test/leader_failover.js

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '@ergo-ts/test-support';
import { LeaderCluster } from './leader_cluster.js';

const KILLS = Number(process.env.LEADER_FAILOVER_KILLS ?? 50);
const dir = mkdtempSync(join(tmpdir(), 'leader-failover-'));
const cluster = new LeaderCluster({ size: 5, min: 150, max: 300, hb: 50, storeDir: dir });

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

const times: number[] = [];
try {
  await cluster.start();
  for (let k = 0; k < KILLS; k++) {
    const { leader } = await cluster.converged(30_000);
    const victim = cluster.names.indexOf(leader);
    const survivors = cluster.names.filter((n) => n !== leader);
    const from = cluster.history.length;
    const killedAt = Date.now();
    await cluster.kill(victim);
    // Every survivor's first observation of a leader other than the dead one.
    const known = new Map<string, number>();
    // The observations carry their own times: the poll's pace does not change what is measured.
    let scanned = from;
    await eventually(
      () => {
        for (; scanned < cluster.history.length; scanned++) {
          const o = cluster.history[scanned]!;
          if (o.leader !== '' && o.leader !== leader && o.t >= killedAt && !known.has(o.node)) known.set(o.node, o.t);
        }
        return known.size >= survivors.length;
      },
      'a new leader known to all survivors',
      { timeoutMs: 30_000 },
    );
    const took = Math.max(...known.values()) - killedAt;
    times.push(took);
    process.stdout.write(`kill ${k + 1}/${KILLS}: new leader known to all survivors after ${took} ms\n`);
    await cluster.restart(victim);
  }
} finally {
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}
const mean = times.reduce((a, b) => a + b, 0) / times.length;
console.log(
  JSON.stringify({
    kills: times.length,
    median_ms: pct(times, 50),
    p99_ms: pct(times, 99),
    min_ms: Math.min(...times),
    max_ms: Math.max(...times),
    mean_ms: Math.round(mean),
    timing: { electionTimeoutMin: 150, electionTimeoutMax: 300, heartbeatInterval: 50 },
  }),
);
