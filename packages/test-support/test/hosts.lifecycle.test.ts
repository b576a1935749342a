// What the test hosts leave behind: nothing after dispose, nothing after the owning process
// exits without disposing, and what a killed owner left is swept by the next harness. Also the
// capability rule (skip with a reason, fail under CI=true) and the relay's checksum repair.

import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import readline from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fixInnerChecksum, innerChecksumValid, requireHosts, summarize, TestHosts } from '../src/index.js';

const child = fileURLToPath(new URL('./hosts_exit_child.js', import.meta.url));
const exists = (ns: string): boolean => existsSync(`/run/netns/${ns}`);

/** Starts hosts_exit_child.js; resolves with the child and its first line. */
function owner(mode: string, env: NodeJS.ProcessEnv = process.env) {
  const c = spawn(process.execPath, [child, mode], { stdio: ['ignore', 'pipe', 'inherit'], env });
  const exited = new Promise<number | string>((r) => c.on('exit', (code, sig) => r(code ?? sig ?? '')));
  const first = new Promise<Record<string, unknown>>((resolve, reject) => {
    readline
      .createInterface({ input: c.stdout })
      .once('line', (l) => resolve(JSON.parse(l) as Record<string, unknown>));
    void exited.then((code) => reject(new Error(`owner exited (${code}) before its first line`)));
  });
  return { c, exited, first };
}

test('dispose removes every namespace and gives the subnet back; await using disposes', async (t) => {
  if (!requireHosts(t)) return;
  let names: string[] = [];
  {
    await using h = await TestHosts.create({ names: ['x', 'y'] });
    names = [...h.hosts.map((x) => x.namespace), h.switchNamespace];
    assert.ok(names.every(exists));
    const sleeper = h.host('x').spawn('sleep', ['1000']);
    await new Promise((r) => sleeper.once('spawn', r));
  }
  assert.deepEqual(names.filter(exists), []);
});

test('an owner that exits without disposing leaves nothing (exit handler)', async (t) => {
  if (!requireHosts(t)) return;
  const o = owner('exit');
  const { namespaces } = (await o.first) as { namespaces: string[] };
  assert.equal(await o.exited, 0);
  assert.deepEqual(namespaces.filter(exists), []);
});

test('an owner killed by SIGKILL leaves namespaces that the next harness removes', async (t) => {
  if (!requireHosts(t)) return;
  const o = owner('hang');
  const { namespaces } = (await o.first) as { namespaces: string[] };
  o.c.kill('SIGKILL');
  await o.exited;
  const h = await TestHosts.create(1);
  try {
    assert.deepEqual(namespaces.filter(exists), [], 'swept at start');
  } finally {
    await h.dispose();
  }
});

test('an owner ended by SIGTERM cleans up and still dies of SIGTERM', async (t) => {
  if (!requireHosts(t)) return;
  const o = owner('hang');
  const { namespaces } = (await o.first) as { namespaces: string[] };
  o.c.kill('SIGTERM');
  assert.equal(await o.exited, 'SIGTERM');
  assert.deepEqual(namespaces.filter(exists), []);
});

test('without ip on PATH: a reason; requireHosts skips, or throws under CI=true', async () => {
  const base = { ...process.env, PATH: '/nonexistent' };
  const plain = owner('probe', { ...base, CI: '' });
  const r = await plain.first;
  // Not root is reported before a missing tool; either is a reason.
  assert.match(String(r.why), /needs/);
  assert.equal(r.skipped, `test hosts: ${String(r.why)}`);
  assert.equal(r.threw, undefined);
  const ci = owner('probe', { ...base, CI: 'true' });
  const c = await ci.first;
  assert.equal(c.skipped, undefined);
  assert.match(String(c.threw), /required under CI/);
});

test('the relay completes an inner UDP/TCP checksum left unfinished by checksum offload', () => {
  for (const proto of [6, 17]) {
    const pkt = innerPacket(proto, Buffer.from('hello, relay'));
    assert.equal(innerChecksumValid(pkt), false, 'offload left only the pseudo-header sum');
    fixInnerChecksum(pkt);
    assert.equal(innerChecksumValid(pkt), true);
    pkt[pkt.length - 1]! ^= 1;
    assert.equal(innerChecksumValid(pkt), false, 'a flipped payload bit shows');
    const s = summarize(pkt);
    assert.equal(s.proto, proto === 6 ? 'tcp' : 'udp');
    assert.deepEqual([s.src, s.dst, s.srcPort, s.dstPort, s.vni], ['10.200.1.1', '10.200.1.2', 4000, 5000, 7]);
  }
});

/** A VXLAN datagram (VNI 7) carrying IPv4 10.200.1.1:4000 -> 10.200.1.2:5000 with an unfinished checksum. */
function innerPacket(proto: number, payload: Buffer): Buffer {
  const l4len = (proto === 6 ? 20 : 8) + payload.length;
  const b = Buffer.alloc(8 + 14 + 20 + l4len);
  b[0] = 0x08;
  b.writeUIntBE(7, 4, 3);
  b.writeUInt16BE(0x0800, 8 + 12);
  const ip = 22;
  b[ip] = 0x45;
  b.writeUInt16BE(20 + l4len, ip + 2);
  b.writeUInt16BE(0x4000, ip + 6); // DF
  b[ip + 8] = 64;
  b[ip + 9] = proto;
  Buffer.from([10, 200, 1, 1, 10, 200, 1, 2]).copy(b, ip + 12);
  const l4 = ip + 20;
  b.writeUInt16BE(4000, l4);
  b.writeUInt16BE(5000, l4 + 2);
  if (proto === 6) b[l4 + 12] = 5 << 4;
  else b.writeUInt16BE(l4len, l4 + 4);
  payload.copy(b, l4 + (proto === 6 ? 20 : 8));
  b.writeUInt16BE(0x1234, l4 + (proto === 6 ? 16 : 6));
  return b;
}
