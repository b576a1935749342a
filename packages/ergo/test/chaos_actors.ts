// The chaos test's commands and actors (see chaos.test.ts): the commands the driver sends and the
// actors that carry them out (ChaosActor, ChaosSup, ChaosPool), recording every successful
// operation in the World (chaos_world.ts).

import {
  Actor,
  type Alias,
  Event,
  MessageDownAlias,
  MessageDownEvent,
  MessageDownPID,
  MessageDownProcessID,
  MessageExitAlias,
  MessageExitEvent,
  MessageExitPID,
  MessageExitProcessID,
  type MessagePriority,
  type PID,
  Pool,
  poolOptions,
  ProcessID,
  ProcessState,
  Stop,
  Supervisor,
  TerminateReasonKill,
  TerminateReasonNormal,
  TerminateReasonShutdown,
  type Atom,
  type Ref,
  type SupervisorSpec,
} from '../src/index.js';
import {
  ChaosError,
  type World,
  EVENT_NAMES,
  NAMES_CHILD,
  NAMES_REG,
  type RelKind,
  delay,
  mulberry32,
} from './chaos_world.js';

// --- messages between the driver and the actors ---------------------------------------------------

/** The operations an actor may be asked to do (repeats weigh the draw). */
export const ACTOR_OPS = [
  'send',
  'send',
  'relay',
  'call',
  'callAbort',
  'link',
  'link',
  'unlink',
  'monitor',
  'monitor',
  'demonitor',
  'sendExit',
  'spawn',
  'regEvent',
  'unregEvent',
  'sendEvent',
  'createAlias',
  'deleteAlias',
  'regName',
  'unregName',
  'panic',
  'stop',
  'sleep',
  'sendAfter',
  'killSelf',
  'inspect',
  'noop',
] as const;
/** One of {@link ACTOR_OPS}. */
export type ActorOp = (typeof ACTOR_OPS)[number];

/** One operation for an actor, with its random draws and how many more hops it may take. */
export class Cmd {
  constructor(
    readonly op: ActorOp,
    readonly r: number[],
    readonly ttl: number,
  ) {}
}

/** Asks an actor to stop the node from inside its handler (and await it). */
export class StopNode {
  started = false;
  constructor(readonly done: (outcome: string) => void) {}
}

/** The handler never settles (the process stays Running until it is killed). */
export class Hang {
  /** Set when the actor has taken the message (its handler then never settles). */
  taken = false;
}

/** A call the actor answers later (from its next message). */
export class DeferredReply {
  constructor(
    readonly to: PID,
    readonly ref: Ref,
  ) {}
}

/** One operation for a ChaosSup. */
export class SupCmd {
  constructor(
    readonly op: 'start' | 'disable' | 'enable' | 'children',
    readonly r: number,
  ) {}
}

/** How a ChaosActor behaves: trapping exits, its init's outcome, linking its parent. */
export interface ActorCfg {
  trap: boolean;
  init: 'sync' | 'async' | 'throw' | 'return' | 'reject' | 'flaky' | 'forever';
  linkParent: boolean;
}

/** A random {@link Cmd} drawn from `rnd`. */
export function randomCmd(rnd: () => number, ttl: number): Cmd {
  const op = ACTOR_OPS[Math.floor(rnd() * ACTOR_OPS.length)]!;
  return new Cmd(op, [rnd(), rnd(), rnd(), rnd(), rnd(), rnd()], ttl);
}

/** A random termination reason (normal, shutdown, kill or a ChaosError). */
export function randomReason(r: number): Error {
  if (r < 0.3) return TerminateReasonNormal;
  if (r < 0.5) return TerminateReasonShutdown;
  if (r < 0.6) return TerminateReasonKill;
  return new ChaosError(`chaos reason ${r.toFixed(3)}`);
}

// --- the actors ---------------------------------------------------------------------------------

/** The actor that carries out the driver's commands and records their outcomes in the World. */
export class ChaosActor extends Actor {
  w!: World;
  cfg!: ActorCfg;
  rnd!: () => number;
  key = '';
  expectKill = false;

  override init(w: World, cfg: ActorCfg): unknown {
    this.w = w;
    this.cfg = cfg;
    this.key = this.pid.toString();
    this.rnd = mulberry32(w.seed ^ (this.pid.id * 2654435761));
    this.setTrapExit(cfg.trap);
    w.pendingTrap.set(this.key, cfg.trap);
    if (cfg.linkParent) {
      const l = w.relsOf(this.key);
      l.push({
        link: true,
        kind: 'pid',
        key: this.parent.toString(),
        gen: 0,
        removed: false,
        notes: 0,
        implicit: 'parent',
        fromParent: true,
      });
    }
    switch (cfg.init) {
      case 'sync':
        return undefined;
      case 'async':
        return delay(Math.floor(this.rnd() * 4)).then(() => undefined);
      case 'throw':
        throw new ChaosError('init throws');
      case 'return':
        return new ChaosError('init returns an error');
      case 'reject':
        return delay(1).then(() => Promise.reject(new ChaosError('init rejects')));
      case 'flaky':
        if (this.rnd() < 0.2) throw new ChaosError('flaky init');
        return this.rnd() < 0.5 ? undefined : delay(1).then(() => undefined);
      case 'forever':
        return new Promise(() => undefined);
    }
  }

  override terminate(reason: Error): void {
    this.w.onTerminateCallback(this.pid);
    if (this.expectKill && reason !== TerminateReasonKill) {
      this.w.fail(`${this.key} killed itself while running (zombee) but terminated with ${reason.message}, not kill`);
    }
  }

  override handleEvent(): undefined {
    return undefined;
  }

  /** Log records, when registered as a logger: mostly nothing, sometimes a panic or a stop. */
  override handleLog(): any {
    this.w.logRecords++;
    const r = this.rnd();
    if (r < 0.01) throw new ChaosError('logger panics');
    if (r < 0.02) return new ChaosError('logger stops');
    if (r < 0.05) return delay(1).then(() => undefined);
    return undefined;
  }

  override handleMessage(from: PID, message: unknown): any {
    const w = this.w;
    if (message instanceof Cmd) return this.exec(message);
    if (message instanceof Hang) {
      message.taken = true;
      this.expectKill = true;
      return new Promise(() => undefined);
    }
    if (message instanceof StopNode) {
      const stopping = (async () => {
        await delay(1); // resumes outside the scheduler: the node must still know its caller
        message.started = true;
        await this.node.stop();
      })();
      return stopping.then(
        () => message.done('resolved'),
        (e: unknown) => message.done(`rejected: ${String(e)}`),
      );
    }
    if (message instanceof DeferredReply) {
      this.sendResponse(message.to, message.ref, 'late');
      return undefined;
    }
    if (message instanceof MessageDownPID) w.noted(this.key, false, 'pid', message.pid.toString(), 'MessageDownPID');
    else if (message instanceof MessageDownProcessID)
      w.noted(this.key, false, 'name', message.processID.name, 'MessageDownProcessID');
    else if (message instanceof MessageDownAlias)
      w.noted(this.key, false, 'alias', message.alias.key, 'MessageDownAlias');
    else if (message instanceof MessageDownEvent)
      w.noted(this.key, false, 'event', message.event.name, 'MessageDownEvent');
    else if (message instanceof MessageExitPID) {
      if (!this.cfg.trap) w.fail(`${this.key} does not trap exits but got ${String(message)} as a message`);
      if (from.equals(this.parent)) w.fail(`${this.key} trapped an exit from its parent`);
      w.countExit(w.recvExits, this.key, message.pid.toString());
    } else if (message instanceof MessageExitProcessID)
      w.noted(this.key, true, 'name', message.processID.name, 'MessageExitProcessID');
    else if (message instanceof MessageExitAlias)
      w.noted(this.key, true, 'alias', message.alias.key, 'MessageExitAlias');
    else if (message instanceof MessageExitEvent)
      w.noted(this.key, true, 'event', message.event.name, 'MessageExitEvent');
    return undefined;
  }

  override handleCall(from: PID, ref: Ref, request: unknown): unknown {
    if (!(request instanceof Cmd)) return 'pong';
    const r = this.exec(request);
    const mode = request.r[5]!;
    const answer = (res: unknown): unknown => {
      if (res instanceof Error || res instanceof Stop) return res;
      if (mode < 0.6) return 'ok';
      if (mode < 0.7) {
        this.sendAfter(this.pid, new DeferredReply(from, ref), Math.floor(mode * 10));
        return undefined;
      }
      if (mode < 0.75) return undefined; // never answered: the caller times out
      if (mode < 0.8) return new Stop(TerminateReasonNormal, 'bye');
      if (mode < 0.83) return new Stop(new ChaosError('stop after reply'), 'bye');
      if (mode < 0.86) return new ChaosError('stop without reply');
      return 'ok';
    };
    if (r instanceof Promise) return r.then(answer);
    return answer(r);
  }

  /** Runs one operation; returns a handler result (maybe a promise). */
  exec(c: Cmd): unknown {
    const w = this.w;
    const [a, b, d, e] = c.r as [number, number, number, number];
    try {
      switch (c.op) {
        case 'send':
        case 'relay': {
          const to = this.target(a, b);
          if (to === undefined) return undefined;
          const msg = c.op === 'relay' && c.ttl > 0 ? randomCmd(this.rnd, c.ttl - 1) : 'noop';
          this.send(to, msg, { priority: Math.floor(d * 3) as MessagePriority });
          return undefined;
        }
        case 'call':
        case 'callAbort': {
          const to = this.target(a, b);
          if (to === undefined) return undefined;
          const req = c.ttl > 0 ? randomCmd(this.rnd, c.ttl - 1) : 'ping';
          let signal: AbortSignal | undefined;
          if (c.op === 'callAbort') {
            const ac = new AbortController();
            setTimeout(() => ac.abort(), Math.floor(d * 30));
            signal = ac.signal;
          }
          const p = w.track(
            this.call(to, req, {
              timeout: 10 + Math.floor(e * 80),
              signal,
              priority: Math.floor(d * 3) as MessagePriority,
            }),
            `${this.key} call ${String(to)}`,
          );
          return e < 0.7 ? p.then(() => undefined) : undefined;
        }
        case 'link':
        case 'monitor':
          return this.relate(c.op === 'link', true, a, b);
        case 'unlink':
        case 'demonitor':
          return this.relate(c.op === 'unlink', false, a, b);
        case 'sendExit': {
          const to = w.pickPid(a);
          if (to === undefined) return undefined;
          this.sendExit(to, randomReason(b));
          w.countExit(w.sentExits, to.toString(), this.key);
          return undefined;
        }
        case 'spawn':
          return this.spawnChild(a, b, d);
        case 'regEvent': {
          const name = EVENT_NAMES[Math.floor(a * EVENT_NAMES.length)]!;
          const token = this.registerEvent(name, { notify: b < 0.5, buffer: Math.floor(d * 3) });
          w.events.set(name, { owner: this.key, token, gen: ++w.gen });
          return undefined;
        }
        case 'unregEvent': {
          const own = this.events();
          const name = own.length > 0 && a < 0.8 ? own[Math.floor(b * own.length)]! : w.pickEvent(b);
          this.unregisterEvent(name);
          const ev = w.events.get(name);
          if (ev === undefined || ev.owner !== this.key)
            w.fail(`${this.key} unregistered event ${name} it does not own`);
          w.events.delete(name);
          return undefined;
        }
        case 'sendEvent': {
          const name = w.pickEvent(a);
          const ev = w.events.get(name);
          this.sendEvent(name, ev?.token ?? this.makeFakeToken(), 'tick', {
            priority: Math.floor(b * 3) as MessagePriority,
          });
          return undefined;
        }
        case 'createAlias': {
          const al = this.createAlias();
          w.aliases.set(al.key, { alias: al, owner: this.key });
          return undefined;
        }
        case 'deleteAlias': {
          const own = this.aliases();
          const al = own.length > 0 && a < 0.8 ? own[Math.floor(b * own.length)]! : w.pickAlias(b);
          if (al === undefined) return undefined;
          this.deleteAlias(al);
          if (w.aliases.get(al.key)?.owner !== this.key) w.fail(`${this.key} deleted alias ${al} it does not own`);
          w.aliases.delete(al.key);
          w.deadAlias(al);
          return undefined;
        }
        case 'regName': {
          const name = NAMES_REG[Math.floor(a * NAMES_REG.length)]!;
          this.registerName(name);
          w.names.set(name, { pid: this.pid, gen: ++w.gen });
          return undefined;
        }
        case 'unregName': {
          const name = this.name;
          this.unregisterName();
          if (w.names.get(name)?.pid.equals(this.pid) !== true)
            w.fail(`${this.key} unregistered ${name}, which the test did not see it hold`);
          w.names.delete(name);
          return undefined;
        }
        case 'panic':
          if (a < 0.4) throw new ChaosError('panic');
          if (a < 0.5) throw b < 0.5 ? 'a string' : Object.create(null);
          if (a < 0.8) return delay(Math.floor(b * 3)).then(() => Promise.reject(new ChaosError('async panic')));
          return Promise.reject(b < 0.5 ? 42 : Object.create(null));
        case 'stop':
          if (a < 0.2) return new Stop(randomReason(b));
          if (a < 0.5) return randomReason(b);
          return delay(Math.floor(b * 3)).then(() => randomReason(d));
        case 'sleep':
          return delay(Math.floor(a * 6)).then(() => (b < 0.3 ? this.exec(randomCmd(this.rnd, 0)) : undefined));
        case 'sendAfter':
          this.sendAfter(b < 0.5 ? this.pid : (w.pickPid(b) ?? this.pid), 'later', Math.floor(a * 10));
          return undefined;
        case 'killSelf': {
          this.expectKill = true;
          this.node.kill(this.pid);
          if (this.state() !== ProcessState.Zombee)
            w.fail(`${this.key} killed itself while running but is not a zombee`);
          try {
            this.send(this.pid, 'x');
            w.fail(`${this.key}: send allowed in state zombee`);
          } catch (err) {
            w.expectError(err, 'send as zombee');
          }
          if (a < 0.3) return undefined;
          if (a < 0.5) return new ChaosError('zombee returns a reason');
          if (a < 0.7) return delay(1).then(() => new ChaosError('zombee returns a reason later'));
          if (a < 0.85) throw new ChaosError('zombee panics');
          return delay(1).then(() => undefined);
        }
        case 'inspect': {
          const to = w.pickPid(a);
          if (to === undefined) return undefined;
          // Never awaited: an inspect has no timeout option (5 s), and two processes awaiting
          // each other's inspect would hold the workload for that long.
          w.inspects++;
          void this.inspect(to).then(
            () => void w.inspects--,
            (err: unknown) => {
              w.inspects--;
              w.expectError(err, `${this.key} inspect`);
            },
          );
          return undefined;
        }
        case 'noop':
          return undefined;
      }
    } catch (err) {
      if (
        err instanceof ChaosError ||
        typeof err === 'string' ||
        (typeof err === 'object' && err !== null && Object.getPrototypeOf(err) === null)
      )
        throw err;
      w.expectError(err, `${this.key} ${c.op}`);
      return undefined;
    }
  }

  private makeFakeToken(): Ref {
    // Someone else's (stale) token: a fresh ref that is no event's token.
    return this.w.node.makeRef();
  }

  /** A random send/call target: PID, name, alias or a pool. */
  private target(a: number, b: number): PID | string | Alias | undefined {
    const w = this.w;
    if (a < 0.6) return w.pickPid(b);
    if (a < 0.8) return w.pickName(b);
    if (a < 0.95) return w.pickAlias(b);
    return w.pools.length > 0 ? w.pools[Math.floor(b * w.pools.length) % w.pools.length] : w.pickPid(b);
  }

  private relate(link: boolean, add: boolean, a: number, b: number): undefined {
    const w = this.w;
    let kind: RelKind;
    let target: PID | ProcessID | Alias | Event | string;
    let key: string;
    if (a < 0.45) {
      // prefer own relations for removals
      const mine = w.relsOf(this.key).filter((r) => !r.removed && r.notes === 0 && r.kind === 'pid' && r.link === link);
      const pid =
        !add && mine.length > 0 && b < 0.7
          ? w.procs.get(mine[Math.floor(b * mine.length) % mine.length]!.key)?.pid
          : w.pickPid(b);
      if (pid === undefined) return undefined;
      kind = 'pid';
      target = pid;
      key = pid.toString();
    } else if (a < 0.65) {
      const name = w.pickName(b);
      kind = 'name';
      const form = (b * 10) % 1;
      target =
        form < 0.33
          ? new ProcessID(name as Atom, this.pid.node)
          : form < 0.66
            ? name
            : new ProcessID(name as Atom, '' as Atom);
      key = name;
    } else if (a < 0.85) {
      const al = w.pickAlias(b);
      if (al === undefined) return undefined;
      kind = 'alias';
      target = al;
      key = al.key;
    } else {
      const name = w.pickEvent(b);
      kind = 'event';
      target = new Event(name as Atom, b < 0.5 ? this.pid.node : ('' as Atom));
      key = name;
    }
    if (add) {
      if (link) this.link(target);
      else this.monitor(target);
      w.addRel(this.key, link, kind, key);
    } else {
      if (link) this.unlink(target);
      else this.demonitor(target);
      w.removeRel(this.key, link, kind, key);
    }
    return undefined;
  }

  private async spawnChild(a: number, b: number, d: number): Promise<undefined> {
    const w = this.w;
    const cfg: ActorCfg = {
      trap: a < 0.4,
      init: b < 0.6 ? 'sync' : b < 0.85 ? 'async' : b < 0.9 ? 'throw' : b < 0.95 ? 'return' : 'reject',
      linkParent: d < 0.5,
    };
    const linkChild = (d * 10) % 1 < 0.5;
    const opts = { linkParent: cfg.linkParent, linkChild, mailboxSize: (d * 13) % 1 < 0.2 ? 2 : 0 };
    const name = NAMES_CHILD[Math.floor(a * 100) % NAMES_CHILD.length]!;
    const spawning =
      (d * 7) % 1 < 0.3 ? this.spawnRegister(name, ChaosActor, opts, w, cfg) : this.spawn(ChaosActor, opts, w, cfg);
    const pid = await w.track(spawning, `${this.key} spawn`);
    if (pid !== undefined && linkChild) w.addRel(this.key, true, 'pid', pid.toString(), 'child');
    return undefined;
  }
}

/** A supervisor of ChaosActors that records its children in the World. */
export class ChaosSup extends Supervisor {
  w!: World;
  override init(w: World, spec: SupervisorSpec): SupervisorSpec {
    this.w = w;
    return spec;
  }
  override handleChildStart(): undefined {
    return undefined;
  }
  override handleChildTerminate(): undefined {
    return undefined;
  }
  override handleMessage(): undefined {
    return undefined;
  }
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    if (!(request instanceof SupCmd)) return 'pong';
    const names = this.children().map((c) => c.spec);
    const pick = names.length > 0 ? names[Math.floor(request.r * names.length) % names.length]! : 'none';
    const cfg: ActorCfg = { trap: request.r < 0.3, init: 'flaky', linkParent: true };
    const run = async (): Promise<string> => {
      switch (request.op) {
        case 'start':
          await this.startChild(pick, this.w, cfg);
          return 'started';
        case 'disable':
          await this.disableChild(pick);
          return 'disabled';
        case 'enable':
          await this.enableChild(pick);
          return 'enabled';
        case 'children':
          return String(this.children().length);
      }
    };
    return run().catch((e: unknown) => {
      this.w.expectError(e, 'supervisor child management');
      return 'error';
    });
  }
  override terminate(): undefined {
    this.w.onTerminateCallback(this.pid);
    return undefined;
  }
}

/** A pool of ChaosActors. */
export class ChaosPool extends Pool {
  w!: World;
  override init(w: World, size: number, trap: boolean) {
    this.w = w;
    const cfg: ActorCfg = { trap, init: 'sync', linkParent: true };
    return poolOptions({ poolSize: size, workerFactory: ChaosActor, workerArgs: [w, cfg] });
  }
  override handleMessage(): undefined {
    return undefined;
  }
  /** High-priority calls reach the pool itself (normal ones are forwarded): resize it. */
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    try {
      if (request === 'add')
        return this.addWorkers(1).then(String, (e: unknown) => (this.w.expectError(e, 'addWorkers'), 'error'));
      if (request === 'remove') return String(this.removeWorkers(1));
    } catch (e) {
      this.w.expectError(e, 'removeWorkers');
      return 'error';
    }
    return 'pool';
  }
  override terminate(): undefined {
    this.w.onTerminateCallback(this.pid);
    return undefined;
  }
}
