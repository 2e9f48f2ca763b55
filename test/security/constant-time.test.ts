/**
 * All secret comparisons go through the constant-time helpers of src/crypto/compare.ts. This scans
 * the sources for any other way of comparing bytes, so a new early-exit comparison of a MAC, tag or
 * owner hash cannot slip in unnoticed.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { constantTimeEqual } from 'sealed-session-store/tokens';
import { constantTimeEqualText } from '../../src/crypto/compare.js';

const root = fileURLToPath(new URL('../../src/', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const FORBIDDEN: Array<[RegExp, string]> = [
  [/timingSafeEqual/, 'node:crypto timingSafeEqual (use constantTimeEqual)'],
  [/\bequalBytes\b/, "noble's equalBytes (use constantTimeEqual)"],
  [/Buffer\.compare\(/, 'Buffer.compare (early exit)'],
  [/\.equals\(/, 'Buffer#equals (early exit)'],
  [/\^=?\s*\w+\[\w+\]/, 'a hand-written XOR comparison loop'],
];

it('constantTimeEqual(Text) is the only comparison of secret bytes in src/', () => {
  const offenders: string[] = [];
  for (const file of sources(root)) {
    const rel = relative(root, file);
    if (rel === join('crypto', 'compare.ts')) continue;
    const text = readFileSync(file, 'utf8');
    for (const [pattern, what] of FORBIDDEN) if (pattern.test(text)) offenders.push(`${rel}: ${what}`);
  }
  expect(offenders).toEqual([]);
});

it('constantTimeEqual compares contents and lengths', () => {
  expect(constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3]))).toBe(true);
  expect(constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4]))).toBe(false);
  expect(constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2]))).toBe(false);
  expect(constantTimeEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true);
});

it('constantTimeEqualText compares contents and lengths of strings (base64url of hashes)', () => {
  const a = 'k7Z0p1u4Wq-_Ab3';
  expect(constantTimeEqualText(a, `${a}`)).toBe(true);
  expect(constantTimeEqualText(a, `${a.slice(0, -1)}4`)).toBe(false);
  expect(constantTimeEqualText(a, `x${a.slice(1)}`)).toBe(false);
  expect(constantTimeEqualText(a, a.slice(1))).toBe(false);
  expect(constantTimeEqualText('', '')).toBe(true);
});
