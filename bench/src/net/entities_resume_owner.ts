// The member the resume row kills (lib/entities_resume.ts): an ergo-ts node with the entities
// runtime (the resume row's order kind) in its own OS process, sharing the PostgreSQL store with
// the bench process, which is the other member. ENT_DB is the database URL, ENT_PREFIX the
// store's table prefix, ENT_NAME this node's name, ENT_PEER the bench node's name and
// ENT_PEER_PORT its acceptor port (a static route: no registrar). Reports `{ kind: 'ready', port }`
// over IPC; the bench ends it with SIGKILL (or by closing IPC, when a round fails before the kill).

import { startNode } from 'ergo-ts';
import { acceptorPort } from '../lib/routes.js';
import { PostgresStore, startEntities } from '@ergo-ts/entities';

import { ResumeOrder } from './entities_order.js';

const store = await PostgresStore.open(process.env.ENT_DB!, { tablePrefix: process.env.ENT_PREFIX! });
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
// The members as a user deploying two would list them; every other option at its default.
const entities = await startEntities(node, {
  store,
  kinds: [ResumeOrder],
  members: [node.name, process.env.ENT_PEER!],
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
