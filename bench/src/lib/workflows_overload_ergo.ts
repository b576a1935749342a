// ergo-ts' column of the workflows overload suite: three members (net/workflows_overload_member.ts),
// each an OS process, on one PostgreSQL store, and a client-only API node (`role: 'client'`) in the
// bench child that starts every workflow and awaits its result — issue 89's and 95's deployment
// (an API tier in front of three members). Every runtime option is the default a user gets: no
// queue limits, the start's default timeout; a start that fails is counted by its code and never
// sent again (lib/workflows_open_loop.ts).
//
// The members' stdout and stderr (their node logs at 'warning') go to a file each, read by the
// order row to count step attempts that failed and those that sent no heartbeat.

import { fork, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { startNode } from 'ergo-ts';
import { PostgresStore, startEntities } from '@ergo-ts/entities';
import type { Pool } from 'pg';

import { Refused, type OverloadTarget } from './workflows_open_loop.js';
import { freePort } from './workflows_engine.js';
import { Load, Order } from '../net/workflows_overload_kinds.js';

const MEMBER = join(dirname(fileURLToPath(import.meta.url)), '..', 'net', 'workflows_overload_member.js');

/** How many members the cluster has (issue 89's and 95's three). */
export const MEMBERS = 3;

/** One member process, its log file, and a promise of its exit. */
interface Member {
  child: ChildProcess;
  log: string;
  ready: Promise<void>;
  exited: Promise<void>;
}

/** Forks one member with its output to `log`; `ready` resolves at its `{ ready: true }`. */
function forkMember(env: NodeJS.ProcessEnv, log: string): Member {
  const fd = openSync(log, 'a');
  const child = fork(MEMBER, [], {
    execArgv: ['--no-deprecation'],
    stdio: ['ignore', fd, fd, 'ipc'],
    env: { ...process.env, ...env },
  });
  closeSync(fd);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const ready = new Promise<void>((res, rej) => {
    child.once('message', () => res());
    child.once('exit', (code, signal) => rej(new Error(`overload member exited (${code ?? signal}); its log: ${log}`)));
  });
  ready.catch(() => {});
  return { child, log, ready, exited };
}

/**
 * Starts the three members and the API node on the store at `url` (tables prefixed per run), the
 * steps writing to `effects`, a pool on `effectsUrl` (by default the store's own database; the
 * failover row keeps it apart, so only the store fails over); `dir` holds the members' logs.
 */
export async function startErgoOverload(
  url: string,
  effects: Pool,
  dir: string,
  effectsUrl = url,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<OverloadTarget> {
  const tag = `${process.pid}`;
  const names = Array.from({ length: MEMBERS }, (_, i) => `wfo${String.fromCharCode(97 + i)}${tag}@localhost`);
  const apiName = `wfoapi${tag}@localhost`;
  const ports: number[] = [];
  for (let i = 0; i <= MEMBERS; i++) ports.push(await freePort());
  const routes = [...names, apiName].map((n, i) => `${n}=${ports[i]}`).join(',');
  const prefix = `wfo${tag}_`;
  const members = names.map((n, i) =>
    forkMember(
      {
        WF_PG_URL: url,
        WF_EFFECTS_URL: effectsUrl,
        ERGO_NAME: n,
        ERGO_PORT: String(ports[i]),
        ERGO_PREFIX: prefix,
        ERGO_MEMBERS: names.join(','),
        ERGO_ROUTES: routes,
        ...extraEnv,
      },
      join(dir, `member-${i}.log`),
    ),
  );
  const stopMembers = async (): Promise<void> => {
    for (const m of members) if (m.child.connected) m.child.disconnect();
    const killer = setTimeout(() => {
      for (const m of members) if (m.child.exitCode === null && m.child.signalCode === null) m.child.kill('SIGKILL');
    }, 15_000);
    await Promise.all(members.map((m) => m.exited));
    clearTimeout(killer);
  };
  try {
    await Promise.all(members.map((m) => m.ready));
  } catch (e) {
    await stopMembers();
    throw e;
  }

  // The API node: in this process, so the client's clock is the figures' clock.
  const v = { name: '', release: '' };
  const apiRoutes = names.map((n, i) => ({
    match: n.replace(/\./g, '\\.'),
    route: { route: { host: '127.0.0.1', port: ports[i]!, tls: false, handshakeVersion: v, protoVersion: v } },
  }));
  const store = await PostgresStore.open(url, { tablePrefix: prefix });
  const node = await startNode(apiName, {
    network: { cookie: 'bench', registrar: null, acceptors: [{ port: ports[MEMBERS]! }], routes: apiRoutes },
    log: { defaultLogger: { disable: true } },
  });
  const api = await startEntities(node, { store, kinds: [Load, Order], members: names, role: 'client' });
  const seen = Date.now() + 60_000;
  while (api.members().length < MEMBERS) {
    if (Date.now() > seen) throw new Error(`the API node saw ${api.members().length} of ${MEMBERS} members in 60 s`);
    await new Promise((r) => setTimeout(r, 50));
  }

  /** Starts with the defaults (a refusal is a Refused), then awaits the result. */
  const started = async <T>(start: () => Promise<T>): Promise<T> => {
    try {
      return await start();
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      throw new Refused(typeof code === 'string' ? code : 'start failed', (e as Error).message);
    }
  };
  return {
    what: `ergo-ts workflows: ${MEMBERS} member processes + a client-only API node (the bench child) on PostgreSQL 15 fsync on, every option at its default`,
    effects,
    async load(t, id) {
      const h = await started(() => api.workflows.start(Load, id, { tag: t }));
      await h.result();
    },
    async order(t, id) {
      const h = await started(() =>
        api.workflows.start(
          Order,
          id,
          { tag: t, sku: 'book', cents: 1200 },
          { signal: { name: 'confirm', payload: { by: 'api' }, id: `confirm-${id}` } },
        ),
      );
      await h.result();
    },
    memberLogs: () => members.flatMap((m) => readFileSync(m.log, 'utf8').split('\n')),
    killMember(i) {
      members[i]?.child.kill('SIGKILL');
    },
    async close() {
      await api.stop();
      await node.stop();
      await store.close();
      await stopMembers();
    },
  };
}
