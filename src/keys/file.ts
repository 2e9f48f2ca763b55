/**
 * Keyset files: a `KeyringSource` on one file, wrapped by a key-encryption provider (or, when
 * asked by name, cleartext). Writes are atomic (temporary file + rename, mode 0600) and every
 * change runs under an exclusive lock file, so concurrent rotations never lose a key.
 */
import { KeyStateError } from '../contract/errors.js';
import { acquireLock } from '../util/lockfile.js';
import { intOption, optionsObject } from '../util/options.js';
import { writeFileAtomic } from './atomic-write.js';
import { nodeFs } from './fs.js';
import type { KeysetJwks } from './jwks.js';
import { redactedView } from './redact.js';
import type { KeyringSource } from './source.js';
import { type KeysetProtection, assertProtection, decodeKeyset, encodeKeyset } from './wrapped.js';

/**
 * The keyset's lock file, `<file>.lock` (util/lockfile.ts). Its holder touches it every
 * `staleMs / 3`; a lock not touched for `staleMs` was left by a holder that crashed (or stalled)
 * and is broken. A holder whose lock was broken never writes (compare-before-write).
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
    const text = await this.readText();
    return text === undefined ? undefined : decodeKeyset(text, this.options, this.description);
  }

  /**
   * Under the lock: read, `fn`, write. Two guards keep a slow transaction from losing another's
   * key (threat: a rotation silently dropped, and every session sealed under it with it):
   * - the lock is refreshed (its mtime touched) every `staleMs / 3` while held, so no other writer
   *   judges it abandoned while this one is alive;
   * - compare-before-write: just before the rename, the lock must still be ours and the file must
   *   still hold exactly the text this transaction read. Otherwise (the lock was broken anyway, e.g.
   *   the event loop stalled longer than `staleMs`, or someone wrote without the lock) nothing is
   *   written and the transaction fails with `key_state`: run it again.
   */
  async transaction(fn: (current: KeysetJwks | undefined) => Promise<KeysetJwks>): Promise<void> {
    const { timeoutMs, staleMs } = this.lock;
    const lock = await acquireLock(`${this.path}.lock`, {
      stale: { olderThanMs: staleMs },
      waitMs: timeoutMs,
      busy: (b) => new KeyStateError(`could not lock ${b.path} within ${timeoutMs} ms (another rotation is running, or a stale lock is younger than ${staleMs} ms): ${b.detail}`),
    });
    let lost = false;
    const timer = setInterval(
      () => {
        lock.refresh().then(
          (ours) => {
            if (!ours) lost = true;
          },
          () => {},
        );
      },
      Math.max(1, Math.floor(staleMs / 3)),
    );
    (timer as { unref?: () => void }).unref?.();
    try {
      const before = await this.readText();
      const next = await fn(before === undefined ? undefined : await decodeKeyset(before, this.options, this.description));
      const encoded = await encodeKeyset(next, this.options);
      if (lost || !(await lock.refresh())) {
        throw new KeyStateError(`lost the lock on ${this.description} while changing it (held longer than lock.staleMs = ${staleMs} ms without a refresh); nothing was written: run the change again`);
      }
      if ((await this.readText()) !== before) {
        throw new KeyStateError(`${this.description} changed while this transaction held its lock (another writer); nothing was written: run the change again`);
      }
      await writeFileAtomic(this.path, encoded);
    } finally {
      clearInterval(timer);
      await lock.release();
    }
  }

  private async readText(): Promise<string | undefined> {
    try {
      return await nodeFs().promises.readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new KeyStateError(`cannot read ${this.description}`, { cause: err });
    }
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

redactedView(KeysetFileSource, (source) => ({ description: source.description }));
