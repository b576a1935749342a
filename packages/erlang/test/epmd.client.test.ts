// The EPMD client against Erlang's real epmd (started by the test on a free loopback port):
// register with the connection kept open, resolve, names, a taken name, unregistering on close,
// re-registering after epmd restarts, and erl itself seeing our registration and vice versa.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { createServer, type Socket } from 'node:net';
import { eventually } from '@ergo-ts/test-support';
import { EpmdClient, EpmdError } from '../src/index.js';
import { evalErl, haveTool, startEpmd, startErl, waitPortOpen, LineProcess } from './erl_helpers.js';

const code = (c: string) => (e: unknown) => e instanceof EpmdError && e.code === c;

test('EPMD client against the real epmd: register, resolve, names, taken, unregister, erl sees us', async (t) => {
  if (!haveTool(t, 'epmd') || !haveTool(t, 'erl')) return;
  const { port, proc } = await startEpmd();
  let erl: LineProcess | undefined;
  try {
    const client = new EpmdClient({ port });
    const reg = await client.register({ name: 'tsnode', port: 40123 });
    assert.ok(reg.creation > 0, 'a non-zero creation');
    assert.ok(reg.registered);

    const info = await client.portPlease('tsnode');
    assert.deepEqual(
      info && { port: info.port, hi: info.highestVersion, lo: info.lowestVersion, type: info.nodeType },
      { port: 40123, hi: 6, lo: 5, type: 77 },
    );
    assert.equal(await client.portPlease('nobody'), undefined);
    const names = await client.names();
    assert.equal(names.epmdPort, port);
    assert.deepEqual(names.nodes, [{ name: 'tsnode', port: 40123 }]);
    await assert.rejects(client.register({ name: 'tsnode', port: 40124 }), code('ERR_EPMD_TAKEN'));

    // erl's own EPMD client finds our registration
    const seen = await evalErl('io:format("~p~n", [erl_epmd:port_please("tsnode", "127.0.0.1")]), halt().', {
      env: { ERL_EPMD_PORT: String(port) },
    });
    assert.match(seen, /\{port,40123,6\}/);

    // an erl node registers; we resolve it by its full name
    erl = await startErl(
      ['-name', 'e1@127.0.0.1', '-setcookie', 'c', '-start_epmd', 'false'],
      'io:format("ready~n").',
      { ERL_EPMD_PORT: String(port) },
    );
    const r = await client.resolve('e1@127.0.0.1');
    assert.equal(r.host, '127.0.0.1');
    assert.ok(r.port > 0);
    await assert.rejects(client.resolve('nobody@127.0.0.1'), code('ERR_EPMD_NOT_FOUND'));
    await assert.rejects(client.resolve('no-at-sign'), code('ERR_EPMD_INCORRECT'));
    assert.deepEqual((await client.names()).nodes.map((n) => n.name).sort(), ['e1', 'tsnode']);

    // closing the registration's connection unregisters the name
    await reg.close();
    assert.equal(reg.registered, false);
    // Up to 10 s and more: epmd, another OS process, drops a closed registration when it notices
    // the close, later on a loaded machine.
    await eventually(async () => (await client.portPlease('tsnode')) === undefined, 'tsnode unregistered', {
      timeoutMs: 15_000,
      intervalMs: 20,
    });
    const again = await client.register({ name: 'tsnode', port: 40125 });
    assert.equal((await client.portPlease('tsnode'))?.port, 40125);
    await again.close();
  } finally {
    await erl?.kill();
    await proc.kill();
  }
});

test('EPMD client re-registers when epmd restarts', async (t) => {
  if (!haveTool(t, 'epmd')) return;
  let epmd = await startEpmd();
  try {
    const client = new EpmdClient({ port: epmd.port });
    const reg = await client.register({ name: 'phoenix', port: 40200, retryInterval: 50 });
    const lost = new Promise<Error>((resolve) => reg.once('lost', resolve));
    const back = new Promise<number>((resolve) => reg.once('registered', resolve));
    await epmd.proc.kill();
    assert.equal((await lost).constructor, EpmdError);
    // a new epmd on the same port (retried: the port may linger for a moment)
    const port = epmd.port;
    for (let i = 0; ; i++) {
      const proc = new LineProcess('epmd', ['-port', String(port), '-address', '127.0.0.1', '-d']);
      try {
        await proc.waitFor(/epmd running/, 3000);
        if (!(await waitPortOpen(port, 3000))) throw new Error('epmd not listening');
        epmd = { port, proc };
        break;
      } catch (e) {
        await proc.kill();
        if (i >= 20) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const creation = await back;
    assert.ok(creation > 0);
    assert.equal(reg.creation, creation);
    assert.equal((await client.portPlease('phoenix'))?.port, 40200);
    await reg.close();
  } finally {
    await epmd.proc.kill();
  }
});

test('EPMD client errors: nothing listening, a silent server, an abort, bad arguments', async () => {
  // a port nobody listens on
  const closed = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  await assert.rejects(new EpmdClient({ port: closed }).names(), code('ERR_EPMD_CONNECT'));
  // a server that accepts and never answers
  const held = new Set<Socket>();
  const silent = createServer((s) => held.add(s));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const sport = (silent.address() as { port: number }).port;
  try {
    await assert.rejects(new EpmdClient({ port: sport, timeout: 100 }).portPlease('x'), code('ERR_EPMD_TIMEOUT'));
    const ac = new AbortController();
    const p = new EpmdClient({ port: sport }).register({ name: 'x', port: 1, signal: ac.signal });
    ac.abort();
    await assert.rejects(p, code('ERR_EPMD_ABORTED'));
  } finally {
    for (const s of held) s.destroy();
    await new Promise((r) => silent.close(r));
  }
  const c = new EpmdClient({ port: sport });
  await assert.rejects(c.register({ name: '', port: 1 }), code('ERR_EPMD_INCORRECT'));
  await assert.rejects(c.register({ name: 'a@b', port: 1 }), code('ERR_EPMD_INCORRECT'));
  await assert.rejects(c.register({ name: 'x'.repeat(256), port: 1 }), code('ERR_EPMD_INCORRECT'));
  await assert.rejects(c.register({ name: 'x', port: 70000 }), code('ERR_EPMD_INCORRECT'));
  assert.throws(() => new EpmdClient({ port: 0 }), code('ERR_EPMD_INCORRECT'));
});
