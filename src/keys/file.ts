/**
 * Keyset files: a `KeyringSource` on one file, wrapped by a key-encryption provider (or, when
 * asked by name, cleartext). Writes are atomic (temporary file + rename, mode 0600) and every
 * change runs under an exclusive lock file, so concurrent rotations never lose a key.
 */
import { KeyStateError } from '../contract/errors.js';
import { acquireLock } from '../util/lockfile.js';
import { intOption, optionsObject } from '../util/options.js';
import { isReadOnlyError, writeFileAtomic } from './atomic-write.js';
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

/**
 * A change to a keyset file this process may not write (a mounted secret, a read-only volume):
 * `key_state`, and nothing written. It carries the changed keyset, encoded as the file would have
 * held it (wrapped by the provider; cleartext only for a cleartext keyset), for the operator to put
 * into the secret manager that owns the file. The text sits in a private field: logging or
 * serializing the error never shows it.
 */
export class ReadOnlyKeysetError extends KeyStateError {
  readonly path: string;
  /** True when the keyset (and so `unsafeNewKeysetText()`) is cleartext key material. */
  readonly cleartext: boolean;
  #text: string;

  constructor(source: string, path: string, text: string, cleartext: boolean, cause: unknown) {
    super(`${source} is read-only here (${(cause as { code?: string }).code ?? 'not writable'}): nothing was written; put the new keyset into whatever manages the file (e.g. your secret manager)`, { cause });
    this.path = path;
    this.cleartext = cleartext;
    this.#text = text;
  }

  /** The keyset as the file should now hold it. Cleartext key material when `cleartext` is true. */
  unsafeNewKeysetText(): string {
    return this.#text;
  }
}

export class KeysetFileSource implements KeyringSource {
  readonly writable = true;
  readonly description: string;
  private readonly lock: Required<LockOptions>;
  private readSignature: string | undefined;

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
    // Taken BEFORE the read: a watch started after this read compares against it, so a change
    // landing between the read and the watch's first poll is still seen (at worst one extra reload).
    this.readSignature = await this.signature();
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
    let lock;
    try {
      lock = await acquireLock(`${this.path}.lock`, {
        stale: { olderThanMs: staleMs },
        waitMs: timeoutMs,
        busy: (b) => new KeyStateError(`could not lock ${b.path} within ${timeoutMs} ms (another rotation is running, or a stale lock is younger than ${staleMs} ms): ${b.detail}`),
      });
    } catch (err) {
      // The directory cannot take a lock file: the keyset lives on a read-only mount (a mounted
      // secret). Nothing can be written, so no lock is needed to compute the change for the operator.
      if (!isReadOnlyError(err)) throw err;
      const before = await this.readText();
      const next = await fn(before === undefined ? undefined : await decodeKeyset(before, this.options, this.description));
      throw this.readOnly(await encodeKeyset(next, this.options), err);
    }
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
      try {
        await writeFileAtomic(this.path, encoded);
      } catch (err) {
        throw isReadOnlyError(err) ? this.readOnly(encoded, err) : err;
      }
    } finally {
      clearInterval(timer);
      await lock.release();
    }
  }

  /** What identifies the file's current contents cheaply: the stat() of what the path resolves to. */
  private signature(): Promise<string> {
    return nodeFs()
      .promises.stat(this.path, { bigint: true })
      .then(
        (st) => `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`,
        (err: NodeJS.ErrnoException) => `error:${err.code ?? 'unknown'}`,
      );
  }

  private readOnly(encoded: string, cause: unknown): ReadOnlyKeysetError {
    return new ReadOnlyKeysetError(this.description, this.path, encoded, this.options.provider === undefined, cause);
  }

  private async readText(): Promise<string | undefined> {
    try {
      return await nodeFs().promises.readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new KeyStateError(`cannot read ${this.description}`, { cause: err });
    }
  }

  /**
   * Polls stat() every `intervalMs` (one timer per watch, unref'd: it never keeps the process
   * alive) and calls `onChange` when the file is another one or was rewritten. stat() follows
   * symbolic links, so a swapped link (Kubernetes' `..data` directory link) shows as another inode;
   * an atomic rename shows as another inode too, an in-place write as another mtime or size. A
   * missing or unreadable file is a state of its own: its return counts as a change.
   */
  watch(onChange: () => void, options: { intervalMs: number }): () => void {
    let last = this.readSignature;
    let busy = false;
    let stopped = false;
    const poll = () => {
      if (busy) return; // a slow file system: never pile up stat() calls
      busy = true;
      void this.signature()
        .then((now) => {
          const changed = last !== undefined && now !== last;
          last = now;
          if (changed && !stopped) onChange();
        })
        .finally(() => {
          busy = false;
        });
    };
    poll();
    const timer = setInterval(poll, options.intervalMs);
    (timer as { unref?: () => void }).unref?.();
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }
}

redactedView(KeysetFileSource, (source) => ({ description: source.description }));
