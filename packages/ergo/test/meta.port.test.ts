// Port meta processes with real child programs — cat, sh -c, seq and a small node script writing
// binary frames and to stderr (issue 11; ERGO-API meta rows Port / text mode / binary mode; §5.19
// t018 intended cases): start/terminate messages with the exit code or signal, stdin writes,
// line and custom splitting, chunked binary frames, env flags, a program that cannot start, the
// child killed when the meta or its parent ends (and reaped: no zombie), stdout back-pressure.

import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';

import { MessageDownAlias, TerminateReasonNormal, type Alias, type Node, type PID } from '../src/index.js';
import {
  createPort,
  MessagePortData,
  MessagePortError,
  MessagePortStart,
  MessagePortTerminate,
  MessagePortText,
  type PortOptions,
  type SplitFunc,
} from '../src/meta/index.js';
import { deferred, exec, guardUnhandled, Hold, spawnTest, throwsCode, type Hooks } from './lifecycle_helpers.js';
import { suiteNode } from './suite_node.js';
import { eventually } from '@ergo-ts/test-support';

guardUnhandled();

/** Monitors the port meta as soon as it announces itself. */
const watch: Hooks = {
  message: (a, _from, m) => {
    if (m instanceof MessagePortStart) a.monitor(m.id);
  },
};

async function port(node: Node, owner: PID, options: PortOptions): Promise<Alias> {
  return exec(node, owner, (a) => a.spawnMeta(createPort(options)));
}

/** The OS process is gone and reaped (no /proc entry, so not a zombie either). */
function reaped(pid: number): boolean {
  return !existsSync(`/proc/${pid}`);
}

// Writes three 2-byte-length frames in odd pieces to stdout and one line to stderr, then exits 0.
const FRAMES_SCRIPT = `
const frame = (s) => { const b = Buffer.from(s); const h = Buffer.alloc(2); h.writeUInt16BE(b.length); return Buffer.concat([h, b]); };
const all = Buffer.concat([frame('alpha'), frame(''), frame('gamma-gamma')]);
process.stderr.write('warming up\\n');
const cuts = [1, 4, 9, all.length];
let prev = 0;
(function next(i) {
  if (i === cuts.length) return;
  process.stdout.write(all.subarray(prev, cuts[i]), () => setTimeout(() => next(i + 1), 5));
  prev = cuts[i];
})(0);
`;

describe('meta Port', () => {
  let node: Node;
  suiteNode((n) => (node = n), { env: { color: 'blue' } });

  test('t018 text: lines written to cat come back as MessagePortText; ending the meta kills and reaps the child', async () => {
    const h = await spawnTest(node, { hooks: watch });
    const id = await port(node, h.pid, { cmd: 'cat', tag: 'txt' });
    const { message: start } = await h.inbox.message(MessagePortStart);
    assert.ok(start.id.equals(id));
    assert.equal(start.tag, 'txt');
    const info = await node.inspectMeta(id);
    const osPid = Number(info.pid);
    assert.ok(osPid > 0);
    await exec(node, h.pid, (a) => a.send(id, new MessagePortText(undefined, '', 'T18 text\nsecond line\n')));
    assert.equal((await h.inbox.message(MessagePortText)).message.text, 'T18 text');
    const { message: second } = await h.inbox.message(MessagePortText);
    assert.equal(second.text, 'second line');
    assert.equal(second.tag, 'txt');
    await exec(node, h.pid, (a) => a.sendExitMeta(id, TerminateReasonNormal));
    const { message: end } = await h.inbox.message(MessagePortTerminate);
    assert.equal(end.signal, 'SIGKILL');
    assert.equal(end.exitCode, null);
    assert.ok(reaped(osPid), 'the child is reaped');
  });

  test('exit code 3: stdout lines, stderr as MessagePortError, Terminate with the code; the meta ends normally', async () => {
    const h = await spawnTest(node, { hooks: watch });
    const id = await port(node, h.pid, { cmd: 'sh', args: ['-c', 'echo out; echo oops >&2; exit 3'] });
    assert.equal((await h.inbox.message(MessagePortText)).message.text, 'out');
    const { message: err } = await h.inbox.message(MessagePortError);
    assert.ok(err.error instanceof Error);
    assert.equal(err.error.message, 'oops');
    const { message: end } = await h.inbox.message(MessagePortTerminate);
    assert.equal(end.exitCode, 3);
    assert.equal(end.signal, null);
    const { message: down } = await h.inbox.message(MessageDownAlias);
    assert.ok(down.alias.equals(id));
    assert.equal(down.reason, TerminateReasonNormal);
  });

  test('a program killed by a signal: Terminate carries the signal', async () => {
    const h = await spawnTest(node);
    await port(node, h.pid, { cmd: 'sh', args: ['-c', 'kill -TERM $$'] });
    const { message: end } = await h.inbox.message(MessagePortTerminate);
    assert.equal(end.signal, 'SIGTERM');
    assert.equal(end.exitCode, null);
  });

  test('binary mode: chunked frames (2-byte length) from odd reads of a node script; stderr stays text', async () => {
    const h = await spawnTest(node);
    await port(node, h.pid, {
      cmd: process.execPath,
      args: ['-e', FRAMES_SCRIPT],
      binary: { enable: true, readChunk: { enable: true, headerSize: 2, headerLengthSize: 2 } },
    });
    const got: string[] = [];
    for (let i = 0; i < 3; i++)
      got.push(
        Buffer.from((await h.inbox.message(MessagePortData)).message.data)
          .subarray(2)
          .toString(),
      );
    assert.deepEqual(got, ['alpha', '', 'gamma-gamma']);
    assert.equal((await h.inbox.message(MessagePortError)).message.error.message, 'warming up');
    assert.equal((await h.inbox.message(MessagePortTerminate)).message.exitCode, 0);
  });

  test('t018 binary: MessagePortData to cat comes back in fixed 4-byte frames', async () => {
    const h = await spawnTest(node);
    const id = await port(node, h.pid, {
      cmd: 'cat',
      binary: { enable: true, readChunk: { enable: true, fixedLength: 4 } },
    });
    await h.inbox.message(MessagePortStart);
    await exec(node, h.pid, (a) => a.send(id, new MessagePortData(undefined, '', Buffer.from('T18 binary pong!'))));
    const frames: string[] = [];
    for (let i = 0; i < 4; i++)
      frames.push(Buffer.from((await h.inbox.message(MessagePortData)).message.data).toString());
    assert.deepEqual(frames, ['T18 ', 'bina', 'ry p', 'ong!']);
    await exec(node, h.pid, (a) => a.sendExitMeta(id, TerminateReasonNormal));
    await h.inbox.message(MessagePortTerminate);
  });

  test('env: the parent env (enableEnvMeta) and the env option; a custom split function', async () => {
    const h = await spawnTest(node, { options: { env: { shape: 'round' } } });
    const commas: SplitFunc = (data, atEOF) => {
      const i = data.indexOf(44);
      if (i >= 0) return [i + 1, data.subarray(0, i)];
      return atEOF && data.length > 0 ? [data.length, data] : [0, null];
    };
    await port(node, h.pid, {
      cmd: '/bin/sh',
      args: ['-c', 'printf "%s,%s,%s" "$SHAPE" "$EXTRA" "${HOME:-none}"'],
      enableEnvMeta: true,
      env: { EXTRA: 42 },
      splitFuncStdout: commas,
    });
    const texts: string[] = [];
    for (let i = 0; i < 3; i++) texts.push((await h.inbox.message(MessagePortText)).message.text);
    assert.deepEqual(texts, ['round', '42', 'none'], 'the OS env is not passed unless enableEnvOS');
  });

  test('a program that cannot start: the meta ends with the spawn error, no MessagePortStart', async () => {
    const h = await spawnTest(node);
    // Monitored in the same handler as the spawn: start has not run yet.
    await exec(node, h.pid, (a) => a.monitor(a.spawnMeta(createPort({ cmd: 'no-such-program-ergo-ts' }))));
    const { message: down } = await h.inbox.message(MessageDownAlias);
    assert.equal((down.reason as { code?: string }).code, 'ENOENT');
    assert.deepEqual(node.processInfo(h.pid).metas, []);
    assert.equal(h.inbox.messages().filter((m) => m instanceof MessagePortStart).length, 0);
    throwsCode(() => createPort({ cmd: '' }), 'ERR_INCORRECT');
    throwsCode(
      () => createPort({ cmd: 'cat', binary: { enable: true, writeBufferKeepAlive: Buffer.from([0]) } }),
      'ERR_INCORRECT',
    );
    throwsCode(
      () =>
        createPort({
          cmd: 'cat',
          binary: { enable: true, readChunk: { enable: true, headerSize: 1, headerLengthSize: 2 } },
        }),
      'ERR_INCORRECT',
    );
  });

  test('the parent ending kills the program (reaped, no zombie)', async () => {
    const root = await spawnTest(node);
    const seen = deferred<number>();
    const parent = await exec(node, root.pid, async (a) => {
      const { TestActor, Inbox } = await import('./lifecycle_helpers.js');
      return a.spawn(TestActor, {}, new Inbox(), {
        message: (_t: unknown, _f: unknown, m: unknown) => {
          if (m instanceof MessagePortStart) seen.resolve(0);
        },
      } as Hooks);
    });
    const id = await port(node, parent, { cmd: 'sleep', args: ['600'] });
    await seen.promise;
    const osPid = Number((await node.inspectMeta(id)).pid);
    assert.ok(!reaped(osPid));
    node.sendExit(parent, new Error('parent gone'));
    await eventually(() => reaped(osPid), 'the child is killed and reaped');
  });

  test('back-pressure: stdout of a fast program pauses while the reader is behind; every line arrives', async () => {
    const release = deferred<void>();
    let lines = 0;
    let last = '';
    const done = deferred<void>();
    const h = await spawnTest(node, {
      hooks: {
        message: (_a, _f, m) => {
          if (m instanceof MessagePortText) {
            lines++;
            last = m.text;
          }
          if (m instanceof MessagePortTerminate) done.resolve();
        },
      },
    });
    const total = 200_000;
    const id = await port(node, h.pid, { cmd: 'seq', args: ['1', String(total)], readQueueLimit: 100 });
    node.send(h.pid, new Hold(release.promise));
    await eventually(async () => (await node.inspectMeta(id)).paused === 'true', 'stdout pauses');
    const queued = node.processInfo(h.pid).mailboxQueues.main;
    assert.ok(queued < total, `bounded: ${queued} of ${total} lines wait`);
    assert.ok(queued <= 100 + 65536 / 2, `at most the limit plus one read of lines (${queued})`);
    release.resolve();
    await done.promise;
    assert.equal(lines, total);
    assert.equal(last, String(total));
  });
});
