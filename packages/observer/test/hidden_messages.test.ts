// The Observer's tools that show message contents on its own node — the mailbox peek, the message
// trace and the group trace — honour the node's `security.inspectMessages` as its system_inspect
// does for other nodes (and MCP's tools): a node that hides message contents refuses each with
// `messages_hidden` (403) and starts no trace; stopping stays allowed. A node whose system_inspect
// cannot be asked (no system application) refuses them with `messages_unknown` (502) rather than
// show contents on a guess. A node that shows them (the default) runs them, as before.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Actor, type Node, type NodeOptions } from 'ergo-ts';

import { SESSION_PREFIX } from '../src/index.js';
import { post, startObserved, StreamClient } from './helpers.js';

class Sink extends Actor {}

/** The tools that show message contents, with a body naming `pid`. */
const SHOWING = [
  { action: 'mailbox_peek', body: (pid: string) => ({ pid }) },
  { action: 'trace_start', body: (pid: string) => ({ pid }) },
  { action: 'trace_group', body: (pid: string) => ({ pids: [pid] }) },
];

/** An observed node (`nodeOptions`), a process on it, and a session's stream. */
async function observed(
  nodeOptions: NodeOptions,
): Promise<{ node: Node; url: string; pid: string; stream: StreamClient; h: Record<string, string> }> {
  const { node, url } = await startObserved({}, nodeOptions);
  const pid = String(await node.spawn(Sink, {}));
  const stream = await StreamClient.open(url);
  await stream.waitFor('connected');
  return { node, url, pid, stream, h: { 'x-observer-session': stream.session } };
}

/** Traces the session runs (its handleInspect). */
async function traces(node: Node, session: string): Promise<string> {
  return (await node.inspect(SESSION_PREFIX + session)).traces!;
}

test('security.inspectMessages false: peek, trace and group trace of this node refused with messages_hidden; stops allowed', async () => {
  const { node, url, pid, stream, h } = await observed({ security: { inspectMessages: false } });
  try {
    // Twice each: the first asks system_inspect, the next ones use what it said.
    for (let round = 0; round < 2; round++)
      for (const { action, body } of SHOWING) {
        const r = await post(url, `/api/do/${action}`, body(pid), h);
        assert.equal(r.status, 403, `${action}: ${JSON.stringify(r.body)}`);
        assert.equal((r.body as { code?: string }).code, 'messages_hidden', action);
        assert.match(String(r.body.error), /security\.inspectMessages: false/);
      }
    assert.equal(await traces(node, stream.session), '0');
    for (const [action, body] of [
      ['trace_stop', { pid }],
      ['trace_group_stop', {}],
    ] as const) {
      const r = await post(url, `/api/do/${action}`, body, h);
      assert.equal(r.status, 200, `${action}: ${JSON.stringify(r.body)}`);
    }
  } finally {
    stream.close();
    await node.stop();
  }
});

test('no system_inspect to ask (systemApp: false): the tools that show contents are refused with messages_unknown', async () => {
  const { node, url, pid, stream, h } = await observed({ systemApp: false });
  try {
    for (const { action, body } of SHOWING) {
      const r = await post(url, `/api/do/${action}`, body(pid), h);
      assert.equal(r.status, 502, `${action}: ${JSON.stringify(r.body)}`);
      assert.equal((r.body as { code?: string }).code, 'messages_unknown', action);
    }
    assert.equal(await traces(node, stream.session), '0');
  } finally {
    stream.close();
    await node.stop();
  }
});

test('messages shown (the default): peek, trace and group trace of this node run', async () => {
  const { node, url, pid, stream, h } = await observed({});
  try {
    for (const { action, body } of SHOWING) {
      const r = await post(url, `/api/do/${action}`, body(pid), h);
      assert.equal(r.status, 200, `${action}: ${JSON.stringify(r.body)}`);
    }
    assert.equal(await traces(node, stream.session), '1');
    const peek = await post(url, '/api/do/mailbox_peek', { pid }, h);
    assert.equal(peek.body.data.pid, pid);
  } finally {
    stream.close();
    await node.stop();
  }
});
