// placeholder
import type { Engine } from './workflows_engine.js';
export async function ergoWorkflowsMissing(): Promise<string | undefined> {
  return 'ergo-ts workflow engine not built on this branch';
}
export async function startErgo(_url: string, _log: string): Promise<Engine> {
  throw new Error('not built');
}
