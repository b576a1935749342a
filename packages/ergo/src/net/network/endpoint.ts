// A network endpoint: the node's network stack (acceptors, registrar, dials, the EHS handshake and
// ENP connections, WIRE.md §2–4) run for a name whose processes are not this process's engine.
// The caller supplies the Core that inbound traffic is applied to and gets the connector for
// outbound operations, so a Go Ergo node sees an ordinary Ergo node under that name: it resolves
// it through the registrar, dials it, links to and monitors its PIDs. @ergo-ts/tabs runs one per
// browser tab on the gateway (its ENP bridge), so Go nodes reach tab PIDs without a proxy protocol
// Ergo 3.2 does not implement.

import type { Atom } from '../../gen/atom.js';
import type { Core } from '../../gen/core.js';
import { ErrIncorrect, ErrNetworkStopped, toError } from '../../gen/errors.js';
import type { Log } from '../../gen/log.js';
import type { Connection, Network, NetworkOptions } from '../../gen/network.js';
import type { Version } from '../../gen/node.js';
import type { MessageEvent } from '../../gen/messages.js';
import type { PID } from '../../gen/pid.js';
import type { ProcessFactory } from '../../gen/process.js';
import type { RelationTarget } from '../proto/inbound.js';
import { NetworkImpl } from './network.js';

/**
 * The Core a {@link NetworkEndpoint} applies inbound traffic to (what a node's engine is to its
 * network): `name()` and `creation()` are the identity the handshake announces and the registrar
 * registers; the `route*` methods get what peers send to that name, as a node's Core would, and
 * `routeNodeDown` each peer's connection going. The spawn and application-start lists answer a
 * peer's remote spawn and the network's `info()` (an endpoint that allows none throws on enable).
 */
export interface EndpointCore extends Core {
  /** Lets nodes `nodes` (none: any) spawn `factory` under `name` here. */
  enableSpawn(name: Atom, factory: ProcessFactory, nodes: Atom[]): void;
  /** Withdraws `name` for `nodes` (none: for every node). */
  disableSpawn(name: Atom, nodes: Atom[]): void;
  /** Lets nodes `nodes` (none: any) start application `name` here. */
  enableApplicationStart(name: Atom, nodes: Atom[]): void;
  /** Withdraws application `name` for `nodes` (none: for every node). */
  disableApplicationStart(name: Atom, nodes: Atom[]): void;
  /** What is enabled for remote spawn. */
  enabledSpawns(): { name: Atom; behavior: string; nodes: Atom[] }[];
  /** What is enabled for remote application start. */
  enabledApplicationStarts(): { name: Atom; nodes: Atom[] }[];
  /**
   * Optional: a peer's link or monitor request (an ENP control message, what Go Ergo sends) is
   * answered when the returned promise settles instead of at once by `routeLink*` /
   * `routeMonitor*`: a rejection is the peer's error (nothing is linked), the events its result
   * for an event target. For a Core whose targets answer later (the tab gateway's, whose tabs
   * are reached by frames). ergo-ts peers' batched monitors still go to `routeMonitorPID`.
   */
  routeRelationLater?(kind: 'link' | 'monitor', pid: PID, target: RelationTarget): Promise<MessageEvent[] | undefined>;
}

/** Options of {@link startNetworkEndpoint}: a node's network options, and where the stack logs. */
export interface NetworkEndpointOptions extends NetworkOptions {
  /** Where the stack logs (acceptors, dials, refused handshakes). */
  log: Log;
  /** The application version announced in the handshake (default empty). */
  version?: Version;
}

/**
 * A running network stack for one name. Lifecycle: made started by {@link startNetworkEndpoint};
 * `stop()` once (idempotent) closes its acceptors and connections: every peer's links and
 * monitors of the name's processes fire with `noconnection`, and the registration goes.
 */
export interface NetworkEndpoint {
  /** The stack itself (routes, acceptors, info, `getNode`). */
  readonly network: Network;
  /**
   * The Connection that reaches `node` (connected, or dialling with operations queued), as the
   * router's connector gives it a node's engine. @throws ErrNetworkStopped after stop;
   * ErrIncorrect for a malformed name or this endpoint's own.
   */
  connection(node: Atom | string): Connection;
  /** Closes acceptors and connections (idempotent). */
  stop(): Promise<void>;
}

export type { RelationTarget };

const EMPTY_VERSION: Version = Object.freeze({ name: '', release: '', license: '' });

/**
 * Starts the network stack for `core.name()` (acceptors listen, the name registers with
 * `options.registrar`, default the embedded one). Rejects with the listen or registrar error
 * (ERR_TAKEN when the name is registered on the host), nothing left running then.
 * @throws ErrIncorrect for a malformed name or options.
 */
export async function startNetworkEndpoint(
  core: EndpointCore,
  options: NetworkEndpointOptions,
): Promise<NetworkEndpoint> {
  const name = core.name();
  if (typeof name !== 'string' || !/^[^@]+@[^@]+$/.test(name))
    throw ErrIncorrect.with(`endpoint name must be name@host, got ${JSON.stringify(String(name))}`);
  const { log, version, ...netOptions } = options;
  let connector: ((node: Atom) => Connection) | null = null;
  const impl = new NetworkImpl(
    { core, log, version: version ?? EMPTY_VERSION, setConnector: (c) => (connector = c) },
    netOptions,
  );
  try {
    await impl.start();
  } catch (e) {
    try {
      await impl.stop();
    } catch (stopErr) {
      log.warning('endpoint %s: cleanup after a failed start failed: %s', name, toError(stopErr).message);
    }
    throw e;
  }
  return {
    network: impl,
    connection(node) {
      if (connector === null) throw ErrNetworkStopped.with(`network endpoint ${name} is stopped`);
      if (node === name) throw ErrIncorrect.with(`${name} cannot connect to itself`);
      return connector(node as Atom);
    },
    stop: () => impl.stop(),
  };
}
