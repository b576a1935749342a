// A peer paused longer than failure detection (issue 45): what a sender accepts for it is bounded
// in bytes wherever it waits, and every accepted packet is delivered or reported.
//
// - While the peer is being dialled (after its connection was declared down, a paused peer's
//   kernel still completes TCP but its handshake never answers), the dial queue holds at most
//   `peerBufferLimit` bytes: past it a send or call is refused at once with ERR_PEER_BUSY. Before,
//   it took 10,000 operations whatever their size (10,000 × 64 KiB = 625 MiB).
// - When that dial fails, each important send and call queued fails to its sender at once, and the
//   plain sends are counted (NetworkInfo.undelivered) and told in one warning, not one per message.
// - A packet larger than the bound still goes when no USER packet waits, whatever protocol packet
//   (a heartbeat) waits: before, a heartbeat queued in the same turn got it refused.
// - A peer stopped with SIGSTOP longer than detection (a small peerStallTimeout): plain, important
//   sends and calls made before, during and after detection; the sender's queued bytes stay within
//   the bound throughout; every important send and call settles (acked or failed with a code); the
//   plain sends not delivered are reported; once the peer runs again, the connection comes back.
// - The memory behind the bound: while a stopped peer's connection holds `peerBufferLimit` bytes,
//   the sender's ArrayBuffers grow by the bound plus a small constant, not by a multiple of it.
//   Before, a batch written behind others pinned the encoder's whole buffer (up to twice its
//   bytes): 16.5 MB of ArrayBuffers at the 8 MiB default.
// Waits are on events (refusals, node down, settled promises); no assertion depends on timing.

import { strict as assert } from 'node:assert';
import net from 'node:net';
import { test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';

import { eventually } from '@ergo-ts/test-support';
import { ErgoError, ProcessID, type Atom, type Node, type PID } from '../src/index.js';
import type { EnpConnection } from '../src/net/proto/connection.js';
import { NetworkFlags } from '../src/net/index.js';
import { LogCapture, noUnhandled, probe, quietNode, within, type Probe } from './helpers.js';
import { LfNode } from './linkflow_helpers.js';
import { netPair } from './net_helpers.js';
import { routeTo } from './route_helpers.js';

noUnhandled();

const SIZE = 64 * 1024;
const LIMIT = 256 * 1024;
const code = (e: unknown): string => String((e as { code?: string }).code ?? e);

/** Runs `fn` inside a process of `node` (important sends need a process) and returns its result. */
async function actor(node: Node): Promise<(fn: (self: Probe) => unknown) => void> {
  const pid = await node.spawn(probe((m, _from, self) => (typeof m === 'function' ? m(self) : undefined)));
  return (fn) => node.send(pid, fn);
}

/** A TCP server that accepts and never answers: a dial to it waits in its handshake. */
async function mutePeer(t: { after(fn: () => Promise<void> | void): void }) {
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    sockets.push(s);
    s.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: () => sockets.length,
    /**
     * Ends the dial: its handshake sees the socket close, and nothing listens any more (a dial
     * whose peer closed the handshake is dialled again; refused, it fails at once).
     */
    hangUp: () => {
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}

test('the dial queue is bounded in bytes: past peerBufferLimit a send or call is refused at once; when the dial fails, important sends and calls fail with a code and plain sends are counted in one warning', async (t) => {
  const mute = await mutePeer(t);
  const peer = `mute${process.pid}@localhost`;
  const capture = new LogCapture();
  const sender = await quietNode(
    {
      network: {
        cookie: 'pause',
        acceptors: [],
        registrar: null,
        peerBufferLimit: LIMIT,
        dialTimeout: 600_000,
        routes: [{ match: peer.replace(/[.$]/g, '\\$&'), route: routeTo(mute.port) }],
      },
    },
    capture,
    `sender_mute${process.pid}@localhost`,
  );
  t.after(() => sender.stop().catch(() => undefined));
  const target = new ProcessID('sink' as Atom, peer as Atom);
  const run = await actor(sender);
  // An important send and a call go first (the queue has room for them).
  const important = new Promise<string>((resolve) =>
    run((self) =>
      self.sendImportant(target, 'important').then(
        () => resolve('acked'),
        (e) => resolve(code(e)),
      ),
    ),
  );
  const call = sender.call(target, 'call', { timeout: 600_000 }).then(
    () => 'answered',
    (e: unknown) => code(e),
  );
  await eventually(() => mute.accepted() > 0, 'the dial to reach the mute peer');
  let accepted = 0;
  let refused: ErgoError | undefined;
  for (let i = 0; i < 1000 && refused === undefined; i++) {
    try {
      sender.send(target, new Uint8Array(SIZE)); // a fresh buffer per message
      accepted++;
    } catch (e) {
      if (!(e instanceof ErgoError)) throw e;
      refused = e;
    }
  }
  assert.ok(refused !== undefined, `a send past the bound is refused (${accepted} accepted)`);
  assert.equal(refused.code, 'ERR_PEER_BUSY');
  assert.match(refused.message, /being connected.*peerBufferLimit 262144/);
  assert.ok(accepted * SIZE <= LIMIT, `the queue stays within the bound: ${accepted} × ${SIZE} B accepted`);
  // A call that does not fit fails at once too.
  assert.equal(
    await sender.call(target, new Uint8Array(SIZE), { timeout: 600_000 }).then(
      () => 'answered',
      (e: unknown) => code(e),
    ),
    'ERR_PEER_BUSY',
  );
  const pending = (sender.network() as unknown as { dialling: Map<string, { pending: { queuedBytes: number } }> })
    .dialling;
  assert.ok(pending.get(peer)!.pending.queuedBytes <= LIMIT, 'the dial queue reports bytes within the bound');

  mute.hangUp();
  assert.notEqual(await within(important, 'the important send to fail'), 'acked');
  assert.notEqual(await within(call, 'the call to fail'), 'answered');
  const counted = await eventually(
    () =>
      sender
        .network()
        .info()
        .undelivered?.find((u) => u.node === peer),
    'the dropped plain sends to be counted',
  );
  assert.equal(counted.plainSends, accepted, 'every accepted plain send is counted as dropped');
  const lines = capture.text().match(/undelivered to mute\d+@localhost: \d+ plain sends dropped/g) ?? [];
  assert.equal(lines.length, 1, `one summary line, not one per message:\n${capture.text()}`);
  assert.match(capture.text(), new RegExp(`undelivered to ${peer}: ${accepted} plain sends dropped`));
});

test('a packet larger than peerBufferLimit goes when no user packet waits, even with a heartbeat queued before it', async (t) => {
  // Without the link frames: the heartbeat is a control packet that waits in the link's batch
  // (a frame is written at once).
  const flags = Object.assign(NetworkFlags.defaults(), { ergoFrames: false });
  const { a, b } = await netPair(t, { peerBufferLimit: 64 * 1024, peerStallTimeout: 0, flags });
  const got: number[] = [];
  const sink = await b.spawn(
    probe((m) => {
      if (m instanceof Uint8Array) got.push(m.length);
    }),
  );
  await a.network().getNode(b.name);
  const conn = (a.network() as unknown as { connections: Map<string, EnpConnection> }).connections.get(b.name)!;
  // The same turn: a heartbeat waits on the connection when the large packet comes.
  conn.probe();
  assert.ok(conn.queuedBytes > 0, 'the heartbeat waits');
  a.send(sink as PID, new Uint8Array(256 * 1024));
  await eventually(() => got.length === 1, 'the large message to arrive');
});

test('a peer stopped longer than failure detection: queued bytes stay within the bound; every important send and call settles; dropped plain sends are reported; the connection comes back', async (t) => {
  const child = await LfNode.start(`paused${process.pid}`, { LF_STALL: '0' });
  const reap = (): void => {
    child.proc.kill('SIGCONT');
    child.proc.kill('SIGKILL');
  };
  process.once('exit', reap);
  t.after(() => child.stop().catch(reap));
  const capture = new LogCapture();
  const sender = await quietNode(
    {
      log: { level: 'debug' },
      network: {
        cookie: 'linkflow',
        registrar: null,
        acceptors: [],
        peerBufferLimit: LIMIT,
        peerStallTimeout: 400,
        // Long enough for a resumed, loaded peer to answer a handshake (a starved fixture missed 1 s).
        dialTimeout: 3000,
        routes: [{ match: child.name.replace(/[.$]/g, '\\$&'), route: routeTo(child.port) }],
      },
    },
    capture,
    `sender_paused${process.pid}@localhost`,
  );
  t.after(() => sender.stop().catch(() => undefined));
  const network = sender.network() as unknown as {
    connections: Map<string, EnpConnection>;
    dialling: Map<string, { pending: { queuedBytes: number } }>;
  };
  const sink = new ProcessID('sink' as Atom, child.name as Atom);
  assert.equal(await sender.call(sink, 'count'), 0);
  const run = await actor(sender);
  const settled: Promise<string>[] = [];
  let plainAccepted = 0;
  let maxQueued = 0;
  const queued = (): number =>
    (network.connections.get(child.name)?.queuedBytes ?? 0) +
    (network.dialling.get(child.name)?.pending.queuedBytes ?? 0);
  /** One round: a plain send (fresh buffer), an important send and a call, each accepted or refused. */
  const round = (): void => {
    try {
      sender.send(sink, new Uint8Array(SIZE));
      plainAccepted++;
    } catch (e) {
      assert.ok(e instanceof ErgoError, String(e));
    }
    settled.push(
      new Promise<string>((resolve) =>
        run((self) => {
          try {
            self.sendImportant(sink, 'important').then(
              () => resolve('acked'),
              (e) => resolve(code(e)),
            );
          } catch (e) {
            resolve(code(e));
          }
        }),
      ),
    );
    settled.push(
      sender.call(sink, 'ping', { timeout: 600_000 }).then(
        () => 'answered',
        (e: unknown) => code(e),
      ),
    );
    maxQueued = Math.max(maxQueued, queued());
  };
  child.proc.kill('SIGSTOP');
  const downs = (): number => (capture.text().match(/declared down/g) ?? []).length;
  // Until the pause is detected, then until a redial has failed and counted its plain sends.
  while (downs() === 0) {
    round();
    await new Promise((r) => setImmediate(r));
  }
  while (
    (sender
      .network()
      .info()
      .undelivered?.find((u) => u.node === child.name)?.plainSends ?? 0) === 0
  ) {
    round();
    await new Promise((r) => setImmediate(r));
  }
  child.proc.kill('SIGCONT');
  let lastProbe = '';
  // Every important send and call made during the pause settles, none waits for a timeout.
  const open = new Set<number>();
  settled.forEach((p, i) => {
    open.add(i);
    void p.then(() => open.delete(i));
  });
  const outcomes = await within(Promise.all(settled), 'every important send and call to settle', 60_000).catch(
    (e: unknown) => {
      // Even indexes are important sends, odd ones calls.
      const left = [...open].map((i) => `${i % 2 === 0 ? 'important' : 'call'} #${i >> 1}`);
      throw new Error(`${String(e)}; unsettled: ${left.join(', ')} of ${settled.length}\n${capture.text()}`);
    },
  );
  const tally = new Map<string, number>();
  for (const o of outcomes) tally.set(o, (tally.get(o) ?? 0) + 1);
  t.diagnostic(`outcomes ${JSON.stringify([...tally])}, plain accepted ${plainAccepted}, max queued ${maxQueued} B`);
  for (const o of tally.keys())
    assert.ok(
      ['acked', 'answered', 'ERR_NO_CONNECTION', 'ERR_PEER_BUSY', 'ERR_TIMEOUT', 'ERR_HANDSHAKE_TIMEOUT'].includes(o) ||
        o.startsWith('ERR_'),
      `an outcome with a code: ${o}`,
    );
  // The bound: the connection's links or the dial queue, never more than the limit plus one packet.
  assert.ok(maxQueued <= LIMIT + SIZE + 1024, `queued ${maxQueued} B within ${LIMIT} + one packet`);
  // Back: a call goes through (the dial after SIGCONT succeeds).
  await eventually(
    () =>
      sender.call(sink, 'count', { timeout: 2000 }).then(
        (n) => n as number,
        (e: unknown) => {
          lastProbe = String(e);
          return undefined;
        },
      ),
    'the connection to come back',
    { timeoutMs: 60_000 },
  ).catch((e: unknown) => {
    throw new Error(`${String(e)}; last probe: ${lastProbe}\n${capture.text().slice(-6000)}`);
  });
  const delivered = (await sender.call(sink, 'count')) as number;
  const u = sender
    .network()
    .info()
    .undelivered!.find((x) => x.node === child.name)!;
  t.diagnostic(
    `delivered to the sink ${delivered} (plain and important), plain dropped from the dial queue ${u.plainSends}, user packets not delivered at the down ${u.downPackets} (${u.downBytes} B)`,
  );
  assert.ok(u.plainSends > 0, 'the dropped plain sends are reported');
  assert.ok(u.downPackets > 0, 'the packets the down connection did not deliver are reported');
  // Every accepted plain send arrived or is counted (the sink counts important sends too, and
  // downPackets is an upper bound that also holds the important sends and calls that failed).
  assert.ok(
    delivered + u.plainSends + u.downPackets >= plainAccepted,
    `${plainAccepted} accepted: ${delivered} delivered + ${u.plainSends} + ${u.downPackets} reported`,
  );
  // One summary warning per interval, not a line per message.
  const lines = (capture.text().match(/undelivered to /g) ?? []).length;
  assert.ok(lines < u.plainSends, `${lines} warning lines for ${u.plainSends} dropped sends`);
});

test('the memory behind the bound: a stopped peer whose connection is full costs the sender peerBufferLimit of ArrayBuffers plus a small constant', async (t) => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  /** ArrayBuffers held once collected: two collections apart, as their memory is swept after one. */
  const held = async (): Promise<number> => {
    gc();
    await new Promise((r) => setTimeout(r, 50));
    gc();
    await new Promise((r) => setTimeout(r, 50));
    return process.memoryUsage().arrayBuffers;
  };
  const limit = 4 * 1024 * 1024;
  const child = await LfNode.start(`held${process.pid}`, { LF_STALL: '0' });
  const reap = (): void => {
    child.proc.kill('SIGCONT');
    child.proc.kill('SIGKILL');
  };
  process.once('exit', reap);
  t.after(() => child.stop().catch(reap));
  const sender = await quietNode(
    {
      network: {
        cookie: 'linkflow',
        registrar: null,
        acceptors: [],
        peerBufferLimit: limit,
        // Never declared down here: the connection stays, full, while it is measured.
        peerStallTimeout: 600_000,
        routes: [{ match: child.name.replace(/[.$]/g, '\\$&'), route: routeTo(child.port) }],
      },
    },
    new LogCapture(),
    `sender_held${process.pid}@localhost`,
  );
  t.after(() => sender.stop().catch(() => undefined));
  const sink = new ProcessID('sink' as Atom, child.name as Atom);
  assert.equal(await sender.call(sink, 'count'), 0);
  const conn = (sender.network() as unknown as { connections: Map<string, EnpConnection> }).connections.get(
    child.name,
  )!;
  // One buffer for every send: what the test itself allocates does not grow with the sends.
  const payload = new Uint8Array(SIZE);
  const before = await held();
  child.proc.kill('SIGSTOP');
  // Two sends a turn, so the connection writes many small batches behind one another (the case
  // that pinned whole encoder buffers), until the bound refuses them.
  let refused = 0;
  while (refused < 100) {
    for (let i = 0; i < 2; i++) {
      try {
        sender.send(sink, payload);
      } catch (e) {
        assert.equal(code(e), 'ERR_PEER_BUSY');
        refused++;
      }
    }
    await new Promise((r) => setImmediate(r));
  }
  const queued = conn.queuedBytes;
  const grown = (await held()) - before;
  t.diagnostic(`queued ${queued} B for the stopped peer; ArrayBuffers grew by ${grown} B (limit ${limit})`);
  assert.ok(queued > limit / 2, `the connection is full (${queued} B queued)`);
  // The constant: each of the pool's links keeps an encoder buffer, and one write that the kernel
  // took in part pins the buffer it was made in.
  assert.ok(grown <= limit + 2 * 1024 * 1024, `ArrayBuffers grew by ${grown} B for a limit of ${limit}`);
  child.proc.kill('SIGCONT');
  await eventually(
    () =>
      sender.call(sink, 'count', { timeout: 5000 }).then(
        (n) => (n as number) > 0,
        () => false,
      ),
    'the resumed peer to take its backlog',
    { timeoutMs: 60_000 },
  );
});
