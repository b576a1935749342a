// Two ergo-ts nodes in two test hosts (network namespaces of @ergo-ts/test-support) over a real
// network path: a call between them succeeds; during a silent two-way partition (packets dropped,
// sockets open) a call times out; once healed, calls succeed again. Skips without root/ip/nft
// (fails under CI=true).

import { strict as assert } from 'node:assert';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { IpcCommands, ipcMessage, isStarted, requireHosts, TestHosts, type Host } from '@ergo-ts/test-support';

const FIXTURE = fileURLToPath(new URL('./testhosts_node.js', import.meta.url));

type Reply = { id: number; ok: boolean; value?: unknown; code?: string; message?: string };

/** An ergo-ts node running in a test host, driven over IPC. */
class HostNode {
  readonly #commands: IpcCommands<Reply>;

  private constructor(
    readonly proc: ChildProcess,
    readonly name: string,
    readonly port: number,
  ) {
    this.#commands = new IpcCommands<Reply>(proc, name);
  }

  static async start(host: Host, name: string): Promise<HostNode> {
    const proc = host.spawn(process.execPath, [FIXTURE], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, TH_NAME: name, TH_ADDRESS: host.address },
    });
    const ready = await ipcMessage(proc, isStarted, `${name} ready`);
    return new HostNode(proc, ready.name, ready.port);
  }

  ask(cmd: string, fields: Record<string, unknown> = {}): Promise<Reply> {
    return this.#commands.ask(cmd, fields);
  }

  call(node: string, request: unknown, timeout: number): Promise<Reply> {
    return this.ask('call', { node, request, timeout });
  }
}

test('two ergo-ts nodes in two test hosts: calls succeed, time out during a silent partition, succeed after healing', async (t) => {
  if (!requireHosts(t)) return;
  await using hosts = await TestHosts.create({ names: ['a', 'b'] });
  const a = await HostNode.start(hosts.host('a'), 'na');
  const b = await HostNode.start(hosts.host('b'), 'nb');
  assert.equal(b.name, `nb@${hosts.host('b').address}`);
  assert.deepEqual(await a.ask('route', { match: '^nb@', host: hosts.host('b').address, port: b.port }), {
    id: 1,
    ok: true,
    value: 'ok',
  });

  const first = await a.call(b.name, 'ping-1', 10_000);
  assert.deepEqual([first.ok, first.value], [true, 'ping-1']);

  const cut = await hosts.partition('a', 'b');
  const during = await a.call(b.name, 'ping-2', 1000);
  assert.equal(during.ok, false);
  assert.equal(during.code, 'ERR_TIMEOUT', during.message);
  assert.ok((await cut.dropped(hosts.host('b'))).packets > 0, 'the request reached the cut and was dropped there');

  await cut.heal();
  // The same connection carries it once TCP retransmits (the partition was shorter than any
  // down detection), or a new one if it was declared down: either way the call succeeds.
  const healed = await a.call(b.name, 'ping-3', 20_000);
  assert.deepEqual([healed.ok, healed.value], [true, 'ping-3']);

  for (const n of [a, b]) {
    await n.ask('stop');
    if (n.proc.exitCode === null) await once(n.proc, 'exit');
  }
});
