// The far end of inhost.test.ts's links: a worker thread that opens the rings it is given and
// reads (or not yet) what the test's thread writes. It checks the byte pattern (byte i of the
// stream is i % 251), records the largest slice it was handed, and reports when the stream ends.

import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { PortSocket } from '../src/net/inhost/port_socket.js';
import { ByteRing } from '../src/net/inhost/ring.js';

interface PeerData {
  port: MessagePort;
  /** [test → peer, peer → test]. */
  rings: [SharedArrayBuffer, SharedArrayBuffer];
}

const d = workerData as PeerData;
const socket = new PortSocket(d.port, new ByteRing(d.rings[1]), new ByteRing(d.rings[0]));
let bytes = 0;
let bad = 0;
let largest = 0;
const start = (): void => {
  socket.on('data', (b: Buffer) => {
    largest = Math.max(largest, b.length);
    for (let i = 0; i < b.length; i++) if (b[i] !== (bytes + i) % 251) bad++;
    bytes += b.length;
  });
  socket.on('end', () => parentPort!.postMessage({ t: 'ended', bytes, bad, largest }));
};
parentPort!.on('message', (m: string) => {
  if (m === 'read') start();
});
parentPort!.postMessage({ t: 'ready' });
