/**
 * The keyset's key-encryption settings of a configuration, in one place: which provider(s) open
 * and write the keyset (passphrase, AWS KMS, or both during a move), the `keyset.kms` check, and
 * its `SSS_KEYSET_KMS_*` variables. With both a passphrase and `kms`, a keyset under either opens
 * and every write goes to KMS: the setting for a fleet while `sealed-session keys rewrap --to kms`
 * moves its keyset (docs/kms.md).
 */
import { awsKmsProvider } from '../keys/providers/aws-kms.js';
import { passphraseProvider } from '../keys/providers/passphrase.js';
import type { KeysetProtection } from '../keys/wrapped.js';
import { ConfigError, type KeysetConfig, type KeysetKmsConfig } from './types.js';

/** `keyset.kms` from `SSS_KEYSET_KMS_KEY_ID` (and its region, endpoint, extra decrypt key ids), or undefined. */
export function kmsFromEnv(get: (name: string) => string | undefined): KeysetKmsConfig | undefined {
  const keyId = get('SSS_KEYSET_KMS_KEY_ID');
  const others = ['SSS_KEYSET_KMS_REGION', 'SSS_KEYSET_KMS_ENDPOINT', 'SSS_KEYSET_KMS_DECRYPT_KEY_IDS'].filter((n) => get(n) !== undefined);
  if (keyId === undefined) {
    if (others.length > 0) throw new ConfigError(others[0]!, 'is only used with SSS_KEYSET_KMS_KEY_ID');
    return undefined;
  }
  const kms: KeysetKmsConfig = { keyId };
  const region = get('SSS_KEYSET_KMS_REGION');
  const endpoint = get('SSS_KEYSET_KMS_ENDPOINT');
  const decrypt = get('SSS_KEYSET_KMS_DECRYPT_KEY_IDS');
  if (region !== undefined) kms.region = region;
  if (endpoint !== undefined) kms.endpoint = endpoint;
  if (decrypt !== undefined) kms.decryptKeyIds = decrypt.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return kms;
}

const optionalText = (v: unknown, field: string): void => {
  if (v !== undefined && (typeof v !== 'string' || v.trim() === '')) throw new ConfigError(field, 'must be a non-empty string');
};

/** Checks `keyset.kms` (a `ConfigError` naming the field). */
export function checkKms(kms: unknown): void {
  if (kms === undefined) return;
  if (kms === null || typeof kms !== 'object') throw new ConfigError('keyset.kms', 'must be an object { keyId, region?, endpoint?, decryptKeyIds? }');
  const k = kms as Record<string, unknown>;
  if (typeof k.keyId !== 'string' || k.keyId.trim() === '') throw new ConfigError('keyset.kms.keyId', 'must be the KMS key id, ARN or alias');
  optionalText(k.region, 'keyset.kms.region');
  optionalText(k.endpoint, 'keyset.kms.endpoint');
  if (k.endpoint !== undefined && !URL.canParse(k.endpoint as string)) throw new ConfigError('keyset.kms.endpoint', 'must be a URL (https://kms.eu-west-1.amazonaws.com)');
  if (k.decryptKeyIds !== undefined && (!Array.isArray(k.decryptKeyIds) || k.decryptKeyIds.some((id) => typeof id !== 'string' || id.trim() === ''))) {
    throw new ConfigError('keyset.kms.decryptKeyIds', 'must be an array of KMS key ids');
  }
}

/** The keyset's protection: the writing provider (KMS before passphrase), the other as `alsoOpenWith`, or cleartext. */
export function keysetProtection(k: KeysetConfig): KeysetProtection {
  const pass = k.passphrase !== undefined ? passphraseProvider(k.passphrase, k.unsafeLowCost === true ? { unsafeLowCost: true } : {}) : undefined;
  const kms =
    k.kms !== undefined
      ? awsKmsProvider({
          keyId: k.kms.keyId,
          ...(k.kms.region === undefined ? {} : { region: k.kms.region }),
          ...(k.kms.endpoint === undefined ? {} : { endpoint: k.kms.endpoint }),
          ...(k.kms.decryptKeyIds === undefined ? {} : { decryptKeyIds: k.kms.decryptKeyIds }),
        })
      : undefined;
  const provider = kms ?? pass;
  if (provider === undefined) return { insecureCleartext: true };
  return { provider, ...(kms !== undefined && pass !== undefined ? { alsoOpenWith: [pass] } : {}) };
}
