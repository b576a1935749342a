// A gateway in an OS process of its own, run with --expose-gc by tabs.batch.test.ts: tab B is
// away, tab A sends it small frames, each in a batch whose other frame is big (and refused); the
// process reports over IPC how many ArrayBuffer bytes stay alive after a full GC, beside what the
// gateway holds for B. A held frame that kept its batch alive would keep every big frame too.

import { PID, ProcessID, startNode, type Atom } from 'ergo-ts';

import { createTabGateway } from '../src/index.js';
import { Ctl, decodeFrame, encodeFrame, Op, splitFrames, writeFrames, type Frame } from '../src/frame.js';

// Enough batches that a held frame keeping its batch (BATCHES × BIG alive) stands far above what
// a gateway keeps alive anyway whatever it holds (1.4–3.2 MB seen: read buffers, the socket's last chunks).
const BATCHES = 100;
const BIG = 200_000;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('held_fixture needs --expose-gc');

/** A hand-made tab: its name, its socket, and a wait for the nth frame it got (after the welcome). */
async function rawTab(url: string) {
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  const got: Frame[] = [];
  let wake: (() => void) | null = null;
  ws.onmessage = (ev) => {
    for (const b of splitFrames(new Uint8Array(ev.data as ArrayBuffer))) got.push(decodeFrame(b));
    wake?.();
  };
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error('raw tab: no socket'));
  });
  const frames = async (n: number): Promise<Frame[]> => {
    while (got.length < n) await new Promise<void>((r) => (wake = r));
    return got;
  };
  ws.send(encodeFrame([Ctl.Hello, 'good', '', false, true]));
  const welcome = (await frames(1))[0]!;
  if (welcome[0] !== Ctl.Welcome) throw new Error('no welcome');
  return { name: String(welcome[1]), ws, frames };
}

async function settledGc(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    gc!();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().arrayBuffers;
}

const node = await startNode(`held${process.pid}@localhost`, { log: { defaultLogger: { disable: true } } });
const gw = await createTabGateway(node, {
  admit: () => ({ limits: { bytesPerSecond: 1e12, messagesPerSecond: 1e9, queuedBytes: 1 << 30 } }),
});
const b = await rawTab(gw.url);
const away = new Promise<void>((resolve) => b.ws.addEventListener('close', () => resolve()));
b.ws.close(4001, 'away');
await away;
// The gateway sees B away once its side of the socket closed too.
while (gw.tabs().find((t) => t.node === b.name)?.connected !== false) await new Promise((r) => setImmediate(r));

const a = await rawTab(gw.url);
const target = new PID(b.name as Atom, 1, 1);
gw.handOut(a.name, target);
const own = new PID(a.name as Atom, 1, 1);
const before = await settledGc();
for (let i = 0; i < BATCHES; i++) {
  const frames = [
    encodeFrame([Op.Send, a.name, b.name, 0, 0, own, target, i]),
    // Refused (no name is granted), but it came in the same message.
    encodeFrame([Op.Send, a.name, node.name, 0, 0, own, new ProcessID('x' as Atom, node.name), 'y'.repeat(BIG)]),
  ];
  writeFrames(frames, (m) => a.ws.send(m), 1 << 20);
}
// A refusal for each big frame: every batch was handled.
await a.frames(1 + BATCHES);
const after = await settledGc();
const held = gw.tabs().find((t) => t.node === b.name)!.queuedBytes;
process.send!({ grew: after - before, held, big: BATCHES * BIG, batches: BATCHES });
a.ws.close();
await gw.stop();
await node.stop();
