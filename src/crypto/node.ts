/**
 * node:crypto when the runtime has it, reached without a static import so the same bundle loads
 * on edge runtimes and browsers (which then use the pure-JS @noble engines instead).
 * `process.getBuiltinModule` exists from Node 20.16; Deno and Bun provide it as well.
 */
import type * as NodeCrypto from 'node:crypto';
import type { KeyObject } from 'node:crypto';

type ProcessWithBuiltins = { getBuiltinModule?: (id: string) => unknown };

function loadNodeCrypto(): typeof NodeCrypto | undefined {
  const proc = (globalThis as { process?: ProcessWithBuiltins }).process;
  try {
    return proc?.getBuiltinModule?.('node:crypto') as typeof NodeCrypto | undefined;
  } catch {
    return undefined;
  }
}

export const nodeCrypto: typeof NodeCrypto | undefined = loadNodeCrypto();

const keyObjects = new WeakMap<Uint8Array, KeyObject>();

/**
 * The node:crypto key object for `key`, created once per key buffer (the keyring hands out the
 * same buffer every time), so hot paths never re-import a key. Only call when `nodeCrypto` exists.
 */
export function nodeKeyObject(key: Uint8Array): KeyObject {
  let k = keyObjects.get(key);
  if (k === undefined) {
    k = nodeCrypto!.createSecretKey(key);
    keyObjects.set(key, k);
  }
  return k;
}
