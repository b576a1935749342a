// The Saturn registrar's options: checked once at construction (bad ones throw ERR_INCORRECT),
// with the defaults of Saturn's protocol (port 4499, a 3 s TCP keep-alive, 3 s to connect and for
// a resolve, a 1–5 s reconnect back-off).

import { ErrIncorrect } from 'ergo-ts';

/** Options of the Saturn registrar (times in milliseconds). */
export interface SaturnRegistrarOptions {
  /** The Saturn server's host. Default `localhost`. */
  host?: string;
  /** The Saturn server's port. Default 4499. */
  port?: number;
  /** The shared secret (`Saturn.Token` in the server's saturn.yaml). Required. */
  token: string;
  /** Cluster name: nodes see only their cluster's nodes and applications. Default "" (Saturn's unnamed cluster). */
  cluster?: string;
  /**
   * Accept any server certificate. Saturn serves a self-signed certificate unless saturn.yaml
   * names one, so a default server needs this or `ca`. The token handshake still proves the
   * server knows the token. Default false.
   */
  insecureSkipVerify?: boolean;
  /** PEM CA to verify the server's certificate with (instead of Node's default roots). */
  ca?: string | Buffer;
  /** TLS server name to verify (SNI). Default `host`. */
  servername?: string;
  /** TCP keep-alive period of the connection. Default 3 000 ms. */
  keepAlive?: number;
  /**
   * Deadline to connect, handshake and register. Default 3 000 ms, and never more than 2 750 ms:
   * the server drops a connection not registered 3 s after accepting it, and the client gives up
   * a little before (`SATURN_REGISTER_MARGIN`), as a timeout it may try again (`registerAttempts`).
   */
  connectTimeout?: number;
  /**
   * Tries of the node's first registration when one runs out of `connectTimeout` (a server or a
   * machine too busy to answer in time, once): the next waits `reconnectInterval × n` (at most
   * `reconnectIntervalMax`), or as long as the slowest try took when that is longer. Other refusals
   * (a taken name, a wrong token, an unreachable server) fail at once — but a taken name after a
   * timeout is tried again (the server may hold that earlier try). Default 3.
   */
  registerAttempts?: number;
  /** Deadline of one resolve. Default 3 000 ms. */
  requestTimeout?: number;
  /**
   * Reconnect back-off after the connection is lost: attempt n waits `reconnectInterval × n`,
   * at most `reconnectIntervalMax`. Defaults 1 000 and 5 000 ms.
   */
  reconnectInterval?: number;
  reconnectIntervalMax?: number;
}

/** Defaults of {@link SaturnRegistrarOptions}. */
export const SATURN_REGISTRAR_DEFAULTS = Object.freeze({
  host: 'localhost',
  port: 4499,
  cluster: '',
  insecureSkipVerify: false,
  keepAlive: 3_000,
  connectTimeout: 3_000,
  registerAttempts: 3,
  requestTimeout: 3_000,
  reconnectInterval: 1_000,
  reconnectIntervalMax: 5_000,
});

/** Options after defaults and checks. */
export type ResolvedOptions = Required<Omit<SaturnRegistrarOptions, 'ca' | 'servername'>> &
  Pick<SaturnRegistrarOptions, 'ca' | 'servername'>;

/**
 * The options with defaults filled in.
 * @throws ErgoError ERR_INCORRECT for an option out of range or of the wrong type.
 */
export function resolveOptions(options: SaturnRegistrarOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') throw ErrIncorrect.with('saturn options must be an object');
  const d = SATURN_REGISTRAR_DEFAULTS;
  const { token } = options;
  if (typeof token !== 'string' || token === '') throw ErrIncorrect.with('saturn token must be a non-empty string');
  const host = options.host ?? d.host;
  if (typeof host !== 'string' || host === '') throw ErrIncorrect.with(`saturn host ${JSON.stringify(host)}`);
  const cluster = options.cluster ?? d.cluster;
  if (typeof cluster !== 'string' || cluster.includes(':'))
    throw ErrIncorrect.with(`saturn cluster ${JSON.stringify(cluster)} (a string without ':')`);
  const port = options.port ?? d.port;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw ErrIncorrect.with(`saturn port ${String(port)}`);
  const insecure = options.insecureSkipVerify ?? d.insecureSkipVerify;
  if (typeof insecure !== 'boolean') throw ErrIncorrect.with('saturn insecureSkipVerify must be a boolean');
  return {
    host,
    port,
    token,
    cluster,
    insecureSkipVerify: insecure,
    ca: options.ca,
    servername: options.servername,
    keepAlive: positive('keepAlive', options.keepAlive, d.keepAlive),
    connectTimeout: positive('connectTimeout', options.connectTimeout, d.connectTimeout),
    registerAttempts: positive('registerAttempts', options.registerAttempts, d.registerAttempts),
    requestTimeout: positive('requestTimeout', options.requestTimeout, d.requestTimeout),
    reconnectInterval: positive('reconnectInterval', options.reconnectInterval, d.reconnectInterval),
    reconnectIntervalMax: positive('reconnectIntervalMax', options.reconnectIntervalMax, d.reconnectIntervalMax),
  };
}

function positive(name: string, v: number | undefined, d: number): number {
  if (v === undefined) return d;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 2 ** 31 - 1)
    throw ErrIncorrect.with(`saturn ${name} ${String(v)} (an integer ≥ 1)`);
  return v;
}
