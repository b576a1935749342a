// The child side of survival.ts: a node in its own OS process that runs scenarios (functions
// exported by a compiled scenario module) one after another, answering pings from the parent over
// IPC after each (the parent says when to start the next). Each ping
// is a real call to a local actor, so a "pong" proves the OS process and the node both still work.
// Runs with Node's default unhandled-rejection mode (throw): any Promise the framework drops, any
// 'error' event without a listener, any user callback thrown outside an actor ends this process,
// which is exactly what the survival tests must see.
//
// argv: <absolute path of the compiled scenario module> <export name>...
// IPC in:  { cmd: 'ping', seq } | { cmd: 'next' } | { cmd: 'stop' }
// IPC out: { kind: 'done', result } | { kind: 'scenario-failed', error } | { kind: 'pong', seq, reply }

import { pathToFileURL } from 'node:url';
import { Actor, startNode, type PID, type Ref } from '../src/index.js';
import type { SurvivalScenario } from './survival.js';

class Echo extends Actor {
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    return { echo: request };
  }
}

const send = (m: unknown): void => void process.send!(m);

const [modulePath, ...exportNames] = process.argv.slice(2);
const mod = (await import(pathToFileURL(modulePath!).href)) as Record<string, unknown>;
const scenarios = exportNames.map((name) => {
  const scenario = mod[name] as SurvivalScenario | undefined;
  if (typeof scenario !== 'function') throw new Error(`no scenario ${name} in ${modulePath}`);
  return scenario;
});

let next = 0; // the scenario to run on the next 'next'
const node = await startNode(`survivor${process.pid}@localhost`);
await node.spawnRegister('survivor_echo', Echo, {});

process.on('message', (m: { cmd: string; seq?: number }) => {
  if (m.cmd === 'ping') {
    node.call('survivor_echo', m.seq).then(
      (reply) => send({ kind: 'pong', seq: m.seq, reply }),
      (e: unknown) => send({ kind: 'pong', seq: m.seq, error: String(e) }),
    );
  } else if (m.cmd === 'next') {
    void run(next++);
  } else if (m.cmd === 'stop') {
    node.stop().then(
      () => process.exit(0),
      () => process.exit(3),
    );
  }
});

/** Runs scenario `i` and tells the parent how it went (never rejects). */
async function run(i: number): Promise<void> {
  try {
    const result = await scenarios[i]!({ node });
    send({ kind: 'done', result: result ?? null });
  } catch (e) {
    send({ kind: 'scenario-failed', error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  }
}
await run(next++);
