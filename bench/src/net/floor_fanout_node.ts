// The physical floor of a broadcast to many sockets on this host (issue 93), with no framework:
// one process of the tabs_cluster layout (suites/tabs_floor.ts), a server (the place of a gateway
// node) or a client process (the place of a process of lean tabs). The server writes one message
// to every socket it accepted, in one loop, the same frame bytes to each; a client counts, per
// socket, the bytes it has read, and tells the bench once every socket has the publish. What is
// left between this and the tabs_cluster row is the framework's (the gateway's JS and the tab
// frames' decoding), the rest is the host's: the writes, the kernel's loopback TCP, the reads.
//
// Two modes: `tcp` (raw TCP: the server writes a complete WebSocket frame, header and payload, as
// one buffer per socket; the client reads bytes and parses nothing), and `ws` (plain `ws` on both
// sides: `ws.send` per socket, the client's `ws` parses each message; what a plain ws app costs).
//
//   fork(floor_fanout_node.js, ['server', mode, sockets it will hold])
//     → { op: 'ready', port } then { op: 'go', seq, size } → writes publish `seq` (`size` payload
//       bytes) to every socket → { op: 'sent', ms, cpuUs } (its write loop's wall and CPU time)
//   fork(floor_fanout_node.js, ['client', mode, port, count, payload size])
//     → { op: 'joined' } once all `count` are connected; { op: 'arm', seq } →
//     { op: 'armed' }, then unasked { op: 'got', seq } once each socket has read publish `seq`
//   { op: 'stop' } → exits (either role)

import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';

import { WebSocket, WebSocketServer } from 'ws';

import { ensureMoreOpenFiles } from '../lib/fd_limit.js';

/** What a floor process answers over IPC. */
export type FloorReply =
  | { op: 'ready'; port: number }
  | { op: 'sent'; ms: number; cpuUs: number }
  | { op: 'joined' }
  | { op: 'armed' }
  | { op: 'got'; seq: number }
  | { op: 'error'; message: string };

/** What a floor process is asked over IPC. */
export type FloorRequest = { op: 'go'; seq: number; size: number } | { op: 'arm'; seq: number } | { op: 'stop' };

/** Sockets a client process dials at once (as the lean tabs: 100 a process). */
const DIAL_AT_ONCE = 100;

/** An unmasked binary WebSocket frame (FIN) of `size` payload bytes, the payload's first 4 `seq`. */
export function wsFrame(seq: number, size: number): Buffer {
  const head = size > 125 ? 4 : 2;
  const b = Buffer.alloc(head + size, 0x61);
  b[0] = 0x82;
  if (head === 2) b[1] = size;
  else {
    b[1] = 126;
    b.writeUInt16BE(size, 2);
  }
  b.writeUInt32BE(seq >>> 0, head);
  return b;
}

const send = (r: FloorReply): void => void process.send!(r);

/** A server: accepts sockets, writes each publish to all of them in one loop. */
async function server(mode: string, count: number): Promise<void> {
  ensureMoreOpenFiles(count + 100);
  const raw: Socket[] = [];
  const wss: WebSocket[] = [];
  let port: number;
  if (mode === 'tcp') {
    const srv = createServer({ noDelay: true }, (s) => {
      s.on('error', () => undefined); // a client's reset is its own; the row names missing publishes
      s.resume(); // nothing is read from it but its end
      raw.push(s);
      accepted();
    });
    srv.maxConnections = count + 100;
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', 65535, r));
    port = (srv.address() as { port: number }).port;
  } else {
    const http = createHttpServer();
    const w = new WebSocketServer({ server: http, perMessageDeflate: false });
    w.on('connection', (s) => {
      s.on('error', () => undefined);
      wss.push(s);
      accepted();
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', 65535, r));
    port = (http.address() as { port: number }).port;
  }
  // A publish before every socket is accepted (a client's connect completes in the kernel before
  // this process's accept) waits for the last: a socket the loop missed would never hear it.
  let waiting: (() => void) | null = null;
  const accepted = (): void => {
    if (raw.length + wss.length === count && waiting !== null) waiting();
  };
  process.on('message', (m) => {
    const q = m as FloorRequest;
    if (q.op === 'stop') process.exit(0);
    if (q.op !== 'go') return;
    if (raw.length + wss.length < count) {
      waiting = () => ((waiting = null), write(q));
      return;
    }
    write(q);
  });
  const write = (q: Extract<FloorRequest, { op: 'go' }>): void => {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    if (mode === 'tcp') {
      const frame = wsFrame(q.seq, q.size);
      for (const s of raw) s.write(frame);
    } else {
      const payload = wsFrame(q.seq, q.size).subarray(q.size > 125 ? 4 : 2);
      for (const s of wss) s.send(payload);
    }
    const c = process.cpuUsage(c0);
    send({ op: 'sent', ms: performance.now() - t0, cpuUs: c.user + c.system });
  };
  send({ op: 'ready', port });
}

/** A client process: `count` sockets to the server at `port`, each counting the publishes it read. */
async function client(mode: string, port: number, count: number, size: number): Promise<void> {
  ensureMoreOpenFiles(count + 100);
  let armed = -1;
  const frameLen = size + (size > 125 ? 4 : 2);
  let heard = 0;
  const close: (() => void)[] = [];
  const heardOne = (): void => {
    if (++heard === count) send({ op: 'got', seq: armed });
  };
  const dialTcp = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const s = connect({ port, host: '127.0.0.1', noDelay: true }, () => resolve());
      let bytes = 0;
      let seen = 0;
      s.on('error', reject);
      s.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        // Publishes come one at a time (the bench waits for all before the next): the armed one is
        // in once the socket has read `armed` frames' bytes.
        if (seen !== armed && bytes >= armed * frameLen) {
          seen = armed;
          heardOne();
        }
      });
      close.push(() => s.destroy());
    });
  const dialWs = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const s = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
      s.binaryType = 'nodebuffer';
      s.once('open', () => resolve());
      s.on('error', reject);
      s.on('message', (data: Buffer) => {
        if (data.readUInt32BE(0) === armed) heardOne();
      });
      close.push(() => s.terminate());
    });
  const dial = mode === 'tcp' ? dialTcp : dialWs;
  // Dials at once (a request sent before this module's listener is on would be lost).
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++;
      await dial();
    }
  };
  Promise.all(Array.from({ length: Math.min(DIAL_AT_ONCE, count) }, worker)).then(
    () => send({ op: 'joined' }),
    (e: unknown) => send({ op: 'error', message: String(e) }),
  );
  process.on('message', (m) => {
    const q = m as FloorRequest;
    if (q.op === 'stop') {
      for (const c of close) c();
      process.exit(0);
    } else if (q.op === 'arm') {
      armed = q.seq;
      heard = 0;
      send({ op: 'armed' });
    }
  });
}

process.on('disconnect', () => process.exit(0));
const [role, mode, ...rest] = process.argv.slice(2);
if (role === 'server') await server(mode!, Number(rest[0]));
else await client(mode!, Number(rest[0]), Number(rest[1]), Number(rest[2]));
