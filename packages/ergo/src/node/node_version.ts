// The Node.js version check at the door: ergo-ts runs on Node 22 and 24 (Node 20 is end of life;
// `node:sqlite`, which @ergo-ts/entities' SQLite store needs, is not in it). Without the check an
// older Node starts a node and fails later, far from the cause (`node:sqlite is not available`);
// with it `startNode` refuses at once, naming the version needed and how to get it.

import { ErrNodeVersion } from '../gen/errors.js';

/** The oldest Node.js major version ergo-ts supports (package.json `engines`: `>=22`). */
export const MIN_NODE_MAJOR = 22;

/**
 * The error `startNode` rejects with on a Node.js older than {@link MIN_NODE_MAJOR}, or
 * undefined when `version` (default: this process' `process.versions.node`) is supported.
 */
export function nodeVersionError(version: string = process.versions.node): Error | undefined {
  const major = Number.parseInt(version, 10);
  if (Number.isInteger(major) && major >= MIN_NODE_MAJOR) return undefined;
  return ErrNodeVersion.with(
    `ergo-ts needs Node.js ${MIN_NODE_MAJOR} or 24, this is Node.js ${version}: ` +
      '`nvm install` (or `fnm use`) in the repository reads its .nvmrc (24), ' +
      'or run once with `npx -p node@24 node <script>`',
  );
}
