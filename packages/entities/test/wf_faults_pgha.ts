// The workflow fault checker's `pg-ha` store (issue 81: "when the database fails over"): the
// highly available PostgreSQL of pg_ha.ts (etcd, three PostgreSQL members under Patroni with
// synchronous_mode, HAProxy routing to the primary) inside the test hosts, each process in a host
// of its own — `etcd`, `pg0`..`pg2`, `ha` (HAProxy, a box of its own between the apps and the
// database) — next to the entity nodes n1..n3, which reach the store through `ha` alone. The
// harness reaches Patroni's REST APIs and runs `patronictl` from the switch's namespace, which
// reaches every host and is never cut off.
//
// The store's own faults, each a round's fault like a member's (wf_faults.ts), the victim always
// the primary of the moment:
//   pgkill    kill -9 of its postmaster (Patroni fails over at once: primary_start_timeout 0);
//   pgfreeze  SIGSTOP of the whole member (Patroni, postmaster, backends) ~20 s, then SIGCONT;
//   pgswitch  `patronictl switchover --force` under load;
//   pgcut     a silent partition between it and HAProxy's host: the members' store is
//             unreachable until healed, while Patroni and etcd still see it (no failover);
//   pgsplit   silent partitions between it and etcd and the other members, while HAProxy still
//             reaches it: Patroni demotes it, a synchronous standby is promoted once the leader key
//             expires (ttl 10 s), and its sessions can no longer commit (their synchronous
//             standby is out of reach) — held until the new primary is seen, then healed.
// After each the cluster must become whole again by itself (every member running, a primary with
// a synchronous standby, HAProxy routing to it) within STORE_WHOLE_MS: else a violation, and the
// harness does what an operator would (kill -9 of the broken member's postmasters, `patronictl
// reinit`) so that the rounds go on.
//
// full_page_writes is on here (pg_ha.ts turns it off by default, for speed): pg_rewind refuses a
// source without it. `pgsplit` trips a Patroni 3.0.2 bug (patroni/patroni#3649): a primary slow to
// shut down after losing etcd is demoted twice, two postmasters start in one data directory, and
// the member, removed and cloned again while the stray still runs, is left corrupt — hence
// `--store-faults` to run without it.

import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

import { startPgHa, TestHosts, type Host, type PgHa, type PgHaMember, type PgHaPlace } from '@ergo-ts/test-support';

import { FaultNode, PORT, Waits, type FaultCluster } from './faults.js';

/** The store's faults of the `pg-ha` mode. */
export const WF_STORE_FAULT_KINDS = ['pgkill', 'pgfreeze', 'pgswitch', 'pgcut', 'pgsplit'] as const;

/** One of {@link WF_STORE_FAULT_KINDS}. */
export type WfStoreFaultKind = (typeof WF_STORE_FAULT_KINDS)[number];

/** Whether `k` is one of the store's faults. */
export const isStoreFault = (k: string): k is WfStoreFaultKind =>
  (WF_STORE_FAULT_KINDS as readonly string[]).includes(k);

/** How long the cluster may take to be whole again after a store fault, in ms. */
export const STORE_WHOLE_MS = 180_000;

/** How long a `pgfreeze` lasts, in ms. */
const FREEZE_MS = 20_000;

/** The cluster of the `pg-ha` mode: {@link FaultCluster} and the PostgreSQL cluster in its hosts. */
export interface PgHaFaultCluster extends FaultCluster {
  readonly pg: PgHa;
  /** The test host a PostgreSQL member runs in. */
  hostOf(m: PgHaMember): Host;
}

/**
 * Test hosts etcd, pg0..pg2, ha and n1..n3; the highly available cluster started in them; three
 * fault nodes (not started) whose store is HAProxy's address. Disposing it stops the cluster and
 * removes the hosts (stop the nodes first).
 */
export async function pgHaFaultCluster(o: {
  dir: string;
  leaseMs?: number | undefined;
  renewMs?: number | undefined;
  env?: Record<string, string>;
  log?: (source: string, line: string) => void;
}): Promise<PgHaFaultCluster> {
  const names = ['etcd', 'pg0', 'pg1', 'pg2', 'ha', 'n1', 'n2', 'n3'];
  const hosts = await TestHosts.create({ names });
  const placeOf = (h: Host): PgHaPlace => ({
    address: h.address,
    spawn: (cmd, args, opts) => h.spawn(cmd, args, opts),
  });
  const control: PgHaPlace = {
    address: hosts.switchAddress,
    spawn: (cmd, args, opts) => spawn('ip', ['netns', 'exec', hosts.switchNamespace, cmd, ...args], opts),
  };
  let pg: PgHa;
  try {
    pg = await startPgHa({
      place: {
        etcd: placeOf(hosts.host('etcd')),
        members: ['pg0', 'pg1', 'pg2'].map((n) => placeOf(hosts.host(n))),
        haproxy: placeOf(hosts.host('ha')),
        control,
        trust: hosts.subnet,
      },
      startTimeoutMs: 180_000,
      settings: { fsync: 'off', full_page_writes: 'on' },
      ...(o.log === undefined ? {} : { log: o.log }),
    });
  } catch (e) {
    await hosts[Symbol.asyncDispose]();
    throw e;
  }
  const hostsOf = ['n1', 'n2', 'n3'].map((n) => hosts.host(n));
  const nodeNames = hostsOf.map((h) => `${h.name}@${h.address}`);
  const env = {
    FN_PORT: String(PORT),
    FN_PEERS: hostsOf.map((h, i) => `${nodeNames[i]}=${h.address}`).join(','),
    FN_DB: pg.url,
    FN_LEASE_MS: String(o.leaseMs ?? 1000),
    FN_RENEW_MS: String(o.renewMs ?? 250),
    ...o.env,
  };
  const waits = new Waits();
  const nodes = hostsOf.map((h, i) => new FaultNode(h, nodeNames[i]!, env, o.dir, waits));
  const byName = new Map(pg.members.map((m) => [m.name, hosts.host(m.name)]));
  return {
    hosts,
    db: hosts.host('ha'),
    nodes,
    waits,
    pg,
    hostOf: (m) => byName.get(m.name)!,
    nodesWith(extra) {
      const w = new Waits();
      return hostsOf.map((h, i) => new FaultNode(h, nodeNames[i]!, { ...env, ...extra }, o.dir, w));
    },
    async [Symbol.asyncDispose]() {
      try {
        await pg.stop();
      } finally {
        await hosts[Symbol.asyncDispose]();
      }
    },
  };
}

/** What one store fault did (the report's `storeFaults`). */
export interface StoreFaultSeen {
  kind: WfStoreFaultKind;
  /** The primary it hit, and the primary once the cluster was whole again. */
  from: string;
  to: string;
  /** Fault (its start) → the cluster whole again, ms; undefined when it was not within STORE_WHOLE_MS. */
  wholeMs?: number;
  /** What went unexpectedly but is no violation (a switchover refused). */
  note?: string;
  /** Members the harness had to reinitialise (the cluster was not whole again by itself). */
  reinit?: string[];
}

const sleepFor = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Applies one store fault to the primary of the moment and waits until the cluster is whole again;
 * what it saw, and the violations (the cluster not whole again by itself within STORE_WHOLE_MS).
 */
export async function storeFault(
  kind: WfStoreFaultKind,
  c: PgHaFaultCluster,
  int: (lo: number, hi: number) => number,
): Promise<{ seen: StoreFaultSeen; violations: string[] }> {
  const { pg, hosts, waits } = c;
  const p = await waits.track('the primary', pg.newPrimary(undefined, 60_000)).then((x) => x.member);
  const t0 = Date.now();
  let note: string | undefined;
  // A kill and a freeze fail over (Patroni's /cluster still says "running" a moment after the kill).
  const failover = (what: string): Promise<unknown> =>
    waits.track(`a new primary after ${what}`, pg.newPrimary(p, 90_000)).catch(() => {
      note = `no other primary within 90 s of the ${what}`;
    });
  if (kind === 'pgkill') {
    pg.killPostmaster(p);
    await failover('kill');
  } else if (kind === 'pgfreeze') {
    pg.freeze(p, true);
    const promoted = failover('freeze');
    await sleepFor(FREEZE_MS);
    pg.freeze(p, false);
    await promoted;
  } else if (kind === 'pgswitch')
    await waits.track('switchover', pg.switchover()).catch((e: unknown) => {
      note = `switchover refused: ${String(e).split('\n')[0]}`;
    });
  else if (kind === 'pgcut') {
    const cut = await hosts.partition(c.hostOf(p), 'ha');
    await sleepFor(int(4000, 8000));
    await waits.track(`heal ${cut.label}`, cut.heal());
  } else {
    const cuts = [await hosts.partition(c.hostOf(p), 'etcd')];
    for (const m of pg.members) if (m !== p) cuts.push(await hosts.partition(c.hostOf(p), c.hostOf(m)));
    // Held until another member is the primary (the leader key expires after ttl 10 s).
    await waits.track('a new primary behind the split', pg.newPrimary(p, 60_000)).catch(() => {
      note = 'no other primary within 60 s of the split';
    });
    await sleepFor(1000);
    for (const cut of cuts) await waits.track(`heal ${cut.label}`, cut.heal());
  }
  const violations: string[] = [];
  let wholeMs: number | undefined;
  let reinit: string[] | undefined;
  try {
    await waits.track(`the store whole again after ${kind}`, pg.healthy(STORE_WHOLE_MS));
    wholeMs = Date.now() - t0;
  } catch (e) {
    violations.push(
      `store: the cluster was not whole again by itself within ${STORE_WHOLE_MS / 1000} s after ${kind} of ${p.name}: ${String(e).split('\n').slice(0, 8).join(' | ')}`,
    );
    reinit = await repair(pg).catch((e2: unknown) => [`repair failed: ${String(e2).split('\n')[0]}`]);
    await waits.track('the store whole again after a reinit', pg.healthy(STORE_WHOLE_MS)).catch((e2: unknown) => {
      violations.push(`store: not whole again after reinit of ${reinit?.join(', ')}: ${String(e2).split('\n')[0]}`);
    });
  }
  const to = (await pg.primary())?.name ?? '-';
  return {
    seen: {
      kind,
      from: p.name,
      to,
      ...(wholeMs === undefined ? {} : { wholeMs }),
      ...(note === undefined ? {} : { note }),
      ...(reinit === undefined ? {} : { reinit }),
    },
    violations,
  };
}

/**
 * What an operator does with a member that does not come back: every postmaster of its data
 * directory killed (one Patroni lost track of included), then `patronictl reinit` (cloned again
 * from the primary). The members reinitialised.
 */
async function repair(pg: PgHa): Promise<string[]> {
  const rows = JSON.parse(await pg.patronictl(['list', '-f', 'json'])) as {
    Cluster: string;
    Member: string;
    Role?: string;
    State: string;
    TL?: number;
    'Lag in MB'?: number;
  }[];
  const rowOf = (m: PgHaMember): (typeof rows)[number] | undefined => rows.find((x) => x.Member === m.name);
  const leader = rows.find((x) => x.Role === 'Leader');
  let broken = pg.members.filter((m) => {
    const r = rowOf(m);
    return r === undefined || (r.State !== 'running' && r.State !== 'streaming');
  });
  // Every member "running" and still not whole: Patroni 3.0 shows a replica that cannot follow the
  // primary (left on an older timeline, its rewind failed) as running too. Such a replica, or with
  // none on another timeline and no synchronous standby, the replica furthest behind, is cloned again.
  if (broken.length === 0 && leader !== undefined) {
    const replicas = pg.members.filter((m) => rowOf(m) !== leader);
    broken = replicas.filter((m) => rowOf(m)?.TL !== leader.TL);
    if (broken.length === 0 && !rows.some((x) => x.Role === 'Sync Standby')) {
      const behind = replicas.sort((a, b) => (rowOf(b)?.['Lag in MB'] ?? 0) - (rowOf(a)?.['Lag in MB'] ?? 0))[0];
      if (behind !== undefined) broken = [behind];
    }
  }
  for (const m of broken) {
    for (const pid of postmastersOf(m.dataDir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    await pg.patronictl(['reinit', '--force', '--wait', rows[0]!.Cluster, m.name]);
  }
  return broken.map((m) => m.name);
}

/** The pids of the postgres processes started on `dataDir` (`-D <dataDir>`), from /proc. */
function postmastersOf(dataDir: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      const d = argv.indexOf('-D');
      if (argv[0]?.endsWith('/postgres') === true && d >= 0 && argv[d + 1] === dataDir) out.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** One store fault kind's figures in a run's report. */
export interface StoreKindFigures {
  faults: number;
  /** The primary changed. */
  failovers: number;
  /** Fault → the cluster whole again, ms. */
  wholeMs: { max: number; mean: number };
  notes: string[];
  /** Faults after which the harness had to reinitialise a member. */
  reinit: number;
}

/** The store's figures of a run, per kind. */
export function storeSummary(seen: readonly StoreFaultSeen[]): Record<string, StoreKindFigures> {
  const out: Record<string, StoreKindFigures> = {};
  for (const k of WF_STORE_FAULT_KINDS) {
    const xs = seen.filter((s) => s.kind === k);
    const ms = xs.flatMap((s) => (s.wholeMs === undefined ? [] : [s.wholeMs]));
    out[k] = {
      faults: xs.length,
      failovers: xs.filter((s) => s.from !== s.to).length,
      wholeMs: {
        max: Math.max(0, ...ms),
        mean: ms.length === 0 ? 0 : Math.round(ms.reduce((a, b) => a + b, 0) / ms.length),
      },
      notes: xs.flatMap((s) => (s.note === undefined ? [] : [s.note])),
      reinit: xs.filter((s) => s.reinit !== undefined).length,
    };
  }
  return out;
}
