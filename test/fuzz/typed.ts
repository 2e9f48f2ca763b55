/**
 * What every fuzz target must do with hostile input: settle in bounded time, and either succeed
 * (where success is legitimate) or fail with a typed `SessionStoreError` of an expected code.
 * An untyped throw, an unexpected code or a hang fails the property.
 */
import { type ErrorCode, SessionStoreError } from 'sealed-session-store';

export type Settled<T> = { ok: true; value: T } | { ok: false; code: ErrorCode };

/** Bounded even for the slowest backend call of a fuzz case; far above any legitimate answer. */
export const HANG_MS = 5_000;

class Hang extends Error {}

export async function typed<T>(what: string, call: () => T | Promise<T>, allowed: readonly ErrorCode[], hangMs = HANG_MS): Promise<Settled<T>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Hang(`${what} did not settle within ${hangMs} ms`)), hangMs);
  });
  try {
    const value = await Promise.race([Promise.resolve().then(call), hang]);
    return { ok: true, value };
  } catch (err) {
    if (err instanceof Hang) throw err;
    if (!(err instanceof SessionStoreError)) {
      throw new Error(`${what} threw an untyped ${(err as Error)?.constructor?.name ?? typeof err}: ${String((err as Error)?.message ?? err)}`);
    }
    if (!allowed.includes(err.code)) throw new Error(`${what} failed with code ${err.code}, expected one of ${allowed.join(', ')}`);
    return { ok: false, code: err.code };
  } finally {
    clearTimeout(timer);
  }
}

/** Like `typed`, but success is itself a failure: hostile input must never yield data. */
export async function refused(what: string, call: () => unknown, allowed: readonly ErrorCode[], hangMs = HANG_MS): Promise<ErrorCode> {
  const r = await typed(what, call, allowed, hangMs);
  if (r.ok) throw new Error(`${what} accepted hostile input and returned ${safeJson(r.value)}`);
  return r.code;
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v)?.slice(0, 200) ?? String(v);
  } catch {
    return String(v);
  }
}

export const LONG = process.env.SSS_TEST_LONG === '1';
/** numRuns, 20x under SSS_TEST_LONG=1. */
export const runs = (n: number): number => (LONG ? n * 20 : n);
