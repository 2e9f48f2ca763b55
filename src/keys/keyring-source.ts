/**
 * A keyring's link to where its keyset lives between processes (a keyset file, an environment
 * variable, your own store): `reload()` and `watch()` pick up changes made elsewhere, and
 * `transaction()` changes a writable source under its lock: read the stored keyset, change it
 * through a `KeyringManager`, check the invariants, write, then install the result in the keyring.
 * Locking and re-reading first is what keeps two rotations at once (two processes, two instances)
 * from losing a key.
 */
import { KeyStateError } from '../contract/errors.js';
import { intOption } from '../util/options.js';
import { type KeyEntry, parseJwks, toJwks } from './jwks.js';
import { KeyringManager, type KeyringManagerOptions } from './keyring-manager.js';
import type { KeyringSource } from './source.js';

export interface WatchOptions {
  /** Polling interval; default 2000 ms. */
  intervalMs?: number;
  /** Called when a reload fails (the keyring keeps its current keys). Default: ignore. */
  onError?: (err: unknown) => void;
}

/**
 * What the sync may do to its keyring, handed over by the keyring itself: install a new keyset
 * (which also fires its change listeners). Nothing else gets this function, so only the source's
 * own contents ever replace a source-backed keyring's keys.
 */
export interface KeyringAccess {
  readonly options: KeyringManagerOptions;
  install(entries: KeyEntry[]): void;
}

export class KeyringSync {
  private fingerprint: string;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly source: KeyringSource,
    loaded: readonly KeyEntry[],
    private readonly ring: KeyringAccess,
  ) {
    this.fingerprint = fingerprintOf(loaded);
  }

  /** Re-reads the source; installs the keys when they changed. Resolves whether anything changed. */
  async reload(): Promise<boolean> {
    const current = await this.source.read();
    if (current === undefined) throw new KeyStateError(`${this.source.description} holds no keyset`);
    const parsed = parseJwks(current);
    const fingerprint = fingerprintOf(parsed);
    if (fingerprint === this.fingerprint) return false;
    this.ring.install(parsed);
    this.fingerprint = fingerprint;
    return true;
  }

  /** Reloads whenever the source reports a change. Returns a stop function. */
  watch(options: WatchOptions = {}): () => void {
    if (this.source.watch === undefined) throw new KeyStateError('this keyring has no source that can be watched');
    const intervalMs = intOption(options.intervalMs, 2000, 1, 3_600_000, 'watch intervalMs');
    const onError = options.onError ?? (() => {});
    return this.source.watch(
      () => {
        this.reload().catch(onError);
      },
      { intervalMs },
    );
  }

  /**
   * Under the source's lock: reads the stored keyset, runs `fn` on a manager over it, checks the
   * invariants, writes the result, then installs it in the keyring. When `fn` (or the write)
   * throws, nothing is stored and the keyring keeps the keys it had. One transaction at a time per
   * keyring; the source's lock orders them across keyrings and processes.
   */
  transaction<T>(fn: (manager: KeyringManager) => T | Promise<T>): Promise<T> {
    const source = this.source;
    if (!source.writable || source.transaction === undefined) return Promise.reject(new KeyStateError(`${source.description} is read-only`));
    const run = async (): Promise<T> => {
      let result: T | undefined;
      let installed: KeyEntry[] = [];
      await source.transaction!(async (stored) => {
        const manager = new KeyringManager(stored === undefined ? [] : parseJwks(stored), this.ring.options);
        result = await fn(manager);
        installed = manager.finish();
        return toJwks(installed);
      });
      this.ring.install(installed);
      this.fingerprint = fingerprintOf(installed);
      return result as T;
    };
    const next = this.chain.then(run, run);
    this.chain = next.catch(() => undefined);
    return next;
  }
}

/** A cheap identity of a keyset's state (kids, statuses, timestamps) for change detection. */
function fingerprintOf(entries: Iterable<KeyEntry>): string {
  const parts: string[] = [];
  for (const e of entries) parts.push(`${e.info.kid}:${e.info.purpose}:${e.info.status}:${e.info.createdAt}:${e.info.demotedAt ?? ''}`);
  return parts.sort().join('|');
}
