// RemoteNode (Ergo's `gen.RemoteNode`): a connected node as users see it — its identity, the
// connection's counters, remote spawn, application start and info on behalf of this node, disconnect.

import { ApplicationMode, type ApplicationInfo, type ApplicationOptions } from '../../gen/application.js';
import type { Atom } from '../../gen/atom.js';
import type { Core } from '../../gen/core.js';
import { ErrIncorrect } from '../../gen/errors.js';
import { ignorable, rejected } from '../../gen/ignorable.js';
import { LogLevel } from '../../gen/log.js';
import type { RemoteNode, RemoteNodeInfo } from '../../gen/network.js';
import type { Version } from '../../gen/node.js';
import type { ProcessOptions } from '../../gen/options.js';
import type { PID } from '../../gen/pid.js';
import { ErrNoConnection } from '../../gen/errors.js';
import type { EnpConnection } from '../proto/connection.js';
import { HANDSHAKE_VERSION, PROTO_VERSION } from './versions.js';

function atomOf(name: Atom | string, what: string): Atom {
  if (typeof name !== 'string' || name === '') throw ErrIncorrect.with(`${what} must be a non-empty string`);
  return name as Atom;
}

function envMap(env: Record<string, unknown>): Map<string, unknown> {
  return new Map(Object.entries(env));
}

/** The user's view of one connection. Valid while the connection lives; methods throw ErrNoConnection after. */
export class RemoteNodeImpl implements RemoteNode {
  constructor(
    private readonly conn: EnpConnection,
    private readonly core: Core,
  ) {}

  name(): Atom {
    return this.conn.peer;
  }

  uptime(): number {
    // Ergo's Introduce carries no uptime: the creation is the peer's start time.
    return Math.max(0, Math.floor(Date.now() / 1000) - this.conn.peerCreation);
  }

  connectionUptime(): number {
    return Math.floor((Date.now() - this.conn.startedAt) / 1000);
  }

  version(): Version {
    return this.conn.peerVersion;
  }

  creation(): number {
    return this.conn.peerCreation;
  }

  info(): RemoteNodeInfo {
    const c = this.conn;
    return {
      node: c.peer,
      uptime: this.uptime(),
      connectionUptime: this.connectionUptime(),
      version: c.peerVersion,
      handshakeVersion: HANDSHAKE_VERSION,
      protoVersion: PROTO_VERSION,
      networkFlags: c.peerFlags,
      poolSize: c.links.length,
      poolDSN: c.links.map((l) => l.dsn),
      maxMessageSize: c.peerMaxMessageSize,
      messagesIn: c.messagesIn,
      messagesOut: c.messagesOut,
      bytesIn: c.bytesIn,
      bytesOut: c.bytesOut,
      transitBytesIn: 0,
      transitBytesOut: 0,
      queuedBytes: c.queuedBytes,
      inHostFrame: c.privateFrame,
    };
  }

  private alive(): void {
    if (!this.conn.isAlive) throw ErrNoConnection.with(`connection to ${this.conn.peer} is closed`);
  }

  /** Spawns the factory the remote node enabled under `name`, with this node's core as parent. */
  spawn(name: Atom | string, options: ProcessOptions = {}, ...args: unknown[]): Promise<PID> {
    return this.spawnRegister('', name, options, ...args);
  }

  spawnRegister(
    register: Atom | string,
    name: Atom | string,
    options: ProcessOptions = {},
    ...args: unknown[]
  ): Promise<PID> {
    try {
      this.alive();
      const core = this.core;
      const factory = atomOf(name, 'spawn name');
      if (typeof register !== 'string') throw ErrIncorrect.with('register name must be a string');
      const spawned = this.conn.remoteSpawn(factory, {
        processOptions: options,
        parentPID: core.pid(),
        parentLeader: core.pid(),
        parentEnv: core.security().exposeEnvRemoteSpawn ? envMap(core.envList()) : null,
        parentLogLevel: core.logLevel(),
        register: register as Atom,
        application: '' as Atom,
        args,
      });
      return ignorable(spawned, this.conn.log, `spawn on ${this.conn.peer}`);
    } catch (e) {
      return rejected(e, this.conn.log, `spawn on ${this.conn.peer}`);
    }
  }

  private start(name: Atom | string, options: ApplicationOptions | undefined, mode: number): Promise<void> {
    try {
      this.alive();
      const core = this.core;
      const started = this.conn.remoteApplicationStart(atomOf(name, 'application name'), {
        mode: mode as ApplicationMode,
        applicationOptions: options ?? { logLevel: LogLevel.Default },
        corePID: core.pid(),
        coreEnv: core.security().exposeEnvRemoteApplicationStart ? envMap(core.envList()) : null,
        coreLogLevel: core.logLevel(),
      });
      return ignorable(started, this.conn.log, `applicationStart on ${this.conn.peer}`);
    } catch (e) {
      return rejected(e, this.conn.log, `applicationStart on ${this.conn.peer}`);
    }
  }

  /** Starts the application in the mode it was loaded with (Ergo's mode 0 on the wire). */
  applicationStart(name: Atom | string, options?: ApplicationOptions): Promise<void> {
    return this.start(name, options, 0);
  }
  applicationStartTemporary(name: Atom | string, options?: ApplicationOptions): Promise<void> {
    return this.start(name, options, ApplicationMode.Temporary);
  }
  applicationStartTransient(name: Atom | string, options?: ApplicationOptions): Promise<void> {
    return this.start(name, options, ApplicationMode.Transient);
  }
  applicationStartPermanent(name: Atom | string, options?: ApplicationOptions): Promise<void> {
    return this.start(name, options, ApplicationMode.Permanent);
  }

  /** Asks the remote node for a snapshot of its application `name` (Ergo 3.2.0). */
  applicationInfo(name: Atom | string): Promise<ApplicationInfo> {
    try {
      this.alive();
      const info = this.conn.remoteApplicationInfo(atomOf(name, 'application name'));
      return ignorable(info, this.conn.log, `applicationInfo on ${this.conn.peer}`);
    } catch (e) {
      return rejected(e, this.conn.log, `applicationInfo on ${this.conn.peer}`);
    }
  }

  disconnect(): void {
    this.conn.terminate(ErrNoConnection.with(`disconnected from ${this.conn.peer}`));
  }
}
