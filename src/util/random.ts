/**
 * Randomness. Each call into the CSPRNG has a fixed cost on Node, so small draws
 * (nonces, version tokens, session ids) come out of a pooled buffer refilled 4 KiB at a time.
 * The pool is module-private and every slice is copied out and never handed out twice.
 *
 * The pool's hazard is a snapshot: a VM or process snapshot taken after the first draw (Lambda
 * SnapStart, Firecracker or CRIU restores, a suspended VM cloned) holds the pool's unused bytes,
 * and every clone restored from it hands out the same next nonces, ids and version tokens - a
 * nonce repeated under one AES-GCM key leaks the XOR of two states and lets an attacker forge tags.
 * No platform reseed can fix bytes already drawn into our memory. Where snapshots happen, call
 * `disableRandomPool()` before the snapshot (or pass `unpooledRandom` where a `random` option is
 * taken): then every draw comes from the platform CSPRNG, whose reseed-on-restore is the platform's.
 */

import { InvalidInputError } from '../contract/errors.js';

/** Source of cryptographically secure random bytes; injectable so tests can be deterministic. */
export type RandomSource = (length: number) => Uint8Array;

const POOL_SIZE = 4096;
const MAX_CHUNK = 65536; // getRandomValues' own per-call limit
let pool: Uint8Array = new Uint8Array(0);
let offset = 0;
let pooling = true;

function fill(target: Uint8Array): Uint8Array {
  for (let i = 0; i < target.length; i += MAX_CHUNK) {
    globalThis.crypto.getRandomValues(target.subarray(i, Math.min(target.length, i + MAX_CHUNK)));
  }
  return target;
}

function checkLength(length: number): void {
  if (!Number.isInteger(length) || length < 0) throw new InvalidInputError(`random length must be a non-negative integer, got ${typeof length === 'number' ? length : typeof length}`);
}

/** Every draw straight from the platform CSPRNG (Web Crypto), never pooled: for processes that may be snapshotted. */
export const unpooledRandom: RandomSource = (length) => {
  checkLength(length);
  return fill(new Uint8Array(length));
};

/** The default `RandomSource`: the platform CSPRNG (Web Crypto), pooled for small draws unless `disableRandomPool()` was called. */
export const secureRandom: RandomSource = (length) => {
  checkLength(length);
  if (!pooling || length > 256) return fill(new Uint8Array(length));
  if (offset + length > pool.length) {
    pool = fill(new Uint8Array(POOL_SIZE));
    offset = 0;
  }
  const out = pool.slice(offset, offset + length);
  // Wipe what was handed out so the pool never holds a copy of a secret already in use.
  pool.fill(0, offset, offset + length);
  offset += length;
  return out;
};

/**
 * Turns the pool off for the whole process, for good, and wipes its unused bytes: every later
 * draw of the library (nonces, session ids, version tokens, keys, lock tokens) comes straight from
 * the platform CSPRNG. Call it at startup in a process that may be snapshotted after its first
 * draw, or from a snapshot's restore hook (the bytes pooled before the snapshot are then never
 * handed out by any clone).
 */
export function disableRandomPool(): void {
  pooling = false;
  pool.fill(0);
  pool = new Uint8Array(0);
  offset = 0;
}

/**
 * `length` bytes from `random` (the default source when undefined), checked: an injected source
 * that is not a function, or returns anything but exactly `length` bytes, is `invalid_input`
 * (a short draw would silently weaken the id or token built from it).
 */
export function drawRandom(random: RandomSource | undefined, length: number): Uint8Array {
  if (random === undefined) return secureRandom(length);
  if (typeof random !== 'function') throw new InvalidInputError('random must be a function (length) => Uint8Array');
  const bytes = random(length);
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) throw new InvalidInputError(`random(${length}) must return ${length} bytes in a Uint8Array`);
  return bytes;
}
