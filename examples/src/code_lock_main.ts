// The code lock on a node: `npm run code-lock -w examples` types the right code, watches the door
// unlock and relock on the state timeout, and stops. runCodeLock is what the test runs too.

import { fileURLToPath } from 'node:url';
import { Actor, startNode, type Node, type PID } from 'ergo-ts';
import { CodeLock, type CodeLockOptions, type CodeLockProtocol } from './code_lock.js';

/** Spawns the lock as `code_lock` with the code 1 2 3 4 and types it. Returns its PID. */
export async function runCodeLock(
  node: Node,
  options: Partial<CodeLockOptions>,
): Promise<PID<typeof CodeLockProtocol>> {
  const lock = await node.spawnRegister('code_lock', CodeLock, {}, [1, 2, 3, 4], options);
  node.log.info('code lock: %d buttons, %s', await node.call(lock, 'code-length'), await node.call(lock, 'state'));
  for (const button of [1, 2, 3, 4]) node.send(lock, { button });
  return lock;
}

/** The door's "hardware": logs what the lock does; stops the node when it relocks. */
class Door extends Actor {
  opened = false;
  override handleMessage(_from: PID, message: unknown) {
    const door = (message as { door: string }).door;
    this.log.info('door: %s', door);
    if (door === 'unlocked') this.opened = true;
    else if (this.opened) void this.node.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const node = await startNode('codelock@localhost', { log: { defaultLogger: { timeFormat: 'iso' } } });
  const door = await node.spawn(Door);
  await runCodeLock(node, { openMs: 1_000, door });
  await node.wait();
}
