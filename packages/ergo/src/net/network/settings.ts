// The network's settings from NetworkOptions, each checked before anything starts: a bad value is
// refused with ERR_INCORRECT naming the option (ERR_UNSUPPORTED for a custom handshake/proto).

import { ErrIncorrect, ErrUnsupported } from '../../gen/errors.js';
import { NetworkMode, type NetworkOptions, type Registrar } from '../../gen/network.js';
import { NetworkFlags } from '../edf/framework.js';
import { DEFAULT_HANDSHAKE_TIMEOUT } from '../handshake/handshake.js';
import { checkBufferLimit } from '../proto/flow.js';
import { createEmbeddedRegistrar } from '../registrar/embedded.js';
import { wireFlags } from './acceptor.js';
import { DEFAULT_DIAL_QUEUE_LIMIT } from './pending.js';

/** Default time to set up one connection (TCP/TLS connect), in milliseconds. */
export const DEFAULT_DIAL_TIMEOUT = 5_000;

/** Default of NetworkOptions.peerStallTimeout, in milliseconds. */
export const DEFAULT_PEER_STALL_TIMEOUT = 15_000;

/** The checked settings of one network (defaults applied). */
export interface NetworkSettings {
  mode: NetworkMode;
  cookie: string;
  flags: NetworkFlags;
  maxSize: number;
  dialQueueLimit: number;
  dialTimeout: number;
  /** Milliseconds one handshake step may wait for the peer's next message (NetworkOptions.handshakeTimeout). */
  handshakeTimeout: number;
  stallTimeout: number;
  bufferLimit: number;
  /** The registrar: the one given, the embedded one by default, null for none (or Disabled mode). */
  registrar: Registrar | null;
}

/**
 * Checks `options` and applies the defaults.
 * @throws ErrIncorrect for a value out of range or of the wrong type (naming the option);
 *   ErrUnsupported for a custom handshake or proto.
 */
export function networkSettings(options: NetworkOptions): NetworkSettings {
  const mode = options.mode ?? NetworkMode.Enabled;
  if (mode !== NetworkMode.Enabled && mode !== NetworkMode.Hidden && mode !== NetworkMode.Disabled)
    throw ErrIncorrect.with(`network mode ${String(options.mode)}`);
  if (options.cookie !== undefined && typeof options.cookie !== 'string')
    throw ErrIncorrect.with('network cookie must be a string');
  const maxSize = options.maxMessageSize ?? 0;
  if (!Number.isInteger(maxSize) || maxSize < 0)
    throw ErrIncorrect.with(`network maxMessageSize ${String(maxSize)} (an integer ≥ 0)`);
  const dialQueueLimit = options.dialQueueLimit ?? DEFAULT_DIAL_QUEUE_LIMIT;
  if (!Number.isInteger(dialQueueLimit) || dialQueueLimit < 1)
    throw ErrIncorrect.with(`dialQueueLimit ${String(dialQueueLimit)} (an integer ≥ 1)`);
  const dialTimeout = options.dialTimeout ?? DEFAULT_DIAL_TIMEOUT;
  if (!Number.isInteger(dialTimeout) || dialTimeout < 1)
    throw ErrIncorrect.with(`dialTimeout ${String(dialTimeout)} (milliseconds, ≥ 1)`);
  const handshakeTimeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
  if (!Number.isInteger(handshakeTimeout) || handshakeTimeout < 1 || handshakeTimeout > 2 ** 31 - 1)
    throw ErrIncorrect.with(`handshakeTimeout ${String(handshakeTimeout)} (milliseconds, an integer 1..2147483647)`);
  const stallTimeout = options.peerStallTimeout ?? DEFAULT_PEER_STALL_TIMEOUT;
  if (!Number.isInteger(stallTimeout) || stallTimeout < 0 || stallTimeout > 2 ** 31 - 1)
    throw ErrIncorrect.with(`peerStallTimeout ${String(stallTimeout)} (milliseconds, an integer ≥ 0)`);
  const bufferLimit = checkBufferLimit(options.peerBufferLimit);
  if (options.handshake !== undefined || options.proto !== undefined)
    throw ErrUnsupported.with('custom handshake/proto: only EHS:R1/ENP:R1 are built in');
  if (options.registrar !== undefined && options.registrar !== null) checkRegistrar(options.registrar);
  return {
    mode,
    cookie: options.cookie ?? '',
    flags: wireFlags(options.flags, NetworkFlags.defaults()),
    maxSize,
    dialQueueLimit,
    dialTimeout,
    handshakeTimeout,
    stallTimeout,
    bufferLimit,
    // The embedded registrar (ESRD, port 4499) unless one is given or `registrar: null` (none).
    registrar:
      options.registrar === null || mode === NetworkMode.Disabled
        ? null
        : (options.registrar ?? createEmbeddedRegistrar()),
  };
}

/** The methods the network calls on a registrar (`gen.Registrar`). */
const REGISTRAR_METHODS = [
  'register',
  'resolver',
  'registerProxy',
  'unregisterProxy',
  'registerApplicationRoute',
  'unregisterApplicationRoute',
  'nodes',
  'configItem',
  'config',
  'event',
  'info',
  'version',
  'terminate',
] as const;

/**
 * Checks that `network.registrar` is a Registrar before anything starts.
 * @throws ErrIncorrect naming the missing methods.
 */
function checkRegistrar(r: unknown): void {
  if (typeof r !== 'object' || r === null)
    throw ErrIncorrect.with(`network registrar must be a Registrar object (or null for none), got ${typeof r}`);
  const missing = REGISTRAR_METHODS.filter((m) => typeof (r as Record<string, unknown>)[m] !== 'function');
  if (missing.length > 0)
    throw ErrIncorrect.with(`network registrar is not a Registrar: missing ${missing.join(', ')}`);
}
