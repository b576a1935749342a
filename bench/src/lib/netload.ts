// Load generator for the web/TCP rows, run as a forked child so the server under test keeps its
// own process (and core). Receives {mode, port, concurrency, ms} over IPC, drives the server for
// `ms`, answers {count, bytes, seconds, errors} and exits.
//   http: `concurrency` keep-alive connections, each with PIPELINE pipelined GET / in flight.
//   tcp:  `concurrency` connections, each keeping WINDOW blocks of BLOCK bytes in flight and
//         counting the bytes echoed back.

import net from 'node:net';

export interface LoadRequest {
  mode: 'http' | 'tcp';
  port: number;
  concurrency: number;
  ms: number;
}

export interface LoadResult {
  count: number;
  bytes: number;
  seconds: number;
  errors: number;
}

const BLOCK = 16 * 1024;
const WINDOW = 4;
/** HTTP requests in flight per connection. */
const PIPELINE = 16;

/**
 * HTTP/1.1 over raw sockets with pipelining: each connection keeps PIPELINE GETs in flight and
 * counts the responses by their status lines, so the generator costs far less than the server
 * under test (node:http's client would be the bottleneck).
 */
/** Opens `count` loopback connections to `port` (Nagle off); resolves once all are connected. */
async function connectAll(port: number, count: number): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<void>((resolve, reject) => {
          const s = net.connect(port, '127.0.0.1', () => resolve());
          s.setNoDelay(true);
          s.once('error', reject);
          sockets.push(s);
        }),
    ),
  );
  return sockets;
}

async function httpLoad(r: LoadRequest): Promise<LoadResult> {
  const request = Buffer.from(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${r.port}\r\n\r\n`);
  const batch = Buffer.concat(Array.from({ length: PIPELINE }, () => request));
  const marker = 'HTTP/1.1 ';
  let count = 0;
  let errors = 0;
  let running = true;
  const sockets = await connectAll(r.port, r.concurrency);
  const t0 = performance.now();
  for (const s of sockets) {
    let pending = PIPELINE;
    let tail = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      const text = tail + d;
      let i = text.indexOf(marker);
      let got = 0;
      while (i !== -1) {
        if (!text.startsWith('HTTP/1.1 200', i) && i + 12 <= text.length) errors++;
        got++;
        i = text.indexOf(marker, i + marker.length);
      }
      tail = text.slice(Math.max(0, text.length - (marker.length - 1)));
      count += got;
      pending -= got;
      if (running && pending === 0) {
        pending = PIPELINE;
        s.write(batch);
      }
    });
    s.on('error', () => errors++);
    s.write(batch);
  }
  await new Promise((res) => setTimeout(res, r.ms));
  running = false;
  const seconds = (performance.now() - t0) / 1000;
  const counted = count;
  for (const s of sockets) s.destroy();
  return { count: counted, bytes: 0, seconds, errors };
}

async function tcpLoad(r: LoadRequest): Promise<LoadResult> {
  const block = Buffer.alloc(BLOCK, 0x61);
  let bytes = 0;
  let errors = 0;
  let running = true;
  const sockets = await connectAll(r.port, r.concurrency);
  const t0 = performance.now();
  for (const s of sockets) {
    let outstanding = 0;
    const fill = (): void => {
      while (running && outstanding < WINDOW * BLOCK) {
        s.write(block);
        outstanding += BLOCK;
      }
    };
    s.on('data', (d: Buffer) => {
      bytes += d.length;
      outstanding -= d.length;
      fill();
    });
    s.on('error', () => errors++);
    fill();
  }
  await new Promise((res) => setTimeout(res, r.ms));
  running = false;
  const seconds = (performance.now() - t0) / 1000;
  const counted = bytes;
  for (const s of sockets) s.destroy();
  return { count: 0, bytes: counted, seconds, errors };
}

process.once('message', (m: LoadRequest) => {
  const run = m.mode === 'http' ? httpLoad(m) : tcpLoad(m);
  run.then(
    (res) => process.send!(res, () => process.exit(0)),
    (e: unknown) => {
      process.stderr.write(`netload: ${String(e)}\n`);
      process.exit(1);
    },
  );
});
