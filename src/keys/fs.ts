/**
 * node:fs reached lazily, like node:crypto in src/crypto/node.ts: importing the library on an edge
 * runtime must not fail because keyset files need a file system. Only file-backed keyrings call this.
 */
import type * as NodeFs from 'node:fs';
import { KeyStateError } from '../contract/errors.js';

type ProcessWithBuiltins = { getBuiltinModule?: (id: string) => unknown };

let fs: typeof NodeFs | undefined;

export function nodeFs(): typeof NodeFs {
  if (fs === undefined) {
    const proc = (globalThis as { process?: ProcessWithBuiltins }).process;
    fs = proc?.getBuiltinModule?.('node:fs') as typeof NodeFs | undefined;
    if (fs === undefined) throw new KeyStateError('keyset files need node:fs, which this runtime does not provide; use Keyring.fromEnv or fromSource');
  }
  return fs;
}
