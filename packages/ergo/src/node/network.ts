// The engine's side of the network stack: starts and stops the node's network (Node's ENP stack,
// net/network, made by the factory startNode gives) with the node's Core, a network log source and
// the router's connector, and closes every connection after the processes are gone (so their last
// terminate packets go out first). The engine never imports the stack itself: the browser entry
// starts nodes without one (no sockets there), and its module graph stays free of `node:` modules.

import { ErrNetworkStopped, ErrTaken, ErrUnsupported, toError } from '../gen/errors.js';
import { MessageLogNetwork, type Log } from '../gen/log.js';
import type { Atom } from '../gen/atom.js';
import {
  NetworkMode,
  type ApplicationRoute,
  type Network,
  type NetworkOptions,
  type Registrar,
} from '../gen/network.js';
import type { NetworkEnv } from '../net/network/connection_table.js';
import { LogHandle } from './log.js';
import type { NodeImpl } from './node.js';

/** What the engine needs of a network stack (Node's is net/network's NetworkImpl). */
export interface NetworkStack extends Network {
  /** Listens, registers, installs the connector (once). */
  start(): Promise<void>;
  /** Closes every connection and acceptor (once). */
  stop(): Promise<void>;
  readonly log: Log;
  readonly connectionCount: number;
}

/** Makes a node's network stack: startNode's (Node) builds net/network's; the browser has none. */
export type NetworkStackFactory = (env: NetworkEnv, options: NetworkOptions) => NetworkStack;

/** The network of one node (none until started). */
export class NodeNetwork {
  private impl: NetworkStack | null = null;

  /** `factory`: null for a node started without a network stack (the browser entry). */
  constructor(
    private readonly n: NodeImpl,
    private readonly factory: NetworkStackFactory | null,
  ) {
    n.addStopHook({ afterProcesses: () => this.stop() });
  }

  /**
   * Starts the network. ErrTaken when one runs; ErrIncorrect for bad options; ErrUnsupported
   * on a node without a network stack (the browser entry's); the listen or registrar error
   * otherwise (nothing is left running then).
   */
  async start(options: NetworkOptions): Promise<void> {
    const n = this.n;
    n.checkRunning();
    if (this.factory === null)
      throw ErrUnsupported.with(
        `node ${n.name} has no network stack (the browser entry: a tab reaches other nodes through attachProtocol)`,
      );
    if (this.impl !== null) throw ErrTaken.with('the network runs already');
    const log = new LogHandle(n.log.level(), new MessageLogNetwork(n.name, '' as never, n.creation), n.logSink);
    const impl = this.factory(
      {
        core: n.router.core,
        log,
        version: n.version,
        setConnector: (c) => n.router.setConnector(c),
        events: {
          registerEvent: (name, o) => n.root.registerEvent(name, o),
          unregisterEvent: (name) => n.root.unregisterEvent(name),
          sendEvent: (name, token, message) => n.root.sendEvent(name, token, message),
        },
        applicationRoutes: () => n.apps.routes(),
      },
      options,
    );
    this.impl = impl;
    try {
      await impl.start();
    } catch (e) {
      this.impl = null;
      // The start's own error is what the caller must see: a failing cleanup is only logged.
      try {
        await impl.stop();
      } catch (stopErr) {
        log.warning('network cleanup after a failed start failed: %s', toError(stopErr).message);
      }
      throw e;
    }
  }

  /** Stops the network (idempotent): acceptors close, connections go down. */
  async stop(): Promise<void> {
    const impl = this.impl;
    this.impl = null;
    if (impl !== null) await impl.stop();
  }

  /** The running network. ErrNetworkStopped when there is none. */
  network(): Network {
    if (this.impl === null) throw ErrNetworkStopped.with(`node ${this.n.name} runs without a network`);
    return this.impl;
  }

  /**
   * Publishes an application's route (its new state) with the registrar, or withdraws it (a name:
   * unloaded), as Ergo does on load, start, stop and unload. Only an enabled network with a
   * registrar that supports application routes publishes; a failure is logged, never thrown
   * (the application's own life goes on; the registrar re-puts routes when it re-registers).
   */
  publishApplication(route: ApplicationRoute | Atom): void {
    const impl = this.impl;
    if (impl === null || impl.mode() !== NetworkMode.Enabled) return;
    let reg: Registrar;
    try {
      reg = impl.registrar();
      if (!reg.info().supportRegisterApplication) return;
    } catch {
      return;
    }
    const what = typeof route === 'string' ? route : route.name;
    const failed = (e: unknown): void => {
      impl.log.warning('registrar: application route of %s not published: %s', what, toError(e).message);
    };
    try {
      const p = typeof route === 'string' ? reg.unregisterApplicationRoute(route) : reg.registerApplicationRoute(route);
      p.then(undefined, failed);
    } catch (e) {
      failed(e);
    }
  }

  /** Connections up (0 without a network). */
  get connections(): number {
    return this.impl?.connectionCount ?? 0;
  }
}
