/**
 * Keysets from an environment variable (read-only). The variable holds the same text as a keyset
 * file - a wrapped keyset document, or with `insecureCleartext` a JWK Set - either as JSON or as
 * base64url of that JSON (easier to pass through shells and CI secret stores).
 */
import { KeyStateError } from '../contract/errors.js';
import { base64urlDecode, utf8Decode } from '../util/bytes.js';
import { optionsObject } from '../util/options.js';
import type { KeysetJwks } from './jwks.js';
import { redactedView } from './redact.js';
import type { KeyringSource } from './source.js';
import { type KeysetProtection, assertProtection, decodeKeyset } from './wrapped.js';

export interface KeysetEnvOptions extends KeysetProtection {
  /** Where to read the variable; default `process.env`. */
  env?: Record<string, string | undefined>;
}

export class KeysetEnvSource implements KeyringSource {
  readonly writable = false;
  readonly description: string;
  /** Private (#): the environment may hold the passphrase and the keyset itself (threat: secrets in logs). */
  readonly #env: Record<string, string | undefined>;

  readonly #options: KeysetEnvOptions;

  constructor(
    readonly name: string,
    options: KeysetEnvOptions,
  ) {
    optionsObject(options, 'KeysetEnvSource options', false);
    this.#options = options;
    assertProtection(options);
    this.description = `environment variable ${name}`;
    this.#env = options.env ?? (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
  }

  async read(): Promise<KeysetJwks | undefined> {
    const raw = this.#env[this.name];
    if (raw === undefined || raw.trim() === '') return undefined;
    const trimmed = raw.trim();
    let text: string | undefined = trimmed;
    if (!trimmed.startsWith('{')) {
      const bytes = base64urlDecode(trimmed);
      text = bytes === undefined ? undefined : utf8Decode(bytes);
      if (text === undefined) throw new KeyStateError(`${this.description} is neither JSON nor base64url of JSON`);
    }
    return decodeKeyset(text, this.#options, this.description);
  }
}

redactedView(KeysetEnvSource, (source) => ({ description: source.description }));
