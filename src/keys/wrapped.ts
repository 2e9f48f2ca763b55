/**
 * The text of a keyset at rest (file or environment variable). Two shapes:
 *
 * - wrapped (the default): `{ "format": "sealed-session-store.keyset", "version": 1,
 *   "provider": "<name>", "wrapped": { ...provider blob } }` - the JWK Set encrypted by a
 *   key-encryption provider, with AAD `"sealed-session-store.keyset/v1/<provider>"`;
 * - cleartext: a plain JWK Set `{ "keys": [...] }`, accepted only with `insecureCleartext: true`.
 *
 * Why refuse cleartext by default: whoever can replace a keyset file could otherwise slip in
 * keys they know, and every session sealed afterwards would be readable to them.
 */
import { IntegrityError, InvalidInputError, KeyStateError } from '../contract/errors.js';
import { utf8Decode, utf8Encode } from '../util/bytes.js';
import type { KeysetJwks } from './jwks.js';
import type { KeyEncryptionProvider, WrappedBlob } from './providers/types.js';

export const WRAPPED_FORMAT = 'sealed-session-store.keyset';
export const WRAPPED_VERSION = 1;
/** Largest keyset text we read; a bound against hostile or runaway files. */
export const MAX_KEYSET_TEXT_BYTES = 1024 * 1024;

export interface WrappedKeysetDocument {
  format: typeof WRAPPED_FORMAT;
  version: typeof WRAPPED_VERSION;
  provider: string;
  wrapped: WrappedBlob;
}

/** How a keyset at rest is protected. Exactly one of `provider` / `insecureCleartext` is needed to write; either opens what it names. */
export interface KeysetProtection {
  /** Wraps (encrypts) the keyset under a key-encryption key. */
  provider?: KeyEncryptionProvider;
  /** Reads and writes the keyset as a CLEARTEXT JWK Set. Only for tests and local development. */
  insecureCleartext?: boolean;
  /**
   * Providers that also open the keyset (never write it): while a keyset moves from one provider
   * to another (`sealed-session keys rewrap`), a running process opens it either way. Writes
   * always use `provider`. Each is a provider you configured: none is chosen by the file.
   */
  alsoOpenWith?: readonly KeyEncryptionProvider[];
}

const PROVIDER_NAME = /^[a-z0-9-]{1,64}$/;

function aadFor(provider: string): Uint8Array {
  return utf8Encode(`${WRAPPED_FORMAT}/v${WRAPPED_VERSION}/${provider}`);
}

/** Checks a source's protection options (`invalid_input`): a bad option, not a bad keyset. */
export function assertProtection(p: KeysetProtection): void {
  if (p.provider === undefined && p.insecureCleartext !== true) {
    throw new InvalidInputError('a keyset at rest needs a key-encryption `provider` (e.g. passphraseProvider(...)), or `insecureCleartext: true` to accept a cleartext keyset');
  }
  if (p.provider !== undefined && !PROVIDER_NAME.test(p.provider.name)) throw new InvalidInputError(`provider name must match ${PROVIDER_NAME}`);
  if (p.alsoOpenWith !== undefined) {
    if (!Array.isArray(p.alsoOpenWith)) throw new InvalidInputError('alsoOpenWith must be an array of key-encryption providers');
    for (const [i, other] of p.alsoOpenWith.entries()) {
      if (other === null || typeof other !== 'object' || typeof other.unwrap !== 'function' || typeof other.name !== 'string' || !PROVIDER_NAME.test(other.name)) {
        throw new InvalidInputError(`alsoOpenWith[${i}] must be a key-encryption provider ({ name, wrap, unwrap }) named like ${PROVIDER_NAME}`);
      }
    }
  }
}

/**
 * Opens a wrapped document with the first configured provider of its name that succeeds: the
 * `alsoOpenWith` ones first (during a move, the file is usually still under the old one), then
 * `provider`. An error that is not `integrity` (KMS unreachable, a refused cost) stops at once;
 * when all refuse, the error of the last one tried (the writing provider, when it is of that name).
 */
async function openWithAny(doc: WrappedKeysetDocument, protection: KeysetProtection, where: string): Promise<KeysetJwks> {
  const named = [...(protection.alsoOpenWith ?? []), ...(protection.provider === undefined ? [] : [protection.provider])].filter((p) => p.name === doc.provider);
  if (named.length === 0) {
    const names = [protection.provider, ...(protection.alsoOpenWith ?? [])].filter((p) => p !== undefined).map((p) => `"${p.name}"`);
    if (names.length === 0) throw new KeyStateError(`${where} is wrapped by provider "${doc.provider}"; pass that provider to open it`);
    throw new KeyStateError(`${where} is wrapped by provider "${doc.provider}", not ${names.join(' or ')}`);
  }
  let last: unknown;
  for (const p of named) {
    try {
      return await unwrapKeyset(doc, p);
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'integrity') throw err;
      last = err;
    }
  }
  // A passphrase refusal names the file and what to check, but not which check failed: a wrong
  // passphrase and a tampered file must read the same (no oracle for whoever can swap the file). A
  // KMS refusal keeps the provider's words (wrong context, other key, access denied): they come
  // from the KMS and say nothing about the local checks.
  if (doc.provider.startsWith('passphrase')) throw new IntegrityError(`cannot open ${where}: wrong passphrase, or the file was damaged or tampered with`);
  throw last;
}

export async function wrapKeyset(jwks: KeysetJwks, provider: KeyEncryptionProvider): Promise<WrappedKeysetDocument> {
  const wrapped = await provider.wrap(utf8Encode(JSON.stringify(jwks)), aadFor(provider.name));
  return { format: WRAPPED_FORMAT, version: WRAPPED_VERSION, provider: provider.name, wrapped };
}

export async function unwrapKeyset(doc: WrappedKeysetDocument, provider: KeyEncryptionProvider): Promise<KeysetJwks> {
  const plain = await provider.unwrap(doc.wrapped, aadFor(provider.name));
  const text = utf8Decode(plain);
  try {
    return JSON.parse(text!) as KeysetJwks;
  } catch {
    throw new IntegrityError();
  }
}

/** Serializes a keyset for storage, wrapped when a provider is given. */
export async function encodeKeyset(jwks: KeysetJwks, protection: KeysetProtection): Promise<string> {
  assertProtection(protection);
  const doc = protection.provider !== undefined ? await wrapKeyset(jwks, protection.provider) : jwks;
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** Parses stored keyset text into a cleartext JWK Set (not yet validated: see `parseJwks`). */
export async function decodeKeyset(text: string, protection: KeysetProtection, where: string): Promise<KeysetJwks> {
  assertProtection(protection);
  if (text.length > MAX_KEYSET_TEXT_BYTES) throw new KeyStateError(`${where} is larger than ${MAX_KEYSET_TEXT_BYTES} bytes`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new KeyStateError(`${where} is not JSON`);
  }
  if (doc === null || typeof doc !== 'object') throw new KeyStateError(`${where} is not a keyset`);
  const d = doc as Partial<WrappedKeysetDocument> & { keys?: unknown };
  if (d.format === WRAPPED_FORMAT) {
    if (d.version !== WRAPPED_VERSION) throw new KeyStateError(`${where} has keyset format version ${String(d.version)}; this release reads ${WRAPPED_VERSION}`);
    if (typeof d.provider !== 'string' || d.wrapped === null || typeof d.wrapped !== 'object') throw new KeyStateError(`${where} is a malformed wrapped keyset`);
    return openWithAny(d as WrappedKeysetDocument, protection, where);
  }
  if (Array.isArray(d.keys)) {
    if (protection.insecureCleartext !== true) {
      throw new KeyStateError(`${where} holds a CLEARTEXT keyset; pass insecureCleartext: true to accept it (tests and local development only)`);
    }
    return d as KeysetJwks;
  }
  throw new KeyStateError(`${where} is neither a wrapped keyset nor a JWK Set`);
}
