/**
 * AEAD entry point: picks the engine for an algorithm. AES-256-GCM runs on node:crypto where it
 * exists and on @noble/ciphers elsewhere (`'auto'`); both produce the same bytes. AES-256-GCM-SIV
 * and XChaCha20-Poly1305 run on noble only.
 */
import { InvalidInputError } from '../../contract/errors.js';
import { nobleAeads } from './noble.js';
import { nodeAesGcm } from './node.js';
import { AEAD_SPECS, type Aead, type AeadAlgorithm, type AeadEngineName, isAeadAlgorithm } from './types.js';

export { AEAD_SPECS, aeadSpecById, isAeadAlgorithm } from './types.js';
export type { Aead, AeadAlgorithm, AeadEngineName, AeadSpec } from './types.js';
export { deriveAlgorithmKey, deriveSubkey } from './subkey.js';

/** True when the node:crypto engine can serve `algorithm`. */
export function hasNodeEngine(algorithm: AeadAlgorithm): boolean {
  return algorithm === 'aes-256-gcm' && nodeAesGcm !== undefined;
}

/**
 * The AEAD for `algorithm` on `engine`. `'auto'` prefers node:crypto. Asking for `'node'` where it
 * cannot serve (no node:crypto, or an algorithm it lacks) throws `invalid_input` rather than
 * silently switching engines.
 */
export function getAead(algorithm: AeadAlgorithm, engine: AeadEngineName | 'auto' = 'auto'): Aead {
  if (!isAeadAlgorithm(algorithm)) throw new InvalidInputError(`unknown AEAD algorithm ${String(algorithm)}; expected one of ${Object.keys(AEAD_SPECS).join(', ')}`);
  if (engine === 'noble') return nobleAeads[algorithm];
  if (engine === 'node') {
    if (!hasNodeEngine(algorithm)) throw new InvalidInputError(`the node engine does not provide ${algorithm} here; use engine 'noble' or 'auto'`);
    return nodeAesGcm!;
  }
  if (engine !== 'auto') throw new InvalidInputError(`unknown AEAD engine ${String(engine)}; expected 'auto', 'node' or 'noble'`);
  return hasNodeEngine(algorithm) ? nodeAesGcm! : nobleAeads[algorithm];
}
