/**
 * A keyset file's scrypt parameters are read before they can be authenticated: the provider must
 * refuse a cost above its own before deriving, or a tampered file becomes a denial of service.
 */
import { expect, it } from 'vitest';
import { isSessionStoreError, passphraseProvider } from 'sealed-session-store';

const aad = new TextEncoder().encode('keyset');

it('refuses a blob that asks for far more scrypt work than the provider is configured for, without deriving', async () => {
  const provider = passphraseProvider('correct horse battery staple', { logN: 10, unsafeLowCost: true });
  const blob = await provider.wrap(new Uint8Array([1, 2, 3]), aad);
  const hostile = { ...blob, logN: 22, r: 32, p: 16 };
  const err = await provider.unwrap(hostile, aad).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isSessionStoreError(err, 'key_state')).toBe(true);
  // Had the derivation run, these parameters would take minutes and gigabytes: the test would time out.
});

it('still opens blobs within its cost (up to one step above)', async () => {
  const writer = passphraseProvider('correct horse battery staple', { logN: 11, unsafeLowCost: true });
  const reader = passphraseProvider('correct horse battery staple', { logN: 10, unsafeLowCost: true });
  const blob = await writer.wrap(new Uint8Array([4, 5, 6]), aad);
  expect(Array.from(await reader.unwrap(blob, aad))).toEqual([4, 5, 6]);
  const tooCostly = await passphraseProvider('correct horse battery staple', { logN: 12, unsafeLowCost: true }).wrap(new Uint8Array([7]), aad);
  await expect(reader.unwrap(tooCostly, aad)).rejects.toMatchObject({ code: 'key_state' });
});
