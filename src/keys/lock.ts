/**
 * An exclusive lock across processes for keyset read-modify-write: `<file>.lock`, created with
 * O_EXCL. Two rotations at once would otherwise both read the same keyset and the second write
 * would drop the first one's new key (and every session sealed under it).
 *
 * A lock older than `staleMs` (its holder crashed) is broken. Breaking is best-effort - keep
 * `staleMs` far above how long a rotation takes (the default is 60 s; a rotation takes well under
 * a second plus one scrypt run).
 */
import { KeyStateError } from '../contract/errors.js';
import { base64urlEncode } from '../util/bytes.js';
import { secureRandom } from '../util/random.js';
import { nodeFs } from './fs.js';

export interface LockOptions {
  /** Give up with `key_state` after this long; default 10 s. */
  timeoutMs?: number;
  /** Break a lock file older than this; default 60 s. */
  staleMs?: number;
}

export async function withFileLock<T>(path: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const fsp = nodeFs().promises;
  const lockPath = `${path}.lock`;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const staleMs = options.staleMs ?? 60_000;
  const token = `${typeof process === 'object' ? process.pid : 0} ${Date.now()} ${base64urlEncode(secureRandom(12))}\n`;
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      const h = await fsp.open(lockPath, 'wx', 0o600);
      try {
        await h.writeFile(token, 'utf8');
      } finally {
        await h.close();
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      try {
        const st = await fsp.stat(lockPath);
        if (Date.now() - st.mtimeMs > staleMs) {
          await fsp.rm(lockPath, { force: true });
          continue;
        }
      } catch {
        continue; // released between our open and stat: try again at once
      }
      if (Date.now() >= deadline) throw new KeyStateError(`could not lock ${lockPath} within ${timeoutMs} ms (another rotation is running, or a stale lock is younger than ${staleMs} ms)`);
      await new Promise((r) => setTimeout(r, Math.min(100, 5 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random())));
    }
  }
  try {
    return await fn();
  } finally {
    // Remove the lock only if it is still ours (it may have been broken as stale meanwhile).
    try {
      if ((await fsp.readFile(lockPath, 'utf8')) === token) await fsp.rm(lockPath, { force: true });
    } catch {
      // already gone
    }
  }
}
