// An entity node for the safety checker (faults.ts), run inside a network-namespace test host.
// Environment: FN_NAME (node name, `name@address`), FN_ADDRESS, FN_PORT (its acceptor port, the
// same in every host: each host has its own network), FN_PEERS (`name=address` of every member,
// comma-separated: static routes, no registrar), FN_DB (the PostgreSQL URL: the server runs in a
// host of its own), FN_LOG (a file this node appends every runtime event to, one JSON line each,
// synchronously: what was appended before a kill -9 is on disk), FN_LEASE_MS, FN_RENEW_MS;
// FN_TAKEOVER=0 turns takeOverFromDeadMembers off; FN_MAX_STEPS sets maxConcurrentSteps; FN_STALL_MS sets peerStallTimeout (default 1500).
// The entity kinds are faults_kinds.ts's (a state-mode ledger, an event-sourced ledger, both
// with reminders, and a durable state machine). FN_DB is a postgres:// URL, or a SQLite file
// path (the file system is shared by every test host). Commands over IPC: `durable` (kind, key,
// msg, msgId), `status` (a flow key's state and data), `inbox` (kind, key: the ids in its inbox), `dump` (kind, keys: each ledger key's
// applied ids, reminder fires, version and inbox, read from the store), `members`, `lease`
// (kind, key: the store's lease row), `debug`, `stop`; answered `{ id, ok }` or `{ id, err, code }`. The workflow checker's (wf_faults.ts):
// `wfstart` (wf, key, input), `wfsignal` (key, sid: a signal `item` with that id; wf `wfcan` or, by default, `wfsignals`; `confirm` of `wforder`), `wfupdate`
// (key, uid: an update `add` of `wfupd` with that id: its answer), `wfindex` (wf: its state index rows and counts), `wfcancel`
// (wf, key), `wfresult` (wf, key: the outcome `result()` answers), `wfresume` (wf, key), `wfsched`
// (op create/pause/describe: the schedule of wf_faults_schedule.ts), `wfdump`
// (wf, keys: each instance's record, read from the store); its workflows (wf_faults_kinds.ts, the
// saga's body version FN_WF_VERSION, default 1) deliver their effects to the sink file FN_SINK.
// Each log line carries `at`, the time it was written (epoch ms).

import diagnostics from 'node:diagnostics_channel';
import { appendFileSync } from 'node:fs';

import { startNode, type AnyProtocol } from 'ergo-ts';

import { ENTITIES_CHANNEL, PostgresStore, SqliteStore, entity, startEntities, type EntityStore } from '../src/index.js';
import { EsLedger, Flow, Ledger, type FireRecord, type LedgerState } from './faults_kinds.js';
import { fixtureEnv, serveCommands, stopFixture } from './fixture_ipc.js';
import { WfCan, WfOrder, WfSignals, WfUpd, wfKinds, type WfName } from './wf_faults_kinds.js';
import { SCHEDULE_ID, SCHEDULE_KINDS, WfTick, scheduleOptions } from './wf_faults_schedule.js';

const env = fixtureEnv('faults_node');

/** What `dump` reports of one ledger key. */
export interface LedgerDump {
  ids: string[];
  fired: FireRecord[];
  version: number;
  inbox: string[];
  /** The message ids whose reminder fires wait in the inbox (accepted, not yet handled). */
  inboxFires: string[];
}

if (process.env.FN_NAME !== undefined) {
  const logFile = env('FN_LOG');
  diagnostics.subscribe(ENTITIES_CHANNEL, (e) =>
    appendFileSync(logFile, `${JSON.stringify({ ...(e as object), at: Date.now() })}\n`),
  );

  const db = env('FN_DB');
  const opened: Promise<EntityStore> = db.startsWith('postgres')
    ? PostgresStore.open(db, { connectTimeoutMs: 5000 })
    : Promise.resolve().then(() => SqliteStore.open(db));
  const pgStore = await opened.catch((e: unknown) => {
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
    // FN_LOG_LEVEL (passed through from the harness' environment): e.g. warning, to see lease losses.
    log: { level: (process.env.FN_LOG_LEVEL as 'warning' | undefined) ?? 'error' },
    network: {
      cookie: 'entities-faults',
      acceptors: [{ host: env('FN_ADDRESS'), port }],
      registrar: null,
      // A silently partitioned peer is declared down once a call to it goes unanswered this long.
      peerStallTimeout: Number(process.env.FN_STALL_MS || 1500),
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
  // The saga's body version (a rolling deploy restarts members onto a newer one).
  const WF_KINDS = wfKinds(Number(process.env.FN_WF_VERSION || 1));
  const wfKind = (wf: Command['wf']): (typeof WF_KINDS)[number] => WF_KINDS.find((k) => k.name === wf) ?? WF_KINDS[0];
  const entities = await startEntities(node, {
    store,
    kinds: [Ledger, EsLedger, Flow, ...WF_KINDS, ...SCHEDULE_KINDS],
    members,
    leaseTtlMs: Number(env('FN_LEASE_MS')),
    renewIntervalMs: Number(env('FN_RENEW_MS')),
    probeIntervalMs: 100,
    takeOverFromDeadMembers: process.env.FN_TAKEOVER !== '0',
    // FN_MAX_STEPS: the member's concurrent step attempts (the checker's overload mode sets it low,
    // so its offered load meets the step line and the refusals of a full one); unset, the default.
    ...(process.env.FN_MAX_STEPS ? { maxConcurrentSteps: Number(process.env.FN_MAX_STEPS) } : {}),
    // FN_LEASE_SCOPE=key|shard (passed through from the harness' environment) picks the lease
    // scope; unset, the runtime's default (a lease per shard).
    ...(process.env.FN_LEASE_SCOPE === 'key' || process.env.FN_LEASE_SCOPE === 'shard'
      ? { leaseScope: process.env.FN_LEASE_SCOPE }
      : {}),
    // FN_REJOIN_MS (passed through likewise): the runtime's rejoinStableMs; unset, its default.
    ...(process.env.FN_REJOIN_MS ? { rejoinStableMs: Number(process.env.FN_REJOIN_MS) } : {}),
  });

  interface Command {
    id: number;
    cmd:
      | 'durable'
      | 'status'
      | 'inbox'
      | 'dump'
      | 'members'
      | 'lease'
      | 'debug'
      | 'stop'
      | 'wfstart'
      | 'wfsignal'
      | 'wfupdate'
      | 'wfindex'
      | 'wfcancel'
      | 'wfresult'
      | 'wfresume'
      | 'wfdump'
      | 'wfsched';
    kind?: 'ledger' | 'esledger' | 'flow' | '~shard';
    wf?: WfName | 'wfchild';
    input?: unknown;
    sid?: string;
    uid?: string;
    key?: string;
    msg?: unknown;
    msgId?: string;
    keys?: string[];
    timeout?: number;
    /** wfsched (wf_faults_schedule.ts): create (from `startAt`), pause or describe the checker's schedule. */
    op?: 'create' | 'pause' | 'describe';
    startAt?: number;
  }

  // Untyped on purpose: the harness sends each kind's messages as data.
  const kindOf = (k: Command['kind']): { readonly name: string; readonly protocol: AnyProtocol } =>
    k === 'esledger' ? EsLedger : k === 'flow' ? Flow : Ledger;

  const dumpKey = async (kind: 'ledger' | 'esledger', key: string): Promise<LedgerDump> => {
    const id = { kind, key };
    const entries = await store.inbox(id);
    const inbox = entries.map((m) => m.id);
    const inboxFires = entries.flatMap((m) => {
      const p = (m.message as { '~entity'?: string; payload?: { id?: string } }).payload;
      return (m.message as { '~entity'?: string })['~entity'] === 'reminder' && typeof p?.id === 'string' ? [p.id] : [];
    });
    if (kind === 'ledger') {
      const s = await store.load(id);
      const st = (s.state as LedgerState | undefined) ?? { ids: [], fired: [] };
      return { ids: [...st.ids], fired: [...st.fired], version: s.version, inbox, inboxFires };
    }
    // The journal itself, every event from the first (not the snapshot's fold): an event stored
    // twice shows as an id twice.
    const events = await store.events(id, 0);
    const out: LedgerDump = { ids: [], fired: [], version: 0, inbox, inboxFires };
    for (const e of events) {
      const ev = e.event as { type: string; id: string } & FireRecord;
      if (ev.type === 'added') out.ids.push(ev.id);
      else out.fired.push({ id: ev.id, fireId: ev.fireId, scheduledAt: ev.scheduledAt, firedAt: ev.firedAt });
      if (e.version !== out.version + 1) out.ids.push(`~gap before version ${e.version}`);
      out.version = e.version;
    }
    return out;
  };

  const run = async (c: Command): Promise<unknown> => {
    switch (c.cmd) {
      case 'durable':
        return entities.sendDurable(entity(kindOf(c.kind), c.key!), (c.msg ?? { id: c.msgId! }) as never, c.msgId!, {
          timeout: c.timeout ?? 5000,
        });
      case 'status':
        return entities.call(entity(Flow, c.key!), 'status', { timeout: c.timeout ?? 5000 });
      case 'inbox':
        return (await store.inbox({ kind: c.kind!, key: c.key! })).map((m) => m.id);
      case 'dump': {
        const out: Record<string, LedgerDump> = {};
        for (const key of c.keys!) out[key] = await dumpKey(c.kind === 'esledger' ? 'esledger' : 'ledger', key);
        return out;
      }
      case 'wfstart': {
        const h = await entities.workflows.start(wfKind(c.wf), c.key!, c.input as never, {
          timeout: c.timeout ?? 5000,
        });
        return h.created;
      }
      case 'wfcancel':
        return entities.workflows.handle(wfKind(c.wf), c.key!).cancel('the checker', { timeout: c.timeout ?? 5000 });
      case 'wfresult':
        // The outcome as a caller sees it: the output, or the error code it rejects with.
        return entities.workflows
          .handle(wfKind(c.wf), c.key!)
          .result({ timeout: c.timeout ?? 5000 })
          .then(
            (output: unknown) => ({ status: 'completed', output }),
            (e: unknown) => {
              const code = (e as { code?: unknown }).code;
              if (code === 'ERR_WORKFLOW_CANCELLED') return { status: 'cancelled' };
              if (code === 'ERR_WORKFLOW_FAILED') return { status: 'failed' };
              throw e;
            },
          );
      case 'wfresume':
        return entities.workflows.handle(wfKind(c.wf), c.key!).resume({ timeout: c.timeout ?? 5000 });
      case 'wfsignal':
        if (c.wf === 'wforder')
          return entities.workflows
            .handle(WfOrder, c.key!)
            .signal('confirm', { sid: c.sid! }, { id: c.sid!, timeout: c.timeout ?? 5000 });
        return entities.workflows
          .handle(c.wf === 'wfcan' ? WfCan : WfSignals, c.key!)
          .signal('item', { sid: c.sid! }, { id: c.sid!, timeout: c.timeout ?? 5000 });
      case 'wfupdate':
        // The answer, the same for every ask of one update id (docs/workflows.md, Updates).
        return entities.workflows
          .handle(WfUpd, c.key!)
          .update('add', { uid: c.uid! }, { updateId: c.uid!, timeoutMs: c.timeout ?? 5000 });
      case 'wfindex': {
        // Every index row of kind `wf` (the store's state index, page by page) and its counts per status.
        const idx = store.stateIndex;
        if (idx === undefined) throw new Error('the store has no state index');
        const rows: Record<string, { status: string; started: number; ended?: number; attributes?: unknown }> = {};
        let after: { started: number; kind: string; key: string } | undefined;
        for (;;) {
          const page = await idx.search({ kind: c.wf!, limit: 1000, ...(after === undefined ? {} : { after }) });
          for (const r of page)
            rows[r.key] = {
              status: r.status,
              started: r.started,
              ...(r.ended === undefined ? {} : { ended: r.ended }),
              ...(r.attributes === undefined ? {} : { attributes: r.attributes }),
            };
          if (page.length < 1000) break;
          const last = page[page.length - 1]!;
          after = { started: last.started, kind: last.kind, key: last.key };
        }
        return { rows, counts: await idx.count({ kind: c.wf! }) };
      }
      case 'wfsched': {
        const sc = entities.workflows.schedules;
        if (c.op === 'create')
          return sc.create(WfTick, SCHEDULE_ID, { ...scheduleOptions(c.startAt!), timeout: c.timeout ?? 5000 });
        if (c.op === 'pause') return sc.pause(SCHEDULE_ID, 'the checker checks');
        return sc.describe(SCHEDULE_ID, { timeout: c.timeout ?? 5000 });
      }
      case 'wfdump': {
        // Twenty loads at once: one after another, a dump of thousands of instances (the overload
        // mode's offered sagas) took minutes on a member whose pool the load keeps busy.
        const out: Record<string, unknown> = {};
        const keys = c.keys!;
        for (let i = 0; i < keys.length; i += 20) {
          const part = keys.slice(i, i + 20);
          const states = await Promise.all(part.map((key) => store.load({ kind: c.wf!, key })));
          part.forEach((key, j) => (out[key] = states[j]!.state ?? null));
        }
        return out;
      }
      case 'members':
        return entities.members();
      case 'lease':
        return (await store.lease({ kind: c.kind!, key: c.key! })) ?? null;
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
