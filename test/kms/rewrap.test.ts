/**
 * `sealed-session keys rewrap` moves a live keyset between a passphrase and AWS KMS (a private
 * moto_server), and between two KMS keys, while an application's keyring follows the file: after
 * each move it reloads the same keys, sees a rotation made through the CLI under the new wrapping,
 * and its sessions still open. The CLI runs as a real process (as an operator would run it, with
 * the AWS SDK's credential chain reading fake credentials from its environment).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyring, MemoryStore, passphraseProvider, secureStore } from '../../src/index.js';
import { awsKmsProvider } from '../../src/kms/aws.js';
import { cliProcess, json, tempDir } from '../cli/helpers.js';
import { MOTO_REGION, type Moto, motoEnv, motoSkipReason, startMoto } from '../support/moto.js';

const skip = motoSkipReason();
const PASSPHRASE = 'correct horse battery staple, rewrapped';

describe.skipIf(skip !== undefined)('keys rewrap between passphrase and AWS KMS, live', () => {
  let moto: Moto;
  let a: { keyId: string; arn: string };
  let b: { keyId: string; arn: string };
  let dir: string;
  let remove: () => Promise<void>;

  beforeAll(async () => {
    moto = await startMoto();
    a = await moto.createKey();
    b = await moto.createKey();
    ({ dir, remove } = await tempDir());
  }, 60_000);
  afterAll(async () => {
    await moto?.stop();
    await remove?.();
  });

  const doc = async (path: string) => JSON.parse(await readFile(path, 'utf8')) as { provider: string; wrapped: { keyArn?: string } };
  const run = async (args: string[], env: Record<string, string>) => {
    const r = await cliProcess([...args, '--json'], { env: { ...motoEnv(moto.url, env.SSS_KEYSET_KMS_KEY_ID), ...env } });
    expect(r.code, r.stderr).toBe(0);
    return json(r);
  };

  it('passphrase -> KMS key A -> KMS key B -> passphrase, the app following and its sessions untouched', async () => {
    const path = join(dir, 'live.keyset.json');
    await run(['keys', 'generate', '--keyset', path], { SSS_KEYSET_PASSPHRASE: PASSPHRASE });
    // The application, configured for the move: its passphrase, plus the KMS keys it may meet.
    const kms = awsKmsProvider({ keyId: a.keyId, decryptKeyIds: [b.keyId], client: moto.client });
    const ring = await Keyring.fromFile(path, { provider: passphraseProvider(PASSPHRASE), alsoOpenWith: [kms] });
    const store = secureStore(new MemoryStore(), { keyring: ring, namespace: 'app' });
    const alice = store.for({ subject: 'alice' });
    const id = await alice.create({ cart: 3 });
    const kids = () => ring.list().map((k) => `${k.kid}:${k.status}`).sort();
    const before = kids();

    // 1. passphrase -> KMS key A.
    const toA = await run(['keys', 'rewrap', '--keyset', path, '--to', 'kms', '--kms-key-id', a.keyId, '--kms-region', MOTO_REGION, '--kms-endpoint', moto.url], {
      SSS_KEYSET_PASSPHRASE: PASSPHRASE,
    });
    expect(toA).toMatchObject({ ok: true, from: 'passphrase-scrypt', to: 'aws-kms', keyId: a.keyId });
    expect(await doc(path)).toMatchObject({ provider: 'aws-kms', wrapped: { keyArn: a.arn } });
    expect(await ring.reload()).toBe(false);
    expect(kids()).toEqual(before);
    // The CLI opens the KMS keyset from the configuration (SSS_KEYSET_KMS_*) and rotates; the app sees it.
    const rotated = await run(['keys', 'rotate', 'encrypt', '--keyset', path], { SSS_KEYSET_KMS_KEY_ID: a.keyId });
    expect(await ring.reload()).toBe(true);
    expect(ring.get(rotated.kid as string)?.status).toBe('primary');
    expect(await doc(path)).toMatchObject({ provider: 'aws-kms', wrapped: { keyArn: a.arn } });

    // 2. KMS key A -> KMS key B (opened with A from the environment, written under B).
    const toB = await run(['keys', 'rewrap', '--keyset', path, '--to', 'kms', '--kms-key-id', b.arn], { SSS_KEYSET_KMS_KEY_ID: a.keyId });
    expect(toB).toMatchObject({ from: 'aws-kms', to: 'aws-kms', keyId: b.arn });
    expect(await doc(path)).toMatchObject({ provider: 'aws-kms', wrapped: { keyArn: b.arn } });
    const afterB = kids();
    expect(await ring.reload()).toBe(false);
    expect(kids()).toEqual(afterB);
    // Key A alone no longer opens it: KMS refuses Decrypt under a key that did not wrap the data
    // key (AWS answers IncorrectKeyException, moto AccessDeniedException), and the CLI says so.
    const refused = await cliProcess(['keys', 'list', '--keyset', path], { env: motoEnv(moto.url, a.keyId) });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/cannot open the keyset: .*\(KMS (IncorrectKeyException|AccessDeniedException), key /);

    // 3. KMS key B -> passphrase.
    const back = await run(['keys', 'rewrap', '--keyset', path, '--to', 'passphrase'], { SSS_KEYSET_KMS_KEY_ID: b.keyId, SSS_KEYSET_PASSPHRASE: PASSPHRASE });
    expect(back).toMatchObject({ from: 'aws-kms', to: 'passphrase-scrypt' });
    expect((await doc(path)).provider).toBe('passphrase-scrypt');
    expect(await ring.reload()).toBe(false);
    // The app still writes (under its passphrase) and its session, sealed before all this, opens.
    await ring.transaction((m) => m.rotate('sign'));
    expect((await doc(path)).provider).toBe('passphrase-scrypt');
    expect(await alice.load(id)).toMatchObject({ cart: 3 });
    await store.close();
  }, 300_000);

  it('refuses a target without its key, and KMS flags without --to kms (usage, nothing written)', async () => {
    const path = join(dir, 'usage.keyset.json');
    await run(['keys', 'generate', '--keyset', path], { SSS_KEYSET_PASSPHRASE: PASSPHRASE });
    const text = await readFile(path, 'utf8');
    const noKey = await cliProcess(['keys', 'rewrap', '--keyset', path, '--to', 'kms'], { env: { SSS_KEYSET_PASSPHRASE: PASSPHRASE } });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/--kms-key-id/);
    const stray = await cliProcess(['keys', 'rewrap', '--keyset', path, '--kms-key-id', a.keyId], { env: { SSS_KEYSET_PASSPHRASE: PASSPHRASE } });
    expect(stray.code).toBe(2);
    expect(await readFile(path, 'utf8')).toBe(text);
  }, 180_000);
});
