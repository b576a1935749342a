// A real etcd (Debian's etcd-server, /usr/bin/etcd) per test: free ports, a temporary data dir,
// one member or a cluster of three. Missing etcd: the tests skip with a reason, or fail under CI=true.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '@ergo-ts/test-support';

export const ETCD = process.env.ETCD_BIN ?? '/usr/bin/etcd';

/** Why the etcd tests cannot run here, or null. Under CI=true a missing etcd is a failure. */
export function etcdMissing(): string | null {
  if (existsSync(ETCD)) return null;
  if (process.env.CI === 'true') throw new Error(`${ETCD} is missing (Debian package etcd-server)`);
  return `${ETCD} is missing (install Debian's etcd-server)`;
}

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

export interface Member {
  name: string;
  client: number;
  peer: number;
  dir: string;
  proc: ChildProcess | null;
  endpoint: string;
}

/** etcd members on free ports (not started). */
export async function members(n: number): Promise<Member[]> {
  const root = mkdtempSync(join(tmpdir(), 'ergo-etcd-'));
  const out: Member[] = [];
  for (let i = 0; i < n; i++) {
    const client = await freePort();
    const peer = await freePort();
    out.push({ name: `m${i}`, client, peer, dir: join(root, `m${i}`), proc: null, endpoint: `127.0.0.1:${client}` });
  }
  return out;
}

/** Starts (or restarts, same data dir) one member of `all`. */
export function startMember(m: Member, all: Member[]): void {
  const cluster = all.map((x) => `${x.name}=http://127.0.0.1:${x.peer}`).join(',');
  m.proc = spawn(
    ETCD,
    [
      '--name',
      m.name,
      '--data-dir',
      m.dir,
      '--listen-client-urls',
      `http://127.0.0.1:${m.client}`,
      '--advertise-client-urls',
      `http://127.0.0.1:${m.client}`,
      '--listen-peer-urls',
      `http://127.0.0.1:${m.peer}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${m.peer}`,
      '--initial-cluster',
      cluster,
      '--initial-cluster-state',
      'new',
      '--initial-cluster-token',
      `t${all[0]!.peer}`,
      '--log-level',
      'error',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  m.proc.stderr!.resume();
}

/** Resolves once the member answers /health with a leader (a generous bound: etcd starting under load). */
export async function healthy(m: Member): Promise<void> {
  await eventually(
    async () => {
      // A refused connection (not listening yet) is retried; the last one is named on expiry.
      const r = await fetch(`http://127.0.0.1:${m.client}/health`);
      const j = (await r.json()) as { health?: string };
      return j.health === 'true';
    },
    `etcd member ${m.name} healthy`,
    { timeoutMs: 60_000, intervalMs: 100 },
  );
}

/** Stops a member: SIGTERM (graceful) or SIGKILL; resolves when it has exited. */
export async function stopMember(m: Member, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const p = m.proc;
  m.proc = null;
  if (p === null || p.exitCode !== null) return;
  const gone = new Promise((r) => p.once('exit', r));
  p.kill(signal);
  await gone;
}

/** Starts every member and waits for the cluster to be healthy. */
export async function startCluster(all: Member[]): Promise<void> {
  for (const m of all) startMember(m, all);
  await Promise.all(all.map(healthy));
}

export async function stopCluster(all: Member[]): Promise<void> {
  await Promise.all(all.map((m) => stopMember(m, 'SIGKILL')));
  rmSync(join(all[0]!.dir, '..'), { recursive: true, force: true });
}
