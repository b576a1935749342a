// An entity node for the safety checker (faults.ts), run inside a network-namespace test host.
// Environment: FN_NAME (node name, `name@address`), FN_ADDRESS, FN_PORT (its acceptor port, the
// same in every host: each host has its own network), FN_PEERS (`name=address` of every member,
// comma-separated: static routes, no registrar), FN_DB (the PostgreSQL URL: the server runs in a
// host of its own), FN_LOG (a file this node appends every runtime event to, one JSON line each,
// synchronously: what was appended before a kill -9 is on disk), FN_LEASE_MS, FN_RENEW_MS;
// FN_TAKEOVER=0 turns takeOverFromDeadMembers off.
// The entity kind is a ledger: a durable message `{ id }` appends its id to the state (so the
// checker sees each accepted message, and whether one was applied twice). Commands over IPC:
// `durable` (key, id), `dump` (keys: the stored state and inbox of each, read from the store),
// `members`, `stop`; answered `{ id, ok }` or `{ id, err, code }`.

import diagnostics from 'node:diagnostics_channel';
import { appendFileSync } from 'node:fs';

import { defineProtocol, schema, startNode } from 'ergo-ts';

import { ENTITIES_CHANNEL, Entity, PostgresStore, defineEntity, entity, startEntities } from '../src/index.js';
import { fixtureEnv, serveCommands, stopFixture } from './fixture_ipc.js';

const env = fixtureEnv('faults_node');

const LedgerProtocol = defineProtocol('ledger', {
  messages: { add: schema.object({ id: schema.string() }) },
  calls: { get: { request: schema.literal('get'), reply: schema.array(schema.string()) } },
});

class LedgerEntity extends Entity<typeof LedgerProtocol, { ids: string[] }> {
  override handleMessage(m: { id: string }): void {
    this.state = { ids: [...this.state.ids, m.id] };
  }
  override handleCall(_req: 'get'): string[] {
    return this.state.ids;
  }
}

/** The checker's entity kind (also used by faults.ts to name it). */
export const Ledger = defineEntity('ledger', {
  protocol: LedgerProtocol,
  entity: LedgerEntity,
  initialState: () => ({ ids: [] as string[] }),
  passivateAfterMs: 0,
});

if (process.env.FN_NAME !== undefined) {
  const logFile = env('FN_LOG');
  diagnostics.subscribe(ENTITIES_CHANNEL, (e) => appendFileSync(logFile, `${JSON.stringify(e)}\n`));

  const pgStore = await PostgresStore.open(env('FN_DB'), { connectTimeoutMs: 5000 }).catch((e: unknown) => {
    // Reported to the harness as an exit before ready, not as an unhandled rejection.
    console.error(`faults_node: the store cannot be opened: ${String(e)}`);
    process.exit(1);
  });
  // The store's operations in flight, for the harness's watchdog (`debug`): what this node waits for.
  const inFlight = new Map<number, { op: string; key: string; since: number }>();
  let opSeq = 0;
  const store = new Proxy(pgStore, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        const r = (v as (...a: unknown[]) => unknown).apply(target, args);
        if (!(r instanceof Promise)) return r;
        const n = ++opSeq;
        const a0 = args[0] as { key?: unknown } | string | undefined;
        inFlight.set(n, { op: String(prop), key: String(typeof a0 === 'object' ? a0?.key : a0), since: Date.now() });
        const done = (): void => void inFlight.delete(n);
        r.then(done, done);
        return r;
      };
    },
  });
  const port = Number(env('FN_PORT'));
  const V = { name: '', release: '' };
  const node = await startNode(env('FN_NAME'), {
    log: { level: 'error' },
    network: {
      cookie: 'entities-faults',
      acceptors: [{ host: env('FN_ADDRESS'), port }],
      registrar: null,
      // A silently partitioned peer is declared down once a call to it goes unanswered this long.
      peerStallTimeout: 1500,
    },
  });
  const members: string[] = [];
  for (const p of env('FN_PEERS').split(',')) {
    const [name, address] = p.split('=') as [string, string];
    members.push(name);
    if (name === node.name) continue;
    node
      .network()
      .addRoute(
        `^${name.replace(/[.@]/g, '\\$&')}$`,
        { route: { host: address, port, tls: false, handshakeVersion: V, protoVersion: V } },
        0,
      );
  }
  const entities = await startEntities(node, {
    store,
    kinds: [Ledger],
    members,
    leaseTtlMs: Number(env('FN_LEASE_MS')),
    renewIntervalMs: Number(env('FN_RENEW_MS')),
    probeIntervalMs: 100,
    takeOverFromDeadMembers: process.env.FN_TAKEOVER !== '0',
    // FN_LEASE_SCOPE=shard (passed through from the harness' environment) checks the shard-lease mode.
    leaseScope: process.env.FN_LEASE_SCOPE === 'shard' ? 'shard' : 'key',
  });

  interface Command {
    id: number;
    cmd: 'durable' | 'dump' | 'members' | 'debug' | 'stop';
    key?: string;
    msgId?: string;
    keys?: string[];
    timeout?: number;
  }

  const run = async (c: Command): Promise<unknown> => {
    switch (c.cmd) {
      case 'durable':
        return entities.sendDurable(entity(Ledger, c.key!), { id: c.msgId! }, c.msgId!, { timeout: c.timeout ?? 5000 });
      case 'dump': {
        const out: Record<string, { ids: string[]; version: number; inbox: string[] }> = {};
        for (const key of c.keys!) {
          const s = await store.load({ kind: 'ledger', key });
          const inbox = await store.inbox({ kind: 'ledger', key });
          out[key] = {
            ids: (s.state as { ids: string[] } | undefined)?.ids ?? [],
            version: s.version,
            inbox: inbox.map((m) => m.id),
          };
        }
        return out;
      }
      case 'members':
        return entities.members();
      case 'debug': {
        const now = Date.now();
        let connected: string[] = [];
        try {
          connected = node.network().nodes() as string[];
        } catch {
          // no network
        }
        return {
          members: entities.members(),
          connected,
          active: entities.active().map((a) => a.key),
          storeInFlight: [...inFlight.values()].map((o) => `${o.op}(${o.key}) ${now - o.since} ms`),
          handles: process.getActiveResourcesInfo().length,
        };
      }
      case 'stop':
        return stopFixture(entities, node, store);
    }
  };

  serveCommands(run);
}
