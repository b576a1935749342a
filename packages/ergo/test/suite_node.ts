// The node the tests of one describe block share: started before them, stopped after them.

import { after, before } from 'node:test';

import type { Node, NodeOptions } from '../src/index.js';
import { testNode } from './lifecycle_helpers.js';

/**
 * Starts a {@link testNode} (with `options`) before the tests of the enclosing describe and stops
 * it after them; `use` gets it before the first test runs:
 *
 * ```ts
 * let node: Node;
 * suiteNode((n) => (node = n));
 * ```
 */
export function suiteNode(use: (node: Node) => void, options?: NodeOptions): void {
  let node: Node | undefined;
  before(async () => {
    node = await testNode(options);
    use(node);
  });
  after(async () => {
    await node?.stop();
  });
}
