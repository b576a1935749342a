// Env names are case-insensitive: Ergo upper-cases every key, and so do we.

import { ErrIncorrect } from './errors.js';

/** An environment variable name; stored and compared upper-cased. */
export type Env = string;

/**
 * Checks an env name: a non-empty string. The one rule shared by every env setter and option
 * (node and process `setEnv`, the `env` options of spawn, startNode and applications).
 * @throws ErrIncorrect.
 */
export function validateEnvName(name: unknown, option = 'env name'): string {
  if (typeof name !== 'string' || name === '') {
    throw ErrIncorrect.with(`${option} ${typeof name === 'string' ? '""' : typeof name} (expected a non-empty string)`);
  }
  return name;
}

/**
 * The canonical (upper-case) form of an env name.
 * @throws ErrIncorrect for a name that is not a non-empty string (see {@link validateEnvName}).
 */
export function envName(name: string): string {
  return validateEnvName(name).toUpperCase();
}
