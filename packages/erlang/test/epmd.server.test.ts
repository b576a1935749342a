// The built-in EPMD server with our client and with real Erlang: a real erl node registers with
// it (ERL_EPMD_PORT), erl's EPMD client resolves our registrations and lists names through it,
// and malformed or administrative requests only close their own connection.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { connect } from 'node:net';
import { EpmdClient, EpmdError, EpmdServer } from '../src/index.js';
import { evalErl, haveTool, startErl, type LineProcess } from './erl_helpers.js';

const code = (c: string) => (e: unknown) => e instanceof EpmdError && e.code === c;

/** Sends raw bytes and resolves with everything the server answers before closing. */
function raw(port: number, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(bytes));
    const got: Buffer[] = [];
    s.on('data', (b) => got.push(b));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(got)));
  });
}

test('EPMD server with our client: register, resolve, names, taken, unregister on close', async () => {
  await using server = await EpmdServer.start({ port: 0 });
  const client = new EpmdClient({ port: server.port });
  const a = await client.register({ name: 'alpha', port: 41001 });
  const b = await client.register({ name: 'beta', port: 41002, hidden: true });
  assert.notEqual(a.creation, b.creation);
  assert.ok(a.creation > 0 && b.creation > 0);
  assert.deepEqual(await client.portPlease('beta'), {
    name: 'beta',
    port: 41002,
    nodeType: 72,
    protocol: 0,
    highestVersion: 6,
    lowestVersion: 5,
    extra: new Uint8Array(0),
  });
  assert.equal(await client.portPlease('gamma'), undefined);
  assert.deepEqual(
    (await client.names()).nodes.sort((x, y) => x.port - y.port),
    [
      { name: 'alpha', port: 41001 },
      { name: 'beta', port: 41002 },
    ],
  );
  assert.equal((await client.names()).epmdPort, server.port);
  await assert.rejects(client.register({ name: 'alpha', port: 41003 }), code('ERR_EPMD_TAKEN'));
  // a version 5 node gets the short answer with a 2-byte creation
  const old = await client.register({ name: 'old', port: 41004, highestVersion: 5 });
  assert.ok(old.creation >= 1 && old.creation <= 3);
  await old.close();
  // the server sees a closed registration at once
  const gone = once(server, 'unregister');
  await a.close();
  assert.deepEqual(await gone, ['alpha']);
  assert.equal(await client.portPlease('alpha'), undefined);
  assert.deepEqual(server.names(), [{ name: 'beta', port: 41002 }]);
  // closing the server drops the remaining registrations
  const lost = new Promise((resolve) => b.once('lost', resolve));
  await server.close();
  await lost;
  await b.close();
});

test('EPMD server: bad and administrative requests close only their own connection', async () => {
  await using server = await EpmdServer.start({ port: 0, maxRequestBytes: 300 });
  const client = new EpmdClient({ port: server.port });
  const reg = await client.register({ name: 'keep', port: 41100 });
  assert.equal((await raw(server.port, Buffer.from([0, 1, 107]))).length, 0, 'KILL refused');
  assert.equal((await raw(server.port, Buffer.from([0, 1, 115]))).length, 0, 'STOP refused');
  assert.equal((await raw(server.port, Buffer.from([0, 1, 1]))).length, 0, 'unknown request');
  assert.equal((await raw(server.port, Buffer.from([0xff, 0xff, 120]))).length, 0, 'over-long request');
  assert.equal((await raw(server.port, Buffer.from([0, 4, 120, 0, 1, 77]))).length, 0, 'truncated ALIVE2');
  const dump = await raw(server.port, Buffer.from([0, 1, 100]));
  assert.match(dump.toString('latin1', 4), /active name +<keep> at port 41100/);
  assert.equal((await client.portPlease('keep'))?.port, 41100, 'still serving');
  await reg.close();
});

test('EPMD server with real Erlang: erl registers with it and resolves through it', async (t) => {
  if (!haveTool(t, 'erl')) return;
  await using server = await EpmdServer.start({ port: 0 });
  const env = { ERL_EPMD_PORT: String(server.port) };
  const client = new EpmdClient({ port: server.port });
  const ours = await client.register({ name: 'tsnode', port: 41200 });
  let erl: LineProcess | undefined;
  try {
    const registered = once(server, 'register');
    erl = await startErl(
      ['-name', 'e2@127.0.0.1', '-setcookie', 'c', '-start_epmd', 'false'],
      'io:format("ready~n").',
      env,
    );
    assert.equal((await registered)[0], 'e2');
    const info = await client.portPlease('e2');
    assert.ok(info !== undefined && info.port > 0, 'erl registered');
    assert.deepEqual([info.highestVersion, info.lowestVersion, info.nodeType], [6, 5, 77]);
    assert.deepEqual(
      server
        .names()
        .map((n) => n.name)
        .sort(),
      ['e2', 'tsnode'],
    );
    const out = await evalErl(
      'io:format("~p~n~p~n~p~n", [erl_epmd:port_please("tsnode", "127.0.0.1"), erl_epmd:port_please("nobody", "127.0.0.1"), net_adm:names("127.0.0.1")]), halt().',
      { env },
    );
    const [pp, none, names] = out.trim().split('\n');
    assert.equal(pp, '{port,41200,6}');
    assert.equal(none, 'noport');
    assert.match(names!, /\{"tsnode",41200\}/);
    assert.match(names!, /\{"e2",\d+\}/);
    // when erl stops, its registration goes with its connection
    const gone = once(server, 'unregister');
    await erl.kill();
    erl = undefined;
    assert.deepEqual(await gone, ['e2']);
    assert.deepEqual(
      server.names().map((n) => n.name),
      ['tsnode'],
    );
  } finally {
    await erl?.kill();
    await ours.close();
  }
});
