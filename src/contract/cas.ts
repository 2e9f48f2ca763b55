/**
 * The bounded compare-and-swap loop every layer uses for `update` / `updateTtl`:
 * read record + version -> compute the next record -> write if the version is unchanged ->
 * on `conflict`, wait a jittered backoff and retry, at most `maxAttempts` times, then `conflict`.
 *
 * The whole loop is ONE operation for the time bound: every read, `next` and write it makes runs as
 * part of the operation called when the loop started (or earlier, when a queue started it), so a
 * backend counts its deadline from there, retries and time queued included (util/time.ts).
 */
import { intOption } from '../util/options.js';
import { asOperationStartedAt, operationStart, sleep as defaultSleep } from '../util/time.js';
import { ConflictError, InvalidInputError, isSessionStoreError } from './errors.js';
import type { RecordStore, RecordValue, StoredRecord } from './store.js';

export interface CasOptions {
  /** Attempts before giving up with `conflict`; default 20 (enough for several processes hammering one id). */
  maxAttempts?: number;
  /** Base backoff in ms; attempt n waits a random time in [0, base * 2^n), capped at 100 ms. Default 2. */
  backoffMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export interface CasStep<V extends RecordValue> {
  value: V;
  expiresAt: number;
}

/**
 * Runs one compare-and-swap on `store`. `next` receives the current record (or undefined) and
 * returns what to write, or throws (e.g. `not_found`) to stop. Resolves what `next` returned
 * along with the new version.
 */
export async function compareAndSwap<V extends RecordValue, R extends CasStep<V>>(
  store: Pick<RecordStore<V>, 'loadRecord' | 'saveRecord'>,
  id: string,
  next: (current: StoredRecord<V> | undefined) => R | Promise<R>,
  options: CasOptions = {},
): Promise<R & { version: string }> {
  if (store === null || typeof store !== 'object' || typeof store.loadRecord !== 'function' || typeof store.saveRecord !== 'function') {
    throw new InvalidInputError('compareAndSwap needs a store with loadRecord and saveRecord');
  }
  if (typeof next !== 'function') throw new InvalidInputError('compareAndSwap needs a next(current) function');
  if (options === null || typeof options !== 'object') throw new InvalidInputError('compareAndSwap options must be an object');
  const maxAttempts = intOption(options.maxAttempts, 20, 1, 10_000, 'cas.maxAttempts');
  const base = intOption(options.backoffMs, 2, 0, 10_000, 'cas.backoffMs');
  const sleep = options.sleep ?? defaultSleep;
  const calledAt = operationStart() ?? Date.now();
  for (let attempt = 1; ; attempt++) {
    const current = await asOperationStartedAt(calledAt, () => store.loadRecord(id));
    const step = await asOperationStartedAt(calledAt, () => next(current));
    try {
      const version = await asOperationStartedAt(calledAt, () =>
        store.saveRecord(
          id,
          step.value,
          current === undefined ? { expiresAt: step.expiresAt, ifAbsent: true } : { expiresAt: step.expiresAt, ifVersion: current.version },
        ),
      );
      return { ...step, version };
    } catch (err) {
      if (!isSessionStoreError(err, 'conflict')) throw err;
      if (attempt >= maxAttempts) throw new ConflictError(`gave up after ${attempt} compare-and-swap attempts`, { cause: err });
      await sleep(Math.random() * Math.min(100, base * 2 ** attempt));
    }
  }
}
