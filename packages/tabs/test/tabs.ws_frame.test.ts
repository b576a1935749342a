// A frame written whole (ws_frame.ts): straight to the TCP socket under a real `ws` server
// socket, one buffer per message, read by a real `ws` client as the same messages in the same
// order, at each header size (7-bit, 16-bit and 64-bit lengths); and where `ws` has a message of
// its own under way (a Blob it is still reading), the frame goes through `ws` behind it instead of
// overtaking it.

import { strict as assert } from 'node:assert';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';

import { WebSocket, WebSocketServer } from 'ws';

import { directWrites, sendWhole, wholeFrame } from '../src/ws_frame.js';

/** A ws server and one client connected to it: the server's socket, and the client's messages. */
async function pair(t: { after(f: () => unknown): void }): Promise<{
  server: WebSocket;
  next: (count: number) => Promise<Buffer[]>;
}> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const accepted = new Promise<WebSocket>((r) => wss.once('connection', r));
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  client.binaryType = 'nodebuffer';
  const got: Buffer[] = [];
  let want = 0;
  let wake: (() => void) | null = null;
  client.on('message', (d: Buffer) => {
    got.push(d);
    if (got.length >= want) wake?.();
  });
  await new Promise<void>((r) => client.once('open', () => r()));
  const server = await accepted;
  t.after(() => {
    client.terminate();
    wss.close();
  });
  const next = async (count: number): Promise<Buffer[]> => {
    want = count;
    if (got.length < count) await new Promise<void>((r) => (wake = r));
    return got.splice(0, count);
  };
  return { server, next };
}

const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 255);

test('whole frames reach a ws client as the same messages, in order, at every header size', async (t) => {
  const { server, next } = await pair(t);
  const sizes = [0, 1, 125, 126, 65535, 65536, 70000];
  const before = directWrites.whole;
  sizes.forEach((n, i) => sendWhole(server, bytes(n, i)));
  assert.equal(directWrites.whole - before, sizes.length, 'each written straight to the socket');
  const got = await next(sizes.length);
  sizes.forEach((n, i) => assert.deepEqual(new Uint8Array(got[i]!), bytes(n, i), `message ${i} (${n} bytes)`));
});

test('a frame is laid out as RFC 6455 says: FIN + binary, unmasked, the shortest length form', () => {
  assert.deepEqual([...wholeFrame(Uint8Array.of(9, 8))], [0x82, 2, 9, 8]);
  const mid = wholeFrame(new Uint8Array(300));
  assert.deepEqual([...mid.subarray(0, 4)], [0x82, 126, 1, 44]);
  assert.equal(mid.length, 304);
  const big = wholeFrame(new Uint8Array(70000));
  assert.deepEqual([...big.subarray(0, 10)], [0x82, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
});

test('behind a message ws has under way, a frame goes through ws and keeps its place', async (t) => {
  const { server, next } = await pair(t);
  const before = { ...directWrites };
  // A Blob is read asynchronously by ws' Sender: until then it holds its queue, and a frame
  // written straight to the socket would overtake it.
  server.send(new Blob([bytes(10, 1)]));
  sendWhole(server, bytes(20, 2));
  sendWhole(server, bytes(30, 3));
  assert.equal(directWrites.viaWs - before.viaWs, 2, 'both went through ws');
  assert.equal(directWrites.whole - before.whole, 0);
  const got = await next(3);
  assert.deepEqual(
    got.map((b) => b.length),
    [10, 20, 30],
  );
  // ws has nothing under way again: the next frame is written whole.
  sendWhole(server, bytes(40, 4));
  assert.equal(directWrites.whole - before.whole, 1);
  assert.deepEqual(new Uint8Array((await next(1))[0]!), bytes(40, 4));
});
