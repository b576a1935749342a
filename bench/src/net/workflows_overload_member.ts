// One member of the overload suite's ergo-ts cluster (lib/workflows_overload_ergo.ts starts three
// and a client-only API node): the overload kinds (net/workflows_overload_kinds.ts) on the
// PostgreSQL store WF_PG_URL (table prefix ERGO_PREFIX), every runtime setting at its default, as a
// team deploying the package gets it. ERGO_NAME is this node's name, ERGO_PORT its acceptor port,
// ERGO_MEMBERS the members' names (comma-separated), ERGO_ROUTES every other node as name=port
// (the API node included: static routes, no registrar, as the workflows suite's members).
//
// The node logs at 'warning' to stdout, which the parent writes to a file: a step attempt's
// failure ("step ship attempt 3 failed: … sent no heartbeat for 5000 ms") is a warning, and the
// order row counts them there, as issue 95 counted them in its members' logs. With ERGO_STATS_MS
// (the failover row), it also prints every that many ms a line `stats <name> <epoch ms> <json>`: its
// workflow load, activations and store operations in flight, read back around a fault. Tells the parent
// `{ ready: true }` once it sees every member; exits when the parent closes the IPC channel.

import { startNode } from 'ergo-ts';
import { PostgresStore, startEntities } from '@ergo-ts/entities';

import { Load, Order, closeEffects } from './workflows_overload_kinds.js';

const name = process.env.ERGO_NAME!;
const members = process.env.ERGO_MEMBERS!.split(',');
const v = { name: '', release: '' };
const routes = process.env
  .ERGO_ROUTES!.split(',')
  .map((m) => m.split('='))
  .filter(([n]) => n !== name)
  .map(([n, port]) => ({
    match: n!.replace(/\./g, '\\.'),
    route: { route: { host: '127.0.0.1', port: Number(port), tls: false, handshakeVersion: v, protoVersion: v } },
  }));

const store = await PostgresStore.open(process.env.WF_PG_URL!, { tablePrefix: process.env.ERGO_PREFIX! });
const node = await startNode(name, {
  network: { cookie: 'bench', registrar: null, acceptors: [{ port: Number(process.env.ERGO_PORT) }], routes },
  log: { level: 'warning' },
});
const entities = await startEntities(node, { store, kinds: [Load, Order], members });
while (entities.members().length < members.length) await new Promise((r) => setTimeout(r, 50));

const statsMs = Number(process.env.ERGO_STATS_MS);
if (statsMs > 0) {
  // Epoch ms beside the monotonic clock in µs (a --cpu-prof profile's timeline), to place a fault in a profile.
  console.log(`clock ${name} ${Date.now()} ${process.hrtime.bigint() / 1000n}`);
  setInterval(() => {
    const s = entities.stats();
    const k = s.kinds['overload-load'];
    const line = {
      load: s.workflowLoad,
      active: k?.active,
      activations: k?.activations,
      stopped: k?.stopped,
      refused: k?.refused,
      handedOff: k?.handedOff,
      storeInFlight: s.storeInFlight,
      storeOldestMs: s.storeOldestInFlightMs,
      // Activations waiting for the store to answer again (runtime/store_health.ts).
      waitingForStore: s.activationsWaitingForStore,
      // Runs this member started and completed (since its start): what it did, whoever waited for it.
      started: s.workflows['overload-load']?.started,
      completed: s.workflows['overload-load']?.completed,
      remindersFired: s.reminders?.fired,
      remindersFailed: s.reminders?.failed,
      // Due wakes left standing by (their instance runs on this member: reminder_scheduler.ts).
      remindersStanding: s.reminders?.standingBy,
      // Per store operation: finished, their total seconds, failed (since the start).
      ops: Object.fromEntries(
        Object.entries(s.store).map(([op, o]) => [op, [o.count, Number(o.sum.toFixed(3)), o.errors]]),
      ),
    };
    console.log(`stats ${name} ${Date.now()} ${JSON.stringify(line)}`);
  }, statsMs).unref();
}

let stopping = false;
process.on('disconnect', () => {
  if (stopping) return;
  stopping = true;
  // A bounded stop: the row is over, what does not stop in 10 s is left to the kill.
  const hard = setTimeout(() => process.exit(0), 10_000);
  hard.unref();
  void (async () => {
    try {
      await entities.stop();
      await node.stop();
      await store.close();
      await closeEffects();
    } finally {
      process.exit(0);
    }
  })();
});
process.send!({ ready: true });
