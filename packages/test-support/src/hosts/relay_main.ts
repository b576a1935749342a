// The delay relay: a Node program the harness runs inside the bridge namespace (the "switch"),
// listening on UDP 4789 at the switch's own address. Each delayed pair of hosts sends its traffic
// to it as VXLAN (one VNI per pair; see delay.ts for the hosts' side); the relay holds each
// datagram for delay ± jitter and forwards it to the other end of the pair. It works per packet,
// so TCP stays end to end (the hosts' kernels still do the handshake, acks, retransmissions).
//
// Driven by JSON lines on stdin, answering on stdout:
//   {id, cmd:'link', vni, a, b, ab:{delay, jitter}, ba:{delay, jitter}, trace, limit}
//   {id, cmd:'unlink', vni}          {id, cmd:'stats'}
// answers {kind:'result', id, ...} or {kind:'error', id, message}; first line {kind:'ready'}.
// With `trace`, every packet of the link gives {kind:'held', seq, ...summary, heldAt, releaseAt}
// and {kind:'released', seq, vni, at}; times are microseconds of the monotonic clock
// (process.hrtime), the same clock every process on the machine reads.

import dgram from 'node:dgram';
import readline from 'node:readline';
import { fixInnerChecksum, summarize, vniOf, VXLAN_PORT } from './packet.js';

interface Direction {
  delay: number;
  jitter: number;
}

interface Held {
  seq: number;
  data: Buffer;
  to: string;
  releaseAt: number;
}

interface Link {
  vni: number;
  a: string;
  b: string;
  ab: Direction;
  ba: Direction;
  trace: boolean;
  limit: number;
  /** Per direction ('ab'/'ba'): a FIFO (release times never decrease, so order is kept). */
  queues: { ab: Held[]; ba: Held[] };
  /** Per direction: cancels the pending timer of its head packet. */
  timers: { ab?: () => void; ba?: () => void };
  counts: { held: number; released: number; dropped: number };
}

const links = new Map<number, Link>();
let seq = 0;
let unknown = 0;
const [bindAddress] = process.argv.slice(2);

const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);
const emit = (o: Record<string, unknown>): void => {
  process.stdout.write(JSON.stringify(o) + '\n');
};

const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
sock.on('error', (e) => {
  emit({ kind: 'fatal', message: String(e) });
  process.exit(1);
});
sock.on('message', (data, from) => {
  const link = links.get(vniOf(data) ?? -1);
  const dir =
    link === undefined ? undefined : from.address === link.a ? 'ab' : from.address === link.b ? 'ba' : undefined;
  if (link === undefined || dir === undefined) {
    unknown++;
    return;
  }
  const q = link.queues[dir];
  if (q.length >= link.limit) {
    link.counts.dropped++;
    return;
  }
  fixInnerChecksum(data);
  const d = link[dir];
  const now = nowUs();
  const wanted = now + Math.max(0, d.delay + (Math.random() * 2 - 1) * d.jitter) * 1000;
  // In order, as on a real link: never before the packet ahead of it.
  const releaseAt = Math.max(wanted, q.length > 0 ? q[q.length - 1]!.releaseAt : 0);
  const held: Held = { seq: ++seq, data, to: dir === 'ab' ? link.b : link.a, releaseAt };
  link.counts.held++;
  if (link.trace) emit({ kind: 'held', seq: held.seq, ...summarize(data), heldAt: now, releaseAt });
  // No delay and nothing ahead: straight on, without a turn of the loop.
  if (q.length === 0 && releaseAt <= now) return send(link, held);
  q.push(held);
  if (q.length === 1) arm(link, dir);
});

/**
 * Sets the direction's timer for its head packet: a timer for the whole milliseconds, then
 * setImmediate turns for the last one (timers have 1 ms resolution; a 0.5 ms delay would
 * otherwise become 1–2 ms). The relay spins only while a packet is due within a millisecond.
 */
function arm(link: Link, dir: 'ab' | 'ba'): void {
  const head = link.queues[dir][0];
  if (head === undefined) return;
  const wait = head.releaseAt - nowUs();
  if (wait <= 1000) {
    const i = setImmediate(() => release(link, dir));
    link.timers[dir] = () => clearImmediate(i);
  } else {
    const t = setTimeout(() => release(link, dir), Math.floor(wait / 1000) - 1);
    link.timers[dir] = () => clearTimeout(t);
  }
}

/** Sends every head packet that is due, then arms for the next (never early: the clock decides). */
function release(link: Link, dir: 'ab' | 'ba'): void {
  link.timers[dir] = undefined;
  const q = link.queues[dir];
  while (q.length > 0 && q[0]!.releaseAt <= nowUs()) send(link, q.shift()!);
  if (links.get(link.vni) === link) arm(link, dir);
}

function send(link: Link, h: Held): void {
  if (link.trace) emit({ kind: 'released', seq: h.seq, vni: link.vni, at: nowUs() });
  link.counts.released++;
  sock.send(h.data, VXLAN_PORT, h.to);
}

function direction(v: unknown): Direction {
  const o = (v ?? {}) as { delay?: unknown; jitter?: unknown };
  const delay = Number(o.delay ?? 0);
  const jitter = Number(o.jitter ?? 0);
  if (!(delay >= 0) || !(jitter >= 0)) throw new Error(`bad delay/jitter ${JSON.stringify(v)}`);
  return { delay, jitter };
}

function command(m: Record<string, unknown>): Record<string, unknown> {
  switch (m.cmd) {
    case 'link': {
      const vni = Number(m.vni);
      const old = links.get(vni);
      if (old !== undefined) {
        // A new setting for a live link: the packets already held keep their release times.
        old.ab = direction(m.ab);
        old.ba = direction(m.ba);
        old.trace = m.trace === true;
        return { vni };
      }
      links.set(vni, {
        vni,
        a: String(m.a),
        b: String(m.b),
        ab: direction(m.ab),
        ba: direction(m.ba),
        trace: m.trace === true,
        limit: Number(m.limit ?? 10_000),
        queues: { ab: [], ba: [] },
        timers: {},
        counts: { held: 0, released: 0, dropped: 0 },
      });
      return { vni };
    }
    case 'unlink': {
      const link = links.get(Number(m.vni));
      if (link === undefined) return { vni: m.vni };
      links.delete(link.vni);
      // What is still held is delivered at once: healing a delay does not lose packets.
      for (const dir of ['ab', 'ba'] as const) {
        link.timers[dir]?.();
        for (const h of link.queues[dir].splice(0)) sock.send(h.data, VXLAN_PORT, h.to);
      }
      return { vni: link.vni, ...link.counts };
    }
    case 'stats':
      return {
        unknown,
        links: [...links.values()].map((l) => ({
          vni: l.vni,
          ...l.counts,
          queued: l.queues.ab.length + l.queues.ba.length,
        })),
      };
    default:
      throw new Error(`unknown command ${String(m.cmd)}`);
  }
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  let m: Record<string, unknown> = {};
  try {
    m = JSON.parse(line) as Record<string, unknown>;
    emit({ kind: 'result', id: m.id, ...command(m) });
  } catch (e) {
    emit({ kind: 'error', id: m.id, message: e instanceof Error ? e.message : String(e) });
  }
});
// The harness going away (its stdin closes) ends the relay too.
process.stdin.on('end', () => process.exit(0));

sock.bind(VXLAN_PORT, bindAddress, () => emit({ kind: 'ready' }));
