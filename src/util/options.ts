/**
 * Option checks, one line per option at the call site. The error rule (written at the top of
 * contract/errors.ts): a bad option is `invalid_input`, like bad request data, so every error this
 * library throws carries a code.
 */
import { InvalidInputError } from '../contract/errors.js';

/**
 * `value` when it is an integer in [min, max], `fallback` when it is undefined, otherwise
 * `invalid_input` naming the option.
 */
export function intOption(value: unknown, fallback: number, min: number, max: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max) return value;
  throw new InvalidInputError(`${name} must be an integer in ${min}..${max}, got ${describe(value)}`);
}

/** Like `intOption` but with no fallback: the option is required. */
export function requireInt(value: unknown, min: number, max: number, name: string): number {
  if (value === undefined) throw new InvalidInputError(`${name} is required (an integer in ${min}..${max})`);
  return intOption(value, min, min, max, name);
}

/** `value` when it is a boolean, `fallback` when undefined, otherwise `invalid_input`. */
export function boolOption(value: unknown, fallback: boolean, name: string): boolean {
  if (value === undefined) return fallback;
  if (typeof value === 'boolean') return value;
  throw new InvalidInputError(`${name} must be true or false, got ${describe(value)}`);
}

/** A short, safe rendering of a rejected option value for an error message. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  return typeof value;
}

/**
 * The whole number written in `text` (decimal digits, as an environment variable or a command-line
 * argument carries it), checked like `intOption`. Anything else is `invalid_input` naming `name`.
 */
export function parseIntOption(text: string, min: number, max: number, name: string): number {
  const digits = text.trim();
  if (!/^[0-9]{1,16}$/.test(digits)) throw new InvalidInputError(`${name} must be an integer in ${min}..${max}, got ${describe(text)}`);
  return intOption(Number(digits), min, min, max, name);
}

/**
 * `value` as an options object: a non-null object, or `{}` when it is undefined and `optional`.
 * Anything else is `invalid_input` naming `what`, before any field of it is read (so a JavaScript
 * caller passing nothing, `null` or a string gets a typed error, never a `TypeError`).
 */
export function optionsObject<T extends object>(value: T | undefined, what: string, optional = true): T {
  if (value === undefined && optional) return {} as T;
  if (value !== null && typeof value === 'object') return value;
  throw new InvalidInputError(`${what} must be an object, got ${value === null ? 'null' : typeof value}`);
}

/** `value` when it is a Uint8Array (a Buffer is one), otherwise `invalid_input` naming `name`. */
export function bytesArgument(value: unknown, name: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  throw new InvalidInputError(`${name} must be a Uint8Array, got ${describe(value)}`);
}
