// The codec's limit options as a type: what each bounds, its default and its error code. Apart
// from limits.ts (which resolves them and throws EdfError) so that errors.ts can name an error's
// limit without importing back.

/**
 * Limits applied by encoders and decoders. Every field has a documented default
 * (`DEFAULT_LIMITS`, limits.ts) and its own error code when exceeded.
 */
export interface EdfLimits {
  /**
   * Largest encoded message, and largest input a decoder accepts, in bytes.
   * Default 64 MiB; at most 2^32-1. Code `ERR_EDF_MESSAGE_TOO_LARGE`.
   */
  maxMessageSize: number;
  /**
   * Deepest nesting of containers, structs, `any` values and type descriptors. Bounds recursion
   * so that a cyclic value or a hostile input cannot overflow the stack. Default 100.
   * Code `ERR_EDF_TOO_DEEP`.
   */
  maxDepth: number;
  /** Longest atom in UTF-8 bytes. Default and protocol maximum 255. Code `ERR_EDF_ATOM_TOO_LONG`. */
  maxAtomBytes: number;
  /** Longest string in UTF-8 bytes. Default and protocol maximum 65535. Code `ERR_EDF_STRING_TOO_LONG`. */
  maxStringBytes: number;
  /** Longest error text in UTF-8 bytes. Default and protocol maximum 32767. Code `ERR_EDF_ERROR_TOO_LONG`. */
  maxErrorBytes: number;
  /** Longest binary in bytes. Default and protocol maximum 2^32-1. Code `ERR_EDF_BINARY_TOO_LONG`. */
  maxBinaryBytes: number;
  /**
   * Decode only: how many elements whose wire size is zero (empty structs, zero-length arrays)
   * one message may produce. Every other element costs at least one input byte, so this bounds
   * the memory a message can claim relative to its size. Default 65536.
   * Code `ERR_EDF_ZERO_SIZE_ELEMENTS`.
   */
  maxZeroSizeElements: number;
}
