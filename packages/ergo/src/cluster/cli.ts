#!/usr/bin/env node
// The `ergo-ts` command. `ergo-ts cluster [options] app.js` starts one node per core running the
// application module app.js (its default export gets a ClusterNode on every node), restarts
// nodes that die, and stops them all gracefully on SIGTERM or Ctrl-C.

import { parseArgs } from 'node:util';
import { startCluster, type ClusterMode } from './launcher.js';

const USAGE = `usage: ergo-ts cluster [--nodes auto|N] [--mode thread|process] [--name core] [--host localhost]
                       [--cookie SECRET] [--no-registrar] [--quiet] app.js`;

async function main(argv: string[]): Promise<number> {
  if (argv[0] !== 'cluster') {
    process.stderr.write(`${USAGE}\n`);
    return argv[0] === '--help' || argv[0] === '-h' ? 0 : 2;
  }
  const { values, positionals } = parseArgs({
    args: argv.slice(1),
    allowPositionals: true,
    options: {
      nodes: { type: 'string', default: 'auto' },
      mode: { type: 'string', default: 'thread' },
      name: { type: 'string' },
      host: { type: 'string' },
      cookie: { type: 'string' },
      'no-registrar': { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || positionals.length !== 1) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const nodes = values.nodes === 'auto' ? 'auto' : Number(values.nodes);
  const say = (line: string): void => {
    if (!values.quiet) process.stderr.write(`ergo-ts cluster: ${line}\n`);
  };
  const cluster = await startCluster({
    nodes,
    mode: values.mode as ClusterMode,
    module: positionals[0],
    name: values.name,
    host: values.host,
    node: {
      network: {
        ...(values.cookie !== undefined ? { cookie: values.cookie } : {}),
        // Static routes only (the launcher gives every node the others'): no registrar on 4499.
        ...(values['no-registrar'] ? { registrar: null } : {}),
      },
    },
    // The command handles the signals itself: it ends with 0 after a graceful stop, not by the signal.
    signals: false,
    onEvent: (e) => say(`${e.node} ${e.type}${e.reason !== undefined ? ` (${e.reason})` : ''}`),
  });
  // A signal stops the cluster; the process ends (0) when every node has left. Installed before
  // the "up" line, so whoever waits for that line can signal at once. The handlers go as
  // the stop begins, so a second signal ends the process at once, by Node's default action.
  const onSignal = (): void => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    void cluster.stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  say(
    `${cluster.nodes().length} nodes up: ${cluster
      .nodes()
      .map((n) => `${n.name} ${n.acceptor}`)
      .join(', ')}`,
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`ergo-ts cluster: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
