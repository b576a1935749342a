// The kill -9 resume row, ergo-ts' side (the definition: lib/resume_row.ts). Per round: a fresh
// set of tables on the PostgreSQL server (a table prefix), the owner member in its own OS process
// (net/entities_resume_owner.ts) and the survivor member in this one, both with the order as a
// durable state machine (net/entities_order.ts, ResumeOrder) and every entities option at its
// default (takeOverFromDeadMembers: true, leaseTtlMs 10 s). On kill -9 the survivor sees the
// owner's connection close, declares it gone, takes each of its keys with the next fencing token
// when the key is next called or its reminder is due (without waiting out the lease), and
// activates the order from its stored state: its inbox replays, its payment window's reminder
// fires.

import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNode } from 'ergo-ts';
import { PostgresStore, entity, startEntities, type Entities } from '@ergo-ts/entities';

import { ResumeOrder, type ResumeOrderData } from '../net/entities_order.js';
import {
  POLL_MS,
  RETRY_MS,
  checkOutcomes,
  pause,
  reportResume,
  resumeRounds,
  roundFigures,
  slowPlacement,
  until,
  type OrderOutcome,
  type ResumeRow,
  type RoundFigures,
} from './resume_row.js';
import { acceptorPort } from './routes.js';
import type { Report, SuiteContext } from './types.js';

const OWNER = join(dirname(fileURLToPath(import.meta.url)), '..', 'net', 'entities_resume_owner.js');

/** What this side does on kill -9 (the row's note). */
const WHAT =
  "ergo-ts: two members (members list, defaults); the survivor takes the dead owner's keys at once (takeOverFromDeadMembers) with the next fencing token, replays their inboxes and fires their reminders";

type Status = { state: string; data: ResumeOrderData };

/** Calls `status`, retrying (a call during the takeover may fail) until `deadline`. */
async function status(entities: Entities, id: string, deadline: number): Promise<Status> {
  for (;;) {
    try {
      return (await entities.call(entity(ResumeOrder, id), 'status', { timeout: 10_000 })) as Status;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await pause(RETRY_MS);
    }
  }
}

/** A durable send, sent again with the same id until accepted (a send during the takeover may fail). */
async function sendDurable(
  entities: Entities,
  id: string,
  msg: { place: number } | { pay: string } | { ship: string },
  msgId: string,
  deadline: number,
): Promise<void> {
  for (;;) {
    try {
      await entities.sendDurable(entity(ResumeOrder, id), msg, msgId, { timeout: 10_000 });
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await pause(RETRY_MS);
    }
  }
}

async function round(r: ResumeRow, url: string, n: number): Promise<RoundFigures> {
  const tag = `${process.pid}_${n}`;
  const name = `resb${tag}@localhost`;
  const ownerName = `reso${tag}@localhost`;
  const prefix = `res${tag}_`;
  const node = await startNode(name, {
    network: { cookie: 'bench', registrar: null, acceptors: [{ port: 0 }] },
    log: { defaultLogger: { disable: true } },
  });
  const store = await PostgresStore.open(url, { tablePrefix: prefix });
  let owner: ChildProcess | undefined;
  let entities: Entities | undefined;
  try {
    owner = fork(OWNER, [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: {
        ...process.env,
        ENT_DB: url,
        ENT_PREFIX: prefix,
        ENT_NAME: ownerName,
        ENT_PEER: name,
        ENT_PEER_PORT: String(acceptorPort(node)),
      },
    });
    const exited = new Promise<void>((res) => owner!.once('exit', () => res()));
    const ready = await new Promise<{ port: number }>((res, rej) => {
      owner!.once('message', (m) => res(m as { port: number }));
      owner!.once('exit', (c) => rej(new Error(`the owner member exited (${String(c)}) before it was ready`)));
    });
    const v = { name: '', release: '' };
    node
      .network()
      .addRoute(
        ownerName.replace(/\./g, '\\.'),
        { route: { host: '127.0.0.1', port: ready.port, tls: false, handshakeVersion: v, protoVersion: v } },
        0,
      );
    const ents = await startEntities(node, { store, kinds: [ResumeOrder], members: [name, ownerName] });
    entities = ents;
    await until('both members to see each other', 60_000, async () => ents.members().length === 2, 50);

    // Orders the owner member owns.
    const ids: string[] = [];
    for (let k = 0; ids.length < r.paid + r.unpaid; k++) {
      const id = `o${tag}_${k}`;
      if (ents.ownerOf(entity(ResumeOrder, id)) === ownerName) ids.push(id);
    }
    const paid = ids.slice(0, r.paid);
    const unpaid = ids.slice(r.paid);
    const far = Date.now() + 120_000;
    await Promise.all(
      paid.map(async (id) => {
        await sendDurable(ents, id, { place: r.paidWindowMs }, `${id}/place`, far);
        await sendDurable(ents, id, { pay: 'card' }, `${id}/pay`, far);
        await until(`${id} paid`, 120_000, async () => (await status(ents, id, far)).state === 'paid');
      }),
    );
    // The unpaid orders last, their windows ending placeSlackMs from now: the kill comes marginMs
    // before the first of them ends.
    const window = r.placeSlackMs + r.marginMs;
    const dues = await Promise.all(
      unpaid.map(async (id) => {
        await sendDurable(ents, id, { place: window }, `${id}/place`, far);
        return until(`${id} placed`, 120_000, async () => {
          const s = await status(ents, id, far);
          return s.data.placed ? s.data.dueAt : undefined;
        });
      }),
    );
    const killAt = Math.min(...dues) - r.marginMs;
    if (Date.now() > killAt) throw slowPlacement(r.placeSlackMs);
    await new Promise((res) => setTimeout(res, killAt - Date.now()));

    const killedAt = Date.now();
    owner.kill('SIGKILL');
    const deadline = killedAt + r.deadlineMs;
    // The client goes on: each paid order's shipment, sent at the kill.
    await Promise.all(paid.map((id) => sendDurable(ents, id, { ship: 'trk' }, `${id}/ship`, deadline)));
    // Each order's final state (undefined: none within the deadline, a lost order).
    const final = async (id: string): Promise<Status | undefined> =>
      until(
        `${id} to resume`,
        Math.max(0, deadline - Date.now()),
        async () => {
          const s = await status(ents, id, deadline);
          return s.state === 'shipped' || s.state === 'cancelled' ? s : undefined;
        },
        POLL_MS,
      ).catch(() => undefined);
    const outcomes: OrderOutcome[] = await Promise.all(
      ids.map(async (id, k) => {
        const s = await final(id);
        return {
          id,
          kind: k < r.paid ? ('ship' as const) : ('timeout' as const),
          history: s?.data.history,
          at: s?.data.at ?? 0,
          by: s?.data.by ?? '',
          dueAt: s?.data.dueAt ?? 0,
        };
      }),
    );
    await exited;
    return roundFigures(outcomes, checkOutcomes(outcomes, killedAt, name, r.deadlineMs));
  } finally {
    if (owner !== undefined && owner.exitCode === null && owner.signalCode === null) owner.kill('SIGKILL');
    await entities?.stop();
    await node.stop();
    await store.close();
  }
}

/** Measures ergo-ts' resume after kill -9 (rounds of `ctx`, no warm-up: each round is a fresh pair). */
export async function measureResume(report: Report, ctx: SuiteContext, url: string, r: ResumeRow): Promise<void> {
  const rounds = await resumeRounds(ctx, r, (row, n) => round(row, url, n));
  reportResume(report, r, rounds, WHAT);
}
