// A separate OS process running an ergo-ts node in the Erlang cluster (for the node-down test:
// the test kills it with SIGKILL). argv: node name, EPMD port. Prints "ready" once attached.

import { startNode, type Atom } from 'ergo-ts';
import { attachErlang } from '../src/index.js';
import { Calc } from './node_helpers.js';

const [name, epmdPort] = process.argv.slice(2);
const node = await startNode(name as Atom, { log: { defaultLogger: { disable: true } } });
await attachErlang(node, { cookie: 'abc', host: '127.0.0.1', epmd: { port: Number(epmdPort) }, epmdServer: false });
await node.spawnRegister('calc', () => new Calc());
console.log('ready');
