/**
 * Time plumbing shared by every module: one `sleep` and one deadline race. Deadlines are epoch
 * milliseconds on the wall clock (`Date.now`), since they bound real I/O, not session lifetimes
 * (those use the injected clock).
 */

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Settles like `p`, or rejects with `onTimeout()` once `deadline` (epoch ms) has passed. The losing
 * promise is observed, so it never becomes an unhandled rejection.
 */
export function withDeadline<T>(p: Promise<T>, deadline: number, onTimeout: () => Error): Promise<T> {
  return raceDeadline(p, deadline, () => {
    throw onTimeout();
  });
}

/**
 * Settles like `p`, or once `deadline` (epoch ms) has passed with what `onTimeout()` returns (or
 * throws): for callers that must clean up after the loser, e.g. give back a pooled connection that
 * arrives late, and so want a value to test rather than an error to catch.
 */
export function raceDeadline<T, U>(p: Promise<T>, deadline: number, onTimeout: () => U): Promise<T | U> {
  p.catch(() => {});
  const ms = Math.max(0, deadline - Date.now());
  return new Promise<T | U>((resolve, reject) => {
    const timer = setTimeout(() => {
      try {
        resolve(onTimeout());
      } catch (err) {
        reject(err);
      }
    }, ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

// ---- when the current operation was called ------------------------------------------------------

/**
 * The call time of the operation on whose behalf the code running right now works, or undefined.
 *
 * Why: a call's time bound must include the time it spent queued behind other calls on the same id
 * (otherwise the k-th of k queued calls settles after k bounds), and the backend that enforces the
 * bound sits under layers whose record-level signatures carry no deadline. So the queue and the
 * compare-and-swap loop set this around each SYNCHRONOUS call they make into the store below
 * (`asOperationStartedAt`), and a backend reads it on entry, before its first `await`, to count its
 * budget from the caller's call (`operationDeadline`). JavaScript runs one synchronous stretch at a
 * time, so the value cannot leak into another operation; a path that awaits before reaching the
 * backend simply loses it, and the backend falls back to counting from its own entry.
 */
let startedAt: number | undefined;

/** When the current operation was called (epoch ms), if one is running synchronously right now. */
export function operationStart(): number | undefined {
  return startedAt;
}

/** Runs `fn` synchronously as part of an operation called at `start` (epoch ms); restores the previous value. */
export function asOperationStartedAt<T>(start: number | undefined, fn: () => T): T {
  const previous = startedAt;
  startedAt = start;
  try {
    return fn();
  } finally {
    startedAt = previous;
  }
}

/**
 * The deadline (epoch ms) of an operation with a budget of `budgetMs`: counted from when the current
 * operation was called (time spent queued counts), or from now outside any operation.
 */
export function operationDeadline(budgetMs: number): number {
  return (startedAt ?? Date.now()) + budgetMs;
}
