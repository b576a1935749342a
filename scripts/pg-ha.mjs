#!/usr/bin/env node
// A highly available PostgreSQL on this machine, to try ergo-ts on (docs/deploy.md, "Running on
// highly available PostgreSQL"): one etcd, three PostgreSQL 15 members under Patroni with
// synchronous replication, HAProxy routing to the primary (@ergo-ts/test-support's pg_ha.ts, the
// cluster the failover test and bench use). Needs Debian's patroni, haproxy, etcd-server and
// postgresql, and a build (`npm run build`).
//   npm run pg-ha -- start     starts it, prints the connection URL and how to fail it over;
//                              stays up until Ctrl-C (or `stop`), then removes its temporary data
//   npm run pg-ha -- stop      stops the one `start` runs (from another terminal)
//   npm run pg-ha -- status    `patronictl list` of the running one

import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { PG_HA_BINS, pgHaMissing, startPgHa } from '@ergo-ts/test-support';

const STATE = join(tmpdir(), 'ergo-pg-ha.json');
const cmd = process.argv[2] ?? 'start';

function running() {
  try {
    const s = JSON.parse(readFileSync(STATE, 'utf8'));
    process.kill(s.pid, 0);
    return s;
  } catch {
    return undefined;
  }
}

if (cmd === 'stop') {
  const s = running();
  if (s === undefined) {
    console.log('pg-ha: none running');
    process.exit(0);
  }
  process.kill(s.pid, 'SIGINT');
  console.log(`pg-ha: asked ${s.pid} to stop`);
} else if (cmd === 'status') {
  const s = running();
  if (s === undefined) {
    console.log('pg-ha: none running');
    process.exit(1);
  }
  process.stdout.write(execFileSync(PG_HA_BINS.patronictl, ['-c', s.config, 'list'], { encoding: 'utf8' }));
} else if (cmd === 'start') {
  if (running() !== undefined) {
    console.error(`pg-ha: one is running already (${STATE}); stop it first`);
    process.exit(1);
  }
  let why;
  try {
    why = pgHaMissing();
  } catch (e) {
    why = e.message;
  }
  if (why !== undefined) {
    console.error(`pg-ha: cannot start: ${why}`);
    process.exit(2);
  }
  console.log('pg-ha: starting etcd, 3 PostgreSQL members under Patroni, HAProxy ...');
  const ha = await startPgHa();
  writeFileSync(STATE, JSON.stringify({ pid: process.pid, url: ha.url, config: ha.members[0].config }));
  const primary = await ha.primary();
  console.log(`
  connection URL (through HAProxy, always the primary):
    ${ha.url}
  members: ${ha.members.map((m) => `${m.name} ${m.url} (Patroni REST :${m.restPort})`).join('\n           ')}
  primary now: ${primary?.name ?? '?'}   HAProxy statistics: ${ha.statsUrl}
  see it:      npm run pg-ha -- status
  fail it over: kill -9 $(head -1 ${primary?.dataDir ?? '<data dir>'}/postmaster.pid)
               or: patronictl -c ${ha.members[0].config} switchover
  Ctrl-C (or npm run pg-ha -- stop) stops it and removes ${ha.dir}`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('pg-ha: stopping');
    await ha.stop();
    rmSync(STATE, { force: true });
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  setInterval(() => undefined, 1 << 30);
} else {
  console.error('usage: npm run pg-ha -- start | stop | status');
  process.exit(1);
}
