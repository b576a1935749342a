// Issue 34 item 5: createWebsocketConnection's Promise is safe to leave un-awaited. Each failure
// — bad options, a refused dial, a server that never completes the handshake — is provoked once
// with the Promise ignored (the strict runner fails the run on an unhandled rejection, and the
// `after` hook names any it saw) and once awaited, where it still rejects with its code.

import net from 'node:net';
import { after, before, test } from 'node:test';

import { UnhandledWatch, ignoredThenAwaited } from '@ergo-ts/test-support';

import { createWebsocketConnection, type WebsocketConnectionOptions } from '../src/index.js';

const watch = new UnhandledWatch('createWebsocketConnection');

before(() => {
  watch.start();
});

after(() => {
  watch.stop();
});

/** Dials twice with `options`: the first Promise ignored, the second awaited and checked for `code`. */
function dialTwice(options: WebsocketConnectionOptions, code: string): Promise<void> {
  return ignoredThenAwaited(() => createWebsocketConnection(options), code);
}

/** A TCP server that accepts and never answers (a handshake that cannot complete). */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const s = net.createServer((c) => {
    sockets.add(c);
    c.on('close', () => sockets.delete(c));
  });
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen({ host: '127.0.0.1', port: 0 }, resolve);
  });
  return {
    port: (s.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of sockets) c.destroy();
        s.close(() => resolve());
      }),
  };
}

test('bad options: ignored is safe, awaited rejects ERR_INCORRECT', async () => {
  await dialTwice({ url: 'http://127.0.0.1/' }, 'ERR_INCORRECT');
  await dialTwice({ url: 'not a url' }, 'ERR_INCORRECT');
  await dialTwice({ url: 'ws://127.0.0.1/', handshakeTimeout: -1 }, 'ERR_INCORRECT');
});

test('a refused dial (the server is gone): ignored is safe, awaited rejects ECONNREFUSED', async () => {
  const gone = await silentServer();
  const port = gone.port;
  await gone.close();
  await dialTwice({ url: `ws://127.0.0.1:${port}/` }, 'ECONNREFUSED');
});

test('a handshake that never completes: ignored is safe, awaited rejects ERR_TIMEOUT', async () => {
  const silent = await silentServer();
  try {
    // The server never answers: the handshake timeout fires whatever its length.
    await dialTwice({ url: `ws://127.0.0.1:${silent.port}/`, handshakeTimeout: 100 }, 'ERR_TIMEOUT');
  } finally {
    await silent.close();
  }
});
