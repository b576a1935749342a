// serverPort / freeTcpUdpPort: ports a server fixture can bind, outside the kernel's ephemeral
// range (where a socket bound to port 0 by another test could land first), never twice.

import { strict as assert } from 'node:assert';
import dgram from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { test } from 'node:test';
import { freeTcpUdpPort, serverPort } from '../src/index.js';

const RANGE = '/proc/sys/net/ipv4/ip_local_port_range';

function ephemeralLow(): number | null {
  if (!existsSync(RANGE)) return null;
  return Number(readFileSync(RANGE, 'utf8').trim().split(/\s+/)[0]);
}

async function bindTcp(port: number): Promise<void> {
  const s = net.createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, '127.0.0.1', resolve);
  });
  await new Promise((r) => s.close(r));
}

test('serverPort: 50 distinct ports below the ephemeral range, each one bindable', async () => {
  const low = ephemeralLow();
  const seen = new Set<number>();
  for (let i = 0; i < 50; i++) {
    const p = await serverPort();
    assert.ok(!seen.has(p), `port ${p} given twice`);
    seen.add(p);
    if (low !== null && low - 10_000 >= 1000) assert.ok(p >= 10_000 && p < low, `${p} not in [10000, ${low})`);
    await bindTcp(p);
  }
});

test('freeTcpUdpPort: free for UDP too', async () => {
  const p = await freeTcpUdpPort();
  await bindTcp(p);
  const u = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    u.once('error', reject);
    u.bind(p, '127.0.0.1', resolve);
  });
  await new Promise<void>((r) => u.close(r));
});
