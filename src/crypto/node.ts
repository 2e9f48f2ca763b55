/**
 * node:crypto when the runtime has it (util/builtins.ts), so the same bundle loads on edge runtimes
 * and browsers, which then use the pure-JS @noble engines instead.
 */
import type * as NodeCrypto from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { builtinModule } from '../util/builtins.js';

export const nodeCrypto: typeof NodeCrypto | undefined = builtinModule<typeof NodeCrypto>('node:crypto');

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

/**
 * Drops the cached key object of `key` (a destroyed key: crypto/forget.ts). Best effort: node:crypto
 * offers no way to wipe a KeyObject's own copy of the bytes; it is released (and cleared by
 * OpenSSL's free) only when the garbage collector collects the object, which this makes possible.
 */
export function forgetNodeKeyObject(key: Uint8Array): void {
  keyObjects.delete(key);
}
