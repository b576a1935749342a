// A node with an MCP server in an OS process of its own, for the tests that must see whether a
// client can end that process (sampler_crash.test.ts, fuzz.test.ts): read-only unless
// `--actions`, `--timeout=S` its default tool timeout (seconds, default 30). It prints one
// JSON line `{"url": …}` once the server listens, then obeys one command per stdin line and
// answers each with one JSON line:
//
// - `hold`: the process `gate` starts a handler that does not return until `release` (answered
//   once the handler runs); every request queued for it meanwhile (the inspect request of a
//   sampled `process_inspect`) waits.
// - `release`: that handler returns; the gate answers what was queued.
// - `queued`: `{"queued": N}`, the messages waiting in the gate's mailbox.
// - `spawn`: `{"spawned": "<pid>"}`, a process `victim_N` that `kill` ends (targets that die mid-call).
// - `kill`: ends every victim (`{"killed": N}`).
//
// Any unhandled rejection or uncaught exception ends this process with Node's default (exit
// code 1): the parent test reads the exit as the crash it guards against.

import { createInterface } from 'node:readline';

import { Actor, TerminateReasonKill, startNode, type Atom, type PID } from 'ergo-ts';

import { startMcpServer } from '../src/index.js';

/** The gate's held handler: its release, and who waits for it to start. */
const held: { release: (() => void) | null; onHeld: (() => void) | null } = { release: null, onHeld: null };

/** Holds its mailbox while a `hold` handler waits for `release`. */
class Gate extends Actor {
  override async handleMessage(_from: PID, m: unknown): Promise<void> {
    if (m !== 'hold') return;
    await new Promise<void>((resolve) => {
      held.release = resolve;
      held.onHeld?.();
    });
  }
}

/** A process that does nothing: what `kill` ends. */
class Victim extends Actor {}

const actions = process.argv.includes('--actions');
const timeout = Number(process.argv.find((a) => a.startsWith('--timeout='))?.slice(10) ?? 30);
const node = await startNode(`mcpchild${process.pid}@localhost` as Atom, {
  log: { level: 'error', defaultLogger: { output: process.stderr } }, // stdout is the command channel
  network: { cookie: 'mcp-child', acceptors: [{ host: '127.0.0.1', port: 0 }], registrar: null },
});
const gate = await node.spawnRegister('gate', Gate);
const victims: PID[] = [];
let spawned = 0;
const server = await startMcpServer(node, { port: 0, actions, timeout });
const say = (v: unknown): void => void process.stdout.write(JSON.stringify(v) + '\n');
say({ url: server.url, node: node.name });

for await (const line of createInterface({ input: process.stdin })) {
  const cmd = line.trim();
  if (cmd === 'hold') {
    if (held.release === null)
      await new Promise<void>((resolve) => {
        held.onHeld = resolve;
        node.send(gate, 'hold');
      });
    say({ held: true });
  } else if (cmd === 'release') {
    held.release?.();
    held.release = null;
    say({ released: true });
  } else if (cmd === 'queued') {
    const q = node.processInfo(gate).mailboxQueues;
    say({ queued: q.urgent + q.system + q.main + q.log, busy: held.release !== null });
  } else if (cmd === 'spawn') {
    const name = `victim_${spawned++}`;
    victims.push(await node.spawnRegister(name, Victim));
    say({ spawned: String(victims.at(-1)), name });
  } else if (cmd === 'kill') {
    let killed = 0;
    for (const pid of victims.splice(0))
      try {
        node.sendExit(pid, TerminateReasonKill);
        killed++;
      } catch {
        // ended already
      }
    say({ killed });
  } else if (cmd === 'stop') break;
}
held.release?.(); // a handler that waits would hold the node's graceful stop
await node.stop();
