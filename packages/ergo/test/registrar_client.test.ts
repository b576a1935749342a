// The registrar-client base (net/registrar/client.ts) that the etcd and Saturn registrars extend,
// under a real node: a small in-memory client written on it registers, its event reaches a
// subscriber, its resolver ranks application routes and rejects proxies, config and facts read as
// the base promises, and every call before register and after terminate fails with its error.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import {
  Actor,
  atom,
  MessageDownEvent,
  type ApplicationRoute,
  type PID,
  type Atom,
  type MessageEvent,
  type NodeRegistrar,
  type RegisterRoutes,
  type Route,
  type Version,
} from '../src/index.js';
import { EventConfigUpdate, EventNodeJoined, RegistrarClient, type RegistrarConfigValue } from '../src/net/index.js';
import { quietNode } from './helpers.js';

const VERSION: Readonly<Version> = Object.freeze({ name: 'Memory Client', release: 'R1', license: 'MIT' });

/** A registrar client that keeps the cluster in memory: the base does the rest. */
class MemoryRegistrar extends RegistrarClient {
  readonly routes = new Map<Atom, Route[]>();
  readonly apps: ApplicationRoute[] = [];
  readonly settings = new Map<string, unknown>();

  constructor() {
    super({ kind: 'memory', version: VERSION });
  }

  override register(node: NodeRegistrar, _routes: RegisterRoutes): Promise<void> {
    if (this.state !== 'new') return Promise.reject(new Error(`memory registrar is ${this.state}`));
    this.bindNode(node);
    this.openEvent(`memory.${node.name()}`);
    this.state = 'registered';
    return Promise.resolve();
  }

  /** Tells the event's subscribers (the part a real client does when its server pushes). */
  tell(message: unknown): void {
    this.publish(message);
  }

  override nodes(): Promise<Atom[]> {
    return Promise.resolve([...this.routes.keys()]);
  }

  override registerApplicationRoute(route: ApplicationRoute): Promise<void> {
    this.apps.push(route);
    return Promise.resolve();
  }

  override unregisterApplicationRoute(_name: Atom): Promise<void> {
    return Promise.resolve();
  }

  override terminate(): void {
    if (this.state === 'terminated') return;
    const was = this.state;
    this.state = 'terminated';
    if (was === 'registered') this.closeEvent();
  }

  protected override server(): string {
    return 'memory:0';
  }

  protected override async resolveRoutes(name: Atom): Promise<Route[]> {
    this.check();
    const r = this.routes.get(name);
    if (r === undefined) throw new Error(`no ${name}`);
    return r;
  }

  protected override async resolveApplicationRoutes(name: Atom): Promise<ApplicationRoute[]> {
    this.check();
    return this.rankApplicationRoutes(
      name,
      this.apps.filter((r) => r.name === name),
    );
  }

  protected override configValue(item: string): RegistrarConfigValue {
    return { found: this.settings.has(item), value: this.settings.get(item) };
  }
}

const seen: unknown[] = [];
const waiters: (() => void)[] = [];
class Subscriber extends Actor {
  override async init(): Promise<void> {
    await this.monitorEvent(this.node.network().registrar().event());
  }
  override handleEvent(m: MessageEvent): void {
    seen.push(m.message);
    for (const w of waiters.splice(0)) w();
  }
  override handleMessage(_from: PID, m: unknown): void {
    // The event ends when the client closes it (terminate): its down notice comes here.
    if (m instanceof MessageDownEvent) seen.push(m);
    for (const w of waiters.splice(0)) w();
  }
}

function nextEvent(): Promise<void> {
  return new Promise((resolve) => waiters.push(resolve));
}

function app(name: string, node: string, weight: number): ApplicationRoute {
  return { name: atom(name), node: atom(node), weight, mode: 1, state: 2 };
}

describe('RegistrarClient', () => {
  test('before register: every call fails with ERR_NOT_ALLOWED', async () => {
    const r = new MemoryRegistrar();
    assert.throws(() => r.event(), { code: 'ERR_NOT_ALLOWED', message: /memory registrar is not registered yet/ });
    await assert.rejects(r.configItem('x'), { code: 'ERR_NOT_ALLOWED' });
    await assert.rejects(r.config('x'), { code: 'ERR_NOT_ALLOWED' });
    await assert.rejects(r.resolver().resolve(atom('a@h')), { code: 'ERR_NOT_ALLOWED' });
    await assert.rejects(r.resolver().resolveApplication(atom('web')), { code: 'ERR_NOT_ALLOWED' });
  });

  test('registered under a node: event, resolver, config and facts', async () => {
    const client = new MemoryRegistrar();
    const node = await quietNode({ network: { registrar: client, acceptors: [{ port: 0 }] } });
    try {
      const ev = client.event();
      assert.equal(ev.name, `memory.${node.name}`);
      assert.equal(ev.node, node.name);

      await node.spawn(Subscriber, {});
      const got = nextEvent();
      client.tell(new EventNodeJoined(atom('b@h')));
      await got;
      assert.deepEqual(seen, [new EventNodeJoined(atom('b@h'))]);
      assert.ok(seen[0] instanceof EventNodeJoined);

      const resolver = client.resolver();
      await assert.rejects(resolver.resolveProxy(atom('b@h')), { code: 'ERR_NO_ROUTE', message: /proxy to b@h/ });
      await assert.rejects(resolver.resolveApplication(atom('web')), {
        code: 'ERR_NO_ROUTE',
        message: /application web/,
      });
      client.apps.push(app('web', 'b@h', 10), app('web', 'c@h', 30), app('db', 'c@h', 99), app('web', 'd@h', 20));
      const ranked = await resolver.resolveApplication(atom('web'));
      assert.deepEqual(
        ranked.map((r) => [r.node, r.weight]),
        [
          ['c@h', 30],
          ['d@h', 20],
          ['b@h', 10],
        ],
      );

      client.settings.set('pool.size', 4);
      assert.equal(await client.configItem('pool.size'), 4);
      await assert.rejects(client.configItem('missing'), { code: 'ERR_UNKNOWN', message: /config item missing/ });
      assert.deepEqual(await client.config('pool.size', 'missing'), new Map([['pool.size', 4]]));

      await assert.rejects(client.registerProxy(atom('b@h')), {
        code: 'ERR_UNSUPPORTED',
        message: /the memory registrar does not register proxies/,
      });
      await assert.rejects(client.unregisterProxy(atom('b@h')), { code: 'ERR_UNSUPPORTED' });

      const info = client.info();
      assert.deepEqual(info, {
        server: 'memory:0',
        embeddedServer: false,
        version: VERSION,
        supportConfig: true,
        supportEvent: true,
        supportRegisterProxy: false,
        supportRegisterApplication: true,
      });
      const v = client.version();
      assert.deepEqual(v, VERSION);
      assert.notEqual(v, VERSION, 'a copy each time');

      const down = nextEvent();
      client.terminate();
      client.terminate(); // idempotent
      await down;
      assert.ok(seen[1] instanceof MessageDownEvent && seen[1].event.name === ev.name, 'terminate closed the event');
      assert.throws(() => client.event(), { code: 'ERR_REGISTRAR_TERMINATED' });
      await assert.rejects(client.configItem('pool.size'), { code: 'ERR_REGISTRAR_TERMINATED' });
      await assert.rejects(resolver.resolveApplication(atom('web')), { code: 'ERR_REGISTRAR_TERMINATED' });
      // The event is closed: publishing after terminate sends nothing and never throws.
      client.tell(new EventConfigUpdate('pool.size', 5));
    } finally {
      await node.stop();
    }
  });
});
