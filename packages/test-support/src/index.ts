// @ergo-ts/test-support: test helpers that more than one workspace package's tests use. Private
// (never packed); no dependency on ergo-ts, so every package can take it as a dev dependency
// without a cycle.

export {
  EVENTUALLY_INTERVAL_MS,
  EVENTUALLY_TIMEOUT_MS,
  WITHIN_TIMEOUT_MS,
  WaitTimeoutError,
  eventually,
  within,
  type EventuallyOptions,
  type Falsy,
} from './eventually.js';
export { PEER_MISSING, PEER_NOTE, Peer, peerBinary, requirePeer, type Line } from './ergo_peer.js';
export * from './hosts/index.js';
export { UnhandledWatch, ignoredThenAwaited } from './unawaited.js';
export {
  PG_BIN,
  postgresMissing,
  requirePostgres,
  startPostgres,
  type Postgres,
  type PostgresOptions,
} from './postgres.js';
export { filePostgres, type FilePostgres } from './file_postgres.js';
export { IPC_COMMAND_TIMEOUT_MS, IpcCommands, ipcMessage, isKind, isStarted, type IpcAnswer } from './ipc_commands.js';
export { freeTcpUdpPort, serverPort } from './ports.js';
export { linkedBin } from './linked_bin.js';
export { PACK_WAIT_MS, packedTarballs } from './packed.js';
export { PROOFS_ENV, fullProofs, proofSize } from './proofs.js';
export {
  PG_HA_BINS,
  pgHaMissing,
  requirePgHa,
  startPgHa,
  type PgHa,
  type PgHaMember,
  type PgHaMemberState,
  type PgHaOptions,
  type PgHaPlace,
  type PgHaPlacement,
} from './pg_ha.js';
export {
  CHROMIUM_ARGS,
  CHROMIUM_WS_ENV,
  SCREENSHOTS_ENV,
  screenshotsWanted,
  testChromium,
  type ChromiumType,
} from './chromium.js';
