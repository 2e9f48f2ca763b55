/**
 * What a backend writes for a record value: sealed bytes as they are, or a plain state as its JSON
 * text. The one check of a plain state is made here, where it is serialized (`serializeState`), so
 * nothing can change between the check and the bytes stored; both forms are held to the backend's
 * record size bound.
 */
import { PayloadTooLargeError } from './errors.js';
import type { RecordValue } from './store.js';
import { serializeState } from './validate.js';

/** Exactly one of the two is set. `bytes` is the caller's buffer: copy it if you keep it. */
export type EncodedRecordValue = { json: string; bytes: undefined } | { json: undefined; bytes: Uint8Array };

/**
 * Validates and encodes `value` for storage; rejects `invalid_input` (a state that is not plain
 * JSON) or `payload_too_large` (over `maxBytes`, JSON measured in UTF-8).
 */
export function encodeRecordValue(value: RecordValue, maxBytes: number): EncodedRecordValue {
  if (value instanceof Uint8Array) {
    if (value.length > maxBytes) throw new PayloadTooLargeError(value.length, maxBytes, 'record');
    return { json: undefined, bytes: value };
  }
  return { json: serializeState(value, maxBytes, 'record'), bytes: undefined };
}
