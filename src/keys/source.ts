/**
 * Where a keyring's keyset lives between processes: a file, an environment variable, or your own
 * (a secrets manager, a database row). The keyring reads its source on `reload()` and, for a
 * writable source, changes it only inside `transaction()`, which the source runs under its lock.
 */
import type { KeysetJwks } from './jwks.js';

export interface KeyringSource {
  /** Human description for error messages (e.g. `file keys/app.keyset.json`); never key material. */
  readonly description: string;
  /** Whether `transaction` may be used. */
  readonly writable: boolean;
  /** The current cleartext keyset (unwrapped), or undefined when the source holds none yet. */
  read(): Promise<KeysetJwks | undefined>;
  /**
   * Runs `fn` on the current keyset under an exclusive lock (across processes) and stores what it
   * returns. Nothing is stored when `fn` throws.
   */
  transaction?(fn: (current: KeysetJwks | undefined) => Promise<KeysetJwks>): Promise<void>;
  /** Calls `onChange` when the stored keyset may have changed; returns a stop function. */
  watch?(onChange: () => void, options: { intervalMs: number }): () => void;
}
