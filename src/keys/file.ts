/**
 * Keyset files: a `KeyringSource` on one file, wrapped by a key-encryption provider (or, when
 * asked by name, cleartext). Writes are atomic (temporary file + rename, mode 0600) and every
 * change runs under an exclusive lock file, so concurrent rotations never lose a key.
 */
import { KeyStateError } from '../contract/errors.js';
import { withLock } from '../util/lockfile.js';
import { intOption, optionsObject } from '../util/options.js';
import { writeFileAtomic } from './atomic-write.js';
import { nodeFs } from './fs.js';
import type { KeysetJwks } from './jwks.js';
import type { KeyringSource } from './source.js';
import { type KeysetProtection, assertProtection, decodeKeyset, encodeKeyset } from './wrapped.js';

/**
 * The keyset's lock file, `<file>.lock` (util/lockfile.ts). A lock older than `staleMs` was left by
 * a holder that crashed and is broken: keep it far above how long a rotation takes (well under a
 * second plus one scrypt run).
 */
export interface LockOptions {
  /** Give up with `key_state` after waiting this long for another writer; default 10 s. */
  timeoutMs?: number;
  /** Break a lock file older than this; default 60 s. */
  staleMs?: number;
}

export interface KeysetFileOptions extends KeysetProtection {
  lock?: LockOptions;
}

export class KeysetFileSource implements KeyringSource {
  readonly writable = true;
  readonly description: string;
  private readonly lock: Required<LockOptions>;

  constructor(
    readonly path: string,
    private readonly options: KeysetFileOptions,
  ) {
    optionsObject(options, 'KeysetFileSource options', false);
    assertProtection(options);
    this.lock = {
      timeoutMs: intOption(options.lock?.timeoutMs, 10_000, 0, 3_600_000, 'lock.timeoutMs'),
      staleMs: intOption(options.lock?.staleMs, 60_000, 1, 86_400_000, 'lock.staleMs'),
    };
    this.description = `keyset file ${path}`;
  }

  async read(): Promise<KeysetJwks | undefined> {
    let text: string;
    try {
      text = await nodeFs().promises.readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new KeyStateError(`cannot read ${this.description}`, { cause: err });
    }
    return decodeKeyset(text, this.options, this.description);
  }

  async transaction(fn: (current: KeysetJwks | undefined) => Promise<KeysetJwks>): Promise<void> {
    const { timeoutMs, staleMs } = this.lock;
    await withLock(
      `${this.path}.lock`,
      async () => {
        const next = await fn(await this.read());
        await writeFileAtomic(this.path, await encodeKeyset(next, this.options));
      },
      {
        stale: { olderThanMs: staleMs },
        waitMs: timeoutMs,
        busy: (b) => new KeyStateError(`could not lock ${b.path} within ${timeoutMs} ms (another rotation is running, or a stale lock is younger than ${staleMs} ms): ${b.detail}`),
      },
    );
  }

  watch(onChange: () => void, options: { intervalMs: number }): () => void {
    const fs = nodeFs();
    // watchFile polls stat(): unlike fs.watch it keeps following the path across atomic renames.
    const listener = (cur: { mtimeMs: number; size: number; ino: number }, prev: { mtimeMs: number; size: number; ino: number }) => {
      if (cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size || cur.ino !== prev.ino) onChange();
    };
    fs.watchFile(this.path, { interval: options.intervalMs, persistent: false }, listener);
    return () => fs.unwatchFile(this.path, listener);
  }
}
