// Env names are case-insensitive: Ergo upper-cases every key, and so do we.

/** An environment variable name; stored and compared upper-cased. */
export type Env = string;

/** The canonical (upper-case) form of an env name. */
export function envName(name: string): string {
  return name.toUpperCase();
}
