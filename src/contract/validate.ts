/**
 * Input checks shared by every store. Bad input is refused with `invalid_input` before anything
 * is written, so a caller's mistake never half-writes or silently alters a session.
 *
 * Decisions (tested by the compliance suite):
 * - ids: 1..512 characters of visible ASCII (0x21-0x7E), the MCP rule for session ids; this also
 *   keeps ids safe as Redis keys and SQL text without escaping surprises.
 * - TTLs: finite and > 0; fractions round UP to the next millisecond, never down, so a tiny TTL
 *   never becomes "already expired"; at most ~100 years.
 * - states: plain JSON objects only. `undefined`, functions, symbols, BigInt, NaN/Infinity, cycles,
 *   class instances (Date, Map, Buffer...) and symbol keys are refused rather than silently dropped
 *   or altered by JSON.stringify; so are strings (values or keys) with NUL or lone surrogates.
 *   Depth is bounded to keep hostile input from exhausting the stack.
 */
import { InvalidInputError, PayloadTooLargeError } from './errors.js';
import type { SessionState } from './store.js';

export const MAX_ID_LENGTH = 512;
export const MAX_TTL_MS = 100 * 365 * 24 * 3600 * 1000;
export const MAX_STATE_DEPTH = 64;

export function assertSessionId(id: unknown): asserts id is string {
  if (typeof id !== 'string') throw new InvalidInputError('session id must be a string');
  if (id.length === 0) throw new InvalidInputError('session id must not be empty');
  if (id.length > MAX_ID_LENGTH) throw new InvalidInputError(`session id is longer than ${MAX_ID_LENGTH} characters`);
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) throw new InvalidInputError('session id must be visible ASCII (0x21-0x7E)');
  }
}

/** Validates a TTL and returns it as whole milliseconds, rounded up. */
export function normalizeTtl(ttlMs: unknown): number {
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs)) throw new InvalidInputError('ttlMs must be a finite number');
  if (ttlMs <= 0) throw new InvalidInputError('ttlMs must be greater than 0');
  if (ttlMs > MAX_TTL_MS) throw new InvalidInputError(`ttlMs must be at most ${MAX_TTL_MS}`);
  return Math.ceil(ttlMs);
}

export function assertExpiresAt(expiresAt: unknown): asserts expiresAt is number {
  if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)) {
    throw new InvalidInputError('expiresAt must be a finite number of epoch milliseconds');
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const OBJECT_PROTO = Object.prototype;
const ARRAY_PROTO = Array.prototype;
const getPrototypeOf = Object.getPrototypeOf;
const ownKeys = Object.keys;
const ownSymbols = Object.getOwnPropertySymbols;

type WellFormed = { isWellFormed?: () => boolean };

/**
 * Strings must survive every backend unchanged: a lone surrogate has no UTF-8 encoding (it would
 * silently become U+FFFD once encrypted or sent to a server) and PostgreSQL's jsonb cannot hold NUL,
 * so both are refused everywhere rather than accepted by one backend and altered or refused by another.
 */
function validString(value: string): boolean {
  return !value.includes('\u0000') && isWellFormedText(value);
}

/**
 * Whether `value` is well-formed UTF-16 (no lone surrogate). `String.prototype.isWellFormed` where
 * the runtime has it (ES2024), a regular expression elsewhere.
 */
export function isWellFormedText(value: string): boolean {
  const wf = (value as unknown as WellFormed).isWellFormed;
  return wf !== undefined ? wf.call(value) : !/[\uD800-\uDFFF]/.test(value.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''));
}

/**
 * Refuses (`invalid_input`) a string holding a lone surrogate, where the string is hashed or bound
 * into an AAD: UTF-8 encoding turns every lone surrogate into U+FFFD, so `'bob\uD800'` and
 * `'bob\uFFFD'` would hash alike (one owner revoking or reaching another's sessions) and two
 * namespaces would share an AAD (an envelope of one opening under the other).
 */
export function assertWellFormedText(value: string, name: string): void {
  if (!isWellFormedText(value)) throw new InvalidInputError(`${name} contains a lone surrogate (ill-formed UTF-16), which has no UTF-8 encoding`);
}

/**
 * The yes/no walk behind every check: JSON types only, finite numbers, plain objects and arrays,
 * no holes, no symbol keys, at most MAX_STATE_DEPTH levels (so a cycle also answers no), and, when
 * `strings` is set, no NUL or lone surrogate in any string or key. Every write validates a whole
 * state, so this is a hot path: it builds no path strings, keeps no `seen` set and reads each
 * property once, as JSON.stringify will (an accessor is read like data, not refused). Only a
 * refused state takes the slow walk below, for its message.
 */
function valid(value: unknown, depth: number, strings: boolean): boolean {
  switch (typeof value) {
    case 'string':
      return !strings || validString(value);
    case 'boolean':
      return true;
    case 'number':
      return value - value === 0; // false for NaN and ±Infinity
    case 'object': {
      if (value === null) return true;
      if (depth > MAX_STATE_DEPTH) return false;
      const proto = getPrototypeOf(value);
      if (proto === ARRAY_PROTO) {
        if (!Array.isArray(value)) return false;
        // A hole reads as undefined, and undefined is refused either way: no `in` check needed.
        for (let i = 0; i < value.length; i++) if (!valid(value[i], depth + 1, strings)) return false;
        return true;
      }
      return (proto === OBJECT_PROTO || proto === null) && validEntries(value as Record<string, unknown>, depth, strings);
    }
    default:
      // undefined, function, symbol, bigint
      return false;
  }
}

function validEntries(value: Record<string, unknown>, depth: number, strings: boolean): boolean {
  if (Array.isArray(value)) return false;
  // for-in rather than Object.keys: V8 walks it from the map's enum cache and turns `value[key]`
  // into a field load. It would also visit enumerable properties inherited from a polluted
  // Object.prototype: checking those too can only refuse, never admit.
  for (const key in value) {
    if ((strings && !validString(key)) || !valid(value[key], depth + 1, strings)) return false;
  }
  // Symbol keys are invisible to for-in and JSON.stringify alike (silently dropped): refused.
  return ownSymbols(value).length === 0;
}

// The slow walk: the same rules, run only on a state the fast walk refused, to name what is wrong.
function checkValue(value: unknown, path: string, depth: number, seen: Set<object>): void {
  switch (typeof value) {
    case 'string':
      checkString(value, path);
      return;
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new InvalidInputError(`${path} is ${value}, which JSON cannot hold`);
      return;
    case 'object': {
      if (value === null) return;
      if (depth > MAX_STATE_DEPTH) throw new InvalidInputError(`${path} nests deeper than ${MAX_STATE_DEPTH} levels`);
      if (seen.has(value)) throw new InvalidInputError(`${path} is a cycle`);
      seen.add(value);
      if (Array.isArray(value)) {
        if (getPrototypeOf(value) !== ARRAY_PROTO) throw new InvalidInputError(`${path} is not a plain array`);
        for (let i = 0; i < value.length; i++) {
          if (!(i in value)) throw new InvalidInputError(`${path}[${i}] is a hole, which JSON cannot hold`);
          checkValue(value[i], `${path}[${i}]`, depth + 1, seen);
        }
      } else {
        checkObject(value, path, depth, seen);
      }
      seen.delete(value);
      return;
    }
    default:
      throw new InvalidInputError(`${path} is ${typeof value}, which is not JSON`);
  }
}

function checkString(value: string, path: string): void {
  if (value.includes('\u0000')) throw new InvalidInputError(`${path} contains a NUL character, which not every backend can store`);
  if (!validString(value)) throw new InvalidInputError(`${path} contains a lone surrogate, which has no UTF-8 encoding`);
}

function checkObject(value: object, path: string, depth: number, seen: Set<object>): void {
  if (!isPlainObject(value)) throw new InvalidInputError(`${path} is not a plain object`);
  if (ownSymbols(value).length > 0) throw new InvalidInputError(`${path} has symbol keys`);
  for (const key of ownKeys(value)) {
    checkString(key, `${path} key`);
    checkValue(value[key], `${path}.${key}`, depth + 1, seen);
  }
}

/** Throws the `invalid_input` that names what is wrong with a state the fast walk refused. */
function refuse(state: unknown, what: string): never {
  if (!isPlainObject(state)) throw new InvalidInputError(`${what} must be a plain object`);
  try {
    checkObject(state, what, 0, new Set());
  } catch (err) {
    if (err instanceof InvalidInputError) throw err;
    // An accessor that throws (or a Proxy): the state cannot be read as JSON.
    throw new InvalidInputError(`${what} cannot be read as JSON`, { cause: err });
  }
  // The slow walk found nothing the fast one refused: they disagree, so refuse rather than guess.
  throw new InvalidInputError(`${what} is not a plain JSON object`);
}

/** The fast walk over a plain object; an accessor that throws answers no (the slow walk words it). */
function validState(state: Record<string, unknown>, strings: boolean): boolean {
  try {
    return validEntries(state, 0, strings);
  } catch {
    return false;
  }
}

/** Asserts `state` is a plain JSON object (see the decisions above). */
export function assertState(state: unknown, what = 'state'): asserts state is SessionState {
  if (!isPlainObject(state) || !validState(state, true)) refuse(state, what);
}

/** Asserts only the top level: `state` is a plain object. For callers whose store validates the whole state where it serializes it. */
export function assertPlainState(state: unknown, what = 'state'): asserts state is SessionState {
  if (!isPlainObject(state)) throw new InvalidInputError(`${what} must be a plain object`);
}

/**
 * Validates a state and returns its JSON text: the one check of a write, made where the state is
 * serialized, in the same synchronous step, so nothing can change between the two. The shape is
 * walked first; the strings are checked on the JSON text, which holds a `\u` escape wherever a
 * string or key holds a NUL or a lone surrogate (JSON.stringify escapes both, ES2019), so only a
 * text with such an escape (or any other `\u`, e.g. a control character) walks the strings too.
 */
export function stateJson(state: unknown, what = 'state'): string {
  if (!isPlainObject(state) || !validState(state, false)) refuse(state, what);
  let json: string;
  try {
    json = JSON.stringify(state);
  } catch {
    // Only an accessor that throws (or a Proxy) gets here: everything else was checked above.
    refuse(state, what);
  }
  if (json.includes('\\u') && !validState(state, true)) refuse(state, what);
  return json;
}

/** Validates and serializes a state; enforces `maxBytes` (UTF-8 length) when given. */
export function serializeState(state: unknown, maxBytes?: number, what = 'state'): string {
  const json = stateJson(state, what);
  if (maxBytes !== undefined && json.length > maxBytes / 3) {
    // Only measure exactly when the string could be over the bound (UTF-8 is at most 3 bytes per UTF-16 unit).
    const size = utf8Length(json);
    if (size > maxBytes) throw new PayloadTooLargeError(size, maxBytes, what);
  }
  return json;
}

export function utf8Length(s: string): number {
  const B = (globalThis as { Buffer?: { byteLength(s: string): number } }).Buffer;
  return B ? B.byteLength(s) : new TextEncoder().encode(s).length;
}

/**
 * Shallow merge for `update`. Spread defines own data properties, so a `__proto__` key in
 * `partial` becomes a plain key and never reaches a prototype (prototype pollution).
 */
export function mergeState(current: SessionState, partial: SessionState): SessionState {
  return { ...current, ...partial };
}

/** Page size for `listActive`: default 100, bounded to 1..1000. */
export function normalizeLimit(limit: unknown): number {
  if (limit === undefined) return 100;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1) throw new InvalidInputError('limit must be a positive integer');
  return Math.min(limit, 1000);
}
