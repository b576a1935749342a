// Versions of the default network stack, as Go Ergo 3.2 reports them (`EHS:R1`, `ENP:R1`).

import type { Version } from '../../gen/node.js';

/** The handshake's version (`gen.Version` as Ergo prints it: "EHS:R1"). */
export const HANDSHAKE_VERSION: Version = Object.freeze({ name: 'EHS', release: 'R1', license: 'MIT' });
/** The protocol's version ("ENP:R1"). */
export const PROTO_VERSION: Version = Object.freeze({ name: 'ENP', release: 'R1', license: 'MIT' });
/** "No registrar" (ergo-peer's `-registrar none` reports "none:R0"). */
export const NO_REGISTRAR_VERSION: Version = Object.freeze({ name: 'none', release: 'R0' });
