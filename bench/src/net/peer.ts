// The second OS process of the network scenarios, forked by suites/network.ts. argv[2] picks
// the role; it reports `{ kind: 'ready', port, name? }` over IPC, answers "cpu" with
// `{ kind: 'cpu', cpu: process.cpuUsage() }` (BENCH_CLOCK=cpu rounds), and exits when IPC closes.
//   node  — an ergo-ts node with an acceptor; `recv` counts messages (ack to the sender every
//           CHUNK, "done" after `total`; a number message resets `total`), `echo` answers calls
//   raw-send — a TCP server counting 4-byte length-prefixed frames, one ack byte every CHUNK
//   raw-pingpong — a TCP server writing every frame back

import net from 'node:net';
import { startNode } from 'ergo-ts';
import { acceptorPort } from '../lib/routes.js';
import { CHUNK, Echo, Receiver } from './actors.js';

function frames(socket: net.Socket, onFrame: (start: number, end: number, chunk: Buffer) => void): void {
  let pending: Buffer | null = null;
  socket.on('data', (data: Buffer) => {
    let buf = pending === null ? data : Buffer.concat([pending, data]);
    let pos = 0;
    while (buf.length - pos >= 4) {
      const n = buf.readUInt32BE(pos);
      if (buf.length - pos - 4 < n) break;
      onFrame(pos, pos + 4 + n, buf);
      pos += 4 + n;
    }
    pending = pos === buf.length ? null : buf.subarray(pos);
    buf = Buffer.alloc(0);
  });
}

async function main(): Promise<void> {
  const role = process.argv[2];
  // The suite asks for this process' CPU time around each round (BENCH_CLOCK=cpu).
  process.on('message', (m) => {
    if (m === 'cpu') process.send!({ kind: 'cpu', cpu: process.cpuUsage() });
  });
  if (role === 'node') {
    const node = await startNode(process.argv[3] ?? `benchb${process.pid}@localhost`, {
      network: { cookie: 'bench', acceptors: [{ port: 0 }], registrar: null },
      log: { defaultLogger: { disable: true } },
    });
    await node.spawnRegister('recv', () => new Receiver());
    await node.spawnRegister('echo', () => new Echo());
    process.send!({ kind: 'ready', name: node.name, port: acceptorPort(node) });
    process.on('disconnect', () => void node.stopForce().then(() => process.exit(0)));
    return;
  }
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    let count = 0;
    if (role === 'raw-send') {
      frames(socket, () => {
        if (++count % CHUNK === 0) socket.write(ACK);
      });
    } else {
      frames(socket, (start, end, chunk) => socket.write(chunk.subarray(start, end)));
    }
  });
  server.listen(0, '127.0.0.1', () => {
    process.send!({ kind: 'ready', port: (server.address() as net.AddressInfo).port });
  });
  process.on('disconnect', () => process.exit(0));
}

const ACK = Buffer.from([1]);
await main();
