// A meta whose spawn is refused because nobody can own it any more: an async init awaited a
// server (createWebServer, createTCPServer) and, meanwhile, the node stopped. The refusal is
// thrown as before, and the behaviour is terminated with it, so the server stops listening
// (before, it stayed open with no meta to close it: @ergo-ts/mcp's test process did not exit,
// "still open: TCPServerWrap", when its node stopped during the MCP server's init). A refusal
// the process can recover from (it sleeps: spawnMeta from a callback after its handler returned)
// leaves the server alone: the process may still spawn it from a handler.

import { strict as assert } from 'node:assert';
import net from 'node:net';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import { Actor, startNode, type PID } from '../src/index.js';
import { createWebServer, type WebServer } from '../src/meta/index.js';

/** Whether something listens on `port` of 127.0.0.1 now. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const handler = (_req: unknown, res: { end(): void }): void => res.end();

test('spawnMeta refused because the node stopped during an async init: the server made for it stops listening', async () => {
  const node = await startNode(`metarefused${process.pid}@localhost`, { log: { level: 'error' } });
  let made: WebServer | undefined;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let refusal: unknown;
  class LateServer extends Actor {
    override async init(): Promise<void> {
      made = await createWebServer({ host: '127.0.0.1', port: 0, handler });
      await gate; // the node stops meanwhile
      try {
        this.spawnMeta(made);
      } catch (e) {
        refusal = e;
        throw e;
      }
    }
  }
  const spawned = node.spawn(LateServer).then(
    () => 'spawned',
    (e: unknown) => String((e as { code?: string }).code ?? e),
  );
  await eventually(() => made !== undefined, 'the server to listen');
  const port = made!.port;
  assert.equal(await listening(port), true, 'it listens before the refusal');
  const stopped = node.stop();
  release();
  await stopped;
  await spawned;
  assert.ok(refusal instanceof Error, `spawnMeta was refused: ${String(refusal)}`);
  await eventually(async () => !(await listening(port)), 'the refused server to stop listening');
});

test('spawnMeta refused because the process sleeps (a callback after its handler returned): the server is left for it', async (t) => {
  const node = await startNode(`metasleeps${process.pid}@localhost`, { log: { level: 'error' } });
  t.after(() => node.stop());
  let made: WebServer | undefined;
  let refusal: unknown;
  class Sleeper extends Actor {
    override handleMessage(): void {
      void createWebServer({ host: '127.0.0.1', port: 0, handler }).then((web) => {
        made = web;
        try {
          this.spawnMeta(web);
        } catch (e) {
          refusal = e;
        }
      });
    }
  }
  const pid: PID = await node.spawn(Sleeper);
  node.send(pid, 'go');
  await eventually(() => refusal !== undefined, 'the refusal');
  t.after(() => made!.close());
  assert.equal(await listening(made!.port), true, 'the server still listens');
});
