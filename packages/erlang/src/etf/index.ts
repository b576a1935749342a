// The External Term Format: term model, codec, envelope (131, compressed) and the distribution
// header with its atom cache.

export * from './terms.js';
export { erlangSchema, isTagged, type AtomValue, type AnyAtom, type TupleOf, type GenCast } from './schema.js';
export { EtfError, type EtfErrorCode, type EtfLimitName } from './errors.js';
export { DEFAULT_ETF_LIMITS, resolveEtfLimits, type EtfLimits } from './limits.js';
export { decodeTerm, type DecodeOptions } from './decoder.js';
export { encodeTerm, type EncodeOptions } from './encoder.js';
export { termToBinary, binaryToTerm, type TermToBinaryOptions, type BinaryToTermOptions } from './binary.js';
export {
  ATOM_CACHE_SIZE,
  MAX_ATOM_CACHE_REFS,
  AtomCacheIn,
  AtomCacheOut,
  decodeAtomCacheRefs,
  encodeDistMessage,
  decodeDistMessage,
  type DistMessage,
  type EncodeDistOptions,
  type DecodeDistOptions,
} from './atom_cache.js';
