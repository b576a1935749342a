// What the node tells its operator, read as log records (a logger added to the node, never its
// printed output): an application's start and stop lines name the mode it was started with (a
// stop used to print "temporary" whatever the mode), and a peer killed with kill -9 costs each
// surviving node exactly one warning (its closed links and failed re-dials log at debug; the
// peer is a node in a child OS process, one survivor dialled it and it dialled the other).

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import {
  Actor,
  ApplicationMode,
  LogLevel,
  createApplication,
  type MessageLog,
  type Node,
  type NodeOptions,
} from '../src/index.js';
import { DIST_COOKIE, startChild, type ChildNode } from './dist_helpers.js';
import { deferred, noUnhandled, quietNode, within, type Deferred } from './helpers.js';
import { eventually } from '@ergo-ts/test-support';
import { netNode, portOf, routeTo } from './net_helpers.js';

noUnhandled();

/** Every record a node logs, with a wait for one that matches. */
class Records {
  readonly all: MessageLog[] = [];
  private waiters: { pred: (m: MessageLog) => boolean; d: Deferred<MessageLog> }[] = [];

  attach(node: Node): this {
    node.loggerAdd('records', {
      log: (m) => {
        this.all.push(m);
        this.waiters = this.waiters.filter((w) => !(w.pred(m) && (w.d.resolve(m), true)));
      },
    });
    return this;
  }

  /** The first record matching `pred` (logged already or later); fails after 30 s. */
  wait(pred: (m: MessageLog) => boolean, what: string): Promise<MessageLog> {
    const seen = this.all.find(pred);
    if (seen !== undefined) return Promise.resolve(seen);
    const d = deferred<MessageLog>();
    this.waiters.push({ pred, d });
    return within(d.promise, what, 30_000);
  }

  /** The records at warning or above (warning, error, panic). */
  warnings(): MessageLog[] {
    return this.all.filter((m) => m.level >= LogLevel.Warning && m.level <= LogLevel.Panic);
  }
}

/** The record as its line reads (format with its arguments). */
function line(m: MessageLog): string {
  let i = 0;
  return m.format.replace(/%[sdv]/g, () => String(m.args[i++]));
}

class Idle extends Actor {}

test('application lines name the mode it was started with: started, stopped and force-stopped', async (t) => {
  const options: NodeOptions = { log: { level: 'info' } };
  const node = await quietNode(options);
  t.after(() => node.stop());
  const records = new Records().attach(node);
  const starts: [ApplicationMode, string, (name: string) => Promise<void>][] = [
    [ApplicationMode.Temporary, 'temporary', (n) => node.applicationStartTemporary(n)],
    [ApplicationMode.Transient, 'transient', (n) => node.applicationStartTransient(n)],
    [ApplicationMode.Permanent, 'permanent', (n) => node.applicationStartPermanent(n)],
  ];
  for (const [mode, word, start] of starts) {
    for (const force of [false, true]) {
      const name = `ll_${word}_${force ? 'force' : 'graceful'}`;
      await node.applicationLoad(createApplication({ name, group: [{ factory: Idle }] }));
      await start(name);
      assert.equal(node.applicationInfo(name).mode, mode);
      await records.wait((m) => line(m) === `application ${name} (${word}) started`, `${name} started line`);
      if (force) await node.applicationStopForce(name);
      else await node.applicationStop(name);
      const stopped = await records.wait(
        (m) => line(m).startsWith(`application ${name} (`) && line(m).includes(') stopped'),
        `${name} stopped line`,
      );
      assert.equal(
        line(stopped),
        `application ${name} (${word}) stopped with reason ${force ? 'kill' : 'shutdown'}`,
        'the stop line names the mode of the start',
      );
      assert.equal(node.applicationInfo(name).mode, mode, 'a stop keeps the mode of the start');
    }
  }
});

test('a peer killed with kill -9: each surviving node logs exactly one warning for it', async (t) => {
  let victim: ChildNode | null = null;
  t.after(() => victim?.kill());
  victim = await startChild(`ll_victim_${process.pid}@localhost`);
  const peer = victim.name;
  const escaped = (name: string): string => name.replace(/[.$]/g, '\\$&');

  // `dialler` dials the victim (its lost links are re-dialled); the victim dials `acceptor`.
  const acceptor = await netNode('ll_acc', { cookie: DIST_COOKIE });
  // (Not to each other: the first to stop would be the other's lost peer.)
  const dialler = await netNode('ll_dial', {
    cookie: DIST_COOKIE,
    routes: [{ match: escaped(peer), route: routeTo(victim.port) }],
  });
  t.after(async () => {
    await dialler.stop().catch(() => undefined);
    await acceptor.stop().catch(() => undefined);
  });
  const survivors: [Node, Records][] = [
    [dialler, new Records().attach(dialler)],
    [acceptor, new Records().attach(acceptor)],
  ];
  await dialler.network().getNode(peer);
  assert.equal(await victim.cmd('route', { match: escaped(acceptor.name), port: portOf(acceptor) }), 'ok');
  assert.equal(await victim.cmd('watcher', { req: { op: 'monitor', target: { node: acceptor.name } } }), 'ok');
  for (const [node, records] of survivors)
    await records.wait((m) => line(m).startsWith(`connected to ${peer} `), `${node.name} connected to the peer`);
  // The pool's link up on both sides (a kill amid a Join's handshake is another story). Between
  // ergo-ts nodes the pool is one link until traffic makes the rest pay (docs/networking.md).
  for (const [node] of survivors)
    await eventually(
      () => node.network().node(peer).info().poolSize === 1,
      `${node.name}: the pool's link to the peer`,
    );
  for (const [node, records] of survivors)
    assert.deepEqual(records.warnings().map(line), [], `${node.name}: no warning before the kill`);

  const exited = new Promise<void>((resolve) => victim!.proc.once('exit', () => resolve()));
  victim.kill();
  await within(exited, 'the peer OS process exits', 30_000);
  for (const [node, records] of survivors)
    await records.wait((m) => line(m).startsWith(`lost the connection to ${peer}:`), `${node.name} loses the peer`);
  // Whatever a survivor had still pending for the peer (re-dials, their retries) ends with its
  // stop: only then is the count final.
  await dialler.stop();
  await acceptor.stop();
  for (const [node, records] of survivors) {
    const warnings = records.warnings().map(line);
    assert.equal(warnings.length, 1, `${node.name}: one warning for the lost peer, got ${JSON.stringify(warnings)}`);
    assert.match(warnings[0]!, new RegExp(`^lost the connection to ${escaped(peer)}: `));
    assert.equal(records.warnings()[0]!.level, LogLevel.Warning);
  }
});
