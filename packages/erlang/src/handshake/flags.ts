// Distribution flags (ERLANG.md §2.5): a 64-bit mask exchanged in the handshake's 'N' messages.
// Both sides use a feature only if both advertised it (the effective set is the AND), and a
// side refuses a peer that lacks one of its mandatory flags.

/** Distribution flag bits, as bigints (the mask is 64-bit). */
export const DFLAG = Object.freeze({
  PUBLISHED: 0x1n,
  ATOM_CACHE: 0x2n,
  EXTENDED_REFERENCES: 0x4n,
  DIST_MONITOR: 0x8n,
  FUN_TAGS: 0x10n,
  DIST_MONITOR_NAME: 0x20n,
  HIDDEN_ATOM_CACHE: 0x40n,
  NEW_FUN_TAGS: 0x80n,
  EXTENDED_PIDS_PORTS: 0x100n,
  EXPORT_PTR_TAG: 0x200n,
  BIT_BINARIES: 0x400n,
  NEW_FLOATS: 0x800n,
  UNICODE_IO: 0x1000n,
  DIST_HDR_ATOM_CACHE: 0x2000n,
  SMALL_ATOM_TAGS: 0x4000n,
  UTF8_ATOMS: 0x10000n,
  MAP_TAG: 0x20000n,
  BIG_CREATION: 0x40000n,
  SEND_SENDER: 0x80000n,
  BIG_SEQTRACE_LABELS: 0x100000n,
  EXIT_PAYLOAD: 0x400000n,
  FRAGMENTS: 0x800000n,
  HANDSHAKE_23: 0x1000000n,
  UNLINK_ID: 0x2000000n,
  MANDATORY_25_DIGEST: 0x4000000n,
  SPAWN: 1n << 32n,
  NAME_ME: 1n << 33n,
  V4_NC: 1n << 34n,
  ALIAS: 1n << 35n,
});

/** The flags OTP 25 requires of every peer (11 bits, `0x1070F94`). */
export const MANDATORY_OTP25 =
  DFLAG.EXTENDED_REFERENCES |
  DFLAG.FUN_TAGS |
  DFLAG.NEW_FUN_TAGS |
  DFLAG.EXTENDED_PIDS_PORTS |
  DFLAG.EXPORT_PTR_TAG |
  DFLAG.BIT_BINARIES |
  DFLAG.NEW_FLOATS |
  DFLAG.UTF8_ATOMS |
  DFLAG.MAP_TAG |
  DFLAG.BIG_CREATION |
  DFLAG.HANDSHAKE_23;

/** The flags OTP 26+ requires: OTP 25's plus V4_NC and UNLINK_ID (`0x403070F94`). */
export const MANDATORY_OTP26 = MANDATORY_OTP25 | DFLAG.V4_NC | DFLAG.UNLINK_ID;

/**
 * The flags this package advertises by default (`0xC07877FBD`): OTP 26's mandatory set, the
 * MANDATORY_25_DIGEST shorthand, PUBLISHED, monitors by pid and name, ALIAS, the atom cache
 * header, FRAGMENTS, SMALL_ATOM_TAGS and UNICODE_IO. Deliberately off: SPAWN, SEND_SENDER,
 * EXIT_PAYLOAD, BIG_SEQTRACE_LABELS and NAME_ME (each changes which control ops the peer sends).
 */
export const DEFAULT_FLAGS =
  MANDATORY_OTP26 |
  DFLAG.MANDATORY_25_DIGEST |
  DFLAG.PUBLISHED |
  DFLAG.DIST_MONITOR |
  DFLAG.DIST_MONITOR_NAME |
  DFLAG.ALIAS |
  DFLAG.DIST_HDR_ATOM_CACHE |
  DFLAG.FRAGMENTS |
  DFLAG.SMALL_ATOM_TAGS |
  DFLAG.UNICODE_IO;

/** A peer's flags with the MANDATORY_25_DIGEST shorthand expanded into the bits it stands for. */
export function expandFlags(flags: bigint): bigint {
  return (flags & DFLAG.MANDATORY_25_DIGEST) !== 0n ? flags | MANDATORY_OTP25 : flags;
}

/** Names of the bits of `mask` (unknown bits as hex), e.g. for "missing flags" errors. */
export function flagNames(mask: bigint): string[] {
  const out: string[] = [];
  let rest = mask;
  for (const [name, bit] of Object.entries(DFLAG)) {
    if ((mask & bit) !== 0n) {
      out.push(name);
      rest &= ~bit;
    }
  }
  if (rest !== 0n) out.push(`0x${rest.toString(16)}`);
  return out;
}
