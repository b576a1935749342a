// EHS:R1 over TLS between two ergo-ts ends: the acceptor binds the cookie to its certificate
// (DigestCert in its Hello and in a Join's Accept) and the initiator checks it; through a
// TLS-terminating man in the middle, which cannot produce that binding, the initiator refuses
// the connection with ERR_HANDSHAKE_CERT even though the cookie is right.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import {
  acceptHandshake,
  joinHandshake,
  startHandshake,
  type HandshakeOptions,
} from '../src/net/handshake/handshake.js';
import { selfSigned } from '../src/net/tls/selfsigned.js';

const a: HandshakeOptions = { node: 'a@localhost', cookie: 'secret', creation: 1700000000 };
const b: HandshakeOptions = { node: 'b@localhost', cookie: 'secret', creation: 1700000001 };
const cert = selfSigned();

async function tlsServer(onSocket: (s: tls.TLSSocket) => void): Promise<{ port: number; close(): void }> {
  const srv = tls.createServer({ cert: cert.cert, key: cert.key }, onSocket);
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  return { port: (srv.address() as net.AddressInfo).port, close: () => srv.close() };
}

function dial(port: number): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => resolve(s));
    s.once('error', reject);
  });
}

test('full handshake and join over TLS: the initiator verifies the certificate binding', async () => {
  const accepted: Promise<unknown>[] = [];
  const srv = await tlsServer((s) => accepted.push(acceptHandshake(s, b)));
  const sockets: tls.TLSSocket[] = [];
  try {
    const s1 = await dial(srv.port);
    sockets.push(s1);
    const hs = await startHandshake(s1, a, 'b@localhost');
    assert.equal(hs.peer, 'b@localhost');
    const s2 = await dial(srv.port);
    sockets.push(s2);
    const j = await joinHandshake(s2, a, hs.connectionID, 'b@localhost');
    assert.equal(j.join, true);
    const [acc1, acc2] = (await Promise.all(accepted)) as { join: boolean; connectionID: string }[];
    assert.equal(acc1!.join, false);
    assert.equal(acc2!.join, true);
    assert.equal(acc2!.connectionID, hs.connectionID);
  } finally {
    for (const s of sockets) s.destroy();
    srv.close();
  }
});

test('a TLS-terminating man in the middle cannot bind the cookie to its certificate: ERR_HANDSHAKE_CERT', async () => {
  // The real acceptor behind the proxy speaks plain TCP (it sees no certificate to bind).
  let inner!: Promise<unknown>;
  const plain = net.createServer((s) => {
    inner = acceptHandshake(s, b).catch((e: unknown) => e);
  });
  plain.listen(0, '127.0.0.1');
  await once(plain, 'listening');
  const plainPort = (plain.address() as net.AddressInfo).port;
  const upstreams: net.Socket[] = [];
  const mitm = await tlsServer((s) => {
    const up = net.connect(plainPort, '127.0.0.1');
    upstreams.push(up);
    s.pipe(up).pipe(s);
    s.on('error', () => up.destroy());
    up.on('error', () => s.destroy());
  });
  const s = await dial(mitm.port);
  try {
    await assert.rejects(startHandshake(s, a, 'b@localhost'), { code: 'ERR_HANDSHAKE_CERT' });
    // With the check disabled (Go's DisableTLSFingerprint) the same path is accepted.
    const s2 = await dial(mitm.port);
    const hs = await startHandshake(s2, { ...a, disableTLSFingerprint: true }, 'b@localhost');
    assert.equal(hs.peer, 'b@localhost');
    s2.destroy();
    await inner;
  } finally {
    s.destroy();
    for (const u of upstreams) u.destroy();
    mitm.close();
    plain.close();
  }
});
