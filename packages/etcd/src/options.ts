// The registrar's options: checked once at construction (bad ones throw ERR_INCORRECT), with
// Ergo's defaults, and turned into the etcd3 client's options (endpoints with a scheme, gRPC
// limits and keepalive, a request deadline, a short watch back-off, auth and TLS).

import { ErrIncorrect } from 'ergo-ts';
import { ExponentialBackoff, type IBackoff } from 'cockatiel';
import type { IOptions } from 'etcd3';

/** Options of the etcd registrar (Ergo's `etcd.Options`; times in milliseconds, TTL in seconds). */
export interface EtcdRegistrarOptions {
  /** Cluster name: nodes see only their cluster's nodes and applications. Default "default". */
  cluster?: string;
  /** etcd endpoints, `host:port` or `http(s)://host:port`. Default `['localhost:2379']`. */
  endpoints?: string[];
  /** etcd user (used only when `password` is set too). */
  username?: string;
  password?: string;
  /** TLS to etcd: PEM CA (and client key/cert for mutual TLS). Endpoints without a scheme get https. */
  tls?: { ca: string | Buffer; key?: string | Buffer; cert?: string | Buffer };
  /** How long to wait for a connection to etcd. Default 10 000 ms. */
  dialTimeout?: number;
  /** Deadline of one etcd request (get, put, transaction). Default 10 000 ms. */
  requestTimeout?: number;
  /** gRPC keepalive time and timeout. Default LeaseTTL/3, at least 5 000 ms (etcd refuses faster pings). */
  keepAlive?: number;
  /** Lease TTL in seconds: a node killed without a goodbye disappears within it. Default 10. */
  leaseTTL?: number;
  /**
   * Re-registration back-off after the lease was lost: attempt n waits `retryInterval × n`,
   * at most `retryIntervalMax`. Defaults 5 000 and 30 000 ms (Ergo's).
   */
  retryInterval?: number;
  retryIntervalMax?: number;
  /**
   * How long `register` waits, in ms, for a previous registration of the node's name (its key on
   * another live lease) to end: a node restarted at once after kill -9 finds its old key until the
   * old lease's TTL runs out, and waits for etcd to delete it instead of failing. It logs once,
   * watches the key and registers as soon as it is deleted. Past this bound (a node of that name
   * still running) `register` rejects with ERR_TAKEN. 0: refuse at once. Default: the lease TTL
   * plus 5 s (`leaseTTL × 1000 + 5000`).
   */
  restartWait?: number;
}

/** What the default {@link EtcdRegistrarOptions.restartWait} adds to the lease TTL, in ms. */
export const RESTART_WAIT_MARGIN = 5_000;

/** Defaults of {@link EtcdRegistrarOptions}. */
export const ETCD_REGISTRAR_DEFAULTS = Object.freeze({
  cluster: 'default',
  endpoints: Object.freeze(['localhost:2379']),
  dialTimeout: 10_000,
  requestTimeout: 10_000,
  leaseTTL: 10,
  retryInterval: 5_000,
  retryIntervalMax: 30_000,
});

/** gRPC message limits (Ergo's client: 2 MiB send, 4 MiB receive). */
const MAX_SEND = 2 * 1024 * 1024;
const MAX_RECEIVE = 4 * 1024 * 1024;

/** Options after defaults and checks. */
export type ResolvedOptions = Required<Omit<EtcdRegistrarOptions, 'username' | 'password' | 'tls' | 'keepAlive'>> &
  Pick<EtcdRegistrarOptions, 'username' | 'password' | 'tls' | 'keepAlive'>;

/**
 * The options with defaults filled in.
 * @throws ErgoError ERR_INCORRECT for an option out of range or of the wrong type.
 */
export function resolveOptions(options: EtcdRegistrarOptions): ResolvedOptions {
  const d = ETCD_REGISTRAR_DEFAULTS;
  const cluster = options.cluster ?? d.cluster;
  if (typeof cluster !== 'string' || cluster === '' || cluster.includes('/'))
    throw ErrIncorrect.with(`etcd cluster ${JSON.stringify(cluster)} (a non-empty name without '/')`);
  const endpoints = options.endpoints ?? [...d.endpoints];
  if (!Array.isArray(endpoints) || endpoints.length === 0 || endpoints.some((e) => typeof e !== 'string' || e === ''))
    throw ErrIncorrect.with('etcd endpoints must be a non-empty array of host:port strings');
  const leaseTTL = positive('leaseTTL', options.leaseTTL, d.leaseTTL);
  return {
    cluster,
    endpoints,
    username: options.username,
    password: options.password,
    tls: options.tls,
    dialTimeout: positive('dialTimeout', options.dialTimeout, d.dialTimeout),
    requestTimeout: positive('requestTimeout', options.requestTimeout, d.requestTimeout),
    keepAlive: options.keepAlive === undefined ? undefined : positive('keepAlive', options.keepAlive, 0),
    leaseTTL,
    retryInterval: positive('retryInterval', options.retryInterval, d.retryInterval),
    retryIntervalMax: positive('retryIntervalMax', options.retryIntervalMax, d.retryIntervalMax),
    restartWait: restartWait(options.restartWait, leaseTTL),
  };
}

/** The restart wait: given (0 allowed), or the lease TTL plus the margin. */
function restartWait(v: number | undefined, leaseTTL: number): number {
  if (v === undefined) return leaseTTL * 1000 + RESTART_WAIT_MARGIN;
  if (v === 0) return 0;
  return positive('restartWait', v, 0);
}

/** The etcd3 client's options for these registrar options. */
export function clientOptions(o: ResolvedOptions): IOptions {
  const scheme = o.tls !== undefined ? 'https://' : 'http://';
  const keepAlive = o.keepAlive ?? Math.max(5000, Math.floor((o.leaseTTL * 1000) / 3));
  const opts: IOptions = {
    hosts: o.endpoints.map((e) => (/^https?:\/\//.test(e) ? e : scheme + e)),
    dialTimeout: o.dialTimeout,
    grpcOptions: {
      'grpc.max_send_message_length': MAX_SEND,
      'grpc.max_receive_message_length': MAX_RECEIVE,
      'grpc.keepalive_time_ms': keepAlive,
      'grpc.keepalive_timeout_ms': keepAlive,
    },
    // Streams (watch, keepalive) live on; one request gets requestTimeout.
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + o.requestTimeout }),
    // The watch comes back soon after etcd does (etcd3's default waits up to 30 s).
    // (etcd3 types it as a backoff but calls it as the factory its own default is.)
    faultHandling: {
      watchBackoff: new ExponentialBackoff({ initialDelay: 200, maxDelay: 2000 }) as unknown as IBackoff<unknown>,
    },
  };
  if (o.username !== undefined && o.username !== '' && o.password !== undefined && o.password !== '')
    opts.auth = { username: o.username, password: o.password };
  if (o.tls !== undefined)
    opts.credentials = {
      rootCertificate: Buffer.from(o.tls.ca),
      privateKey: o.tls.key !== undefined ? Buffer.from(o.tls.key) : undefined,
      certChain: o.tls.cert !== undefined ? Buffer.from(o.tls.cert) : undefined,
    };
  return opts;
}

function positive(name: string, v: number | undefined, d: number): number {
  if (v === undefined) return d;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 2 ** 31 - 1)
    throw ErrIncorrect.with(`etcd ${name} ${String(v)} (an integer ≥ 1${name === 'restartWait' ? ', or 0' : ''})`);
  return v;
}
