/**
 * node:fs for keyset files, reached lazily (util/builtins.ts): importing the library on an edge
 * runtime must not fail because keyset files need a file system. Only file-backed keyrings call this.
 */
import type * as NodeFs from 'node:fs';
import { KeyStateError } from '../contract/errors.js';
import { builtinModule } from '../util/builtins.js';

export function nodeFs(): typeof NodeFs {
  const fs = builtinModule<typeof NodeFs>('node:fs');
  if (fs === undefined) throw new KeyStateError('keyset files need node:fs, which this runtime does not provide; use Keyring.fromEnv or fromSource');
  return fs;
}
