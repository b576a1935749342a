// Cookies, TLS and compression between two ergo-ts nodes over loopback: a wrong cookie is
// refused (the caller gets ErrNoConnection, the acceptor logs the refusal and publishes it on
// diagnostics_channel); a TLS acceptor with a self-signed certificate serves a TLS route;
// compressed messages (gzip, zlib, lzw) cross intact.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import diagnostics from 'node:diagnostics_channel';
import { eventually } from '@ergo-ts/test-support';
import { DIAGNOSTICS, ErrNoConnection, ProcessID } from '../src/index.js';
import { LogCapture, probe } from './helpers.js';
import { netNode, netPair, portOf, routeTo } from './net_helpers.js';
import { selfSigned } from '../src/net/tls/selfsigned.js';
import { NetworkFlags } from '../src/net/index.js';

test('a wrong cookie is refused on both sides', async (t) => {
  const failures: unknown[] = [];
  const onFail = (m: unknown): void => void failures.push(m);
  diagnostics.subscribe(DIAGNOSTICS.networkHandshakeFailed, onFail);
  t.after(() => diagnostics.unsubscribe(DIAGNOSTICS.networkHandshakeFailed, onFail));
  const capture = new LogCapture();
  const { a, b } = await netPair(t, { cookie: 'right' }, { cookie: 'wrong' }, undefined, capture);
  await b.spawnRegister('echo', probe());
  await assert.rejects(a.call(new ProcessID('echo' as never, b.name), 'x'), (e: Error) => ErrNoConnection.is(e));
  assert.deepEqual(a.network().nodes(), []);
  assert.deepEqual(b.network().nodes(), []);
  await eventually(() => /handshake from .* failed: incorrect digest/.test(capture.text()), 'acceptor log line');
  assert.ok(failures.length >= 2, 'both sides publish the handshake failure');
});

test('TLS: a TLS acceptor serves a TLS route (self-signed, insecureSkipVerify)', async (t) => {
  const cert = selfSigned('localhost');
  const b = await netNode('tlsb', { acceptors: [{ port: 0, certManager: { certificate: () => cert } }] });
  t.after(() => b.stop());
  assert.equal(b.network().acceptors()[0]!.info().tls, true);
  const a = await netNode('tlsa', {
    insecureSkipVerify: true,
    // Without the link frames: the whole pool joins over TLS at once.
    flags: Object.assign(NetworkFlags.defaults(), { ergoFrames: false }),
    routes: [{ match: b.name, route: routeTo(portOf(b), {}, true) }],
  });
  t.after(() => a.stop());
  await b.spawnRegister(
    'echo',
    probe(undefined, (req) => req),
  );
  assert.equal(await a.call(new ProcessID('echo' as never, b.name), 'over tls'), 'over tls');
  assert.equal(a.network().node(b.name).info().poolSize, 3);
  // Without skipping verification the self-signed certificate is refused.
  const c = await netNode('tlsc', { routes: [{ match: b.name, route: routeTo(portOf(b), {}, true) }] });
  t.after(() => c.stop());
  await assert.rejects(c.call(new ProcessID('echo' as never, b.name), 'x'), (e: Error) => ErrNoConnection.is(e));
});

test('compressed messages cross intact (gzip, zlib, lzw)', async (t) => {
  const { a, b } = await netPair(t);
  await b.spawnRegister(
    'echo',
    probe(undefined, (req) => req),
  );
  await a.network().getNode(b.name);
  const big = 'ergo '.repeat(2000);
  for (const type of ['gzip', 'zlib', 'lzw'] as const) {
    const caller = await a.spawn(
      probe(undefined, async (req, _f, _r, self) => {
        self.setCompression(true);
        self.setCompressionType(type);
        return self.call(new ProcessID('echo' as never, b.name), req);
      }),
    );
    const before = a.network().node(b.name).info().bytesOut;
    assert.equal(await a.call(caller, big), big);
    const sent = a.network().node(b.name).info().bytesOut - before;
    assert.ok(sent < big.length / 4, `${type}: ${sent} bytes sent for ${big.length}`);
  }
});
