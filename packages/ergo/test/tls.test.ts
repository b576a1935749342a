// TLS for acceptors and dialers with real sockets on port 0: mutual TLS with a CA (accepted with
// a client certificate it signed, refused without one or with one from another CA), every
// client-auth mode, server verification (root CAs, server name, insecureSkipVerify), a
// certificate swapped at run time served to the next connection, and bad input refused.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import net from 'node:net';
import type tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { CertManager } from '../src/gen/network.js';
import {
  CertAuthManager,
  CertificateManager,
  ClientAuth,
  createCertAuthManager,
  dialTls,
  generateCertificate,
  selfSigned,
  TlsAcceptContext,
  type GeneratedCertificate,
} from '../src/net/tls/index.js';

type Outcome = { ok: true; socket: tls.TLSSocket } | { ok: false; code: string; message: string };

/** An acceptor: plain TCP on port 0, each connection upgraded by `ctx`; outcomes in order. */
async function acceptor(ctx: TlsAcceptContext): Promise<{ port: number; next(): Promise<Outcome>; close(): void }> {
  const outcomes: Outcome[] = [];
  const waiters: ((o: Outcome) => void)[] = [];
  const push = (o: Outcome): void => {
    const w = waiters.shift();
    if (w) w(o);
    else outcomes.push(o);
  };
  const server = net.createServer((raw) => {
    ctx.accept(raw).then(
      (socket) => {
        socket.on('error', () => {});
        socket.write('hello');
        push({ ok: true, socket });
      },
      (err: { code: string; message: string }) => push({ ok: false, code: err.code, message: err.message }),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    next: () => (outcomes.length > 0 ? Promise.resolve(outcomes.shift()!) : new Promise((r) => waiters.push(r))),
    close: () => server.close(),
  };
}

/** Dials and waits for the acceptor's verdict; the client socket is closed afterwards. */
async function attempt(
  acc: Awaited<ReturnType<typeof acceptor>>,
  cm: CertManager | undefined,
  insecureSkipVerify = true,
): Promise<Outcome> {
  const client = await dialTls(cm, { host: '127.0.0.1', port: acc.port, insecureSkipVerify }).catch(() => undefined);
  const outcome = await acc.next();
  client?.destroy();
  if (outcome.ok) outcome.socket.destroy();
  return outcome;
}

const fingerprint = (pem: string): string => new X509Certificate(pem).fingerprint256;

function pki(): {
  ca: GeneratedCertificate;
  server: GeneratedCertificate;
  client: GeneratedCertificate;
  rogue: GeneratedCertificate;
} {
  const ca = generateCertificate({ commonName: 'ergo test CA', isCA: true, hosts: [] });
  const otherCa = generateCertificate({ commonName: 'rogue CA', isCA: true, hosts: [] });
  return {
    ca,
    server: generateCertificate({ commonName: 'server', issuer: ca }),
    client: generateCertificate({ commonName: 'client', issuer: ca }),
    rogue: generateCertificate({ commonName: 'client', issuer: otherCa }),
  };
}

test('mutual TLS: a client certificate signed by the CA is accepted; none, or one from another CA, is refused', async () => {
  const { ca, server, client, rogue } = pki();
  const serverCm = createCertAuthManager(server);
  serverCm.setClientCAs(ca.cert);
  serverCm.setClientAuth(ClientAuth.RequireAndVerifyClientCert);
  const acc = await acceptor(new TlsAcceptContext(serverCm));
  try {
    const clientCm = createCertAuthManager(client);
    clientCm.setRootCAs(ca.cert);
    // Verified both ways: the client checks the server against the CA (no insecureSkipVerify).
    const socket = await dialTls(clientCm, { host: '127.0.0.1', port: acc.port });
    const accepted = await acc.next();
    assert.ok(accepted.ok, JSON.stringify(accepted));
    assert.equal(accepted.socket.getPeerX509Certificate()?.fingerprint256, fingerprint(client.cert));
    assert.equal(socket.getPeerX509Certificate()?.fingerprint256, fingerprint(server.cert));
    const [greeting] = (await once(socket, 'data')) as [Buffer];
    assert.equal(greeting.toString(), 'hello');
    socket.destroy();
    accepted.socket.destroy();

    const none = await attempt(acc, undefined);
    assert.ok(!none.ok && none.code === 'ERR_NOT_ALLOWED' && /no certificate/.test(none.message), JSON.stringify(none));
    const wrong = await attempt(acc, new CertificateManager(rogue));
    assert.ok(!wrong.ok && wrong.code === 'ERR_NOT_ALLOWED', JSON.stringify(wrong));
  } finally {
    acc.close();
  }
});

test('client-auth modes: RequireAny takes any certificate, VerifyIfGiven takes none or a trusted one', async () => {
  const { ca, server, client, rogue } = pki();
  const cm = createCertAuthManager(server);
  cm.setClientCAs([ca.cert]);
  const acc = await acceptor(new TlsAcceptContext(cm));
  try {
    cm.setClientAuth(ClientAuth.RequireAnyClientCert);
    assert.equal((await attempt(acc, new CertificateManager(rogue))).ok, true);
    const none = await attempt(acc, undefined);
    assert.ok(!none.ok && none.code === 'ERR_NOT_ALLOWED', JSON.stringify(none));

    cm.setClientAuth(ClientAuth.VerifyClientCertIfGiven);
    assert.equal((await attempt(acc, undefined)).ok, true);
    assert.equal((await attempt(acc, new CertificateManager(client))).ok, true);
    const untrusted = await attempt(acc, new CertificateManager(rogue));
    assert.ok(!untrusted.ok && untrusted.code === 'ERR_NOT_ALLOWED', JSON.stringify(untrusted));

    cm.setClientAuth(ClientAuth.RequestClientCert);
    assert.equal((await attempt(acc, new CertificateManager(rogue))).ok, true);
    cm.setClientAuth(ClientAuth.NoClientCert);
    const plain = await attempt(acc, new CertificateManager(rogue));
    assert.ok(plain.ok);
  } finally {
    acc.close();
  }
});

test('dialling verifies the acceptor unless insecureSkipVerify: root CAs, server name', async () => {
  const { ca, server } = pki();
  const acc = await acceptor(new TlsAcceptContext(new CertificateManager(server)));
  try {
    // Not in Node's store: refused, unless verification is skipped.
    await assert.rejects(dialTls(undefined, { host: '127.0.0.1', port: acc.port }), { code: 'ERR_NO_CONNECTION' });
    assert.equal((await acc.next()).ok, false);
    assert.equal((await attempt(acc, undefined, true)).ok, true);

    const trusting = new CertAuthManager(generateCertificate({ commonName: 'dialer' }));
    trusting.setRootCAs(ca.cert);
    assert.equal((await attempt(acc, trusting, false)).ok, true);
    trusting.setServerName('localhost');
    assert.equal((await attempt(acc, trusting, false)).ok, true);
    trusting.setServerName('elsewhere.example');
    await assert.rejects(dialTls(trusting, { host: '127.0.0.1', port: acc.port }), {
      code: 'ERR_NO_CONNECTION',
      message: /elsewhere\.example/,
    });
    await acc.next();
  } finally {
    acc.close();
  }
});

test('a certificate swapped at run time is served to the next connection; open ones keep theirs', async () => {
  const first = selfSigned('first');
  const second = selfSigned('second');
  const cm = new CertificateManager(first);
  const acc = await acceptor(new TlsAcceptContext(cm));
  // Any CertManager works, not only ours: a plain object whose certificate() changes.
  let plainPair = first;
  const plain: CertManager = { certificate: () => plainPair };
  const acc2 = await acceptor(new TlsAcceptContext(plain));
  try {
    const before = await dialTls(undefined, { host: '127.0.0.1', port: acc.port, insecureSkipVerify: true });
    const held = await acc.next();
    assert.equal(before.getPeerX509Certificate()?.fingerprint256, fingerprint(first.cert));

    const gen = cm.generation();
    cm.update(second);
    assert.equal(cm.generation(), gen + 1);
    const after = await dialTls(undefined, { host: '127.0.0.1', port: acc.port, insecureSkipVerify: true });
    assert.equal(after.getPeerX509Certificate()?.fingerprint256, fingerprint(second.cert));
    await acc.next();

    // The connection made before the swap still works with the old certificate.
    assert.ok(held.ok);
    let received = '';
    const echoed = new Promise<void>((resolve) => {
      before.on('data', (d: Buffer) => {
        received += d.toString();
        if (received.includes('still here')) resolve();
      });
    });
    held.socket.write('still here');
    await echoed;
    assert.equal(received, 'hellostill here');
    for (const s of [before, after]) s.destroy();
    held.socket.destroy();

    plainPair = second;
    const viaPlain = await dialTls(undefined, { host: '127.0.0.1', port: acc2.port, insecureSkipVerify: true });
    assert.equal(viaPlain.getPeerX509Certificate()?.fingerprint256, fingerprint(second.cert));
    viaPlain.destroy();
    await acc2.next();
  } finally {
    acc.close();
    acc2.close();
  }
});

test('a client that never completes the TLS handshake is dropped with ERR_TIMEOUT', async () => {
  const acc = await acceptor(new TlsAcceptContext(new CertificateManager(selfSigned()), { handshakeTimeout: 100 }));
  try {
    const raw = net.connect(acc.port, '127.0.0.1');
    raw.on('error', () => {});
    const outcome = await acc.next();
    assert.ok(!outcome.ok && outcome.code === 'ERR_TIMEOUT', JSON.stringify(outcome));
    raw.destroy();
  } finally {
    acc.close();
  }
});

test('bad TLS input is refused with ERR_INCORRECT and changes nothing', () => {
  const good = selfSigned();
  assert.throws(() => new CertificateManager({ key: 'not a key', cert: 'not a cert' }), { code: 'ERR_INCORRECT' });
  const cm = createCertAuthManager(good);
  assert.throws(() => cm.update({ key: good.key, cert: 'junk' }), { code: 'ERR_INCORRECT' });
  assert.equal(cm.certificate().cert, good.cert);
  assert.throws(() => cm.setClientAuth(9 as ClientAuth), { code: 'ERR_INCORRECT' });
  assert.throws(() => cm.setClientCAs('junk'), { code: 'ERR_INCORRECT' });
  assert.throws(() => cm.setRootCAs(['junk']), { code: 'ERR_INCORRECT' });
  assert.throws(() => generateCertificate({ validDays: 0 }), { code: 'ERR_INCORRECT' });
  assert.throws(() => generateCertificate({ issuer: { cert: 'junk', key: good.key } }), { code: 'ERR_INCORRECT' });
  assert.throws(() => new TlsAcceptContext(cm, { handshakeTimeout: -1 }), { code: 'ERR_INCORRECT' });
  // Bytes work as well as PEM strings.
  const fromBytes = new CertificateManager({
    key: new TextEncoder().encode(good.key),
    cert: new TextEncoder().encode(good.cert),
  });
  assert.ok(Buffer.isBuffer(fromBytes.certificate().cert));
});
