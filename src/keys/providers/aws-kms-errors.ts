/**
 * What an AWS KMS failure means to a keyset, in words an operator can act on. Two families:
 * - the KMS answered and refused (wrong encryption context, another key, unknown key, access
 *   denied, key disabled): opening fails with `integrity` (writing with `key_state`), the message
 *   saying which refusal it was;
 * - the KMS did not answer (unreachable endpoint, timeout, throttling, server fault, no
 *   credentials): `backend_unavailable`, naming the endpoint, so an outage is never mistaken for a
 *   tampered keyset.
 * Messages carry the KMS's exception name and the key id we asked for, never key material or the
 * SDK's raw error (which may hold request details); the KMS's own words are not copied either.
 */
import { BackendUnavailableError, IntegrityError, KeyStateError, type SessionStoreError } from '../../contract/errors.js';

interface AwsError {
  name?: unknown;
  code?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/** Refusals that mean "this key will not open (or make) this data key", by exception name. */
const REFUSALS: Record<string, string> = {
  InvalidCiphertextException: 'the KMS refused the wrapped data key: the encryption context differs (a keyset wrapped for another keyset name or context) or the data key was damaged',
  IncorrectKeyException: 'the data key was wrapped under another KMS key than the one(s) this provider accepts',
  NotFoundException: 'the KMS key was not found (unknown key id, alias or region)',
  AccessDeniedException: 'the KMS denied access (the IAM policy or key policy does not allow this call with this encryption context)',
  DisabledException: 'the KMS key is disabled',
  KMSInvalidStateException: 'the KMS key is not usable in its current state (pending deletion or import)',
  KeyUnavailableException: 'the KMS key material is unavailable',
  InvalidKeyUsageException: 'the KMS key is not a symmetric ENCRYPT_DECRYPT key',
  InvalidGrantTokenException: 'the KMS refused the grant token',
  UnrecognizedClientException: 'the KMS does not recognise these AWS credentials',
  InvalidSignatureException: 'the KMS refused the request signature (wrong secret key or clock)',
};

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

/** An `integrity` error whose message says why (the class's default message says only "integrity"). */
export function integrityBecause(message: string): IntegrityError {
  const err = new IntegrityError();
  err.message = `cannot open the keyset: ${message}`;
  return err;
}

export function errorName(err: unknown): string {
  const e = err as AwsError | null;
  return typeof e?.name === 'string' ? e.name : 'Error';
}

/**
 * Maps an SDK error of a `GenerateDataKey` (`op: 'wrap'`) or `Decrypt` (`op: 'unwrap'`) call.
 * `where` names the endpoint (or region) for the unreachable case; `keyId` the key we asked for.
 */
export function kmsFailure(err: unknown, op: 'wrap' | 'unwrap', where: string, keyId: string): SessionStoreError {
  const e = (err ?? {}) as AwsError;
  const name = errorName(err);
  const refusal = REFUSALS[name];
  if (refusal !== undefined) {
    const message = `${refusal} (KMS ${name}, key ${keyId})`;
    return op === 'unwrap' ? integrityBecause(message) : new KeyStateError(`cannot wrap the keyset with AWS KMS: ${message}`);
  }
  const code = typeof e.code === 'string' ? e.code : undefined;
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  if (name === 'CredentialsProviderError') {
    return new BackendUnavailableError(`AWS KMS at ${where}: no AWS credentials found (set AWS_ACCESS_KEY_ID / AWS_PROFILE, or run with a role)`);
  }
  if (e.$fault === 'client' && status !== undefined && status < 500 && name !== 'ThrottlingException' && name !== 'LimitExceededException') {
    // Any other refusal of the request itself (a malformed blob, a validation error): for a
    // keyset being opened that is a keyset that does not open.
    const message = `the KMS refused the request (KMS ${name}, key ${keyId})`;
    return op === 'unwrap' ? integrityBecause(message) : new KeyStateError(`cannot wrap the keyset with AWS KMS: ${message}`);
  }
  const why = code !== undefined && NETWORK_CODES.has(code) ? code : status !== undefined ? `HTTP ${status} ${name}` : name;
  return new BackendUnavailableError(`AWS KMS at ${where} did not answer the ${op === 'wrap' ? 'GenerateDataKey' : 'Decrypt'} call (${why}); the keyset is unchanged`);
}
