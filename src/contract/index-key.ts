/**
 * The index keys of `SaveRecordOptions.index` / `listByIndex`: checked once here, the same way by
 * every backend, since a backend splices them into key names (Redis) or stores them in a column.
 */
import { InvalidInputError } from './errors.js';

export const MAX_INDEX_KEY_LENGTH = 128;

export function assertIndexKey(index: unknown): asserts index is string {
  if (typeof index !== 'string' || index.length === 0 || index.length > MAX_INDEX_KEY_LENGTH) {
    throw new InvalidInputError(`index must be a string of 1..${MAX_INDEX_KEY_LENGTH} characters`);
  }
  for (let i = 0; i < index.length; i++) {
    const c = index.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) throw new InvalidInputError('index must be visible ASCII (0x21-0x7E)');
  }
}

/** Checks `options.index` when present (a save's options come from callers). */
export function assertIndexOption(options: { index?: unknown }): void {
  if (options.index !== undefined) assertIndexKey(options.index);
}
