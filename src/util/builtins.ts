/**
 * Node built-ins reached without a static import, so the same bundle loads on edge runtimes and in
 * browsers (which then use the pure-JS engines and keyrings that need no file system).
 * `process.getBuiltinModule` exists from Node 20.16; Deno and Bun provide it as well.
 */
type ProcessWithBuiltins = { getBuiltinModule?: (id: string) => unknown };

/** The built-in module `id` (e.g. 'node:fs'), or undefined where the runtime has none. */
export function builtinModule<T>(id: string): T | undefined {
  const proc = (globalThis as { process?: ProcessWithBuiltins }).process;
  try {
    return proc?.getBuiltinModule?.(id) as T | undefined;
  } catch {
    return undefined;
  }
}
