/**
 * Keyset files: a `KeyringSource` on one file, wrapped by a key-encryption provider (or, when
 * asked by name, cleartext). Writes are atomic (temporary file + rename, mode 0600) and every
 * change runs under an exclusive lock file, so concurrent rotations never lose a key.
 */
import { KeyStateError } from '../contract/errors.js';
import { writeFileAtomic } from './atomic-write.js';
import { nodeFs } from './fs.js';
import type { KeysetJwks } from './jwks.js';
import { type LockOptions, withFileLock } from './lock.js';
import type { KeyringSource } from './source.js';
import { type KeysetProtection, assertProtection, decodeKeyset, encodeKeyset } from './wrapped.js';

export interface KeysetFileOptions extends KeysetProtection {
  lock?: LockOptions;
}

export class KeysetFileSource implements KeyringSource {
  readonly writable = true;
  readonly description: string;

  constructor(
    readonly path: string,
    private readonly options: KeysetFileOptions,
  ) {
    assertProtection(options);
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
    await withFileLock(
      this.path,
      async () => {
        const next = await fn(await this.read());
        await writeFileAtomic(this.path, await encodeKeyset(next, this.options));
      },
      this.options.lock,
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
