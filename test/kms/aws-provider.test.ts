/**
 * The AWS KMS key-encryption provider against a real KMS emulator (a private moto_server per file):
 * a keyset round-trips; a wrong encryption context, an unknown or other key id and a tampered blob
 * are refused with `integrity`; an unreachable endpoint is `backend_unavailable` naming it; and an
 * unchanged keyset reloads without calling KMS.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyring } from '../../src/index.js';
import { awsKmsProvider } from '../../src/kms/aws.js';
import { utf8Encode } from '../../src/util/bytes.js';
import { freePort } from '../support/servers.js';
import { FAKE_CREDENTIALS, MOTO_REGION, type Moto, motoSkipReason, startMoto } from '../support/moto.js';

const skip = motoSkipReason();
const AAD = utf8Encode('sealed-session-store.keyset/v1/aws-kms');

describe.skipIf(skip !== undefined)('awsKmsProvider against moto_server', () => {
  let moto: Moto;
  let key: { keyId: string; arn: string };
  let other: { keyId: string; arn: string };
  let dir: string;
  const calls: string[] = [];
  /** The real client, counting the commands sent through it. */
  const counting = () => ({
    send: (command: unknown) => {
      calls.push((command as object).constructor.name);
      return moto.client.send(command as never);
    },
  });

  beforeAll(async () => {
    moto = await startMoto();
    key = await moto.createKey();
    other = await moto.createKey();
    dir = await mkdtemp(join(tmpdir(), 'sss-kms-'));
  }, 60_000);
  afterAll(async () => {
    await moto?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('wraps and unwraps a keyset: GenerateDataKey with the keyset context, ciphertext only in the blob', async () => {
    const provider = awsKmsProvider({ keyId: key.keyId, client: counting(), cacheDataKeys: false });
    const secret = utf8Encode('{"keys":["the keyset"]}');
    const blob = await provider.wrap(secret, AAD);
    expect(blob.kms).toBe('aws');
    expect(blob.keyArn).toBe(key.arn);
    expect(JSON.stringify(blob)).not.toContain('the keyset');
    expect(await provider.unwrap(blob, AAD)).toEqual(secret);
    // A second provider (another process) opens it through KMS too.
    const fresh = awsKmsProvider({ keyId: key.arn, endpoint: moto.url, region: MOTO_REGION, credentials: FAKE_CREDENTIALS });
    expect(await fresh.unwrap(blob, AAD)).toEqual(secret);
    // The wrong AAD (another format or provider name) changes the context: refused.
    await expect(fresh.unwrap(blob, utf8Encode('another use'))).rejects.toMatchObject({ code: 'integrity' });
  });

  it('a keyset file wrapped by KMS opens as a keyring; its provider logs no secret', async () => {
    const provider = awsKmsProvider({ keyId: key.keyId, endpoint: moto.url, region: MOTO_REGION, credentials: FAKE_CREDENTIALS });
    const path = join(dir, 'ring.json');
    const ring = await Keyring.fromFile(path, { provider, createIfMissing: true });
    const doc = JSON.parse(await readFile(path, 'utf8')) as { provider: string; wrapped: { keyArn: string } };
    expect(doc.provider).toBe('aws-kms');
    expect(doc.wrapped.keyArn).toBe(key.arn);
    const again = await Keyring.fromFile(path, { provider: awsKmsProvider({ keyId: key.keyId, endpoint: moto.url, region: MOTO_REGION, credentials: FAKE_CREDENTIALS }) });
    expect(again.list().map((k) => k.kid).sort()).toEqual(ring.list().map((k) => k.kid).sort());
    expect(JSON.stringify(provider)).toContain(key.keyId);
  });

  it('refuses a wrong encryption context (another keyset name or extra pair) with integrity naming the cause', async () => {
    const provider = awsKmsProvider({ keyId: key.keyId, client: counting(), keysetName: 'billing' });
    const blob = await provider.wrap(utf8Encode('k'), AAD);
    for (const wrong of [{ keysetName: 'sessions' }, { keysetName: 'billing', encryptionContext: { tenant: 'x' } }]) {
      const err = await awsKmsProvider({ keyId: key.keyId, client: counting(), ...wrong }).unwrap(blob, AAD).catch((e: unknown) => e as Error);
      expect(err).toMatchObject({ code: 'integrity' });
      expect((err as Error).message).toMatch(/encryption context/);
    }
  });

  it('refuses an unknown key id, and a key that did not wrap the blob (no attacker-chosen key opens it)', async () => {
    const unknown = await awsKmsProvider({ keyId: '00000000-0000-4000-8000-000000000000', client: counting() }).wrap(utf8Encode('k'), AAD).catch((e: unknown) => e as Error);
    expect(unknown).toMatchObject({ code: 'key_state' });
    expect((unknown as Error).message).toMatch(/not found/);
    const blob = await awsKmsProvider({ keyId: key.keyId, client: counting() }).wrap(utf8Encode('k'), AAD);
    const wrongKey = await awsKmsProvider({ keyId: other.keyId, client: counting() }).unwrap(blob, AAD).catch((e: unknown) => e as Error);
    expect(wrongKey).toMatchObject({ code: 'integrity' });
    const missing = await awsKmsProvider({ keyId: '00000000-0000-4000-8000-000000000000', client: counting() }).unwrap(blob, AAD).catch((e: unknown) => e as Error);
    expect(missing).toMatchObject({ code: 'integrity' });
    // Accepting the other key as well (a KMS-to-KMS move) opens it.
    expect(await awsKmsProvider({ keyId: other.keyId, decryptKeyIds: [key.keyId], client: counting() }).unwrap(blob, AAD)).toEqual(utf8Encode('k'));
  });

  it('refuses a tampered blob: data key, ciphertext, nonce or recorded key ARN', async () => {
    const provider = awsKmsProvider({ keyId: key.keyId, client: counting(), cacheDataKeys: false });
    const blob = await provider.wrap(utf8Encode('the keyset'), AAD);
    const flip = (s: string) => (s[5] === 'A' ? `${s.slice(0, 5)}B${s.slice(6)}` : `${s.slice(0, 5)}A${s.slice(6)}`);
    for (const field of ['dataKey', 'ciphertext', 'nonce', 'keyArn'] as const) {
      const tampered = { ...blob, [field]: field === 'keyArn' ? other.arn : flip(blob[field] as string) };
      await expect(provider.unwrap(tampered, AAD), field).rejects.toMatchObject({ code: 'integrity' });
    }
    await expect(provider.unwrap({ ...blob, kms: 'gcp' }, AAD)).rejects.toMatchObject({ code: 'integrity' });
  });

  it('calls KMS when the keyset bytes change, never on a reload of unchanged bytes', async () => {
    calls.length = 0;
    const path = join(dir, 'reload.json');
    const provider = awsKmsProvider({ keyId: key.keyId, client: counting() });
    const ring = await Keyring.fromFile(path, { provider, createIfMissing: true });
    expect(calls).toEqual(['GenerateDataKeyCommand']);
    for (let i = 0; i < 3; i++) expect(await ring.reload()).toBe(false);
    expect(calls).toEqual(['GenerateDataKeyCommand']);
    await ring.transaction((m) => m.rotate('encrypt'));
    expect(calls).toEqual(['GenerateDataKeyCommand', 'GenerateDataKeyCommand']);
    // Another process (its own provider) reads the new bytes: one Decrypt, then none.
    const otherCalls = calls.length;
    const reader = await Keyring.fromFile(path, { provider: awsKmsProvider({ keyId: key.keyId, client: counting() }) });
    await reader.reload();
    await reader.reload();
    expect(calls.slice(otherCalls)).toEqual(['DecryptCommand']);
    // The file rewritten behind our back (new bytes, same keys): a fresh Decrypt.
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.replace(/\n$/, '\n\n'));
    expect(await reader.reload()).toBe(false);
    expect(calls.slice(otherCalls)).toEqual(['DecryptCommand']);
  });

  it('an unreachable KMS is backend_unavailable naming the endpoint, not integrity', async () => {
    const blob = await awsKmsProvider({ keyId: key.keyId, client: counting() }).wrap(utf8Encode('k'), AAD);
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const down = awsKmsProvider({ keyId: key.keyId, endpoint, region: MOTO_REGION, credentials: FAKE_CREDENTIALS });
    for (const attempt of [() => down.unwrap(blob, AAD), () => down.wrap(utf8Encode('k'), AAD)]) {
      const err = await attempt().catch((e: unknown) => e as Error);
      expect(err).toMatchObject({ code: 'backend_unavailable' });
      expect((err as Error).message).toContain(endpoint);
    }
  }, 30_000);

  it('checks its options with invalid_input naming the field', () => {
    expect(() => awsKmsProvider({ keyId: '' })).toThrow(/keyId/);
    expect(() => awsKmsProvider({ keyId: 'k', keysetName: 'bad name' })).toThrow(/keysetName/);
    expect(() => awsKmsProvider({ keyId: 'k', encryptionContext: { 'sealed-session-store:keyset': 'x' } })).toThrow(/reserved/);
    expect(() => awsKmsProvider({ keyId: 'k', client: {} as never })).toThrow(/client/);
  });
});
