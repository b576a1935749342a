// The second OS process of the entities bench (suites/entities.ts): an ergo-ts node with the
// entities runtime and an `echo` actor, sharing the store with the bench process (ENT_DB: a SQLite
// file or a postgres:// URL). ENT_NAME is its node name, ENT_PEER the bench node's name and
// ENT_PEER_PORT its acceptor port (a static route: no registrar). Reports `{ kind: 'ready', port }`
// over IPC; exits when IPC closes.

import { Actor, startNode, type PID, type Ref } from 'ergo-ts';
import { acceptorPort } from '../lib/routes.js';
import { PostgresStore, SqliteStore, startEntities, type EntityStore } from '@ergo-ts/entities';

import { BenchCounter } from './entities_kind.js';

class Echo extends Actor {
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    return request;
  }
}

const db = process.env.ENT_DB!;
const store: EntityStore = db.startsWith('postgres://') ? await PostgresStore.open(db) : SqliteStore.open(db);
const v = { name: '', release: '' };
const node = await startNode(process.env.ENT_NAME!, {
  network: {
    cookie: 'bench',
    registrar: null,
    acceptors: [{ port: 0 }],
    routes: [
      {
        match: process.env.ENT_PEER!.replace(/\./g, '\\.'),
        route: {
          route: {
            host: '127.0.0.1',
            port: Number(process.env.ENT_PEER_PORT),
            tls: false,
            handshakeVersion: v,
            protoVersion: v,
          },
        },
      },
    ],
  },
  log: { defaultLogger: { disable: true } },
});
await node.spawnRegister('echo', Echo);
const entities = await startEntities(node, {
  store,
  kinds: [BenchCounter],
  members: [node.name, process.env.ENT_PEER!],
  probeIntervalMs: 100,
});
process.on('disconnect', () => {
  void (async () => {
    await entities.stop();
    await node.stop();
    await store.close();
    process.exit(0);
  })();
});
process.send!({ kind: 'ready', port: acceptorPort(node) });
