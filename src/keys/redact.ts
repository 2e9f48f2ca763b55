/**
 * What a library object shows of itself when logged or serialized. Threat: key material in logs.
 * `console.log(store)`, `util.inspect`, `JSON.stringify` and error reporters walk an object's own
 * enumerable properties; before these views, logging an `EncryptedStore` at the default depth
 * printed its primary encrypt key. Objects that hold keys therefore keep them in private (`#`)
 * fields or closures, and every public class answers `toJSON()` and Node's inspect hook with a
 * summary: its kind, key ids and states, never key bytes, passphrases or states.
 */

/** Node's `util.inspect.custom` (a registered symbol, so no node:util import is needed). */
export const INSPECT_CUSTOM: unique symbol = Symbol.for('nodejs.util.inspect.custom') as never;

type Inspect = (value: unknown, options?: unknown) => string;

/**
 * The body of an `[INSPECT_CUSTOM]` method: `Name { ...summary }`, rendered by Node's own inspect
 * (colours and depth honoured) when it is handed over, as JSON otherwise.
 */
export function inspectSummary(name: string, summary: unknown, depth: number, options: unknown, inspect: Inspect | undefined): string {
  if (depth < 0) return `[${name}]`;
  return `${name} ${inspect === undefined ? JSON.stringify(summary) : inspect(summary, options)}`;
}

/**
 * Gives the prototype of `cls` a `toJSON` returning `summary(this)` and a Node inspect hook
 * printing it, both non-enumerable. For classes whose file this concern does not own the shape of
 * (the layers, the secure store): one call beside the class, no change to its body.
 */
export function redactedView<T extends object>(cls: { readonly prototype: T }, summary: (self: T) => Record<string, unknown>): void {
  Object.defineProperties(cls.prototype, {
    toJSON: {
      value(this: T) {
        return summary(this);
      },
      writable: true,
      configurable: true,
    },
    [INSPECT_CUSTOM]: {
      value(this: T, depth: number, options: unknown, inspect?: Inspect) {
        return inspectSummary(this.constructor.name, summary(this), depth, options, inspect);
      },
      writable: true,
      configurable: true,
    },
  });
}
