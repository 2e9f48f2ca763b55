/**
 * Byte helpers: strict base64url (RFC 4648 §5, no padding), UTF-8.
 * Decoding is strict on purpose: a token or keyset that is not canonical base64url is refused,
 * so no two encodings of the same bytes are both accepted (malleability).
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const hasBuffer = typeof (globalThis as { Buffer?: unknown }).Buffer === 'function';
const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;

const CODES = new Uint16Array(64);
for (let i = 0; i < 64; i++) CODES[i] = ALPHABET.charCodeAt(i);
const SMALL = 48;
const smallOut: number[] = [];

/** base64url of up to SMALL bytes without a Buffer round trip: versions, ids and hashes are this size. */
function encodeSmall(bytes: Uint8Array): string {
  const n = bytes.length;
  const out = smallOut;
  out.length = 0;
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out.push(CODES[v >> 18]!, CODES[(v >> 12) & 63]!, CODES[(v >> 6) & 63]!, CODES[v & 63]!);
  }
  if (n - i === 1) {
    const v = bytes[i]! << 16;
    out.push(CODES[v >> 18]!, CODES[(v >> 12) & 63]!);
  } else if (n - i === 2) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out.push(CODES[v >> 18]!, CODES[(v >> 12) & 63]!, CODES[(v >> 6) & 63]!);
  }
  return String.fromCharCode.apply(null, out);
}

export function base64urlEncode(bytes: Uint8Array): string {
  if (bytes.length <= SMALL) return encodeSmall(bytes);
  if (hasBuffer) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]!;
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]!;
  }
  return out;
}

/** True when `s` is canonical unpadded base64url: alphabet only, valid length, zero trailing bits. */
const ALPHABET_ONLY = /^[A-Za-z0-9_-]*$/;

export function isCanonicalBase64url(s: string): boolean {
  const len = s.length;
  if (len % 4 === 1) return false;
  // One regular-expression scan: several times faster than a charCode loop on token-sized input.
  if (!ALPHABET_ONLY.test(s)) return false;
  if (len === 0) return true;
  const last = LOOKUP[s.charCodeAt(len - 1)]!;
  if (len % 4 === 2) return (last & 0x0f) === 0;
  if (len % 4 === 3) return (last & 0x03) === 0;
  return true;
}

/** Decodes canonical base64url; returns undefined for anything else (never throws). */
export function base64urlDecode(s: string): Uint8Array | undefined {
  if (typeof s !== 'string' || !isCanonicalBase64url(s)) return undefined;
  if (hasBuffer) {
    const b = Buffer.from(s, 'base64url');
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
  const out = new Uint8Array(Math.floor((s.length * 3) / 4));
  let o = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    acc = (acc << 6) | LOOKUP[s.charCodeAt(i)]!;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function utf8Encode(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Strict UTF-8 decoding; returns undefined on invalid sequences. */
export function utf8Decode(bytes: Uint8Array): string | undefined {
  if (hasBuffer) {
    // Buffer's decoder is much faster on small inputs; it replaces invalid sequences with U+FFFD,
    // so only text containing U+FFFD needs the strict (fatal) decoder to tell the two apart.
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
    if (!text.includes('\ufffd')) return text;
  }
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Random bytes as an identifier (session ids, key ids): base64url that never starts with '-', so a
 * pasted id is never taken for a command-line option (`sealed-session inspect -xyz…`). Mapping a
 * leading '-' to 'A' costs under 0.03 bits of entropy.
 */
export function base64urlId(bytes: Uint8Array): string {
  const s = base64urlEncode(bytes);
  return s.startsWith('-') ? `A${s.slice(1)}` : s;
}
