// Survival scenarios of issue 26 items 1, 2 and 7 (run by survival.promises.test.ts in a child OS
// process with Node's default unhandled-rejection mode): sends and replies whose delivery Promise
// the framework used to drop, and Promises the framework returns that the user ignores. Each
// scenario provokes the failure, never awaits the failing Promise itself (awaiting would handle
// it), and resolves once the node has logged the failure: a probe logger sees the line, so no
// scenario depends on timing.

import {
  Actor,
  Event,
  LogLevel,
  ProcessID,
  startNode,
  type LoggerBehavior,
  type MessageLog,
  type Node,
  type PID,
  type Ref,
} from '../src/index.js';
import type { SurvivalScenario } from './survival.js';

/** Renders a log record's format with its arguments (enough for matching). */
function render(m: MessageLog): string {
  let i = 0;
  return m.format.replace(/%[sdvw]/g, () => String(m.args[i++]));
}

/** A logger that keeps every line and resolves waiters on the first line matching their pattern. */
class Probe implements LoggerBehavior {
  readonly lines: { level: LogLevel; text: string }[] = [];
  private waiters: { re: RegExp; level: LogLevel; done: (text: string) => void }[] = [];

  log(m: MessageLog): void {
    const text = render(m);
    this.lines.push({ level: m.level, text });
    this.waiters = this.waiters.filter((w) => {
      if (m.level !== w.level || !w.re.test(text)) return true;
      w.done(text);
      return false;
    });
  }

  /** Resolves with the first line (past or future) at `level` matching `re`. */
  wait(level: LogLevel, re: RegExp): Promise<string> {
    const seen = this.lines.find((l) => l.level === level && re.test(l.text));
    if (seen !== undefined) return Promise.resolve(seen.text);
    return new Promise((done) => this.waiters.push({ re, level, done }));
  }

  count(level: LogLevel, re: RegExp): number {
    return this.lines.filter((l) => l.level === level && re.test(l.text)).length;
  }
}

let seq = 0;

/** A node with a network on an OS-picked port, logging at debug into a probe (and stderr). */
async function netNode(prefix: string, routes: { match: string; port: number }[] = []): Promise<[Node, Probe]> {
  const V = { name: '', release: '' };
  const node = await startNode(`${prefix}${++seq}_${process.pid}@localhost`, {
    log: { level: LogLevel.Debug },
    network: {
      cookie: 'survival',
      acceptors: [{ port: 0 }],
      registrar: null,
      routes: routes.map((r) => ({
        match: r.match,
        route: { route: { host: '127.0.0.1', port: r.port, tls: false, handshakeVersion: V, protoVersion: V } },
      })),
    },
  });
  const probe = new Probe();
  node.loggerAdd('probe', probe);
  return [node, probe];
}

function portOf(node: Node): number {
  const i = node.network().acceptors()[0]!.info().interface;
  return Number(i.slice(i.lastIndexOf(':') + 1));
}

/** Node `a` with a static route to node `b`. */
async function pair(): Promise<{ a: Node; pa: Probe; b: Node; pb: Probe }> {
  const [b, pb] = await netNode('b');
  const [a, pa] = await netNode('a', [{ match: b.name.replace(/[.$]/g, '\\$&'), port: portOf(b) }]);
  return { a, pa, b, pb };
}

async function stopAll(...nodes: Node[]): Promise<void> {
  for (const n of nodes) await n.stop();
}

/** Sends what it is told to on its first message, with the options given at spawn. */
class Sender extends Actor {
  override handleMessage(_from: PID, m: unknown): undefined {
    const { kind, to } = m as { kind: 'important' | 'plain' | 'after'; to: ProcessID };
    if (kind === 'important') this.send(to, 'hello', { important: true });
    else if (kind === 'plain') this.send(to, 'hello');
    else this.sendAfter(to, 'hello', 1);
    return undefined;
  }
}

async function remoteSend(kind: 'important' | 'plain' | 'after'): Promise<unknown> {
  const { a, pa, b } = await pair();
  const to = new ProcessID('nobody', b.name);
  // The plain send and sendAfter are important only through the process' own option.
  const pid = await a.spawn(Sender, { importantDelivery: kind !== 'important' });
  a.send(pid, { kind, to });
  const line = await pa.wait(LogLevel.Warning, /was not delivered/);
  const warnings = pa.count(LogLevel.Warning, /was not delivered/);
  await stopAll(a, b);
  return { line, warnings };
}

/** Item 1: `send(..., { important: true })` to a name the remote node does not know. */
export const importantSendToUnknownName: SurvivalScenario = () => remoteSend('important');

/** Item 1: a plain `send` from a process spawned with `importantDelivery: true`. */
export const importantDeliveryPlainSend: SurvivalScenario = () => remoteSend('plain');

/** Item 1: `sendAfter` from a process spawned with `importantDelivery: true`. */
export const importantDeliverySendAfter: SurvivalScenario = () => remoteSend('after');

/** Item 1: `node.send(..., { important: true })` to a node nobody can reach (no route). */
export const nodeImportantSendNoRoute: SurvivalScenario = async () => {
  const [a, pa] = await netNode('a');
  a.send(new ProcessID('x', 'ghost@host'), 'hello', { important: true });
  const line = await pa.wait(LogLevel.Warning, /was not delivered/);
  await a.stop();
  return { line };
};

/** Holds a call's request until told to answer it (after the caller has given up). */
class LateReplier extends Actor {
  protected held: { from: PID; ref: Ref } | null = null;
  override handleCall(from: PID, ref: Ref): unknown {
    this.held = { from, ref };
    this.log.info('holding the call of %s', from.toString());
    return undefined;
  }
  override handleMessage(): undefined {
    if (this.held !== null) this.sendResponse(this.held.from, this.held.ref, 'late');
    return undefined;
  }
}

/** Item 2: an important-delivery process answers a remote call after the caller timed out. */
export const lateImportantReplyToRemoteCaller: SurvivalScenario = async () => {
  const { a, b, pb } = await pair();
  await b.spawnRegister('late', LateReplier, { importantDelivery: true });
  const err = await a.call(new ProcessID('late', b.name), 'q', { timeout: 100 }).then(
    () => 'answered',
    (e: unknown) => (e as { code?: string }).code,
  );
  // The request may reach B after A gave up (a slow connect): answer only once it is held.
  await pb.wait(LogLevel.Info, /holding the call/);
  b.send('late', 'answer now');
  const line = await pb.wait(LogLevel.Warning, /response to .* was not delivered/);
  await stopAll(a, b);
  return { err, line };
};

/** Never answers a call. */
class Silent extends Actor {
  override handleCall(): unknown {
    return undefined;
  }
}

/** Fails its asynchronous init. */
class FailingInit extends Actor {
  override async init(): Promise<void> {
    await Promise.resolve();
    throw new Error('init failed on purpose');
  }
}

/** Item 7: a local call that times out, nobody awaiting it. */
export const ignoredCallTimeout: SurvivalScenario = async () => {
  const [a, pa] = await netNode('a');
  const silent = await a.spawn(Silent);
  void a.call(silent, 'q', { timeout: 20 });
  const line = await pa.wait(LogLevel.Debug, /call to .* failed: .*no reply/);
  await a.stop();
  return { line };
};

/** Item 7: a remote call whose node goes away, nobody awaiting it. */
export const ignoredRemoteCallNodeDown: SurvivalScenario = async () => {
  const { a, pa, b } = await pair();
  await b.spawnRegister('silent', Silent);
  // The first call connects; awaiting its connection keeps the scenario deterministic.
  await a.call(new ProcessID('nobody', b.name), 'q').catch(() => undefined);
  void a.call(new ProcessID('silent', b.name), 'q');
  await b.stop();
  const line = await pa.wait(LogLevel.Debug, /call to .* failed/);
  await a.stop();
  return { line };
};

/** Item 7: remoteSpawn of a name the remote node does not allow, from an actor, ignored. */
export const ignoredRemoteSpawn: SurvivalScenario = async () => {
  const { a, pa, b } = await pair();
  class Spawner extends Actor {
    override handleMessage(): undefined {
      void this.remoteSpawn(b.name, 'not_enabled');
      return undefined;
    }
  }
  a.send(await a.spawn(Spawner), 'go');
  const line = await pa.wait(LogLevel.Debug, /remoteSpawn on .* failed/);
  await stopAll(a, b);
  return { line };
};

/** Item 7: monitorEvent and linkEvent of events that do not exist (local and remote), ignored. */
export const ignoredEventSubscriptions: SurvivalScenario = async () => {
  const { a, pa, b } = await pair();
  class Subscriber extends Actor {
    override handleMessage(): undefined {
      void this.monitorEvent(new Event('no_such_event', a.name));
      void this.linkEvent(new Event('no_such_event', b.name));
      return undefined;
    }
  }
  a.send(await a.spawn(Subscriber), 'go');
  await pa.wait(LogLevel.Debug, /monitorEvent failed/);
  await pa.wait(LogLevel.Debug, /linkEvent failed/);
  await stopAll(a, b);
  return { ok: true };
};

/** Item 7: spawn whose asynchronous init fails, from the node and from an actor, ignored. */
export const ignoredSpawnFailingInit: SurvivalScenario = async () => {
  const [a, pa] = await netNode('a');
  class Parent extends Actor {
    override handleMessage(): undefined {
      void this.spawn(FailingInit);
      return undefined;
    }
  }
  void a.spawn(FailingInit);
  a.send(await a.spawn(Parent), 'go');
  await new Promise<void>((done) => {
    const check = (): void => {
      if (pa.count(LogLevel.Debug, /spawn failed/) >= 2) done();
      else setImmediate(check);
    };
    check();
  });
  await a.stop();
  return { ok: true };
};

/** Fails its init at once: throws, or returns an Error, as told by its argument. */
class FailingInitNow extends Actor {
  override init(how: 'throw' | 'return'): Error | undefined {
    if (how === 'throw') throw new Error('init failed on purpose');
    return new Error('init failed on purpose');
  }
}

/**
 * Item 7: spawns that fail without awaiting anything (init throws, init returns an Error, a
 * taken name), from the node and from an actor, ignored: spawn marks these rejections itself
 * (a spawn that succeeds at once gets no handler).
 */
export const ignoredSpawnFailingAtOnce: SurvivalScenario = async () => {
  const [a, pa] = await netNode('a');
  await a.spawnRegister('taken', Silent);
  class Parent extends Actor {
    override handleMessage(): undefined {
      void this.spawn(FailingInitNow, {}, 'throw');
      void this.spawn(FailingInitNow, {}, 'return');
      void this.spawnRegister('taken', Silent);
      return undefined;
    }
  }
  void a.spawn(FailingInitNow, {}, 'throw');
  void a.spawn(FailingInitNow, {}, 'return');
  void a.spawnRegister('taken', Silent);
  a.send(await a.spawn(Parent), 'go');
  await new Promise<void>((done) => {
    const check = (): void => {
      if (pa.count(LogLevel.Debug, /spawn failed/) >= 4 && pa.count(LogLevel.Debug, /spawnRegister failed/) >= 2)
        done();
      else setImmediate(check);
    };
    check();
  });
  await a.stop();
  return { ok: true };
};

/** Holds a call, then answers it with sendResponseImportant when told (the caller is gone). */
class LateImportantReplier extends LateReplier {
  override handleMessage(): undefined {
    // Ignored on purpose: the caller timed out, so this rejects with ERR_RESPONSE_IGNORED.
    if (this.held !== null) void this.sendResponseImportant(this.held.from, this.held.ref, 'late');
    return undefined;
  }
}

/** Item 7: sendResponseImportant after the (local) caller left, ignored. */
export const ignoredResponseImportant: SurvivalScenario = async () => {
  const [a, pa] = await netNode('a');
  const pid = await a.spawn(LateImportantReplier);
  await a.call(pid, 'q', { timeout: 20 }).catch(() => undefined);
  await pa.wait(LogLevel.Info, /holding the call/);
  a.send(pid, 'answer now');
  const line = await pa.wait(LogLevel.Debug, /sendResponseImportant to .* failed/);
  await a.stop();
  return { line };
};

/** Item 7: sendImportant to an unknown remote name, and requests refused at once, ignored. */
export const ignoredImmediateRejections: SurvivalScenario = async () => {
  const { a, pa, b } = await pair();
  class Caller extends Actor {
    override handleMessage(): undefined {
      void this.sendImportant(new ProcessID('nobody', b.name), 'hello');
      void this.call(this.pid, 'myself');
      void this.inspect('no_such_name' as unknown as PID);
      void this.inspectMeta(this.createAlias());
      void this.callPID('not a pid' as unknown as PID, 'q');
      return undefined;
    }
  }
  a.send(await a.spawn(Caller), 'go');
  await pa.wait(LogLevel.Debug, /sendImportant to .* failed/);
  void a.call('no_such_name', 'q');
  void a.inspect('no_such_name');
  void a.spawnRegister('', Silent);
  await stopAll(a, b);
  return { ok: true };
};

/** Item 7: the network's requests (getNode, a remote node's spawn and application start), ignored. */
export const ignoredNetworkRequests: SurvivalScenario = async () => {
  const { a, pa, b } = await pair();
  void a.network().getNode('ghost@host');
  await pa.wait(LogLevel.Debug, /getNode ghost@host failed/);
  const remote = await a.network().getNode(b.name);
  void remote.spawn('not_enabled');
  void remote.applicationStart('no_such_app');
  await pa.wait(LogLevel.Debug, /spawn on .* failed/);
  await pa.wait(LogLevel.Debug, /applicationStart on .* failed/);
  await stopAll(a, b);
  return { ok: true };
};
