// The broker peers of the broker suite (suites/broker.ts): `nats-server` and `redis-server`
// started on a free loopback port, and minimal clients for them written against their text
// protocols over a raw socket (NATS: CONNECT / SUB / PUB / MSG / PING; Redis: RESP SUBSCRIBE /
// PUBLISH and the pushed `message` arrays), so the bench needs no client library and the
// clients do as little per message as the ergo-ts side does. The payload timestamp helpers are
// shared by every peer: the first 16 bytes of a message are the publish time in microseconds of
// the monotonic clock (process.hrtime, one clock for every process of the machine).

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';

export const NATS_BIN = process.env.NATS_SERVER ?? '/usr/sbin/nats-server';
export const REDIS_BIN = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';
/** The subject / channel / event name of every peer. */
export const TOPIC = 'broker';

/** Microseconds of the machine's monotonic clock. */
export function nowMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** A payload of `size` ASCII bytes whose first 16 are the publish time (µs, zero-padded). */
export function payloadString(size: number): string {
  return String(nowMicros()).padStart(16, '0') + PAD.slice(0, size - 16);
}
const PAD = 'x'.repeat(4096);

/**
 * The publish time (µs) at the start of a payload string: the same digit loop as
 * {@link stampOfBytes} (a `slice` + `Number` allocated a string per message on the ergo-ts side only).
 */
export function stampOfString(s: string): number {
  let v = 0;
  for (let i = 0; i < 16; i++) v = v * 10 + (s.charCodeAt(i) - 48);
  return v;
}

/** The publish time (µs) in the 16 ASCII digits at `at`. */
export function stampOfBytes(b: Uint8Array, at: number): number {
  let v = 0;
  for (let i = at; i < at + 16; i++) v = v * 10 + (b[i]! - 48);
  return v;
}

/** A free loopback TCP port (bound and released at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Connects to 127.0.0.1:port, retrying for up to `ms` while the server starts. */
export async function connectRetry(port: number, ms = 10_000): Promise<net.Socket> {
  const until = performance.now() + ms;
  for (;;) {
    try {
      return await new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1', () => {
          s.off('error', reject);
          s.setNoDelay(true);
          resolve(s);
        });
        s.once('error', reject);
      });
    } catch (e) {
      if (performance.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** A broker server this process started. */
export interface Server {
  port: number;
  proc: ChildProcess;
  stop(): void;
}

/** Why a broker peer cannot run here, or null. */
export function missing(bin: string): string | null {
  return existsSync(bin) ? null : `${bin} not found`;
}

/** Starts `nats-server` or `redis-server` on a free port and waits until it accepts connections. */
export async function startServer(kind: 'nats' | 'redis'): Promise<Server> {
  const port = await freePort();
  const proc =
    kind === 'nats'
      ? spawn(NATS_BIN, ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' })
      : spawn(
          REDIS_BIN,
          ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'],
          { stdio: 'ignore' },
        );
  const probe = await connectRetry(port);
  probe.destroy();
  return { port, proc, stop: () => void proc.kill('SIGTERM') };
}

// --- NATS ------------------------------------------------------------------------------------------

/**
 * A NATS client connection: `onMsg(buf, payloadStart, n)` per MSG (the payload's n bytes start at
 * `payloadStart` of `buf`), PINGs answered, `flush()` resolves at the PONG of its PING (every
 * command sent before it was processed by the server).
 */
export class NatsConn {
  private rest: Buffer | null = null;
  private pongs: (() => void)[] = [];
  onMsg: (buf: Buffer, at: number, n: number) => void = () => undefined;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => this.data(d));
    socket.write('CONNECT {"verbose":false,"pedantic":false,"echo":false}\r\n');
  }

  static async connect(port: number): Promise<NatsConn> {
    const c = new NatsConn(await connectRetry(port));
    await c.flush();
    return c;
  }

  flush(): Promise<void> {
    return new Promise((resolve) => {
      this.pongs.push(resolve);
      this.socket.write('PING\r\n');
    });
  }

  subscribe(subject: string): Promise<void> {
    this.socket.write(`SUB ${subject} 1\r\n`);
    return this.flush();
  }

  private data(d: Buffer): void {
    const buf = this.rest === null ? d : Buffer.concat([this.rest, d]);
    let pos = 0;
    for (;;) {
      const eol = buf.indexOf(10, pos);
      if (eol < 0) break;
      const c = buf[pos]!;
      if (c === 77 /* M */) {
        // MSG <subject> <sid> [reply-to] <#bytes>\r\n<payload>\r\n
        let sp = eol - 2;
        while (buf[sp] !== 32) sp--;
        let n = 0;
        for (let i = sp + 1; i < eol - 1; i++) n = n * 10 + (buf[i]! - 48);
        const end = eol + 1 + n + 2;
        if (end > buf.length) break;
        this.onMsg(buf, eol + 1, n);
        pos = end;
        continue;
      }
      if (c === 80 /* P */ && buf[pos + 1] === 73 /* I */) this.socket.write('PONG\r\n');
      else if (c === 80 /* P */ && buf[pos + 1] === 79 /* O */) this.pongs.shift()?.();
      else if (c === 45 /* - */) throw new Error(`nats: ${buf.toString('latin1', pos, eol)}`);
      pos = eol + 1;
    }
    this.rest = pos === buf.length ? null : buf.subarray(pos);
  }
}

// --- Redis -----------------------------------------------------------------------------------------

/**
 * A Redis connection in RESP2. Publisher side: `publish` writes PUBLISH commands (their integer
 * replies are counted in `replies`). Subscriber side: after `subscribe`, `onMsg(buf, at, n)` per
 * pushed `message` (the payload's n bytes start at `at`).
 */
export class RedisConn {
  private rest: Buffer | null = null;
  private waiters: { n: number; resolve: () => void }[] = [];
  replies = 0;
  onMsg: (buf: Buffer, at: number, n: number) => void = () => undefined;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => this.data(d));
  }

  static async connect(port: number): Promise<RedisConn> {
    return new RedisConn(await connectRetry(port));
  }

  /** Resolves once `n` replies (or pushes) arrived in all. */
  replied(n: number): Promise<void> {
    if (this.replies >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  subscribe(channel: string): Promise<void> {
    this.socket.write(`*2\r\n$9\r\nSUBSCRIBE\r\n$${channel.length}\r\n${channel}\r\n`);
    return this.replied(this.replies + 1);
  }

  /** The PUBLISH command of `payload` (ASCII) on `channel`. */
  static publishCommand(channel: string, payload: string): string {
    return `*3\r\n$7\r\nPUBLISH\r\n$${channel.length}\r\n${channel}\r\n$${payload.length}\r\n${payload}\r\n`;
  }

  private data(d: Buffer): void {
    const buf = this.rest === null ? d : Buffer.concat([this.rest, d]);
    let pos = 0;
    for (;;) {
      const end = this.value(buf, pos);
      if (end < 0) break;
      pos = end;
      this.replies++;
    }
    while (this.waiters.length > 0 && this.replies >= this.waiters[0]!.n) this.waiters.shift()!.resolve();
    this.rest = pos === buf.length ? null : buf.subarray(pos);
  }

  /** Parses one top-level reply at `pos`: its end, or -1 when incomplete. */
  private value(buf: Buffer, pos: number): number {
    const eol = buf.indexOf(10, pos);
    if (eol < 0) return -1;
    const t = buf[pos]!;
    if (t === 58 /* : */ || t === 43 /* + */) return eol + 1;
    if (t === 45 /* - */) throw new Error(`redis: ${buf.toString('latin1', pos, eol)}`);
    if (t !== 42 /* * */) throw new Error(`redis: unexpected reply byte ${t}`);
    const count = num(buf, pos + 1, eol - 1);
    let p = eol + 1;
    let kindMessage = false;
    let payloadAt = -1;
    let payloadN = 0;
    for (let i = 0; i < count; i++) {
      const e = buf.indexOf(10, p);
      if (e < 0) return -1;
      if (buf[p] === 58 /* : */) {
        p = e + 1;
        continue;
      }
      const n = num(buf, p + 1, e - 1);
      const end = e + 1 + n + 2;
      if (end > buf.length) return -1;
      if (i === 0) kindMessage = n === 7 && buf[e + 1] === 109; /* m */
      if (i === 2) {
        payloadAt = e + 1;
        payloadN = n;
      }
      p = end;
    }
    if (kindMessage) this.onMsg(buf, payloadAt, payloadN);
    return p;
  }
}

function num(buf: Buffer, from: number, to: number): number {
  let v = 0;
  for (let i = from; i < to; i++) v = v * 10 + (buf[i]! - 48);
  return v;
}

// --- latency ---------------------------------------------------------------------------------------

/** Width of a latency bucket (µs) and the buckets kept (the last one takes everything above). */
export const BUCKET_US = 10;
const BUCKETS = 100_000;

/** A latency histogram of one round: 10 µs buckets up to 1 s. */
export class Latencies {
  readonly counts = new Uint32Array(BUCKETS);

  add(us: number): void {
    const b = Math.floor(us / BUCKET_US);
    this.counts[b < 0 ? 0 : b >= BUCKETS ? BUCKETS - 1 : b]!++;
  }

  /** The non-empty buckets as [bucket, count] pairs (what a subscriber sends to the bench). */
  sparse(): [number, number][] {
    const out: [number, number][] = [];
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i] !== 0) out.push([i, this.counts[i]!]);
    return out;
  }

  merge(pairs: [number, number][]): void {
    for (const [b, n] of pairs) this.counts[b]! += n;
  }

  /** The `q` quantile in ms (the upper edge of its bucket). */
  quantileMs(q: number): number {
    let total = 0;
    for (let i = 0; i < BUCKETS; i++) total += this.counts[i]!;
    const want = Math.ceil(total * q);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= want) return ((i + 1) * BUCKET_US) / 1000;
    }
    return NaN;
  }
}
