/**
 * Destroying a key: the one call that erases what this process holds of a key's material. The
 * keyring calls it on every key it destroys (or that a reloaded keyset no longer holds), so a
 * destroyed key leaves no usable copy in our caches: its bytes are zeroed, the subkeys derived from
 * it are zeroed and dropped, and its node:crypto key object is dropped (released to the garbage
 * collector: its internal copy cannot be wiped on demand, see node.ts). Caches that hold only
 * references or values computed under a key (remembered tokens, owner hashes) watch
 * `wipedKeyCount()` and empty themselves when it moves.
 */
import { wipeSubkeys } from './aead/subkey.js';
import { forgetNodeKeyObject } from './node.js';

let wiped = 0;

/** Zeroes `key` and drops every cache built from it. Only for keys nobody may use again. */
export function wipeKey(key: Uint8Array): void {
  forgetNodeKeyObject(key);
  wipeSubkeys(key);
  key.fill(0);
  wiped += 1;
}

/** How many keys `wipeKey` erased in this process: a cache built from key material empties itself when this changes. */
export function wipedKeyCount(): number {
  return wiped;
}
