// Every node a generated project starts prints readable times (issue 72): the core's default
// console logger prints Ergo's epoch nanoseconds (`1795759062721000000 [info]`), so each
// `startNode(...)` the templates write — the node, the members of `npm run cluster`, the nodes of
// the generated entity and workflow tests — must configure ISO times.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { parseCliArgs } from '../src/args.js';
import { resolveProject } from '../src/create.js';
import { generateFiles } from '../src/generate.js';

import { README_EXAMPLE } from './fixtures.js';

/** The argument text of every `startNode(...)` call in `source` (brackets matched; strings ignored). */
function startNodeCalls(source: string): string[] {
  const calls: string[] = [];
  for (let at = source.indexOf('startNode('); at >= 0; at = source.indexOf('startNode(', at + 1)) {
    if (/import[^;]*$/.test(source.slice(source.lastIndexOf('\n', at) + 1, at))) continue; // the import
    let depth = 0;
    let end = at + 'startNode'.length;
    for (; end < source.length; end++) {
      const c = source[end];
      if (c === '(' || c === '{' || c === '[') depth++;
      else if (c === ')' || c === '}' || c === ']') depth--;
      if (depth === 0) break;
    }
    calls.push(source.slice(at, end + 1));
  }
  return calls;
}

const COMMANDS: string[][] = [
  README_EXAMPLE,
  ['Shop', '--with-actor', 'A', '--with-workflow', 'Order', '--with-entity', 'Cart'],
  ['Shop', '--with-workflow', 'Order', '--entity-store', 'postgres'],
  ['Shop', '--with-entity', 'Cart', '--with-logger', 'rotate'],
];

for (const args of COMMANDS)
  test(`every node the project starts prints ISO times: ${args.join(' ')}`, async () => {
    const io = { cwd: '/tmp', out: () => undefined, err: () => undefined, interactive: false };
    const { project } = await resolveProject(parseCliArgs(args), args, io);
    const files = generateFiles(project, '0.1.0');
    let seen = 0;
    for (const [path, content] of files) {
      if (!path.endsWith('.ts')) continue;
      for (const call of startNodeCalls(content)) {
        seen++;
        assert.match(call, /timeFormat: 'iso'/, `${path}: a node without a readable time format:\n${call}`);
      }
    }
    assert.ok(seen > 0, 'no startNode call found');
  });
