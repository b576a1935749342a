// The far end of inhost.doorbell.test.ts's links: a worker thread that opens the rings it is
// given and writes back every byte it reads, as it reads it. It reports, when the stream ends,
// how many bytes it echoed and the most it ever held because its outbound ring was full (its
// writer parked on the ring's space doorbell).

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
let held = 0;
let drains = 0;
socket.on('data', (b: Buffer) => {
  bytes += b.length;
  socket.write(b);
  held = Math.max(held, socket.writableLength);
});
socket.on('drain', () => drains++);
socket.on('end', () => {
  socket.end();
  parentPort!.postMessage({ t: 'ended', bytes, held, drains });
});
parentPort!.postMessage({ t: 'ready' });
