// The version 6 handshake between our own initiator and acceptor over loopback sockets: every
// status, the cookie digest, flag checks, names, timeouts, aborts, version 5 refusal, and the
// connection phase that follows (messages, fragments, ticks, a silent peer timing out).

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { createServer, connect, type Socket } from 'node:net';
import {
  DEFAULT_FLAGS,
  DFLAG,
  DistConnection,
  DistError,
  HandshakeError,
  acceptHandshake,
  atom,
  cookieDigest,
  initiateHandshake,
  resolveSimultaneous,
  termEqual,
  tuple,
  type AcceptorOptions,
  type InitiatorOptions,
} from '../src/index.js';

const code = (c: string) => (e: unknown) => e instanceof HandshakeError && e.code === c;

async function pair(): Promise<[Socket, Socket]> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const client = connect((server.address() as { port: number }).port, '127.0.0.1');
  const a = await accepted;
  server.close();
  return [client, a];
}

// Set-up timeouts well past what a loaded machine needs (no test here waits one out but the
// timeout test, which sets its own).
const A: InitiatorOptions = {
  name: 'a@127.0.0.1',
  cookie: 'secret',
  creation: 11,
  peer: 'b@127.0.0.1',
  timeout: 15000,
};
const B: AcceptorOptions = { name: 'b@127.0.0.1', cookie: 'secret', creation: 22, timeout: 15000 };

async function both(a: Partial<InitiatorOptions>, b: Partial<AcceptorOptions>) {
  const [x, y] = await pair();
  const r = await Promise.allSettled([initiateHandshake(x, { ...A, ...a }), acceptHandshake(y, { ...B, ...b })]);
  x.destroy();
  y.destroy();
  return r;
}

function rejected(r: PromiseSettledResult<unknown>, c: string): void {
  assert.equal(r.status, 'rejected', `expected ${c}`);
  assert.ok(code(c)((r as PromiseRejectedResult).reason), `expected ${c}, got ${(r as PromiseRejectedResult).reason}`);
}

test('cookie digest: MD5 of the cookie and the unsigned decimal challenge', () => {
  assert.deepEqual(cookieDigest('abc', 1509631638), createHash('md5').update('abc1509631638').digest());
  assert.deepEqual(cookieDigest('abc', 0xfffffffe), createHash('md5').update('abc4294967294').digest());
  assert.deepEqual(cookieDigest('abc', -2), cookieDigest('abc', 0xfffffffe));
});

test('ok: both sides learn each other, flags are ANDed, and the connection carries messages and fragments', async () => {
  const [x, y] = await pair();
  const fewer = DEFAULT_FLAGS & ~DFLAG.ALIAS;
  const [ra, rb] = await Promise.all([initiateHandshake(x, A), acceptHandshake(y, { ...B, flags: fewer })]);
  assert.deepEqual([ra.peerName, ra.peerCreation, ra.status], ['b@127.0.0.1', 22, 'ok']);
  assert.deepEqual([rb.peerName, rb.peerCreation, rb.status], ['a@127.0.0.1', 11, 'ok']);
  assert.equal(ra.flags, fewer);
  assert.equal(rb.flags, fewer);
  const ca = new DistConnection(ra, { fragmentSize: 1000 });
  const cb = new DistConnection(rb);
  try {
    const got: unknown[] = [];
    const arrived = new Promise<void>((resolve) =>
      cb.on('message', (m) => {
        got.push(m);
        if (got.length === 3) resolve();
      }),
    );
    const big = Buffer.alloc(5000, 7);
    ca.send(tuple(6, atom(''), atom(''), atom('echo')), tuple(atom('hello'), 1));
    ca.send(tuple(2, atom(''), atom('x')), big); // 6 fragments
    ca.send(tuple(2, atom(''), atom('x')), atom('after'));
    await arrived;
    const [m1, m2, m3] = got as { control: never; payload: never }[];
    assert.ok(termEqual(m1!.payload, tuple(atom('hello'), 1)));
    assert.deepEqual(m2!.payload, big);
    assert.ok(termEqual(m3!.payload, atom('after')));
    // an unencodable term is refused locally; the connection stays usable
    assert.throws(
      () => ca.send(tuple(2), atom('x'.repeat(256))),
      (e: unknown) => (e as { code?: string }).code === 'ERR_ETF_ATOM_TOO_LONG',
    );
    assert.ok(ca.open);
  } finally {
    ca.close();
    cb.close();
  }
});

test('statuses: nok, not_allowed, alive (replace or keep), ok_simultaneous', async () => {
  let [a, b] = await both({}, { accept: () => 'nok' });
  rejected(a, 'ERR_HANDSHAKE_NOK');
  rejected(b, 'ERR_HANDSHAKE_NOK');
  [a, b] = await both({}, { accept: () => 'not_allowed' });
  rejected(a, 'ERR_HANDSHAKE_NOT_ALLOWED');
  rejected(b, 'ERR_HANDSHAKE_NOT_ALLOWED');
  [a, b] = await both({ onAlive: () => false }, { accept: () => 'alive' });
  rejected(a, 'ERR_HANDSHAKE_ALIVE');
  rejected(b, 'ERR_HANDSHAKE_ALIVE');
  [a, b] = await both({ onAlive: async () => true }, { accept: () => 'alive' });
  assert.equal(a.status === 'fulfilled' && a.value.status, 'alive');
  assert.equal(b.status === 'fulfilled' && b.value.status, 'alive');
  [a, b] = await both({}, { accept: () => 'ok_simultaneous' });
  assert.equal(a.status === 'fulfilled' && a.value.status, 'ok_simultaneous');
  assert.equal(resolveSimultaneous('b@h', 'a@h'), 'nok');
  assert.equal(resolveSimultaneous('a@h', 'b@h'), 'ok_simultaneous');
});

test('refusals: wrong cookie, missing mandatory flags, another name, version 5, bad options', async () => {
  let [a, b] = await both({ cookie: 'wrong' }, {});
  rejected(a, 'ERR_HANDSHAKE_COOKIE');
  rejected(b, 'ERR_HANDSHAKE_COOKIE');
  // the acceptor's cookie differs: it acks with a digest the initiator rejects
  [a, b] = await both({}, { cookie: 'other' });
  rejected(a, 'ERR_HANDSHAKE_COOKIE');
  rejected(b, 'ERR_HANDSHAKE_COOKIE');
  [a, b] = await both({ flags: DEFAULT_FLAGS & ~(DFLAG.HANDSHAKE_23 | DFLAG.MANDATORY_25_DIGEST) }, {});
  rejected(a, 'ERR_HANDSHAKE_NOT_ALLOWED');
  rejected(b, 'ERR_HANDSHAKE_FLAGS');
  // MANDATORY_25_DIGEST alone stands for the 11 bits
  [a, b] = await both({ flags: DFLAG.MANDATORY_25_DIGEST }, {});
  assert.equal(b.status, 'fulfilled');
  [a, b] = await both({ requiredFlags: DFLAG.SPAWN }, {});
  rejected(a, 'ERR_HANDSHAKE_FLAGS');
  [a, b] = await both({ peer: 'c@127.0.0.1' }, {});
  rejected(a, 'ERR_HANDSHAKE_NAME');
  // a version 5 'n' name message
  const [x, y] = await pair();
  const v5 = Buffer.from([0, 12, 0x6e, 0, 5, 0, 0, 0, 0, ...Buffer.from('a@b.c')]);
  x.write(v5);
  await assert.rejects(acceptHandshake(y, B), code('ERR_HANDSHAKE_PROTOCOL'));
  x.destroy();
  const [s1] = await pair();
  await assert.rejects(initiateHandshake(s1, { ...A, name: 'noatsign' }), code('ERR_HANDSHAKE_INCORRECT'));
  const [s2] = await pair();
  await assert.rejects(initiateHandshake(s2, { ...A, creation: 0 }), code('ERR_HANDSHAKE_INCORRECT'));
  const [s3] = await pair();
  await assert.rejects(initiateHandshake(s3, { ...A, cookie: 'λ' }), code('ERR_HANDSHAKE_INCORRECT'));
});

test('set-up timeouts and aborts; a silent peer times out in the connection phase', async () => {
  const [x, y] = await pair();
  await assert.rejects(acceptHandshake(y, { ...B, timeout: 50 }), code('ERR_HANDSHAKE_TIMEOUT'));
  x.destroy();
  const [p, q] = await pair();
  const ac = new AbortController();
  const h = initiateHandshake(p, { ...A, signal: ac.signal });
  ac.abort();
  await assert.rejects(h, code('ERR_HANDSHAKE_ABORTED'));
  q.destroy();
  // a peer that completes the handshake and then never writes (no ticks)
  const [s, t] = await pair();
  const [ra, rb] = await Promise.all([initiateHandshake(s, A), acceptHandshake(t, B)]);
  rb.socket.on('data', () => {});
  const conn = new DistConnection(ra, { tickInterval: 10, peerTimeout: 60 });
  const reason = await new Promise<Error | undefined>((r) => conn.once('close', r));
  assert.ok(reason instanceof DistError && reason.code === 'ERR_DIST_TIMEOUT');
  assert.ok(conn.ticksOut > 0, 'we ticked while waiting');
  rb.socket.destroy();
  // garbage in the connection phase closes it with a protocol error
  const [u, v] = await pair();
  const [rc, rd] = await Promise.all([initiateHandshake(u, A), acceptHandshake(v, B)]);
  const c2 = new DistConnection(rc);
  const closed = new Promise<Error | undefined>((r) => c2.once('close', r));
  rd.socket.write(Buffer.from([0, 0, 0, 3, 1, 2, 3]));
  const why = await closed;
  assert.ok(why instanceof DistError && why.code === 'ERR_DIST_PROTOCOL');
  rd.socket.destroy();
});
