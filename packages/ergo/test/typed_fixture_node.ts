// What the typed fixtures (the second OS process of the typed remote tests) share: a node named
// by TYPED_FIXTURE_NAME (or `<prefix><pid>@localhost`) listening on a free port, whose
// `protocol …` warnings — the typed layer's refusals — are kept in `lines` for the test to ask for.

import { startNode, type MessageLog, type Node } from '../src/index.js';

/** The fixture's node and the refusal lines it logged so far (oldest first). */
export interface FixtureNode {
  node: Node;
  lines: string[];
}

/** Starts the fixture's node (cookie `typed-secret`, no registrar) with its refusal capture. */
export async function startFixtureNode(prefix: string): Promise<FixtureNode> {
  const lines: string[] = [];
  const name = process.env.TYPED_FIXTURE_NAME ?? `${prefix}${process.pid}@localhost`;
  const node = await startNode(name, {
    network: { cookie: 'typed-secret', acceptors: [{ port: 0 }], registrar: null },
    log: {
      defaultLogger: { disable: true },
      loggers: [
        {
          name: 'capture',
          logger: {
            log(m: MessageLog): void {
              if (m.format.startsWith('protocol')) lines.push(m.args.map(String).join(' | '));
            },
          },
          filter: ['warning'],
        },
      ],
    },
  });
  return { node, lines };
}
