// How an operator's request is answered when it reaches a node's entities manager from a tool
// that does not import this package (the Observer, the MCP server): as JSON text, one string
// whatever the records hold, `{ ok: true, value }` or `{ ok: false, code, message }`. Written once
// here for every such request (dead letters, workflows, schedules: runtime/dead_letters.ts,
// workflow/operator/) so each answers the same shape and none rejects.

/** The answer of an operator's request, before it is JSON text. */
export type OperationAnswer =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly code: string; readonly message: string };

/**
 * Runs `run` and answers its value as JSON text `{ ok: true, value }` (undefined as null), or what
 * it threw as `{ ok: false, code, message }`: the error's own `code` when it is a string, else
 * `fallbackCode`. Never rejects, whatever was thrown (an unreadable error answers a fixed message).
 */
export async function answerOperation(run: () => Promise<unknown>, fallbackCode: string): Promise<string> {
  try {
    return answerText({ ok: true, value: (await run()) ?? null });
  } catch (err) {
    let code: unknown;
    let message: string;
    try {
      code = (err as { code?: unknown } | null)?.code;
      message = err instanceof Error ? err.message : String(err);
    } catch {
      message = 'an error that cannot be read';
    }
    return answerText({ ok: false, code: typeof code === 'string' ? code : fallbackCode, message });
  }
}

/** JSON of an answer: a bigint as its digits; a message JSON cannot hold as its printed form. */
function answerText(v: OperationAnswer): string {
  const replacer = (_k: string, x: unknown): unknown => (typeof x === 'bigint' ? x.toString() : x);
  try {
    return JSON.stringify(v, replacer);
  } catch {
    // A value with a cycle (or a throwing toJSON): the rest of the answer still tells.
    return JSON.stringify(v, (k, x: unknown) =>
      k === 'message' && typeof x === 'object' ? String(x) : replacer(k, x),
    );
  }
}
