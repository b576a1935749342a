// Errors of the scaffolder. Each carries a stable `code` so scripts (and the tests) can tell
// them apart without matching message text; the message says what to change.

/** Stable codes of {@link CreateError}. */
export const CreateErrorCode = {
  /** A `[Parent:]Name{k:v,flag}` value that does not parse (unbalanced braces, empty name...). */
  Syntax: 'ERR_CREATE_SYNTAX',
  /** A name that is not a valid TypeScript identifier, or one the generated code reserves. */
  Identifier: 'ERR_CREATE_IDENTIFIER',
  /** The parent was not declared earlier on the command line (Ergo's "unknown parent"). */
  UnknownParent: 'ERR_CREATE_UNKNOWN_PARENT',
  /** The name (or its lower-case form, or a worker name derived from it) is taken (Ergo's "duplicate name"). */
  DuplicateName: 'ERR_CREATE_DUPLICATE_NAME',
  /** A parent that cannot have children (a pool, a web/UDP server, a message), or an app given a parent. */
  BadParent: 'ERR_CREATE_BAD_PARENT',
  /** An unknown parameter, or a parameter value outside its choices (`type:xyz`, `port:abc`). */
  Param: 'ERR_CREATE_PARAM',
  /** An unknown command-line option or a missing option value. */
  Option: 'ERR_CREATE_OPTION',
  /** `--with-logger` with a name other than colored or rotate (Ergo's "unknown logger name"). */
  Logger: 'ERR_CREATE_LOGGER',
  /** An application without members or a supervisor without children: either would fail to start. */
  Empty: 'ERR_CREATE_EMPTY',
  /** The node name is missing or not usable as a node / package / directory name. */
  NodeName: 'ERR_CREATE_NODE_NAME',
  /** The target directory exists and is not empty, and `--force` was not given. */
  NotEmpty: 'ERR_CREATE_NOT_EMPTY',
  /** `--from`: not a built clone of ergo-ts nor a folder with the tarballs the project needs. */
  From: 'ERR_CREATE_FROM',
} as const;

export type CreateErrorCode = (typeof CreateErrorCode)[keyof typeof CreateErrorCode];

/** A bad command line or target: nothing has been written when it is thrown. */
export class CreateError extends Error {
  readonly code: CreateErrorCode;
  constructor(code: CreateErrorCode, message: string) {
    super(message);
    this.name = 'CreateError';
    this.code = code;
  }
}

/**
 * Marks `p` handled and returns `p` itself, so that a caller who forgets `await` cannot end the OS
 * process with an unhandled rejection, while whoever awaits it still gets the rejection. The
 * same rule as ergo-ts' own `ignorable` (docs/actors.md, "Returned Promises are safe to ignore"),
 * written here because the scaffolder runs before ergo-ts is installed and depends on nothing.
 */
export function ignorable<T>(p: Promise<T>): Promise<T> {
  p.then(undefined, () => undefined);
  return p;
}
