// What a server's tool context runs when it closes (the server stops), registered by the tools
// that started something process-wide for it: the debug tools' heap sampler and GC observer end
// when the last server using them closes. Kept apart so that context.ts needs no tool module
// (tools_debug.ts imports the tool helpers, which import the context).

const registry = new WeakMap<object, Set<() => void>>();

/** Runs `fn` once when `owner` (a ToolContext) closes. */
export function onClose(owner: object, fn: () => void): void {
  let fns = registry.get(owner);
  if (fns === undefined) registry.set(owner, (fns = new Set()));
  fns.add(fn);
}

/** Runs what {@link onClose} was given for `owner`, once; a throw is handed to `failed`. */
export function runClose(owner: object, failed: (err: unknown) => void): void {
  const fns = registry.get(owner);
  registry.delete(owner);
  for (const fn of fns ?? [])
    try {
      fn();
    } catch (err) {
      failed(err);
    }
}
