// Test templates: one test file per generated process (ergo-ts/testing: unit tests against the
// recording node for actors, supervisors and pools; a throwaway real node for the servers, which
// listen on a free port and are reached with node:http / node:net / node:dgram), plus the
// messages and the node's configuration.

import { type Item, type Project, defaultNodeNameOf } from './model.js';
import { importPath } from './render_process.js';

const HEAD = `import { strict as assert } from 'node:assert';
import { test } from 'node:test';
`;

const CLIENT = `const client = new PID('client@localhost', 1001, 1);\n`;

function imp(testFile: string, item: Item, extra: string[] = []): string {
  return `import { ${[item.name, ...extra].sort().join(', ')} } from '${importPath(testFile, item.file)}';\n`;
}

function childImports(testFile: string, item: Item): string {
  return item.children
    .filter((c) => c.kind !== 'app')
    .map((c) => `import { ${c.name} } from '${importPath(testFile, c.file)}';\n`)
    .join('');
}

function spawnChecks(item: Item, indent = '  '): string {
  return item.children
    .map(
      (c) =>
        `${indent}${item.kind === 'sup' ? 'sup' : 'actor'}.shouldSpawn().factory(${c.name}).register('${c.lo}').once();\n`,
    )
    .join('');
}

/** The test file of one item, or undefined for kinds tested elsewhere (messages). */
export function renderTest(item: Item): string | undefined {
  const file = `test/${item.lo}.test`;
  switch (item.kind) {
    case 'actor':
      return `${HEAD}
import { PID } from 'ergo-ts';
import { spawnTest } from 'ergo-ts/testing';

${imp(file, item)}${childImports(file, item)}
${CLIENT}
test('${item.name} starts${item.children.length > 0 ? ' its children and' : ','} answers ping with pong and logs messages', async () => {
  const actor = await spawnTest(${item.name});
  actor.shouldLog().message('${item.name} started').once();
${spawnChecks(item)}  assert.equal((await actor.call(client, 'ping')).response, 'pong');
  await actor.sendMessage(client, 'hello');
  actor.shouldLog().containing('hello').once();
  actor.shouldNotTerminate().assert();
});
`;
    case 'sup': {
      const sofo = item.supType === 'SimpleOneForOne';
      return `${HEAD}
import { PID } from 'ergo-ts';
import { spawnTest } from 'ergo-ts/testing';

${imp(file, item)}${sofo ? '' : childImports(file, item)}
${CLIENT}
test('${item.name} ${sofo ? 'starts no child at init (simple one-for-one)' : 'starts its children in order'} and answers ping', async () => {
  const sup = await spawnTest(${item.name});
${
  sofo ? `  assert.equal(sup.events().filter((e) => e.kind === 'spawn').length, 0);\n` : spawnChecks(item)
}  assert.equal((await sup.call(client, 'ping')).response, 'pong');
});
`;
    }
    case 'pool':
      return `${HEAD}
import { PID } from 'ergo-ts';
import { spawnTest } from 'ergo-ts/testing';

${imp(file, item)}import { ${item.worker!.name} } from '${importPath(file, item.worker!.file)}';

${CLIENT}
test('${item.name} starts ${item.size} workers', async () => {
  const pool = await spawnTest(${item.name});
  pool.shouldSpawn().factory(${item.worker!.name}).times(${item.size ?? 3});
});

test('${item.worker!.name} answers ping with pong', async () => {
  const worker = await spawnTest(${item.worker!.name});
  assert.equal((await worker.call(client, 'ping')).response, 'pong');
});
`;
    case 'web':
      return `${HEAD}import { get } from 'node:${item.tls === true ? 'https' : 'http'}';
${item.websocket === true ? "\nimport WebSocket from 'ws';\n" : ''}
import type { Node, PID } from 'ergo-ts';
import { startTestNode } from 'ergo-ts/testing';

${imp(file, item)}
${META_VALUE}
function fetchText(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, ${item.tls === true ? '{ rejectUnauthorized: false }, ' : ''}(res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

test('${item.name} answers GET through its workers, and ping', async () => {
  const node = await startTestNode();
  try {
    const pid = await node.spawn(${item.name}, {}, { port: 0 });
    const url = await metaValue(node, pid, 'url');
    const { status, body } = await fetchText(\`\${url}/hello\`);
    assert.equal(status, 200);
    assert.equal((JSON.parse(body) as { path: string }).path, '/hello');
    assert.equal(await node.call(pid, 'ping'), 'pong');${
      item.websocket === true
        ? `
    const echo = await new Promise<string>((resolve, reject) => {
      const socket = new WebSocket(\`\${url.replace(/^http/, 'ws')}/ws\`${item.tls === true ? ', { rejectUnauthorized: false }' : ''});
      socket.on('open', () => socket.send('hello'));
      socket.on('message', (data: Buffer) => {
        socket.close();
        resolve(data.toString());
      });
      socket.on('error', reject);
    });
    assert.equal(echo, 'hello', 'a WebSocket message comes back');`
        : ''
    }
  } finally {
    await node.stop();
  }
});
`;
    case 'tcp':
      return `${HEAD}import { connect } from 'node:${item.tls === true ? 'tls' : 'net'}';

import type { Node, PID } from 'ergo-ts';
import { startTestNode } from 'ergo-ts/testing';

${imp(file, item)}
${META_VALUE}${SPLIT_ADDR}
test('${item.name} answers every read with OK, and ping', async () => {
  const node = await startTestNode();
  try {
    const pid = await node.spawn(${item.name}, {}, { port: 0 });
    const [host, port] = splitAddr(await metaValue(node, pid, 'listener'));
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host, port${item.tls === true ? ', rejectUnauthorized: false' : ''} }, () => socket.write('hello'));
      socket.setEncoding('utf8');
      socket.once('data', (data: string) => {
        socket.end();
        resolve(data);
      });
      socket.on('error', reject);
    });
    assert.equal(reply, 'OK\\n');
    assert.equal(await node.call(pid, 'ping'), 'pong');
  } finally {
    await node.stop();
  }
});
`;
    case 'udp':
      return `${HEAD}import { createSocket } from 'node:dgram';

import type { Node, PID } from 'ergo-ts';
import { startTestNode } from 'ergo-ts/testing';

${imp(file, item)}
${META_VALUE}${SPLIT_ADDR}
test('${item.name} answers a datagram with OK, and ping', async () => {
  const node = await startTestNode();
  try {
    const pid = await node.spawn(${item.name}, {}, { port: 0 });
    assert.equal(await node.call(pid, 'ping'), 'pong');
    const [host, port] = splitAddr(await metaValue(node, pid, 'listener'));
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    try {
      const reply = new Promise<string>((resolve) => socket.once('message', (data) => resolve(data.toString())));
      socket.send('hello', port, host);
      assert.equal(await reply, 'OK\\n');
    } finally {
      socket.close();
    }
  } finally {
    await node.stop();
  }
});
`;
    case 'app':
      return `${HEAD}
import { ApplicationMode } from 'ergo-ts';
import { startTestNode } from 'ergo-ts/testing';

import { create${item.name} } from '${importPath(file, item.file)}';

test('${item.name} lists its members in order', async () => {
  const node = await startTestNode();
  try {
    const spec = await create${item.name}().load(node);
    assert.equal(spec.name, '${item.lo}');
    assert.equal(spec.mode, ApplicationMode.${item.mode ?? 'Transient'});
    assert.deepEqual(
      spec.group.map((m) => m.name),
      [${item.children.map((c) => `'${c.lo}'`).join(', ')}],
    );
  } finally {
    await node.stop();
  }
});
`;
    case 'msg':
      return undefined;
  }
}

const META_VALUE = `/** A value a meta process of \`pid\` reports when inspected (the server's url or listener). */
async function metaValue(node: Node, pid: PID, key: string): Promise<string> {
  for (const alias of node.processInfo(pid).metas) {
    const value = (await node.inspectMeta(alias))[key];
    if (value !== undefined) return value;
  }
  throw new Error(\`no meta process of \${pid.toString()} reports \${key}\`);
}
`;

const SPLIT_ADDR = `
/** '127.0.0.1:7654' or '[::1]:7654' → [host, port]. */
function splitAddr(addr: string): [string, number] {
  const colon = addr.lastIndexOf(':');
  return [addr.slice(0, colon).replace(/^\\[|\\]$/g, ''), Number(addr.slice(colon + 1))];
}
`;

/** `test/messages.test.ts` */
export function renderMessagesTest(project: Project): string {
  const msgs = project.items.filter((i) => i.kind === 'msg');
  return `${HEAD}
import { roundTrip } from 'ergo-ts/net';

import { ${msgs.map((m) => m.name).join(', ')} } from '../src/messages.js';

test('each message type crosses EDF as itself', () => {
${msgs.map((m) => `  assert.ok(roundTrip(new ${m.name}()) instanceof ${m.name});`).join('\n')}
});
`;
}

/** `test/node.test.ts` */
export function renderNodeTest(project: Project): string {
  const obs = project.observer;
  return `${HEAD}
import { nodeConfig } from '../src/node.js';

test('the node config: command line over environment over defaults', () => {
  assert.deepEqual(nodeConfig([], {}), { name: '${defaultNodeNameOf(project)}', cookie: '', port: undefined${obs ? ', observerPort: 9911' : ''} });
  assert.deepEqual(nodeConfig(['--name', 'a@host', '--port', '0'], { ERGO_NODE_NAME: 'b@host', ERGO_COOKIE: 'secret' }), {
    name: 'a@host',
    cookie: 'secret',
    port: 0,${obs ? '\n    observerPort: 9911,' : ''}
  });
  assert.equal(nodeConfig([], { ERGO_PORT: '11200' }).port, 11200);
  assert.throws(() => nodeConfig(['--port', 'x'], {}), /not a port number/);${
    obs
      ? `
  assert.equal(nodeConfig(['--observer-port', '0'], { ERGO_OBSERVER_PORT: '9000' }).observerPort, 0);
  assert.equal(nodeConfig([], { ERGO_OBSERVER_PORT: '9000' }).observerPort, 9000);
  assert.throws(() => nodeConfig(['--observer-port', '70000'], {}), /not a port number/);`
      : ''
  }
});
`;
}
