/**
 * Running the function of `update(id, fn)` (a `StateUpdater`) inside a compare-and-swap attempt.
 * Every store and layer calls it the same way, so the rules of `StateUpdater` hold everywhere.
 */
import { InvalidInputError } from './errors.js';
import type { SessionState, StateUpdater } from './store.js';

/** What `update(id, change)` merges into `current`: `change` itself, or what `change(current)` returns. */
export function partialOf(change: SessionState | StateUpdater, current: SessionState): unknown {
  if (typeof change !== 'function') return change;
  const result: unknown = change(current);
  if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
    // Awaiting it would hold the per-id queue across the caller's I/O, and the function runs again
    // on a conflict: a read-modify-write must compute its change synchronously.
    (result as PromiseLike<unknown>).then(undefined, () => undefined);
    throw new InvalidInputError('an update function must return the next state (or a partial) synchronously, not a promise');
  }
  return result;
}

/** The name `update`'s checks give the state they refuse. */
export function changeName(change: SessionState | StateUpdater): string {
  return typeof change === 'function' ? 'the state returned by the update function' : 'partial';
}
