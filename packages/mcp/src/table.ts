// The tool table: every tool this package has, the read-only ones first.

import { actionTools } from './actions.js';
import { readTools, type ToolSpec } from './tools.js';

/** Every tool this package has (read-only first; the action tools run only with `actions: true`). */
export const allTools: readonly ToolSpec[] = [...readTools, ...actionTools];
