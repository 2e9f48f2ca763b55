/**
 * Key-encryption providers: what wraps a keyset file under a key-encryption key (KEK).
 * A provider gets the serialized keyset and some context bytes (AAD) to bind, and returns a
 * JSON blob it alone knows how to open. The passphrase provider derives its KEK with scrypt;
 * a cloud KMS provider would generate a data key, encrypt locally, and store the data key
 * wrapped by the KMS in its blob. Failure to unwrap is one `integrity` error.
 */
import type { JsonValue } from '../../contract/store.js';

export type WrappedBlob = { [key: string]: JsonValue };

export interface KeyEncryptionProvider {
  /** Stable name written into the file (`^[a-z0-9-]{1,64}$`); only a provider of that name opens it. */
  readonly name: string;
  wrap(plaintext: Uint8Array, aad: Uint8Array): Promise<WrappedBlob>;
  /** Resolves the plaintext or rejects `IntegrityError` (wrong passphrase, tampered blob, bad params). */
  unwrap(blob: WrappedBlob, aad: Uint8Array): Promise<Uint8Array>;
}
