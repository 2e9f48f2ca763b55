/**
 * The `code` of a SessionStoreError, read without `instanceof`: the store handed to this module may
 * come from another copy of the library (the CommonJS build bundles each subpath with its own copy
 * of the error classes), and an `instanceof` miss would turn a failed session check (404) into a
 * 500 that tells a prober something different happened.
 */
import type { ErrorCode } from '../internal.js';

const CODES = new Set<string>([
  'not_found',
  'expired',
  'conflict',
  'invalid_input',
  'payload_too_large',
  'backend_unavailable',
  'integrity',
  'unknown_key',
  'key_state',
  'owner_mismatch',
  'invalid_token',
] satisfies ErrorCode[]);

export function storeErrorCode(err: unknown): ErrorCode | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && CODES.has(code) ? (code as ErrorCode) : undefined;
}
