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
