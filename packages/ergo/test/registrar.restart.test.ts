// A node restarted at once after kill -9 on the embedded registrar (issue 63). The serving node
// keeps a client's registration as long as its TCP connection, and reads a connection's end at
// least a loop turn before a new connection's first packet: a restart after the old process has
// exited found its name free even with the server's loop blocked for 3 s across it. A restart
// that does not wait for the old process to be gone (SIGKILL sent, the process still being torn
// down) can register before the old connection ends: the server holds such a registration until
// the holder's connection ends (then admits it) or for a bound (then refuses it with ERR_TAKEN:
// a node of that name still runs). Nodes run in OS processes of their own
// (registrar_restart_node.ts); the hold itself is tested on the server directly.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ProcessID, startNode, type Atom, type Node } from '../src/index.js';
import { EmbeddedRegistrar } from '../src/net/registrar/index.js';
import { RegistrarServer } from '../src/net/registrar/server.js';
import { toWireRoute } from '../src/net/registrar/resolver.js';
import { freePort, localNode, routesOn } from './registrar_helpers.js';

const REGISTER_TIMEOUT = 10_000;
const NAME = 'v@127.0.0.1';

interface Proc {
  proc: ChildProcess;
  stderr: string[];
  /** The ready line, or a rejection naming its stderr when it ends first. */
  ready: Promise<{ ready: string; role: string }>;
  /** Its exit code once its output is read (null: killed by a signal). */
  closed: Promise<number | null>;
}

function spawnNode(name: string, port: number): Proc {
  const proc = spawn(
    process.execPath,
    [fileURLToPath(new URL('./registrar_restart_node.js', import.meta.url)), name, String(port)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const stderr: string[] = [];
  readline.createInterface({ input: proc.stderr! }).on('line', (l) => stderr.push(l));
  const closed = new Promise<number | null>((resolve) => proc.once('close', (code) => resolve(code)));
  const ready = new Promise<{ ready: string; role: string }>((resolve, reject) => {
    readline
      .createInterface({ input: proc.stdout! })
      .once('line', (l) => resolve(JSON.parse(l) as { ready: string; role: string }));
    void closed.then((code) => reject(new Error(`${name} ended (${code}) before it was ready: ${stderr.join('\n')}`)));
  });
  ready.catch(() => undefined);
  return { proc, stderr, ready, closed };
}

async function kill9(p: Proc): Promise<void> {
  if (p.proc.exitCode !== null || p.proc.signalCode !== null) return;
  p.proc.kill('SIGKILL');
  await p.closed;
}

async function serverNode(name: string, port: number): Promise<{ node: Node; registrar: EmbeddedRegistrar }> {
  const registrar = new EmbeddedRegistrar({ port, registerTimeout: REGISTER_TIMEOUT, retryInterval: 100 });
  const node = await startNode(name, {
    log: { level: 'warning' as never, defaultLogger: { output: { write: () => undefined } } },
    network: { cookie: 'restart-secret', acceptors: [{ host: '127.0.0.1', port: 0 }], registrar },
  });
  return { node, registrar };
}

function echo(node: Node, to: string, msg: string): Promise<unknown> {
  return node.call(new ProcessID('echo' as Atom, to as Atom), msg as never, { timeout: 30_000 });
}

test('a client node killed with SIGKILL and started again at once registers again and is reachable; a live duplicate is refused', async () => {
  const port = await freePort();
  const s = await serverNode('srv@127.0.0.1', port);
  const procs: Proc[] = [];
  try {
    assert.equal(s.registrar.role(), 'server');
    const first = spawnNode(NAME, port);
    procs.push(first);
    assert.deepEqual(await first.ready, { ready: NAME, role: 'client' });
    // As a shell would: SIGKILL sent, the new process started without waiting for the old to end.
    first.proc.kill('SIGKILL');
    const again = spawnNode(NAME, port);
    procs.push(again);
    assert.deepEqual(await again.ready, { ready: NAME, role: 'client' });
    assert.equal(await first.closed, null);
    assert.equal(await echo(s.node, NAME, 'after the restart'), 'after the restart');

    // A second process of a name that still runs: refused, and the running one is untouched.
    const dup = spawnNode(NAME, port);
    procs.push(dup);
    assert.equal(await dup.closed, 1);
    assert.match(dup.stderr.join('\n'), /start failed: .*taken/);
    assert.equal(await echo(s.node, NAME, 'still there'), 'still there');
  } finally {
    for (const p of procs) await kill9(p);
    s.registrar.terminate();
    await s.node.stop();
  }
});

test('the serving node killed with SIGKILL and started again at once starts (server or client) and is reachable', async () => {
  const port = await freePort();
  const procs: Proc[] = [];
  const first = spawnNode(NAME, port);
  procs.push(first);
  let s: { node: Node; registrar: EmbeddedRegistrar } | undefined;
  try {
    assert.deepEqual(await first.ready, { ready: NAME, role: 'server' });
    s = await serverNode('cli@127.0.0.1', port);
    assert.equal(s.registrar.role(), 'client');
    await kill9(first);
    // The node here takes the port over or the restarted one does, whichever binds first.
    const again = spawnNode(NAME, port);
    procs.push(again);
    const { role } = await again.ready;
    assert.ok(role === 'server' || role === 'client', role);
    assert.equal(await echo(s.node, NAME, 'after the restart'), 'after the restart');
  } finally {
    for (const p of procs) await kill9(p);
    s?.registrar.terminate();
    await s?.node.stop();
  }
});

test('on the server: a registration of a held name waits for the holder to go, then is admitted; one that outlasts takenWait gets ERR_TAKEN', async () => {
  const port = await freePort();
  const events = new EventEmitter();
  const server = await RegistrarServer.bind(
    port,
    { waiting: (n) => events.emit('waiting', n), unregistered: (n) => events.emit('unregistered', n) },
    { registerReadTimeout: REGISTER_TIMEOUT, takenWait: 60_000 },
  );
  assert.ok(server !== null);
  const a = await localNode('held@127.0.0.1');
  const client = (): EmbeddedRegistrar =>
    new EmbeddedRegistrar({ port, disableServer: true, registerTimeout: REGISTER_TIMEOUT });
  const holder = client();
  const next = client();
  try {
    await holder.register(a.reg, routesOn(19001));
    const waiting = once(events, 'waiting');
    const admitted = next.register(a.reg, routesOn(19002));
    assert.deepEqual(await waiting, ['held@127.0.0.1']);
    holder.terminate();
    await admitted;
    assert.equal(next.role(), 'client');
    assert.deepEqual(server.lookup('held@127.0.0.1'), routesOn(19002).routes.map(toWireRoute));
  } finally {
    holder.terminate();
    next.terminate();
    server.close();
  }

  // A holder that stays: refused once takenWait has passed.
  const port2 = await freePort();
  const strict = await RegistrarServer.bind(
    port2,
    { waiting: (n) => events.emit('waiting', n) },
    { registerReadTimeout: REGISTER_TIMEOUT, takenWait: 200 },
  );
  assert.ok(strict !== null);
  const stays = new EmbeddedRegistrar({ port: port2, disableServer: true, registerTimeout: REGISTER_TIMEOUT });
  const dup = new EmbeddedRegistrar({ port: port2, disableServer: true, registerTimeout: REGISTER_TIMEOUT });
  try {
    await stays.register(a.reg, routesOn(19003));
    const waiting = once(events, 'waiting');
    await assert.rejects(dup.register(a.reg, routesOn(19004)), { code: 'ERR_TAKEN' });
    await waiting;
    assert.equal(strict.lookup('held@127.0.0.1')![0]!.port, 19003);
  } finally {
    stays.terminate();
    dup.terminate();
    strict.close();
    await a.node.stop();
  }
});
