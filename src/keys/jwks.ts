/**
 * Keysets as JWK Sets (RFC 7517): each key is `{ kty: "oct", kid, k, alg, ... }`, so jose's
 * `importJWK` reads every usable key as is. Our own members say what the key is for and where it
 * is in its life: `purpose`, `status`, `createdAt` and `demotedAt` (epoch ms). A destroyed key
 * keeps its entry without `k`, so its kid is never reused.
 *
 * Parsing is strict and total: anything off (unknown purpose or status, bad kid, short key,
 * duplicate kid, two primaries of one purpose) is refused with `key_state` before any of it is
 * used, so a damaged or tampered file never becomes a half-loaded keyring.
 */
import { KeyStateError } from '../contract/errors.js';
import { base64urlDecode, base64urlEncode } from '../util/bytes.js';
import { KEY_PURPOSES, KEY_STATUSES, KID_PATTERN, type KeyInfo, type KeyPurpose, type KeyStatus, MAX_KEY_BYTES, MIN_KEY_BYTES } from './types.js';

export interface KeysetJwk {
  kty: 'oct';
  kid: string;
  /** base64url key material; absent once destroyed. */
  k?: string;
  /** `A256GCM` for encrypt keys, `HS256` for sign and hash keys (informational for other AEADs). */
  alg: 'A256GCM' | 'HS256';
  use?: 'enc' | 'sig';
  purpose: KeyPurpose;
  status: KeyStatus;
  createdAt: number;
  demotedAt?: number;
}

export interface KeysetJwks {
  keys: KeysetJwk[];
}

/** One parsed key: its public facts and its material (undefined once destroyed). */
export interface KeyEntry {
  info: KeyInfo;
  key: Uint8Array | undefined;
}

/** Most keys one keyset may hold; a bound against hostile or runaway files. */
export const MAX_KEYSET_KEYS = 1000;

const ALG: Record<KeyPurpose, KeysetJwk['alg']> = { encrypt: 'A256GCM', sign: 'HS256', hash: 'HS256' };
const USE: Record<KeyPurpose, KeysetJwk['use'] | undefined> = { encrypt: 'enc', sign: 'sig', hash: undefined };

export function checkKeyLength(purpose: KeyPurpose, length: number): void {
  if (purpose === 'encrypt' ? length !== 32 : length < MIN_KEY_BYTES || length > MAX_KEY_BYTES) {
    throw new KeyStateError(
      purpose === 'encrypt' ? `encrypt keys must be 256 bits, got ${length * 8}` : `${purpose} keys must be ${MIN_KEY_BYTES * 8}..${MAX_KEY_BYTES * 8} bits, got ${length * 8}`,
    );
  }
}

function isTime(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/** Parses and validates a JWK Set into key entries. Throws `key_state` on any fault. */
export function parseJwks(input: unknown): KeyEntry[] {
  if (input === null || typeof input !== 'object' || !Array.isArray((input as { keys?: unknown }).keys)) {
    throw new KeyStateError('keyset is not a JWK Set ({ "keys": [...] })');
  }
  const keys = (input as { keys: unknown[] }).keys;
  if (keys.length > MAX_KEYSET_KEYS) throw new KeyStateError(`keyset holds ${keys.length} keys, more than ${MAX_KEYSET_KEYS}`);
  const out: KeyEntry[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < keys.length; i++) {
    const jwk = keys[i] as Partial<Record<keyof KeysetJwk, unknown>> | null;
    const where = `keyset key #${i}`;
    if (jwk === null || typeof jwk !== 'object') throw new KeyStateError(`${where} is not an object`);
    if (jwk.kty !== 'oct') throw new KeyStateError(`${where}: kty must be "oct"`);
    if (typeof jwk.kid !== 'string' || !KID_PATTERN.test(jwk.kid)) throw new KeyStateError(`${where}: kid must match ${KID_PATTERN}`);
    if (seen.has(jwk.kid)) throw new KeyStateError(`${where}: duplicate kid ${jwk.kid}`);
    seen.add(jwk.kid);
    if (!KEY_PURPOSES.includes(jwk.purpose as KeyPurpose)) throw new KeyStateError(`${where}: purpose must be one of ${KEY_PURPOSES.join(', ')}`);
    if (!KEY_STATUSES.includes(jwk.status as KeyStatus)) throw new KeyStateError(`${where}: status must be one of ${KEY_STATUSES.join(', ')}`);
    if (!isTime(jwk.createdAt)) throw new KeyStateError(`${where}: createdAt must be epoch milliseconds`);
    if (jwk.demotedAt !== undefined && !isTime(jwk.demotedAt)) throw new KeyStateError(`${where}: demotedAt must be epoch milliseconds`);
    const purpose = jwk.purpose as KeyPurpose;
    const status = jwk.status as KeyStatus;
    if (jwk.alg !== undefined && jwk.alg !== ALG[purpose]) throw new KeyStateError(`${where}: alg must be ${ALG[purpose]} for a ${purpose} key`);
    let key: Uint8Array | undefined;
    if (status === 'destroyed') {
      // A destroyed key's material is gone: a file that still carries it contradicts itself.
      if (jwk.k !== undefined) throw new KeyStateError(`${where}: a destroyed key must not carry "k"`);
    } else {
      const bytes = typeof jwk.k === 'string' ? base64urlDecode(jwk.k) : undefined;
      if (bytes === undefined) throw new KeyStateError(`${where}: "k" must be canonical base64url key material`);
      // A copy of its own for the keyring; the decoded bytes may sit in Node's shared Buffer pool,
      // where later allocations of unrelated code could be handed the same memory: wipe them there.
      key = bytes.slice();
      bytes.fill(0);
      checkKeyLength(purpose, key.length);
    }
    const info: KeyInfo = { kid: jwk.kid, purpose, status, createdAt: jwk.createdAt };
    if (jwk.demotedAt !== undefined) info.demotedAt = jwk.demotedAt as number;
    out.push({ info, key });
  }
  checkInvariants(out);
  return out;
}

/** Exactly one primary per purpose that has any key. */
export function checkInvariants(entries: readonly KeyEntry[]): void {
  for (const purpose of KEY_PURPOSES) {
    const mine = entries.filter((e) => e.info.purpose === purpose);
    if (mine.length === 0) continue;
    const primaries = mine.filter((e) => e.info.status === 'primary').length;
    if (primaries !== 1) throw new KeyStateError(`keyset must hold exactly one primary ${purpose} key, found ${primaries}`);
  }
}

export function toJwks(entries: Iterable<KeyEntry>): KeysetJwks {
  const keys: KeysetJwk[] = [];
  for (const { info, key } of entries) {
    const jwk: KeysetJwk = { kty: 'oct', kid: info.kid, alg: ALG[info.purpose], purpose: info.purpose, status: info.status, createdAt: info.createdAt };
    const use = USE[info.purpose];
    if (use !== undefined) jwk.use = use;
    if (info.demotedAt !== undefined) jwk.demotedAt = info.demotedAt;
    if (key !== undefined && info.status !== 'destroyed') jwk.k = base64urlEncode(key);
    keys.push(jwk);
  }
  return { keys };
}
