// A node with the entities runtime in a child OS process, driven over IPC by the distributed
// tests (entities.dist.test.ts). Environment: ENT_NAME (node name), ENT_REGISTRAR (the embedded
// registrar's port), ENT_MEMBERS (comma-separated node names, or 'registrar'), ENT_DB (the SQLite
// file, shared by every node of the test: they run on one host; or a postgres:// URL, with
// ENT_PREFIX its tables), ENT_LEASE_MS, ENT_RENEW_MS, ENT_PASSIVATE_MS. Optional: ENT_ETCD (an etcd
// endpoint: the etcd registrar, cluster ENT_CLUSTER, instead of the embedded one); with
// ENT_MEMBERS=leader, a Leader actor ('members', cluster 'entities', bootstrap ENT_BOOTSTRAP:
// comma-separated node names) whose live peers are the members; ENT_FAULTY=1
// wraps the store: acquiring a key that starts with 'stall' waits until the 'unstall' command,
// the first write of a key that starts with 'flaky' fails as a dropped connection would, and after
// the 'hangwrites' command every write of a key that starts with 'hang' never settles (a message
// accepted into such a key's inbox stays there: entities.inbox.dist.test.ts).
// ENT_REJOIN_MS sets the runtime's rejoinStableMs (rejoin.ts).
// ENT_TAKEOVER=0 turns takeOverFromDeadMembers off; ENT_STALL_MS sets the network's
// peerStallTimeout (the heartbeat that declares a paused or cut-off peer down); ENT_LEASE_SCOPE
// the runtime's leaseScope; ENT_ROLE=client starts a client-only runtime (ENT_MEMBERS: the members);
// ENT_SIGNALS=1 turns the node's handleSignals on (SIGTERM: a graceful stop, then the process ends);
// ENT_SIGNALS=member: stopMemberOnSignals instead (one deadline; its report printed as a line).
// ENT_RETENTION=1 adds the retention kinds and WorkflowRetention (retention_kinds.ts: the 'retention' command);
// ENT_RETENTION_SETTINGS: the runtime's workflowRetention option as JSON.
// ENT_QUEUES: the runtime's workflowQueues option as JSON; WF_QDIR: where WfQueued (queue_kinds.ts) marks its attempts.
// The 'pause' command stops the process itself (SIGSTOP) once its answer is sent, at a known point:
// between event-loop turns, where no SqliteStore transaction is open (each runs synchronously
// inside one call), so the paused process holds no write lock of the shared file.
// It reports `{ kind: 'ready' }`, then every runtime event as `{ kind: 'event', event }`, and
// answers `{ id, cmd, ... }` with `{ id, ok }` or `{ id, err, code }`.

import diagnostics from 'node:diagnostics_channel';

import { Leader, ProcessID, startNode, type Atom, type LeaderOptions } from 'ergo-ts';
import { createEmbeddedRegistrar } from 'ergo-ts/net';

import {
  ENTITIES_CHANNEL,
  entity,
  startEntities,
  stopMemberOnSignals,
  WorkflowBatches,
  WorkflowRetention,
  WorkflowSchedules,
  type BatchStartOptions,
  type EntityStore,
  type ScheduleOptions,
  type WorkflowQueuesOptions,
  type RetentionSettings,
} from '../src/index.js';
import { WfBatchTarget } from './batch_kinds.js';
import { cartKind } from './cart.js';
import { counterKind } from './counter.js';
import { EsLedger } from './faults_kinds.js';
import { timerKind } from './timer_kind.js';
import { WfCan, WfHold, WfSteps, type CanInput, type HoldInput, type StepsInput } from './workflow_kinds.js';
import { WfCart, type CartInput } from './workflow_update_kinds.js';
import { WfTagged, type TaggedInput } from './search_workflows.js';
import { WfOrder, type OrderInput } from './workflow_select_kinds.js';
import { WfTally, type TallyInput } from './workflow_handler_kinds.js';
import { WfQueued, WfRouted, type QueuedInput, type RoutedInput } from './queue_kinds.js';
import { openStore } from './dist_helpers.js';
import { retentionCommand, WfRetLong, WfRetShort, type RetentionRequest } from './retention_kinds.js';
import { fixtureEnv, serveCommands, stopFixture, toParent } from './fixture_ipc.js';

const env = fixtureEnv('entity_node');

diagnostics.subscribe(ENTITIES_CHANNEL, (event) => toParent({ kind: 'event', event }));

const real = await openStore(env('ENT_DB'), process.env.ENT_PREFIX || undefined);
let unstall: () => void = () => undefined;
const unstalled = new Promise<void>((resolve) => (unstall = resolve));
const failed = new Set<string>();
let hanging = false;
/** The store with the faults ENT_FAULTY asks for (a real store underneath). */
const store: EntityStore =
  process.env.ENT_FAULTY !== '1'
    ? real
    : {
        name: real.name,
        renew: (...a) => real.renew(...a),
        release: (...a) => real.release(...a),
        load: (...a) => real.load(...a),
        events: (...a) => real.events(...a),
        enqueue: (...a) => real.enqueue(...a),
        inbox: (...a) => real.inbox(...a),
        processed: (...a) => real.processed(...a),
        pendingInbox: (limit) => real.pendingInbox!(limit),
        lease: (...a) => real.lease(...a),
        readJournal: (...a) => real.readJournal(...a),
        loadOffset: (...a) => real.loadOffset(...a),
        saveOffset: (...a) => real.saveOffset(...a),
        close: () => real.close(),
        acquire: async (r: Parameters<EntityStore['acquire']>[0]) => {
          if (r.key.startsWith('stall')) await unstalled;
          return real.acquire(r);
        },
        write: (r: Parameters<EntityStore['write']>[0]) => {
          if (hanging && r.key.startsWith('hang')) return new Promise<number>(() => undefined);
          if (r.key.startsWith('flaky') && !failed.has(r.key)) {
            failed.add(r.key);
            return Promise.reject(Object.assign(new Error('connection reset by peer'), { code: 'ECONNRESET' }));
          }
          return real.write(r);
        },
      };
const etcd = process.env.ENT_ETCD;
// @ergo-ts/etcd (with its etcd3 client) is loaded only by the etcd test's nodes: it adds about a
// third to the CPU of every other node's start, and the distributed tests start dozens of nodes.
const registrar =
  etcd === undefined || etcd === ''
    ? // Deadlines of 15 s (defaults: register reply 1 s, resolve 3 s): the registrar is not what these
      // tests are about, and on a loaded machine a reply already waiting lost to the timer after an
      // event-loop stall (a node's start failed: no register reply within 1000 ms).
      createEmbeddedRegistrar({
        port: Number(env('ENT_REGISTRAR')),
        retryInterval: 200,
        registerTimeout: 15_000,
        resolveTimeout: 15_000,
      })
    : (await import('@ergo-ts/etcd')).createEtcdRegistrar({
        cluster: env('ENT_CLUSTER'),
        endpoints: [etcd],
        leaseTTL: 2,
        retryInterval: 500,
        retryIntervalMax: 2000,
        requestTimeout: 2000,
        dialTimeout: 2000,
      });
const node = await startNode(env('ENT_NAME'), {
  // ENT_SIGNALS=1: SIGTERM / SIGINT stop the node gracefully, as a service's would (below: then the process ends).
  handleSignals: process.env.ENT_SIGNALS === '1',
  log: { level: 'warning' },
  network: {
    cookie: 'entities-dist',
    acceptors: [{ port: 0 }],
    ...(process.env.ENT_STALL_MS ? { peerStallTimeout: Number(process.env.ENT_STALL_MS) } : {}),
    registrar,
  },
});
/** The election member whose live peers are the entity members (ENT_MEMBERS=leader). */
class Members extends Leader {
  override init(bootstrap: ProcessID[]): LeaderOptions {
    return { clusterID: 'entities', bootstrap };
  }
}
const fromLeader = env('ENT_MEMBERS') === 'leader';
if (fromLeader) {
  const bootstrap = env('ENT_BOOTSTRAP')
    .split(',')
    .map((n) => new ProcessID('members' as Atom, n as Atom));
  await node.spawnRegister('members', () => new Members(), {}, bootstrap);
}
const kind = counterKind(Number(env('ENT_PASSIVATE_MS')));
/** The reminder tests' kind (entities.reminders.dist.test.ts), driven by the 'timer' command. */
const timer = timerKind(Number(env('ENT_PASSIVATE_MS')));
// The event-sourced kind beside it (commands with `kind: 'cart'`), snapshots every 4 events.
const cart = cartKind({ passivateAfterMs: Number(env('ENT_PASSIVATE_MS')), snapshotEvery: 4 });
const entities = await startEntities(node, {
  store,
  // EsLedger: the event-sourced kind with reminders (entities.eventsourced.reminders.dist.test.ts).
  // WorkflowBatches and its target: entities.workflows.batch.dist.test.ts.
  kinds: [
    kind,
    cart,
    timer,
    EsLedger,
    WfSteps,
    WfCan,
    WfHold,
    WfCart,
    WfTagged,
    WfOrder,
    WfTally,
    WfQueued,
    WfRouted,
    WorkflowBatches,
    WfBatchTarget,
    WorkflowSchedules,
    // ENT_RETENTION=1: the retention kill test's kinds with their sweeper (entities.workflows.retention.dist.test.ts).
    ...(process.env.ENT_RETENTION === '1' ? [WfRetShort, WfRetLong, WorkflowRetention] : []),
  ],
  // ENT_QUEUES: the workflow queues served and their limits, JSON (entities.workflows.queues.dist.test.ts).
  ...(process.env.ENT_QUEUES ? { workflowQueues: JSON.parse(process.env.ENT_QUEUES) as WorkflowQueuesOptions } : {}),
  // ENT_RETENTION_SETTINGS: the retention sweeper's settings, JSON (entities.workflows.retention.dist.test.ts).
  ...(process.env.ENT_RETENTION_SETTINGS
    ? { workflowRetention: JSON.parse(process.env.ENT_RETENTION_SETTINGS) as Partial<RetentionSettings> }
    : {}),
  members: fromLeader ? 'leader' : env('ENT_MEMBERS') === 'registrar' ? 'registrar' : env('ENT_MEMBERS').split(','),
  ...(fromLeader ? { leader: 'members' } : {}),
  leaseTtlMs: Number(env('ENT_LEASE_MS')),
  renewIntervalMs: Number(env('ENT_RENEW_MS')),
  probeIntervalMs: 100,
  takeOverFromDeadMembers: process.env.ENT_TAKEOVER !== '0',
  ...(process.env.ENT_REJOIN_MS ? { rejoinStableMs: Number(process.env.ENT_REJOIN_MS) } : {}),
  ...(process.env.ENT_ROLE === 'client' ? { role: 'client' as const } : {}),
  ...(process.env.ENT_LEASE_SCOPE === 'shard' || process.env.ENT_LEASE_SCOPE === 'key'
    ? { leaseScope: process.env.ENT_LEASE_SCOPE }
    : {}),
});

interface Command {
  id: number;
  cmd:
    | 'call'
    | 'timer'
    | 'durable'
    | 'members'
    | 'local'
    | 'stop'
    | 'nodestop'
    | 'drain'
    | 'stats'
    | 'unstall'
    | 'hangwrites'
    | 'wfstart'
    | 'wftagstart'
    | 'batchtarget'
    | 'batchstart'
    | 'batchdescribe'
    | 'wfresult'
    | 'wfdescribe'
    | 'wfsignal'
    | 'wfupdate'
    | 'wfqueue'
    | 'pause'
    | 'schedule'
    | 'retention';
  key?: string;
  req?: unknown;
  msgId?: string;
  /** The call's timeout, in ms (default 20 000). */
  timeout?: number;
  kind?: 'cart' | 'esledger' | 'wfcart' | 'wforder' | 'wftally';
  /** The workflow of the wf commands (default wfsteps; wfcan: continue-as-new, workflow_kinds.ts). */
  wf?: 'wfcan' | 'wforder' | 'wfqueued' | 'wfrouted' | 'wfhold' | 'wftally';
}

async function run(c: Command): Promise<unknown> {
  switch (c.cmd) {
    case 'call':
      if (c.kind === 'esledger')
        return entities.call(entity(EsLedger, c.key!), 'get', { timeout: c.timeout ?? 20_000 });
      if (c.kind === 'cart')
        return entities.call(entity(cart, c.key!), c.req as 'items', { timeout: c.timeout ?? 20_000 });
      return entities.call(entity(kind, c.key!), c.req as 'get', { timeout: c.timeout ?? 20_000 });
    case 'timer':
      return entities.call(entity(timer, c.key!), c.req as 'fired', { timeout: 20_000 });
    case 'durable':
      if (c.kind === 'esledger')
        return entities.sendDurable(entity(EsLedger, c.key!), c.req as { id: string }, c.msgId!, { timeout: 20_000 });
      if (c.kind === 'cart')
        return entities.sendDurable(entity(cart, c.key!), c.req as { add: string; qty: number }, c.msgId!, {
          timeout: 20_000,
        });
      return entities.sendDurable(entity(kind, c.key!), c.req as { add: number }, c.msgId!, { timeout: 20_000 });
    case 'wfstart':
      if (c.wf === 'wfrouted')
        return (await entities.workflows.start(WfRouted, c.key!, c.req as RoutedInput, { timeout: 20_000 })).created;
      if (c.wf === 'wfqueued')
        return (await entities.workflows.start(WfQueued, c.key!, c.req as QueuedInput, { timeout: 20_000 })).created;
      if (c.wf === 'wfhold')
        return (await entities.workflows.start(WfHold, c.key!, c.req as HoldInput, { timeout: c.timeout ?? 20_000 }))
          .created;
      if (c.wf === 'wfcan')
        return (await entities.workflows.start(WfCan, c.key!, c.req as CanInput, { timeout: 20_000 })).created;
      if (c.kind === 'wfcart')
        return (await entities.workflows.start(WfCart, c.key!, c.req as CartInput, { timeout: 20_000 })).created;
      if (c.kind === 'wforder')
        return (await entities.workflows.start(WfOrder, c.key!, c.req as OrderInput, { timeout: 20_000 })).created;
      if (c.kind === 'wftally')
        return (await entities.workflows.start(WfTally, c.key!, c.req as TallyInput, { timeout: 20_000 })).created;
      return (await entities.workflows.start(WfSteps, c.key!, c.req as StepsInput, { timeout: 20_000 })).created;
    case 'wfqueue':
      return entities.workflows.queue(c.key!).waiting();
    case 'batchtarget':
      return (await entities.workflows.start(WfBatchTarget, c.key!, c.req as { group: string }, { timeout: 20_000 }))
        .created;
    case 'batchstart':
      return entities.workflows.batch.start(c.req as BatchStartOptions);
    case 'batchdescribe':
      return entities.workflows.batch.describe(c.key!);
    case 'wftagstart':
      return (await entities.workflows.start(WfTagged, c.key!, c.req as TaggedInput, { timeout: 20_000 })).created;
    case 'wfresult':
      return entities.workflows.handleOf(c.wf ?? 'wfsteps', c.key!).result({ timeout: c.timeout ?? 60_000 });
    case 'wfdescribe':
      if (c.kind === 'wfcart') return entities.workflows.handle(WfCart, c.key!).describe({ timeout: 20_000 });
      return entities.workflows.handleOf(c.wf ?? 'wfsteps', c.key!).describe({ timeout: 20_000 });
    case 'wfsignal':
      if (c.kind === 'wftally') {
        // WfTally (entities.workflows.handlers.dist.test.ts): `req` is { name, payload }.
        const s = c.req as { name: 'add' | 'stop'; payload: number };
        return entities.workflows
          .handle(WfTally, c.key!)
          .signal(s.name, s.payload, { id: c.msgId!, timeout: c.timeout ?? 20_000 });
      }
      if (c.kind === 'wforder')
        return entities.workflows
          .handle(WfOrder, c.key!)
          .signal('confirm', c.req as { by: string }, { id: c.msgId!, timeout: c.timeout ?? 20_000 });
      return entities.workflows
        .handle(WfCan, c.key!)
        .signal('tick', c.req as number, { id: c.msgId!, timeout: 20_000 });
    case 'wfupdate': {
      if (c.kind === 'wftally') {
        const u = c.req as { n: number; updateId: string };
        return entities.workflows
          .handle(WfTally, c.key!)
          .update('slow', { n: u.n }, { updateId: u.updateId, timeoutMs: c.timeout ?? 60_000 });
      }
      if (c.kind === 'wforder') {
        // WfOrder's changeAddress (entities.workflows.select.dist.test.ts): asked until answered.
        const u = c.req as { address: string; updateId: string };
        return entities.workflows
          .handle(WfOrder, c.key!)
          .update('changeAddress', { address: u.address }, { updateId: u.updateId, timeoutMs: c.timeout ?? 60_000 });
      }
      // An update of WfCart (entities.workflows.updates.dist.test.ts): its answer, or its error's code.
      const u = c.req as { name: 'add'; input: { sku: string; qty: number }; updateId: string };
      return entities.workflows.handle(WfCart, c.key!).update(u.name, u.input, {
        updateId: u.updateId,
        timeoutMs: c.timeout ?? 60_000,
      });
    }
    case 'schedule': {
      // A schedule of WfTagged (entities.workflows.schedules.dist.test.ts): `req` is { op, args }.
      const { op, args } = c.req as { op: string; args: unknown[] };
      const s = entities.workflows.schedules;
      if (op === 'create') return s.create(WfTagged, c.key!, args[0] as ScheduleOptions<typeof WfTagged>);
      return (s as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[op]!.call(s, c.key!, ...args);
    }
    case 'retention':
      // entities.workflows.retention.dist.test.ts (retention_kinds.ts): `req` is the request.
      return retentionCommand(entities.workflows, c.req as RetentionRequest);
    case 'members':
      return entities.members();
    case 'stats':
      return entities.stats();
    case 'drain':
      await entities.drain();
      return 'drained';
    case 'unstall':
      unstall();
      return 'unstalled';
    case 'hangwrites':
      hanging = true;
      return 'hanging';
    case 'local':
      // Straight to this node's activation, bypassing routing (what a stale owner still serves).
      return node.call(new ProcessID(`~entity/counter/${c.key!}` as Atom, node.name), c.req, { timeout: 10_000 });
    case 'nodestop':
      // node.stop() alone: it stops the runtime's application first, which drains the runtime.
      return stopFixture(undefined, node, real);
    case 'stop':
      return stopFixture(entities, node, real);
    case 'pause':
      // Once the answer is written to the channel (the test then waits to see the process stopped).
      setImmediate(() => process.send!({ kind: 'pausing' }, () => process.kill(process.pid, 'SIGSTOP')));
      return 'pausing';
  }
}

serveCommands(run);

// ENT_SIGNALS=member: as docs/deploy.md says a member should (runtime, node, store within one
// deadline, then exit); the report is printed for the test to read, then the process ends.
if (process.env.ENT_SIGNALS === 'member')
  stopMemberOnSignals(
    { node, entities, store: real },
    {
      onStopped: (report) => console.log(`member stop report ${JSON.stringify(report)}`),
      exit: (code) => {
        if (process.connected) process.disconnect();
        process.exit(code);
      },
    },
  );

// Stopped by a signal (ENT_SIGNALS=1), the program ends as a service's does: once the node has
// stopped (its runtime drained), the store is closed and nothing keeps the process alive. (The
// 'stop' commands end it themselves.)
if (process.env.ENT_SIGNALS === '1') {
  let signalled = false;
  process.once('SIGTERM', () => (signalled = true));
  void node.wait().then(async () => {
    if (!signalled) return;
    // A store cut off from its server may not finish closing (PostgresStore.close waits for the
    // queries in flight, and so do its sockets): bounded, and the process ends as a service's must
    // (docs/deploy.md, "Stopping a member: SIGTERM within 10 s").
    await Promise.race([real.close(), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
    setImmediate(() => {
      process.disconnect();
      setTimeout(() => process.exit(0), 200).unref();
    });
  });
}
