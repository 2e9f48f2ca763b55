/**
 * The passphrase key-encryption provider: KEK = scrypt(passphrase, salt), then AES-256-GCM over
 * the keyset with a random 96-bit nonce and the caller's AAD. The blob records the scrypt
 * parameters, salt, nonce and ciphertext, so the passphrase alone opens it.
 *
 * Costs: default logN 17, r 8, p 1 (128 MiB of memory per derivation): each guess at the passphrase
 * costs an attacker holding the file as much. The derived KEK is cached per salt in memory, so the
 * read-modify-write of a rotation pays for scrypt once, not twice.
 */
import { IntegrityError, InvalidInputError, KeyStateError } from '../../contract/errors.js';
import { base64urlDecode, base64urlEncode, utf8Encode } from '../../util/bytes.js';
import { getAead } from '../../crypto/aead/index.js';
import { boolOption, intOption, optionsObject } from '../../util/options.js';
import { type RandomSource, secureRandom } from '../../util/random.js';
import { type ScryptParams, scryptDerive } from '../../crypto/scrypt.js';
import { INSPECT_CUSTOM, inspectSummary } from '../redact.js';
import type { KeyEncryptionProvider, WrappedBlob } from './types.js';

export interface PassphraseProviderOptions {
  /** log2 of scrypt's N for new wraps; default 17, at least 15 unless `unsafeLowCost`. */
  logN?: number;
  /** scrypt block size; default 8. */
  r?: number;
  /** scrypt parallelism; default 1. */
  p?: number;
  /**
   * Allows logN down to 10, for new wraps and for opening keysets wrapped that low (refused by
   * default: see `MIN_LOG_N`). For tests, or to open an old low-cost keyset once and re-wrap it at
   * this provider's cost: a low cost makes a stolen file cheap to brute-force.
   */
  unsafeLowCost?: boolean;
  random?: RandomSource;
}

/**
 * The documented minimum scrypt cost (N = 2^15): below it, a stolen keyset file is cheap to
 * brute-force. New wraps and opened files alike must reach it unless `unsafeLowCost` says otherwise.
 */
export const MIN_LOG_N = 15;

/** Bounds on parameters read from a file: a hostile file must not make us allocate gigabytes. */
const LIMITS = { logN: [10, 22], r: [1, 32], p: [1, 16] } as const;
const NAME = 'passphrase-scrypt';

function inRange(x: unknown, [lo, hi]: readonly [number, number]): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= lo && x <= hi;
}

function blobAad(aad: Uint8Array, params: Omit<ScryptParams, 'dkLen'>, salt: string): Uint8Array {
  // The parameters are authenticated too: a file edited to a lower cost no longer opens.
  const header = utf8Encode(JSON.stringify([NAME, 'scrypt', params.logN, params.r, params.p, salt, 'aes-256-gcm']));
  const out = new Uint8Array(aad.length + header.length);
  out.set(aad, 0);
  out.set(header, aad.length);
  return out;
}

export function passphraseProvider(passphrase: string | Uint8Array, options: PassphraseProviderOptions = {}): KeyEncryptionProvider {
  if (typeof passphrase !== 'string' && !(passphrase instanceof Uint8Array)) {
    throw new InvalidInputError(`passphrase must be a string or a Uint8Array, got ${passphrase === null ? 'null' : typeof passphrase} (is the variable holding it, e.g. SSS_KEYSET_PASSPHRASE, set?)`);
  }
  const secret = typeof passphrase === 'string' ? utf8Encode(passphrase) : passphrase.slice();
  if (secret.length < 8) throw new InvalidInputError('passphrase must be at least 8 bytes (prefer a long random one)');
  options = optionsObject(options, 'passphraseProvider options');
  // Below 15 only when the name says so: a low cost makes a stolen keyset file cheap to brute-force.
  const lowCost = boolOption(options.unsafeLowCost, false, 'unsafeLowCost');
  const logN = intOption(options.logN, 17, lowCost ? LIMITS.logN[0] : MIN_LOG_N, LIMITS.logN[1], 'logN');
  const r = intOption(options.r, 8, ...LIMITS.r, 'r');
  const p = intOption(options.p, 1, ...LIMITS.p, 'p');
  const ownWork = 2 ** logN * r * p;
  const ownMemory = 2 ** logN * r;
  const random = options.random ?? secureRandom;
  const aead = getAead('aes-256-gcm');
  const cache = new Map<string, Promise<Uint8Array>>();
  let lastSalt: string | undefined;

  const derive = (salt: string, params: Omit<ScryptParams, 'dkLen'>): Promise<Uint8Array> => {
    const id = `${params.logN}.${params.r}.${params.p}.${salt}`;
    let kek = cache.get(id);
    if (kek === undefined) {
      kek = scryptDerive(secret, base64urlDecode(salt)!, { ...params, dkLen: 32 });
      kek.catch(() => cache.delete(id));
      if (cache.size >= 4) cache.delete(cache.keys().next().value!);
      cache.set(id, kek);
    }
    return kek;
  };

  const provider: KeyEncryptionProvider = {
    name: NAME,
    async wrap(plaintext, aad) {
      // Reusing the salt of the last wrap/unwrap with our own parameters saves a scrypt run; every
      // wrap still draws a fresh random nonce, so (KEK, nonce) never repeats in practice.
      const salt = lastSalt !== undefined && cache.has(`${logN}.${r}.${p}.${lastSalt}`) ? lastSalt : base64urlEncode(random(16));
      const kek = await derive(salt, { logN, r, p });
      lastSalt = salt;
      const nonce = random(12);
      const out = new Uint8Array(plaintext.length + 16);
      aead.seal(kek, nonce, plaintext, blobAad(aad, { logN, r, p }, salt), out, 0);
      return { kdf: 'scrypt', logN, r, p, salt, alg: 'aes-256-gcm', nonce: base64urlEncode(nonce), ciphertext: base64urlEncode(out) } satisfies WrappedBlob;
    },
    async unwrap(blob, aad) {
      const { kdf, logN: n, r: rr, p: pp, salt, alg, nonce, ciphertext } = blob;
      if (kdf !== 'scrypt' || alg !== 'aes-256-gcm' || !inRange(n, LIMITS.logN) || !inRange(rr, LIMITS.r) || !inRange(pp, LIMITS.p)) throw new IntegrityError();
      if (typeof salt !== 'string' || typeof nonce !== 'string' || typeof ciphertext !== 'string') throw new IntegrityError();
      const saltBytes = base64urlDecode(salt);
      const nonceBytes = base64urlDecode(nonce);
      const sealed = base64urlDecode(ciphertext);
      if (saltBytes === undefined || saltBytes.length < 16 || nonceBytes?.length !== 12 || sealed === undefined) throw new IntegrityError();
      // The file is untrusted input, and its cost parameters are only authenticated AFTER the
      // derivation: a tampered file could ask for hours of CPU and gigabytes of memory (denial of
      // service). Refuse any cost above twice this provider's own before deriving anything.
      if (2 ** n * rr * pp > 2 * ownWork || 2 ** n * rr > 2 * ownMemory) {
        throw new KeyStateError(`the keyset asks for a scrypt cost (logN ${n}, r ${rr}, p ${pp}) above this provider's limit; create the provider with at least that cost`);
      }
      // Threat: a keyset wrapped at a brute-forceable cost (an old file, or one an attacker
      // re-wrapped under a passphrase they learned) must not open silently. Checked before
      // deriving; the way out is to re-wrap at this provider's cost.
      if (n < MIN_LOG_N && !lowCost) {
        throw new KeyStateError(
          `the keyset is wrapped with scrypt logN ${n}, below the minimum of ${MIN_LOG_N}: a stolen copy would be cheap to brute-force. Re-wrap it at the current cost (logN ${logN}): open it once with the low-cost opt-in (passphraseProvider(..., { unsafeLowCost: true }), SSS_KEYSET_UNSAFE_LOW_COST=1 or --unsafe-low-cost) and run \`sealed-session keys rewrap\` (or any keyring.transaction()), which writes it back at logN ${logN}`,
        );
      }
      const params = { logN: n, r: rr, p: pp };
      const kek = await derive(salt, params);
      const plain = aead.open(kek, nonceBytes, sealed, blobAad(aad, params, salt));
      if (plain === undefined) throw new IntegrityError();
      if (n === logN && rr === r && pp === p) lastSalt = salt;
      return plain;
    },
  };
  // The passphrase and the derived KEKs live in this closure only; logged or serialized, the
  // provider shows its name and cost (threat: secrets in logs).
  const summary = () => ({ name: NAME, logN, r, p });
  Object.defineProperties(provider, {
    toJSON: { value: summary },
    [INSPECT_CUSTOM]: { value: (depth: number, options: unknown, inspect?: (v: unknown, o?: unknown) => string) => inspectSummary('KeyEncryptionProvider', summary(), depth, options, inspect) },
  });
  return provider;
}
