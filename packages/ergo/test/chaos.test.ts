// Chaos: a seeded random workload on one node, then invariants. Each seed drives a population of
// actors (trap-exit on/off, sync and async handlers and inits, some with bounded mailboxes),
// supervisors of every type (restart strategies, keepOrder, significant children, child
// management calls), a pool (resized through high-priority calls) and applications, with random
// operations: spawn/spawnRegister (failing inits too), kill, exit signals with random reasons,
// links and monitors on PIDs, names, aliases and events (and their removal), sends with random
// priorities by PID/name/alias, calls (to dead or dying targets, deferred or never answered,
// short timeouts, AbortSignals), inspects, events (register/publish/unregister, notify, buffers),
// aliases, names (process- and node-level), process loggers, panics (throw and reject, non-Error
// values too), returned stop reasons, self-kills (zombee), application start/stop/stop-force.
// The operation sequence is a function of the seed (mulberry32); timers make the interleaving
// vary a little from run to run, so every check is an invariant, never an exact trace. Every
// assertion message starts with the seed. CHAOS_SEEDS / CHAOS_BASE / CHAOS_OPS / CHAOS_MS /
// CHAOS_DEBUG widen the run for exploration.
//
// Invariants:
// - at receipt: a down/trapped exit matches exactly one open relation the test recorded (none
//   after a successful demonitor/unlink, never twice), and its target has really ended;
// - between tasks, while everything runs: a live actor's relations (processInfo links*/monitors*),
//   aliases and events are exactly the ones the model recorded whose target still lives;
// - at quiescent points (no mail, no pending call or init, no handler running), additionally:
//   every monitor on an ended target produced exactly one down; a trapping actor received exactly
//   one exit per ended link plus one per exit signal sent to it; a non-trapping actor linked to an
//   ended target is dead; the process table, names, aliases, events, process loggers and
//   applications (state and members) match the model; every relation the engine keeps on a target
//   belongs to a live watcher, and both sides count the same relations;
// - after `stop()` (graceful, shutdownTimeout 30 s; for a third of the seeds called from inside an
//   actor that awaits it, for half of them right after awaiting a call): it resolved; processes,
//   names, aliases, calls, keyed relation hosts, events, pending inits and the run queue are empty;
//   every process that entered the table got exactly one terminate() and one terminate event
//   (processes whose init failed: none); every promise the test or its actors created settled,
//   rejections being ErgoErrors (or AbortError / the test's own reasons); no unhandled rejection or
//   uncaught exception. One more run keeps a handler and an init pending forever: stop() then
//   rejects with ErrTimeout after shutdownTimeout and the same end state holds.

import { strict as assert } from 'node:assert';
import diagnostics from 'node:diagnostics_channel';
import { describe, test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import {
  childSpec,
  ApplicationMode,
  ApplicationState,
  DIAGNOSTICS,
  LogLevel,
  MessagePriority,
  ProcessState,
  SupervisorStrategy,
  SupervisorType,
  createApplication,
  memberSpec,
  type Atom,
  type Node,
  type PID,
  type SupervisorSpec,
} from '../src/index.js';
import { keyedHostsOf } from '../src/node/internals.js';
import type { Relation } from '../src/node/targets.js';
import {
  ChaosActor,
  ChaosPool,
  ChaosSup,
  Hang,
  StopNode,
  SupCmd,
  randomCmd,
  randomReason,
  type ActorCfg,
} from './chaos_actors.js';
import { NAMES_REG, NAMES_TOP, World, delay, mulberry32 } from './chaos_world.js';
import { quietNode, trackUnhandled, turn } from './helpers.js';

// --- the driver ---------------------------------------------------------------------------------

let supSeq = 0;

function supSpec(w: World, rnd: () => number, type: number): { spec: SupervisorSpec; names: string[] } {
  const id = ++supSeq;
  const n = type === SupervisorType.SimpleOneForOne ? 1 : 2 + Math.floor(rnd() * 2);
  const names: string[] = [];
  const children = [];
  for (let i = 0; i < n; i++) {
    const name = `s${id}_${i}`;
    names.push(name);
    const cfg: ActorCfg = { trap: rnd() < 0.3, init: rnd() < 0.7 ? 'sync' : 'async', linkParent: true };
    children.push(childSpec({ name, factory: ChaosActor, args: [w, cfg], significant: i === 0 && rnd() < 0.2 }));
  }
  const strategy = [SupervisorStrategy.Transient, SupervisorStrategy.Temporary, SupervisorStrategy.Permanent][
    Math.floor(rnd() * 3)
  ]!;
  return {
    names,
    spec: {
      type: type as SupervisorSpec['type'],
      children,
      enableHandleChild: rnd() < 0.5,
      disableAutoShutdown: rnd() < 0.3,
      restart: { strategy, intensity: 2 + Math.floor(rnd() * 8), period: 1, keepOrder: rnd() < 0.5 },
    },
  };
}

const APPS = 3;

async function loadApps(w: World, node: Node, rnd: () => number): Promise<void> {
  for (let i = 0; i < APPS; i++) {
    const mode = [ApplicationMode.Temporary, ApplicationMode.Transient, ApplicationMode.Permanent][i % 3]!;
    const group = [];
    for (let j = 0; j < 2; j++) {
      const cfg: ActorCfg = { trap: rnd() < 0.3, init: rnd() < 0.6 ? 'sync' : 'async', linkParent: false };
      group.push(memberSpec({ name: `app${i}_${j}`, factory: ChaosActor, args: [w, cfg] }));
    }
    await node.applicationLoad(createApplication({ name: `app${i}`, mode, group }));
  }
}

function driverOp(w: World, node: Node, rnd: () => number): void {
  const x = rnd();
  try {
    if (x < 0.5) {
      // A command for an actor, by PID / name / alias / pool, with a random priority.
      const y = rnd();
      const to = y < 0.6 ? w.pickPid(rnd()) : y < 0.8 ? w.pickName(rnd()) : y < 0.93 ? w.pickAlias(rnd()) : w.pools[0];
      if (to === undefined) return;
      node.send(to, randomCmd(rnd, 2), { priority: Math.floor(rnd() * 3) as MessagePriority });
    } else if (x < 0.6) {
      const y = rnd();
      const to = y < 0.6 ? w.pickPid(rnd()) : y < 0.8 ? w.pickName(rnd()) : y < 0.93 ? w.pickAlias(rnd()) : w.pools[0];
      if (to === undefined) return;
      let signal: AbortSignal | undefined;
      if (rnd() < 0.3) {
        const ac = new AbortController();
        const t = Math.floor(rnd() * 40);
        if (t === 0) ac.abort();
        else setTimeout(() => ac.abort(), t);
        signal = ac.signal;
      }
      void w.track(
        node.call(to, randomCmd(rnd, 2), { timeout: 20 + Math.floor(rnd() * 120), signal }),
        `driver call ${String(to)}`,
      );
    } else if (x < 0.7) {
      if (w.alive.length > 60) return;
      const r = rnd();
      const cfg: ActorCfg = {
        trap: rnd() < 0.4,
        init: r < 0.6 ? 'sync' : r < 0.85 ? 'async' : r < 0.9 ? 'throw' : r < 0.95 ? 'return' : 'reject',
        linkParent: false,
      };
      const opts = rnd() < 0.25 ? { mailboxSize: 1 + Math.floor(rnd() * 4) } : {};
      const spawning =
        rnd() < 0.3
          ? node.spawnRegister(NAMES_TOP[Math.floor(rnd() * NAMES_TOP.length)]!, ChaosActor, opts, w, cfg)
          : node.spawn(ChaosActor, opts, w, cfg);
      void w.track(spawning, 'driver spawn');
    } else if (x < 0.75) {
      const pid = w.pickPid(rnd());
      if (pid !== undefined) node.kill(pid);
    } else if (x < 0.8) {
      const pid = w.pickPid(rnd());
      if (pid === undefined) return;
      node.sendExit(pid, randomReason(rnd()));
      w.countExit(w.sentExits, pid.toString(), node.pid.toString());
    } else if (x < 0.83) {
      const pid = w.pickPid(rnd());
      const name = NAMES_REG[Math.floor(rnd() * NAMES_REG.length)]!;
      if (pid === undefined) return;
      node.registerName(name, pid);
      w.names.set(name, { pid, gen: ++w.gen });
    } else if (x < 0.86) {
      const name = w.pickName(rnd());
      node.unregisterName(name);
      if (!w.names.has(name)) w.fail(`node.unregisterName(${name}) succeeded for a name the test did not know`);
      w.names.delete(name);
    } else if (x < 0.92) {
      const live = w.sups.filter((s) => w.isAlive(s.pid));
      if (live.length < 4 && rnd() < 0.5) {
        const type = Math.floor(rnd() * 4);
        const { spec, names } = supSpec(w, rnd, type);
        const register = rnd() < 0.3;
        const spawning = register
          ? node.spawnRegister(`sup${supSeq}`, ChaosSup, {}, w, spec)
          : node.spawn(ChaosSup, {}, w, spec);
        void w.track(spawning, 'driver spawn supervisor').then((pid) => {
          if (pid !== undefined) w.sups.push({ pid, type, names });
        });
        return;
      }
      if (live.length === 0) return;
      const s = live[Math.floor(rnd() * live.length)]!;
      const ops = ['start', 'start', 'disable', 'enable', 'children'] as const;
      void w.track(
        node.call(s.pid, new SupCmd(ops[Math.floor(rnd() * ops.length)]!, rnd()), { timeout: 200 }),
        'driver supervisor op',
      );
    } else if (x < 0.94) {
      if (w.pools.some((p) => w.isAlive(p))) {
        const p = w.pools.find((q) => w.isAlive(q))!;
        const y = rnd();
        if (y < 0.2) node.kill(p);
        else if (y < 0.5)
          void w.track(
            node.call(p, y < 0.4 ? 'add' : 'remove', { priority: MessagePriority.High, timeout: 300 }),
            'driver pool resize',
          );
        else node.send(p, randomCmd(rnd, 1));
        return;
      }
      w.pools.length = 0;
      void w
        .track(node.spawn(ChaosPool, {}, w, 2 + Math.floor(rnd() * 3), rnd() < 0.5), 'driver spawn pool')
        .then((pid) => {
          if (pid !== undefined) w.pools.push(pid);
        });
    } else if (x < 0.955) {
      // Process loggers: a live actor becomes one (or stops being one).
      const name = `lg${Math.floor(rnd() * 3)}`;
      if (rnd() < 0.6) {
        const pid = w.pickPid(rnd());
        if (pid === undefined || w.procs.get(pid.toString())?.chaos !== true) return;
        node.loggerAddPID(pid, name, ...(rnd() < 0.5 ? [] : [LogLevel.Error, LogLevel.Panic, LogLevel.Warning]));
        w.loggers.set(name, pid.toString());
      } else {
        node.loggerDelete(name);
        if (!w.loggers.has(name)) w.fail(`loggerDelete(${name}) succeeded for a logger the test did not add`);
        w.loggers.delete(name);
      }
    } else if (x < 0.97) {
      const app = `app${Math.floor(rnd() * APPS)}`;
      const y = rnd();
      if (y < 0.5) {
        const start =
          y < 0.2
            ? node.applicationStart(app)
            : y < 0.3
              ? node.applicationStartPermanent(app)
              : y < 0.4
                ? node.applicationStartTransient(app)
                : node.applicationStartTemporary(app);
        void w.track(start, `start ${app}`);
      } else if (y < 0.85) void w.track(node.applicationStopWithTimeout(app, 1000), `stop ${app}`);
      else void w.track(node.applicationStopForce(app), `stop-force ${app}`);
    } else {
      // While everything runs: a random live actor's relations, aliases and events match the model.
      const pid = w.pickPid(rnd() * 0.85);
      if (pid !== undefined && w.procs.get(pid.toString())?.chaos === true && w.engine.processes.has(pid.id))
        checkLive(w, pid, 'running', true);
    }
  } catch (e) {
    w.expectError(e, 'driver op');
  }
}

/** True when nothing is going on: no runnable or busy process, no pending call or promise. */
function idle(w: World): boolean {
  const n = w.engine;
  if (n.scheduler.length > 0 || w.inflight > 0 || n.calls.size > w.inspects || n.pendingInits.size > 0) return false;
  for (const p of n.processes.values()) if (p.st !== ProcessState.Sleep || p.mb.size > 0) return false;
  return true;
}

async function quiesce(w: World, phase: string): Promise<boolean> {
  // A liveness bound, not a budget: the workload's last calls, restarts and application stops
  // settle in well under a second, but a loaded machine may take several.
  const settled = await eventually(
    async () => {
      if (!idle(w)) return false;
      await turn();
      return idle(w);
    },
    `${phase}: the node to become idle`,
    { timeoutMs: 15_000, intervalMs: 3 },
  ).then(
    () => true,
    () => false,
  );
  if (!settled) {
    const busy = [...w.engine.processes.values()]
      .filter((p) => p.st !== ProcessState.Sleep || p.mb.size > 0)
      .map((p) => `${p.pid} st=${p.st} mb=${p.mb.size}`);
    w.fail(
      `${phase}: the node never became idle (inflight ${w.inflight}, calls ${w.engine.calls.size}, runq ${w.engine.scheduler.length}, busy ${busy.slice(0, 5).join(', ')})`,
    );
  }
  return settled;
}

function relKeys(info: ReturnType<Node['processInfo']>, link: boolean): string[] {
  const out: string[] = [];
  const P = link ? info.linksPID : info.monitorsPID;
  const N = link ? info.linksProcessID : info.monitorsProcessID;
  const A = link ? info.linksAlias : info.monitorsAlias;
  const E = link ? info.linksEvent : info.monitorsEvent;
  for (const p of P) out.push(`pid:${p}`);
  for (const n of N) out.push(`name:${n.name}`);
  for (const a of A) out.push(`alias:${a.key}`);
  for (const e of E) out.push(`event:${e.name}`);
  return out.sort();
}

/**
 * Holds at any point between two tasks, busy node or not: the relations the engine reports for a
 * live actor are exactly the recorded open ones whose target lives (the model follows every
 * change synchronously), and its aliases and events are the ones the model gave it.
 */
function checkLive(w: World, pid: PID, phase: string, initAlive: boolean): void {
  const key = pid.toString();
  const info = w.node.processInfo(pid);
  const ownAliases = [...w.aliases.values()]
    .filter((v) => v.owner === key)
    .map((v) => v.alias.key)
    .sort();
  if (
    info.aliases
      .map((a) => a.key)
      .sort()
      .join() !== ownAliases.join()
  )
    w.fail(`${phase}: ${key} aliases differ from the model`);
  const ownEvents = [...w.events.entries()]
    .filter(([, v]) => v.owner === key)
    .map(([k]) => k)
    .sort();
  if (info.events.slice().sort().join() !== ownEvents.join())
    w.fail(`${phase}: ${key} events [${info.events.join()}] differ from the model [${ownEvents.join()}]`);
  for (const link of [true, false]) {
    const want = w
      .relsOf(key)
      .filter((r) => !r.removed && r.link === link && w.targetAlive(r, initAlive))
      .map((r) => `${r.kind}:${r.key}`)
      .sort()
      .join(' ');
    const got = relKeys(info, link).join(' ');
    if (want !== got) w.fail(`${phase}: ${key} ${link ? 'links' : 'monitors'}: engine [${got}] model [${want}]`);
  }
}

/** The checks that need a quiet node: engine relations and tables against the model. */
function checkQuiet(w: World, phase: string): void {
  const n = w.engine;
  // process table vs the model
  const engine = new Set([...n.processes.values()].map((p) => p.pid.toString()));
  const model = new Set(w.alive.map((p) => p.toString()));
  for (const k of engine)
    if (!model.has(k)) w.fail(`${phase}: ${k} is in the process table but the model thinks it ended or never started`);
  for (const k of model)
    if (!engine.has(k)) w.fail(`${phase}: ${k} is alive in the model but not in the process table`);
  // names, aliases, events
  const engineNames = [...n.names.keys()].sort().join(',');
  const modelNames = [...w.names.keys()].sort().join(',');
  if (engineNames !== modelNames) w.fail(`${phase}: names differ: engine [${engineNames}] model [${modelNames}]`);
  for (const [name, v] of w.names)
    if (n.names.get(name as Atom)?.pid.equals(v.pid) !== true)
      w.fail(`${phase}: name ${name} is held by another process than the model says`);
  if (n.aliasCount !== w.aliases.size)
    w.fail(`${phase}: ${n.aliasCount} aliases in the engine, ${w.aliases.size} in the model`);
  if (n.events.size !== w.events.size)
    w.fail(`${phase}: ${n.events.size} events in the engine, ${w.events.size} in the model`);
  // process loggers: exactly the ones the model holds (a logger process that ended is gone)
  const engineLoggers = w.node
    .loggers()
    .filter((l) => l.startsWith('lg'))
    .sort()
    .join(',');
  const modelLoggers = [...w.loggers.keys()].sort().join(',');
  if (engineLoggers !== modelLoggers)
    w.fail(`${phase}: process loggers differ: engine [${engineLoggers}] model [${modelLoggers}]`);
  for (const [name, key] of w.loggers) {
    const p = w.procs.get(key);
    if (p === undefined || !p.alive) w.fail(`${phase}: logger ${name} is backed by ended ${key}`);
    else if (n.logRegistry.nameOf(p.pid) !== name)
      w.fail(`${phase}: logger ${name} is not backed by ${key} in the engine`);
  }
  // applications: a loaded one has no member left; a running one only live members
  for (let i = 0; i < APPS; i++) {
    const info = w.node.applicationInfo(`app${i}`);
    if (info.state === ApplicationState.Stopping) w.fail(`${phase}: app${i} is still stopping on a quiet node`);
    if (info.state === ApplicationState.Loaded && info.group.length > 0)
      w.fail(`${phase}: app${i} is loaded (stopped) but lists members ${info.group.join()}`);
    for (const pid of info.group) if (!w.isAlive(pid)) w.fail(`${phase}: app${i} lists ended member ${pid}`);
    for (let j = 0; j < 2; j++) {
      const holder = n.names.get(`app${i}_${j}` as Atom);
      if (info.state === ApplicationState.Loaded && holder !== undefined)
        w.fail(`${phase}: app${i} is loaded (stopped) but its member app${i}_${j} (${holder.pid}) still runs`);
    }
  }

  // Engine side of the relations: every relation on a live target (or a keyed host) has a live
  // watcher, and both sides count the same relations (nothing left behind by a termination).
  let onTargets = 0;
  let ofConsumers = 0;
  const hosts: { tHead: Relation | null; tCount: number }[] = [...n.processes.values(), ...keyedHostsOf(n)];
  for (const h of hosts) {
    let count = 0;
    for (let r = h.tHead; r !== null; r = r.tNext) {
      count++;
      const c = r.consumer;
      if (n.processes.get(c.pid.id) !== c)
        w.fail(`${phase}: a relation on ${String(r.target)} belongs to ${c.pid}, which is not in the table`);
    }
    if (count !== h.tCount) w.fail(`${phase}: a target host counts ${h.tCount} relations but lists ${count}`);
    onTargets += count;
  }
  for (const p of n.processes.values()) ofConsumers += p.cCount;
  if (onTargets !== ofConsumers) w.fail(`${phase}: ${onTargets} relations on targets, ${ofConsumers} held by watchers`);

  for (const p of n.processes.values()) {
    const key = p.pid.toString();
    const rec = w.procs.get(key);
    if (rec === undefined || !rec.chaos) continue;
    checkLive(w, p.pid, phase, false);
    const endedPidLinks = new Map<string, number>();
    for (const r of w.relsOf(key)) {
      if (r.removed) continue;
      const id = `${r.kind}:${r.key}`;
      if (w.targetAlive(r)) {
        if (r.notes !== 0) w.fail(`${phase}: ${key} was notified about live ${id}`);
        continue;
      }
      if (!r.link) {
        if (r.notes !== 1)
          w.fail(`${phase}: ${key} monitor on ended ${id} produced ${r.notes} downs (expected exactly 1)`);
        continue;
      }
      if (!rec.trap) w.fail(`${phase}: ${key} does not trap exits, is linked to ended ${id}, and is still alive`);
      else if (r.fromParent)
        w.fail(`${phase}: ${key} survived the end of its parent ${r.key} (linkParent exits are untrappable)`);
      else if (r.kind === 'pid') endedPidLinks.set(r.key, (endedPidLinks.get(r.key) ?? 0) + 1);
      else if (r.notes !== 1)
        w.fail(`${phase}: ${key} link on ended ${id} produced ${r.notes} exits (expected exactly 1)`);
    }
    if (rec.trap) {
      const sources = new Set<string>(endedPidLinks.keys());
      for (const k of [...w.sentExits.keys(), ...w.recvExits.keys()])
        if (k.startsWith(`${key}|`)) sources.add(k.slice(key.length + 1));
      for (const s of sources) {
        const sent = w.sentExits.get(`${key}|${s}`) ?? 0;
        const recv = w.recvExits.get(`${key}|${s}`) ?? 0;
        const ended = endedPidLinks.get(s) ?? 0;
        if (recv !== sent + ended)
          w.fail(
            `${phase}: ${key} trapped ${recv} exits from ${s}; expected ${sent} exit signals + ${ended} ended links`,
          );
      }
    }
  }
}

function report(w: World): void {
  assert.deepEqual(w.violations, [], `seed ${w.seed}: ${w.violations.length} invariant violations`);
}

/** Operations each phase runs before its time budget counts. */
const MIN_OPS = 200;

async function runSeed(
  seed: number,
  opsPerPhase: number,
  budgetMs: number,
  stuck = false,
): Promise<{ ops: number; spawned: number }> {
  const guard = trackUnhandled();
  // Unless the seed is the stuck one, expiry fails the seed: long enough for a loaded machine.
  const node = await quietNode({ shutdownTimeout: stuck ? 300 : 30_000 });
  const w = new World(seed, node);
  const onSpawn = (m: unknown): void => {
    const s = m as { node: string; pid: PID; behavior: string; name: string };
    if (s.node === node.name) w.onSpawn(s.pid, s.behavior, s.name);
  };
  const onTerm = (m: unknown): void => {
    const s = m as { node: string; pid: PID };
    if (s.node === node.name) w.onTerminateEvent(s.pid);
  };
  diagnostics.subscribe(DIAGNOSTICS.spawn, onSpawn);
  diagnostics.subscribe(DIAGNOSTICS.terminate, onTerm);
  const rnd = mulberry32(seed);
  let ops = 0;
  try {
    await loadApps(w, node, rnd);
    for (let i = 0; i < 12; i++) {
      const cfg: ActorCfg = { trap: i % 3 === 0, init: i % 4 === 0 ? 'async' : 'sync', linkParent: false };
      await w.track(
        i < 4 ? node.spawnRegister(NAMES_TOP[i]!, ChaosActor, {}, w, cfg) : node.spawn(ChaosActor, {}, w, cfg),
        'initial spawn',
      );
    }
    for (const phase of ['phase 1', 'phase 2', 'phase 3']) {
      const started = Date.now();
      // The time budget bounds the run on a fast machine; the first MIN_OPS operations run
      // whatever the clock says, so a loaded machine still exercises a real workload.
      for (let i = 0; i < opsPerPhase && (i < MIN_OPS || Date.now() - started < budgetMs); i++) {
        driverOp(w, node, rnd);
        ops++;
        if (i % 8 === 7) await (i % 64 === 63 ? delay(1 + Math.floor(rnd() * 3)) : turn());
      }
      if (await quiesce(w, phase)) checkQuiet(w, phase);
      report(w);
    }

    // Graceful stop with everything still going on. Half the seeds stop right after awaiting a
    // call (in the microtask that the reply resumes), as test code naturally does.
    for (let i = 0; i < 40; i++) driverOp(w, node, rnd);
    // (A timeout a loaded machine cannot reach: expired, the stop would follow a timer instead.)
    if (seed % 2 === 0 && w.alive.length > 0)
      await w.track(node.call(w.alive[0]!, 'ping', { timeout: 10_000 }), 'last call');
    if (stuck) {
      // Deliberately keep one handler pending forever and one init: stop must give up after
      // shutdownTimeout, kill the rest and reject with ErrTimeout, leaving the same clean tables.
      const cfg: ActorCfg = { trap: false, init: 'sync', linkParent: false };
      // The stop's exit signal is urgent: it overtakes a Hang still queued (a busy run queue can hold
      // the new process back for more than a turn), so wait until the handler has taken it. The
      // workload's last operations may end the process first; then another one is spawned.
      let hanging = false;
      for (let attempt = 0; attempt < 5 && !hanging; attempt++) {
        const hung = await w.track(node.spawn(ChaosActor, {}, w, cfg), 'spawn hung');
        if (hung === undefined) continue;
        // Out of the workload's picks: an actor's late command must not kill or link it.
        const at = w.alive.findIndex((p) => p.equals(hung));
        if (at >= 0) w.alive.splice(at, 1);
        const hang = new Hang();
        node.send(hung, hang);
        // Ended first, or not taken within the bound: another attempt (the assertion below says if none hung).
        await eventually(() => hang.taken || !w.isAlive(hung), 'the hang to be taken', {
          timeoutMs: 8000,
          intervalMs: 1,
        }).catch(() => undefined);
        hanging = hang.taken;
      }
      assert.ok(hanging, `seed ${seed}: a process holds a handler that never settles`);
      void w.track(
        node.spawnRegister('stuck-in-init', ChaosActor, {}, w, { ...cfg, init: 'forever' }),
        'spawn stuck in init',
      );
      await turn();
    }
    let stopped: string;
    // (A top-level one: a supervised child or an application member awaiting stop() would hold
    // the stop until shutdownTimeout — see the todo in shutdown.test.ts.)
    const topLevel = (p: PID): boolean => {
      const q = w.engine.processes.get(p.id);
      return q !== undefined && q.parent.equals(node.pid) && q.application === '' && q.mb.limit === 0;
    };
    const insider =
      !stuck && seed % 3 === 1
        ? w.alive.find((p) => w.procs.get(p.toString())?.chaos === true && topLevel(p))
        : undefined;
    if (insider !== undefined) {
      // A third of the seeds stop the node from inside a (busy) actor that awaits the stop.
      let inside = 'not settled';
      const order = new StopNode((o) => (inside = o));
      node.send(insider, order, { priority: MessagePriority.Max });
      // The insider may be ended by the last operations before it gets there: then stop from here.
      await eventually(() => order.started || !w.isAlive(insider), 'the stop order to start', {
        timeoutMs: 8000,
        intervalMs: 3,
      }).catch(() => undefined);
      // Called from here, stop() is the same graceful stop (or starts it if the insider never got there).
      stopped = await node.stop().then(
        () => 'resolved',
        (e: unknown) => `rejected: ${String(e)}`,
      );
      if (order.started && inside !== 'resolved') w.fail(`stop() inside ${insider} settled with ${inside}`);
    } else {
      stopped = await node.stop().then(
        () => 'resolved',
        (e: unknown) => `rejected: ${String(e)}`,
      );
    }
    if (stuck)
      assert.match(
        stopped,
        /^rejected: .*did not finish in 300 ms/,
        `seed ${seed}: stop() must give up with ErrTimeout`,
      );
    else assert.equal(stopped, 'resolved', `seed ${seed}: stop() must resolve`);
    for (let i = 0; i < 3; i++) await turn();

    const n = w.engine;
    assert.equal(n.processes.size, 0, `seed ${seed}: processes left`);
    assert.equal(n.names.size, 0, `seed ${seed}: names left: ${[...n.names.keys()].join()}`);
    assert.equal(n.aliasCount, 0, `seed ${seed}: aliases left`);
    assert.equal(n.calls.size, 0, `seed ${seed}: calls left`);
    assert.equal(n.targets.keyedHosts, 0, `seed ${seed}: keyed relation hosts left`);
    assert.equal(n.events.size, 0, `seed ${seed}: events left`);
    assert.equal(n.scheduler.length, 0, `seed ${seed}: run queue not empty`);
    assert.equal(n.pendingInits.size, 0, `seed ${seed}: inits left pending`);
    for (const r of w.procs.values()) {
      if (r.terminates !== 1) w.fail(`${r.pid} (${r.kind}) got ${r.terminates} terminate() calls`);
      if (r.terminateEvents !== 1) w.fail(`${r.pid} (${r.kind}) produced ${r.terminateEvents} terminate events`);
      if (r.alive) w.fail(`${r.pid} (${r.kind}) never terminated`);
    }
    if (w.inspects !== 0) w.fail(`${w.inspects} inspects never settled`);
    const unsettled = w.tracked.filter((t) => !t.settled);
    if (unsettled.length > 0)
      w.fail(
        `${unsettled.length} promises never settled: ${unsettled
          .slice(0, 5)
          .map((t) => t.what)
          .join('; ')}`,
      );
    report(w);
    guard.check();
    if (process.env.CHAOS_DEBUG) {
      let rels = 0;
      let notes = 0;
      for (const l of w.rels.values()) for (const r of l) (rels++, (notes += r.notes));
      const exits = [...w.recvExits.values()].reduce((a, b) => a + b, 0);
      console.log(
        `seed ${seed}: ${ops} ops, ${w.procs.size} processes, ${w.tracked.length} promises, ${rels} relations, ${notes} downs/exits matched, ${exits} PID exits trapped, ${w.logRecords} log records`,
      );
    }
    return { ops, spawned: w.procs.size };
  } finally {
    diagnostics.unsubscribe(DIAGNOSTICS.spawn, onSpawn);
    diagnostics.unsubscribe(DIAGNOSTICS.terminate, onTerm);
    guard.dispose();
    if (node.isAlive()) await node.stopForce();
  }
}

// CHAOS_SEEDS=n runs n more seeds from CHAOS_BASE (exploration; not part of the suite's budget).
const EXTRA = Number(process.env.CHAOS_SEEDS ?? 0);
const BASE = Number(process.env.CHAOS_BASE ?? 1);
const SEEDS = [
  0x5eed0001,
  0x5eed0002,
  0x5eed0003,
  0xc0ffee,
  0xdecaf,
  ...Array.from({ length: EXTRA }, (_, i) => BASE + i),
];

describe('chaos: a seeded random workload keeps every invariant', () => {
  for (const seed of SEEDS) {
    test(`seed ${seed}`, async () => {
      const r = await runSeed(seed, Number(process.env.CHAOS_OPS ?? 1500), Number(process.env.CHAOS_MS ?? 600));
      assert.ok(r.ops > 100 && r.spawned > 20, `seed ${seed}: the workload ran (${r.ops} ops, ${r.spawned} processes)`);
    });
  }
  test('seed 0x5eed0004, with a handler and an init that never settle: stop times out, kills, and still leaves nothing behind', async () => {
    const r = await runSeed(0x5eed0004, 600, 400, true);
    assert.ok(r.ops > 100, `the workload ran (${r.ops} ops)`);
  });
});
