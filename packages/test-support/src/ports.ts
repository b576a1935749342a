// Ports for servers a test starts on this host (etcd, PostgreSQL, epmd, Prometheus, Saturn, an
// embedded registrar). A port picked with listen(0) is an ephemeral one: released, the kernel may
// hand it to any other socket bound to port 0 (test files run side by side and bind hundreds)
// before the server binds it. Then the server fails to start, or worse, a check reaches another
// test's server on that port (an etcd test once froze a process that had never started and talked
// to another file's etcd). So ports are picked below the kernel's ephemeral range, where no
// bind(0) lands, at random (two files rarely pick alike), and never twice by one process.

import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';

/** Lowest port picked. */
const LOW = 10_000;

/** Ports this process has handed out: never given twice. */
const given = new Set<number>();

/** The first port of the kernel's ephemeral range (Linux's file; 32768 elsewhere). */
function ephemeralLow(): number {
  try {
    const lo = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(lo) && lo > 0) return lo;
  } catch {
    // not Linux: the IANA range's start
  }
  return 32_768;
}

function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host: '127.0.0.1', exclusive: true }, () => s.close(() => resolve(true)));
  });
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const u = dgram.createSocket('udp4');
    u.once('error', () => {
      u.close();
      resolve(false);
    });
    u.bind(port, '127.0.0.1', () => u.close(() => resolve(true)));
  });
}

/** A port from listen(0): the fallback where the range below the ephemeral one is too small. */
async function ephemeralPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function pick(udp: boolean): Promise<number> {
  const high = ephemeralLow();
  if (high - LOW < 1000) {
    for (;;) {
      const p = await ephemeralPort();
      if (!udp || (await udpFree(p))) return p;
    }
  }
  for (;;) {
    const p = LOW + Math.floor(Math.random() * (high - LOW));
    if (given.has(p)) continue;
    if (!(await tcpFree(p))) continue;
    if (udp && !(await udpFree(p))) continue;
    given.add(p);
    return p;
  }
}

/**
 * A TCP port on 127.0.0.1 for a server this test starts: free now, below the kernel's ephemeral
 * range (no socket bound to port 0 can take it meanwhile), chosen at random, never returned twice
 * by one process. Another process may still pick the same one (rarely): a server fixture retries
 * with a new port when its server reports the address in use.
 */
export function serverPort(): Promise<number> {
  return pick(false);
}

/**
 * As {@link serverPort}, free for both TCP and UDP (Ergo's embedded registrar uses both).
 */
export function freeTcpUdpPort(): Promise<number> {
  return pick(true);
}
