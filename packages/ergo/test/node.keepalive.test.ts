// What keeps the OS process alive (issue 8 §3). A node holds nothing that keeps Node running,
// except while someone waits on `wait()`: then the process stays alive until the node stops, as
// Go's `node.Wait()` blocks. Before, `await node.wait()` as a server's last line exited at once
// with code 13 (an unsettled top-level await). Each case runs in its own child Node process.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import { runScript } from './helpers.js';

const QUIET = `{ log: { defaultLogger: { disable: true } } }`;

describe('keeping the OS process alive', () => {
  test("await node.wait() keeps it alive until the node is stopped (here by an unref'd timer); exit code 0", async () => {
    const r = await runScript(`
      import { startNode, Actor } from 'INDEX';
      const node = await startNode('server@localhost', ${QUIET});
      class Echo extends Actor { handleCall(_f, _r, req) { return req; } }
      const pid = await node.spawn(Echo);
      // Nothing else holds the event loop: the timer is unref'd, the node holds nothing itself.
      setTimeout(async () => {
        console.log('serving', await node.call(pid, 'ping'));
        await node.stop();
      }, 20).unref();
      await node.wait();
      console.log('stopped', node.isAlive());
    `);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'serving ping\nstopped false\n');
    assert.equal(r.stderr, '');
  });

  test('waitWithTimeout keeps it alive until the timeout, then rejects with ErrTimeout', async () => {
    const r = await runScript(`
      import { startNode } from 'INDEX';
      const node = await startNode('server@localhost', ${QUIET});
      try {
        await node.waitWithTimeout(30);
      } catch (e) {
        console.log(e.code);
      }
      console.log('alive', node.isAlive());
      await node.stop();
    `);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'ERR_TIMEOUT\nalive true\n');
  });

  test('a node nobody waits on keeps nothing alive: the script ends when its own work does', async () => {
    // Processes, names and idle timers of the node hold nothing: Node exits with the node still
    // running (its processes never get a shutdown exit). Stop it, or wait on it, to serve.
    const r = await runScript(`
      import { startNode, Actor } from 'INDEX';
      const node = await startNode('script@localhost', ${QUIET});
      class Idle extends Actor {}
      await node.spawnRegister('idle', Idle);
      process.on('exit', () => console.log('exit, node alive:', node.isAlive()));
      console.log('started');
    `);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'started\nexit, node alive: true\n');
  });

  test('the keep-alive is dropped when the node stops: the process ends although wait() resolved long ago', async () => {
    const r = await runScript(`
      import { startNode } from 'INDEX';
      const node = await startNode('server@localhost', ${QUIET});
      const waited = node.wait().then(() => console.log('wait resolved'));
      await node.stop();
      await waited;
      console.log('done');
    `);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'wait resolved\ndone\n');
  });
});
