/** The fixed inputs of the golden keyset file (generate-keyset.ts). Public: test material only. */
const b64u = (hex: string) => Buffer.from(hex, 'hex').toString('base64url');
const bytes = (start: number) => Array.from({ length: 32 }, (_, i) => (start + i).toString(16).padStart(2, '0')).join('');

/** Non-ASCII on purpose: the passphrase is its UTF-8 bytes, unnormalized (NFC "ä" here, not "a" + U+0308). */
export const GOLDEN_KEYSET_PASSPHRASE = 'correct horse \u2014 b\u00e4ttery st\u00e4ple';

export const goldenJwks = {
  keys: [
    { kty: 'oct', kid: 'golden-enc-2', alg: 'A256GCM', use: 'enc', purpose: 'encrypt', status: 'primary', createdAt: 1700000100000, k: b64u(bytes(0x00)) },
    { kty: 'oct', kid: 'golden-enc-1', alg: 'A256GCM', use: 'enc', purpose: 'encrypt', status: 'active', createdAt: 1700000000000, demotedAt: 1700000100000, k: b64u(bytes(0x20)) },
    { kty: 'oct', kid: 'golden-enc-0', alg: 'A256GCM', use: 'enc', purpose: 'encrypt', status: 'destroyed', createdAt: 1690000000000, demotedAt: 1700000000000 },
    { kty: 'oct', kid: 'golden-sig', alg: 'HS256', use: 'sig', purpose: 'sign', status: 'primary', createdAt: 1700000000000, k: b64u(bytes(0x40)) },
    { kty: 'oct', kid: 'golden-hash', alg: 'HS256', purpose: 'hash', status: 'primary', createdAt: 1700000000000, k: b64u(bytes(0x60)) },
  ],
};
