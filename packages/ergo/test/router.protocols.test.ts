// attachProtocol: a second protocol (the Erlang distribution of @ergo-ts/erlang) plugs into a
// running node through gen/ only. The router asks attached protocols, in attach order, before its
// own connector; a protocol that does not serve a node lets the next one (or the connector) answer;
// `stop` runs when the node stops; detaching removes it. The connection stands in for the wire
// only (RecordingConnection); the node and its processes are real.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { attachProtocol, PID, startNode, type Atom, type Core } from '../src/index.js';
import { RecordingConnection, fakeNetwork } from './remote_helpers.js';

const quiet = { log: { defaultLogger: { disable: true } } };

test('attachProtocol: asked before the connector, falls through, stops with the node, detaches', async () => {
  const node = await startNode('proto@localhost', quiet);
  const erl = new RecordingConnection('e1@h' as Atom);
  let core: Core | undefined;
  let stopped = 0;
  const asked: string[] = [];
  const detach = attachProtocol(node, (c) => {
    core = c;
    return {
      connection: (n) => {
        asked.push(n);
        return n === 'e1@h' ? erl : undefined;
      },
      stop: () => {
        stopped++;
      },
    };
  });
  assert.equal(core?.name(), 'proto@localhost', 'the factory gets the node Core');
  // served by the protocol
  node.send(new PID('e1@h' as Atom, 5, 1), 'hello');
  assert.equal(erl.sent.length, 1);
  assert.equal(erl.sent[0]!.op, 'sendPID');
  // not served: no connector installed → the network is stopped
  assert.throws(() => node.send(new PID('go@h' as Atom, 5, 1), 'x'), { code: 'ERR_NETWORK_STOPPED' });
  assert.deepEqual(asked, ['e1@h', 'go@h']);
  // with a connector, what the protocol does not serve goes there
  const conns = fakeNetwork(node, 'go@h');
  node.send(new PID('go@h' as Atom, 5, 1), 'x');
  assert.equal(conns.get('go@h')!.sent.length, 1);
  node.send(new PID('e1@h' as Atom, 5, 1), 'again');
  assert.equal(erl.sent.length, 2, 'the protocol still comes first');
  detach();
  assert.throws(() => node.send(new PID('e1@h' as Atom, 5, 1), 'x'), { code: 'ERR_NO_CONNECTION' });
  await node.stop();
  assert.equal(stopped, 1, 'stop ran with the node');
});

test('attachProtocol refuses what is not a node handle, and a stopped node', async () => {
  assert.throws(() => attachProtocol({} as never, () => ({ connection: () => undefined, stop: () => {} })), {
    code: 'ERR_INCORRECT',
  });
  const node = await startNode('proto2@localhost', quiet);
  await node.stop();
  assert.throws(() => attachProtocol(node, () => ({ connection: () => undefined, stop: () => {} })), {
    code: 'ERR_NODE_TERMINATED',
  });
});
