/** The strict encoders every token, keyset and cursor goes through. */
import { expect, it } from 'vitest';
import { base64urlDecode, base64urlEncode, isCanonicalBase64url, utf8Decode, utf8Encode } from '../../src/util/bytes.js';

it('base64url round-trips every length and refuses every non-canonical form', () => {
  for (let n = 0; n < 70; n++) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
    const text = base64urlEncode(bytes);
    // Small inputs take a hand-written path, larger ones Buffer's encoder: both must agree with it.
    expect(text).toBe(Buffer.from(bytes).toString('base64url'));
    expect(isCanonicalBase64url(text)).toBe(true);
    expect(Array.from(base64urlDecode(text)!)).toEqual(Array.from(bytes));
  }
  for (const bad of ['A', 'AB=', 'AB==', 'A B', 'AB+/', 'ABC\n', 'AF', 'AAB', 'ü', 'AB.C']) {
    expect(isCanonicalBase64url(bad), bad).toBe(false);
    expect(base64urlDecode(bad), bad).toBeUndefined();
  }
});

it('UTF-8 decoding is strict, yet keeps a genuine U+FFFD', () => {
  expect(utf8Decode(utf8Encode('héllo 😀'))).toBe('héllo 😀');
  expect(utf8Decode(utf8Encode('a \ufffd b'))).toBe('a \ufffd b');
  for (const bad of [[0xff], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80]]) {
    expect(utf8Decode(new Uint8Array(bad)), JSON.stringify(bad)).toBeUndefined();
  }
});
