/**
 * The AWS KMS key-encryption provider (envelope encryption). To wrap: `GenerateDataKey` (AES_256)
 * under the configured KMS key with an encryption context naming the keyset, then AES-256-GCM
 * over the keyset locally under that data key; the blob keeps the KMS-wrapped data key, the key's
 * ARN, the nonce and the ciphertext. To unwrap: `Decrypt` the data key with the same context and
 * the accepted key id(s), then open locally.
 *
 * Why the encryption context: KMS authenticates it with the data key, so a blob wrapped for one
 * keyset does not open as another's, and IAM policies can allow a role `kms:Decrypt` only with
 * its own keyset's context (`kms:EncryptionContext:sealed-session-store:keyset`).
 * Why `Decrypt` names the key: a file replaced by one wrapped under an attacker's KMS key (whose
 * key policy lets anyone decrypt) must not open; KMS refuses a `KeyId` that did not wrap it.
 *
 * KMS is called only when the keyset's bytes change (a wrap, or the first read of a new blob):
 * see the data-key cache below. `@aws-sdk/client-kms` is an optional peer, imported on first use.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { InvalidInputError } from '../../contract/errors.js';
import { getAead } from '../../crypto/aead/index.js';
import { base64urlDecode, base64urlEncode, utf8Encode } from '../../util/bytes.js';
import { boolOption, optionsObject } from '../../util/options.js';
import { importPeer } from '../../util/peer.js';
import { type RandomSource, secureRandom } from '../../util/random.js';
import { INSPECT_CUSTOM, inspectSummary } from '../redact.js';
import { errorName, integrityBecause, kmsFailure } from './aws-kms-errors.js';
import type { KeyEncryptionProvider, WrappedBlob } from './types.js';

/** The one method of `KMSClient` this provider uses, by shape: its declarations name no AWS SDK type. */
export interface KmsClientLike {
  send(command: unknown): Promise<unknown>;
}

export interface AwsKmsProviderOptions {
  /** The KMS key that wraps new data keys: key id, key ARN, alias name (`alias/…`) or alias ARN. */
  keyId: string;
  /**
   * Further KMS keys whose data keys this provider opens (never wraps with): during a move from
   * one KMS key to another, the running fleet accepts both. Default none.
   */
  decryptKeyIds?: readonly string[];
  /**
   * The keyset's name in the encryption context (`sealed-session-store:keyset`); default
   * `default`. Give each keyset its own name to bind its file to it (and to write IAM conditions on).
   */
  keysetName?: string;
  /** Further encryption-context pairs, authenticated the same way (e.g. `{ app: 'billing' }`). */
  encryptionContext?: Readonly<Record<string, string>>;
  /** A `KMSClient` of your own (credentials, retries, proxies); otherwise one is created from the options below. */
  client?: KmsClientLike;
  /** Region of the created client; default from the AWS environment (AWS_REGION, profile). */
  region?: string;
  /** Endpoint of the created client (a VPC endpoint, or an emulator in tests). */
  endpoint?: string;
  /** Static credentials for the created client; default the AWS SDK's credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Keep unwrapped data keys in memory so an unchanged keyset reloads without KMS (see below). Default true. */
  cacheDataKeys?: boolean;
  random?: RandomSource;
}

const NAME = 'aws-kms';
const ALG = 'aes-256-gcm';
const CONTEXT_KEYSET = 'sealed-session-store:keyset';
const CONTEXT_AAD = 'sealed-session-store:aad';
const KEYSET_NAME = /^[A-Za-z0-9._:/-]{1,128}$/;
/** Unwrapped data keys kept: the current keyset, plus a few recent versions during a rotation. */
const CACHE_ENTRIES = 4;

type KmsSdk = typeof import('@aws-sdk/client-kms');

function text(value: unknown, field: string, max = 2048): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > max) throw new InvalidInputError(`awsKmsProvider: ${field} must be a non-empty string of at most ${max} characters`);
  return value;
}

/** Whether a configured key id names the key of this ARN without a call (id or ARN equality). */
function namesArn(id: string, arn: string): boolean {
  return id === arn || arn.endsWith(`:key/${id}`);
}

export function awsKmsProvider(options: AwsKmsProviderOptions): KeyEncryptionProvider {
  optionsObject(options, 'awsKmsProvider options', false);
  const keyId = text(options.keyId, 'keyId');
  const decryptKeyIds = (options.decryptKeyIds ?? []).map((id, i) => text(id, `decryptKeyIds[${i}]`));
  const keysetName = options.keysetName ?? 'default';
  if (typeof keysetName !== 'string' || !KEYSET_NAME.test(keysetName)) throw new InvalidInputError(`awsKmsProvider: keysetName must match ${KEYSET_NAME}`);
  const extra = optionsObject(options.encryptionContext, 'awsKmsProvider encryptionContext');
  for (const [k, v] of Object.entries(extra)) {
    if (k.startsWith('sealed-session-store:')) throw new InvalidInputError(`awsKmsProvider: encryptionContext key "${k}" is reserved`);
    text(v, `encryptionContext.${k}`, 1024);
  }
  const region = options.region === undefined ? undefined : text(options.region, 'region', 64);
  const endpoint = options.endpoint === undefined ? undefined : text(options.endpoint, 'endpoint');
  if (options.client !== undefined && typeof options.client?.send !== 'function') throw new InvalidInputError('awsKmsProvider: client must be a KMSClient (with send())');
  const cacheDataKeys = boolOption(options.cacheDataKeys, true, 'cacheDataKeys');
  const random = options.random ?? secureRandom;
  const aead = getAead(ALG);
  const where = endpoint ?? (options.client !== undefined ? 'the given KMS client' : region !== undefined ? `region ${region}` : 'the default region');

  let loaded: Promise<{ sdk: KmsSdk; client: KmsClientLike }> | undefined;
  const kms = () => {
    loaded ??= importPeer('@aws-sdk/client-kms', () => import('@aws-sdk/client-kms'), 'awsKmsProvider').then((sdk) => ({
      sdk,
      client:
        options.client ??
        new sdk.KMSClient({
          ...(region === undefined ? {} : { region }),
          ...(endpoint === undefined ? {} : { endpoint }),
          ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
        }),
    }));
    loaded.catch(() => (loaded = undefined));
    return loaded;
  };

  /**
   * The context of one wrap: the keyset's name, the caller's pairs, and a digest of the AAD the
   * keyset format binds (format, version, provider), so a data key made for another use of this
   * KMS key does not open a keyset.
   */
  const contextFor = (aad: Uint8Array): Record<string, string> => ({ ...extra, [CONTEXT_KEYSET]: keysetName, [CONTEXT_AAD]: base64urlEncode(sha256(aad)) });
  const localAad = (aad: Uint8Array, arn: string, dataKey: string): Uint8Array => {
    // The header is authenticated too: a blob edited to name another key or data key no longer opens.
    const header = utf8Encode(JSON.stringify([NAME, arn, dataKey, ALG]));
    const out = new Uint8Array(aad.length + header.length);
    out.set(aad, 0);
    out.set(header, aad.length);
    return out;
  };

  /**
   * Data-key cache, keyed on the wrapped data key's bytes and the context it was opened with.
   * Trade-off: a cached data key lets a reload of the same file (same bytes) open without a KMS
   * call, so KMS is called when the keyset changes, not on every reload or watch tick, and a KMS
   * outage does not stop a running process from re-reading the keyset it already holds. The cost:
   * the data key stays in this process's memory. It opens only those exact file versions, whose
   * cleartext keys this process already holds in memory anyway, so a memory dump reveals nothing
   * it would not otherwise; and revoking the KMS key still stops every new file version and every
   * new process. `cacheDataKeys: false` wipes each data key right after use instead.
   */
  const cache = new Map<string, Uint8Array>();
  const remember = (id: string, dataKey: Uint8Array): void => {
    cache.delete(id);
    cache.set(id, dataKey);
    while (cache.size > CACHE_ENTRIES) {
      const [oldest, key] = cache.entries().next().value!;
      cache.delete(oldest);
      key.fill(0);
    }
  };
  const cacheId = (dataKey: string, context: Record<string, string>) => JSON.stringify([dataKey, Object.entries(context).sort(([a], [b]) => (a < b ? -1 : 1))]);

  const decryptDataKey = async (arn: string, wrappedKey: Uint8Array, context: Record<string, string>): Promise<Uint8Array> => {
    const { sdk, client } = await kms();
    // The key id(s) this provider accepts, the one that names the blob's ARN first (one call in
    // the usual case); KMS refuses (IncorrectKeyException) any id that did not wrap it.
    const candidates = [keyId, ...decryptKeyIds].sort((a, b) => Number(namesArn(b, arn)) - Number(namesArn(a, arn)));
    const failures: unknown[] = [];
    for (const id of candidates) {
      try {
        const out = (await client.send(new sdk.DecryptCommand({ CiphertextBlob: wrappedKey, EncryptionContext: context, KeyId: id, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' }))) as { Plaintext?: Uint8Array };
        if (!(out.Plaintext instanceof Uint8Array) || out.Plaintext.length !== 32) throw integrityBecause('the KMS returned a data key that is not 32 bytes');
        return out.Plaintext;
      } catch (err) {
        const mapped = kmsFailure(err, 'unwrap', where, id);
        if (mapped.code !== 'integrity') throw mapped;
        failures.push(err);
        if (candidates.length === 1) throw mapped;
      }
    }
    throw integrityBecause(`none of the accepted KMS keys (${candidates.join(', ')}) opened the data key (${failures.map(errorName).join(', ')}); the keyset was wrapped under ${arn}`);
  };

  const provider: KeyEncryptionProvider = {
    name: NAME,
    async wrap(plaintext, aad) {
      const { sdk, client } = await kms();
      const context = contextFor(aad);
      let out: { CiphertextBlob?: Uint8Array; Plaintext?: Uint8Array; KeyId?: string };
      try {
        out = (await client.send(new sdk.GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: context }))) as typeof out;
      } catch (err) {
        throw kmsFailure(err, 'wrap', where, keyId);
      }
      const { CiphertextBlob: wrappedKey, Plaintext: dataKey, KeyId: arn } = out;
      if (!(wrappedKey instanceof Uint8Array) || !(dataKey instanceof Uint8Array) || dataKey.length !== 32 || typeof arn !== 'string') {
        throw kmsFailure({ name: 'MalformedResponse' }, 'wrap', where, keyId);
      }
      const wrappedText = base64urlEncode(wrappedKey);
      const nonce = random(12);
      const sealed = new Uint8Array(plaintext.length + 16);
      aead.seal(dataKey, nonce, plaintext, localAad(aad, arn, wrappedText), sealed, 0);
      // Our own write is read back right away (the keyring reloads what it wrote): remember the
      // data key so that read costs no Decrypt.
      if (cacheDataKeys) remember(cacheId(wrappedText, context), dataKey);
      else dataKey.fill(0);
      return { kms: 'aws', keyArn: arn, dataKey: wrappedText, alg: ALG, nonce: base64urlEncode(nonce), ciphertext: base64urlEncode(sealed) } satisfies WrappedBlob;
    },
    async unwrap(blob, aad) {
      const { kms: kind, keyArn, dataKey, alg, nonce, ciphertext } = blob;
      if (kind !== 'aws' || alg !== ALG || typeof keyArn !== 'string' || typeof dataKey !== 'string' || typeof nonce !== 'string' || typeof ciphertext !== 'string') {
        throw integrityBecause('the wrapped blob is malformed (not an AWS KMS envelope)');
      }
      const wrappedKey = base64urlDecode(dataKey);
      const nonceBytes = base64urlDecode(nonce);
      const sealed = base64urlDecode(ciphertext);
      // A KMS ciphertext blob is a few hundred bytes: a bound against hostile files.
      if (wrappedKey === undefined || wrappedKey.length < 16 || wrappedKey.length > 6144 || nonceBytes?.length !== 12 || sealed === undefined || sealed.length < 16) {
        throw integrityBecause('the wrapped blob is malformed (bad data key, nonce or ciphertext encoding)');
      }
      const context = contextFor(aad);
      const id = cacheId(dataKey, context);
      const cached = cache.get(id);
      const key = cached ?? (await decryptDataKey(keyArn, wrappedKey, context));
      let kept = cached !== undefined;
      try {
        const plain = aead.open(key, nonceBytes, sealed, localAad(aad, keyArn, dataKey));
        if (plain === undefined) throw integrityBecause('the keyset ciphertext failed its integrity check (damaged or tampered with)');
        if (!kept && cacheDataKeys) {
          remember(id, key);
          kept = true;
        }
        return plain;
      } finally {
        // A data key not kept in the cache is wiped as soon as it has been used.
        if (!kept) key.fill(0);
      }
    },
  };
  // Logged or serialized, the provider shows which key and where, never a data key (threat: secrets in logs).
  const summary = () => ({ name: NAME, keyId, ...(decryptKeyIds.length === 0 ? {} : { decryptKeyIds }), keysetName, ...(region === undefined ? {} : { region }), ...(endpoint === undefined ? {} : { endpoint }) });
  Object.defineProperties(provider, {
    toJSON: { value: summary },
    [INSPECT_CUSTOM]: { value: (depth: number, opts: unknown, inspect?: (v: unknown, o?: unknown) => string) => inspectSummary('KeyEncryptionProvider', summary(), depth, opts, inspect) },
  });
  return provider;
}
