// Nodes in separate OS processes over loopback TCP: calls and important sends to a node in a
// child process, then a `kill -9` of that process mid-traffic. The survivor sees the connection
// go (a monitor fires and a waiting call fails with ErrNoConnection), every important send that
// was acknowledged had reached the killed node, and the next send reconnects to its successor.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { eventually } from '@ergo-ts/test-support';
import { ErrNoConnection, MessageDownProcessID, ProcessID, type Node } from '../src/index.js';
import { Inbox, probe, within } from './helpers.js';
import { netNode, routeTo } from './net_helpers.js';

const FIXTURE = fileURLToPath(new URL('./net_fixture.js', import.meta.url));

interface Child {
  proc: ChildProcess;
  name: string;
  port: number;
}

async function startChild(name: string, log: string): Promise<Child> {
  const proc = fork(FIXTURE, [], {
    env: { ...process.env, NET_FIXTURE_NAME: name, NET_FIXTURE_COOKIE: 'proc-secret', NET_FIXTURE_LOG: log },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [ready] = (await within(once(proc, 'message'), 'fixture ready', 10_000)) as [{ name: string; port: number }];
  return { proc, name: ready.name, port: ready.port };
}

function route(node: Node, child: Child): void {
  try {
    node.network().removeRoute(child.name);
  } catch {
    // no route yet
  }
  node.network().addRoute(child.name, routeTo(child.port), 0);
}

test('two OS processes: call, important sends, kill -9 mid-traffic, reconnect to the successor', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ergo-net-'));
  const log = join(dir, 'sink.log');
  const childName = `child${process.pid}@localhost`;
  let child = await startChild(childName, log);
  t.after(() => {
    child.proc.kill('SIGKILL');
  });
  const a = await netNode('parent', { cookie: 'proc-secret' });
  t.after(() => a.stop());
  route(a, child);
  const echo = new ProcessID('echo' as never, childName as never);
  assert.equal(await a.call(echo, 'across processes'), 'across processes');

  // A watcher monitors the child's sleeper; a caller waits on it; a sender streams important sends.
  const events = new Inbox();
  const acked: number[] = [];
  let sending = true;
  const watcher = await a.spawn(
    probe((m, _from, self) => {
      if (m === 'watch') self.monitor(new ProcessID('sleeper' as never, childName as never));
      else events.push(m, self.pid);
    }),
  );
  a.send(watcher, 'watch');
  const sender = await a.spawn(
    probe(async (m, _from, self) => {
      if (m !== 'stream') return;
      for (let i = 1; sending; i++) {
        try {
          await self.sendImportant(new ProcessID('sink' as never, childName as never), i);
          acked.push(i);
        } catch (e) {
          events.push({ sendFailed: e }, self.pid);
          return;
        }
      }
    }),
  );
  const waiting = a.call(new ProcessID('sleeper' as never, childName as never), 'wait', { timeout: 20_000 });
  a.send(sender, 'stream');
  await eventually(() => acked.length >= 200, '200 acknowledged sends', { intervalMs: 2 });
  child.proc.kill('SIGKILL');
  await assert.rejects(waiting, (e: Error) => ErrNoConnection.is(e));
  const seen = await within(events.count(2), 'monitor down and send failure');
  const down = seen.find((s) => s.message instanceof MessageDownProcessID)!.message as MessageDownProcessID;
  assert.ok(ErrNoConnection.is(down.reason));
  const failed = seen.find((s) => !(s.message instanceof MessageDownProcessID))!.message as { sendFailed: Error };
  assert.ok(ErrNoConnection.is(failed.sendFailed), String(failed.sendFailed));
  sending = false;
  // Nothing acknowledged was lost. An ack means "in the sink's mailbox" (docs/networking.md), and
  // the sends are sequential, so only the last acked number can still have been waiting in the
  // mailbox, unhandled and unwritten, when kill -9 came; every earlier one was handled.
  const written = new Set(readFileSync(log, 'utf8').split('\n').filter(Boolean).map(Number));
  const last = Math.max(...acked);
  for (const n of acked) if (n !== last) assert.ok(written.has(n), `acknowledged ${n} was delivered`);
  assert.deepEqual(a.network().nodes(), []);

  // A successor under the same name: the next call reconnects.
  child = await startChild(childName, log);
  route(a, child);
  assert.equal(await a.call(echo, 'again'), 'again');
  assert.deepEqual(a.network().nodes(), [childName]);
  child.proc.send({ cmd: 'stop' });
  await once(child.proc, 'exit');
  assert.ok(existsSync(log));
});
