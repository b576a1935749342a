#!/usr/bin/env node
// `ergo-observer` (`npx @ergo-ts/observer`): the standalone Observer, as Go's `observer` tool.
// It starts a hidden node (`observer-<6 random>@localhost`) running the Observer application;
// the browser starts on that node and switches to any node it can reach (by name through the
// registrar, or with an explicit host, port, TLS and cookie). `--node` starts every browser
// session on that node instead. The cookie comes from $COOKIE, else `--cookie` (which warns: a
// command line is visible to other users), else a random one.

import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';

import { NetworkMode, startNode, type Atom } from 'ergo-ts';

import { createEmbeddedRegistrar } from 'ergo-ts/net';

import { createObserverApp } from './app.js';
import { detach } from './detach.js';
import { DEFAULT_OBSERVER_HOST, DEFAULT_OBSERVER_PORT } from './options.js';
import { OBSERVER_VERSION } from './manager.js';

const HELP = `usage: ergo-observer [options]
  --host HOST         bind the web UI here (default ${DEFAULT_OBSERVER_HOST})
  --port PORT         web UI port (default ${DEFAULT_OBSERVER_PORT})
  --cookie COOKIE     cookie for the nodes you connect to (prefer the COOKIE env var)
  --token TOKEN       require this bearer token (open http://host:port/?token=TOKEN)
  --node NAME         observe this node when a browser opens (else the Observer's own)
  --node-host HOST    its host (default: the registrar's answer, or the part after @)
  --node-port PORT    its acceptor port (default: the registrar's answer)
  --node-tls          connect to it over TLS (certificates are not verified)
  --name NAME         the Observer's node name (default observer-<random>@localhost)
  --registrar-port N  the embedded registrar's port (default 4499; 0 = none, static routes only)
  --debug             log at debug level
  --version           print the version`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      cookie: { type: 'string' },
      token: { type: 'string' },
      node: { type: 'string' },
      'node-host': { type: 'string' },
      'node-port': { type: 'string' },
      'node-tls': { type: 'boolean' },
      name: { type: 'string' },
      'registrar-port': { type: 'string' },
      debug: { type: 'boolean' },
      version: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    console.log(HELP);
    return;
  }
  if (values.version === true) {
    console.log(`ergo-observer ${OBSERVER_VERSION}`);
    return;
  }
  const port = values.port === undefined ? DEFAULT_OBSERVER_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port ${values.port}: not a port`);
  const nodePort = values['node-port'] === undefined ? 0 : Number(values['node-port']);
  if (!Number.isInteger(nodePort) || nodePort < 0 || nodePort > 65535)
    throw new Error(`--node-port ${values['node-port']}: not a port`);
  const registrarPort = values['registrar-port'] === undefined ? 4499 : Number(values['registrar-port']);
  if (!Number.isInteger(registrarPort) || registrarPort < 0 || registrarPort > 65535)
    throw new Error(`--registrar-port ${values['registrar-port']}: not a port`);
  let cookie = process.env.COOKIE ?? '';
  if (cookie === '' && values.cookie !== undefined) {
    cookie = values.cookie;
    console.warn('warning: a cookie on the command line is visible to other users of this machine; prefer COOKIE=...');
  }
  if (cookie === '') cookie = randomBytes(16).toString('hex');
  const name = values.name ?? `observer-${randomBytes(3).toString('hex')}@localhost`;
  const app = createObserverApp({
    host: values.host ?? DEFAULT_OBSERVER_HOST,
    port,
    ...(values.token === undefined ? {} : { token: values.token }),
    ...(values.node === undefined
      ? {}
      : {
          node: {
            name: values.node,
            ...(values['node-host'] === undefined ? {} : { host: values['node-host'] }),
            ...(nodePort > 0 ? { port: nodePort } : {}),
            tls: values['node-tls'] === true,
          },
        }),
  });
  const node = await startNode(name as Atom, {
    handleSignals: true,
    log: { level: values.debug === true ? 'debug' : 'info' },
    network: {
      mode: NetworkMode.Hidden,
      cookie,
      insecureSkipVerify: true,
      registrar: registrarPort === 0 ? null : createEmbeddedRegistrar({ port: registrarPort }),
    },
    applications: [app],
  });
  console.log(`open ${app.url}${values.token === undefined ? '' : `/?token=${encodeURIComponent(values.token)}`}`);
  await node.wait();
}

detach(main, 'ergo-observer', undefined, {
  error: (err) => {
    process.exitCode = 1;
    console.error(`ergo-observer: ${err instanceof Error ? err.message : String(err)}`);
  },
});
