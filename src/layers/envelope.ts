/**
 * The sealed envelope, format version 1: what a backend stores for an encrypted session. Its byte
 * layout, AAD and key derivation are written down once, in SECURITY.md ("Envelope byte layout");
 * test/vectors/ pins them byte for byte.
 *
 * The AAD repeats the header (version, algorithm, kid) and adds the namespace and session id, so
 * an envelope moved to another session id, namespace, key id or algorithm fails to open (the
 * cut-and-paste and kid-confusion threats). Every field is length-prefixed, so no two different
 * (header, ns, id) triples produce the same AAD.
 */
import { IntegrityError, InvalidInputError } from '../contract/errors.js';
import { assertWellFormedText } from '../contract/validate.js';
import { type AeadSpec, aeadSpecById } from '../crypto/aead/index.js';
import { utf8Encode } from '../util/bytes.js';
import { KID_PATTERN } from '../keys/types.js';

export const ENVELOPE_VERSION = 0x01;
export const MAX_KID_LENGTH = 64;
export const MAX_NAMESPACE_BYTES = 255;
export const TAG_LENGTH = 16;
/** The smallest envelope any algorithm can produce (1-char kid, 12-byte nonce, empty plaintext). */
export const MIN_ENVELOPE_BYTES = 3 + 1 + 12 + TAG_LENGTH;
/** Bytes an envelope adds around its plaintext, at most (64-char kid, 24-byte nonce). */
export const MAX_ENVELOPE_OVERHEAD = 3 + MAX_KID_LENGTH + 24 + TAG_LENGTH;

/** The parsed, NOT yet authenticated, framing of an envelope. */
export interface EnvelopeParts {
  spec: AeadSpec;
  kid: string;
  /** bytes[0 .. 3+L): version, algorithm, kid length, kid. */
  header: Uint8Array;
  nonce: Uint8Array;
  /** ciphertext || tag */
  sealed: Uint8Array;
}

/** The header for (algorithm, kid): bytes[0 .. 3+L). */
export function envelopeHeader(spec: AeadSpec, kid: string): Uint8Array {
  if (!KID_PATTERN.test(kid)) throw new InvalidInputError(`kid must match ${KID_PATTERN}`);
  const out = new Uint8Array(3 + kid.length);
  out[0] = ENVELOPE_VERSION;
  out[1] = spec.id;
  out[2] = kid.length;
  for (let i = 0; i < kid.length; i++) out[3 + i] = kid.charCodeAt(i);
  return out;
}

/** `u16be(len(ns)) || ns` for a namespace, checked (`invalid_input`): 1..255 UTF-8 bytes, well-formed UTF-16. */
export function namespaceField(namespace: string): Uint8Array {
  if (typeof namespace !== 'string' || namespace.length === 0) throw new InvalidInputError('namespace must be a non-empty string');
  // Two namespaces differing only in a lone surrogate would encode alike and share an AAD.
  assertWellFormedText(namespace, 'namespace');
  const ns = utf8Encode(namespace);
  if (ns.length > MAX_NAMESPACE_BYTES) throw new InvalidInputError(`namespace must be at most ${MAX_NAMESPACE_BYTES} UTF-8 bytes`);
  const out = new Uint8Array(2 + ns.length);
  out[0] = ns.length >>> 8;
  out[1] = ns.length & 0xff;
  out.set(ns, 2);
  return out;
}

/** AAD = header || nsField || u16be(len(id)) || id. `id` is visible ASCII (checked by the caller). */
export function envelopeAad(header: Uint8Array, nsField: Uint8Array, id: string): Uint8Array {
  const off = header.length + nsField.length;
  const aad = new Uint8Array(off + 2 + id.length);
  aad.set(header, 0);
  aad.set(nsField, header.length);
  aad[off] = id.length >>> 8;
  aad[off + 1] = id.length & 0xff;
  for (let i = 0; i < id.length; i++) aad[off + 2 + i] = id.charCodeAt(i);
  return aad;
}

/**
 * Splits an envelope into its parts, or throws `IntegrityError` when the framing is wrong (unknown
 * version or algorithm, bad kid, too short, longer than `maxBytes`). The length is checked before
 * anything else is read. `likely` is the header the caller expects most often (its own primary
 * kid's): an envelope that starts with exactly those bytes skips decoding the kid.
 */
export function parseEnvelope(bytes: Uint8Array, maxBytes: number, likely?: { spec: AeadSpec; kid: string; header: Uint8Array }): EnvelopeParts {
  if (bytes.length < MIN_ENVELOPE_BYTES || bytes.length > maxBytes) throw new IntegrityError();
  if (likely !== undefined && startsWith(bytes, likely.header) && bytes.length >= likely.header.length + likely.spec.nonceLength + TAG_LENGTH) {
    // The header of the envelopes this store writes (the primary kid): same bytes, same parse.
    const headerLength = likely.header.length;
    const nonceEnd = headerLength + likely.spec.nonceLength;
    return { spec: likely.spec, kid: likely.kid, header: bytes.subarray(0, headerLength), nonce: bytes.subarray(headerLength, nonceEnd), sealed: bytes.subarray(nonceEnd) };
  }
  if (bytes[0] !== ENVELOPE_VERSION) throw new IntegrityError();
  const spec = aeadSpecById(bytes[1]!);
  const kidLength = bytes[2]!;
  if (spec === undefined || kidLength < 1 || kidLength > MAX_KID_LENGTH) throw new IntegrityError();
  const headerLength = 3 + kidLength;
  if (bytes.length < headerLength + spec.nonceLength + TAG_LENGTH) throw new IntegrityError();
  let kid = '';
  for (let i = 3; i < headerLength; i++) {
    const c = bytes[i]!;
    // [A-Za-z0-9_-] only: a kid is looked up, logged and compared; it must never smuggle anything.
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x5f)) throw new IntegrityError();
    kid += String.fromCharCode(c);
  }
  const nonceEnd = headerLength + spec.nonceLength;
  return {
    spec,
    kid,
    header: bytes.subarray(0, headerLength),
    nonce: bytes.subarray(headerLength, nonceEnd),
    sealed: bytes.subarray(nonceEnd),
  };
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  // Header bytes are public (version, algorithm, kid): no constant-time comparison needed.
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

