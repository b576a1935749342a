// IpcCommands and ipcMessage against a real child process: answers matched by id, a child's
// error keeps its code, a child that exits fails what waits on it and every later command at
// once, a silent child's command fails at its bound.

import { strict as assert } from 'node:assert';
import { fork } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { IpcCommands, ipcMessage, isKind, isStarted, WaitTimeoutError } from '../src/index.js';

const CHILD = fileURLToPath(new URL('./ipc_child.js', import.meta.url));

test('commands are answered by id; errors keep their code; an exit fails the waiting and later commands', async () => {
  const proc = fork(CHILD, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const started = await ipcMessage(proc, isStarted, 'child started');
  assert.deepEqual(started, { kind: 'ready', name: 'child@localhost', port: 4370 });
  const c = new IpcCommands(proc, 'child');
  assert.equal(c.running, true);
  const [a, b] = await Promise.all([c.value('echo', { n: 1 }), c.value('echo', { n: 2 })]);
  assert.deepEqual([a, b], [{ n: 1 }, { n: 2 }]);
  await assert.rejects(
    c.value('fail'),
    (e: Error & { code?: string }) => e.message === 'it failed' && e.code === 'ERR_CHILD',
  );
  await assert.rejects(c.ask('silent', {}, 200), WaitTimeoutError);
  const waiting = c.ask('silent');
  await assert.rejects(Promise.all([c.ask('exit'), waiting]), /child exited \(3\)/);
  await c.exited;
  assert.equal(c.running, false);
  await assert.rejects(c.ask('echo'), /child exited \(3\)/);
});

test('ipcMessage fails at once when the child exits before the message', async () => {
  const proc = fork(CHILD, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const never = ipcMessage(proc, isKind('never'), 'a message the child never sends');
  proc.kill('SIGKILL');
  await assert.rejects(never, /the process exited \(SIGKILL\) first/);
});
