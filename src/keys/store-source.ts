/**
 * A keyset kept in the session store itself (its keyset slot, contract/keyset-slot.ts), for
 * fleets with no shared file system: every process reads the same record, a rotation (from the
 * CLI or the API) is a compare-and-swap on it, and every process picks it up by polling the
 * record's version.
 *
 * - At rest it is a wrapped keyset (./wrapped.ts) under the key-encryption provider: the store,
 *   its operators and its backups only ever see ciphertext. Cleartext only by name (tests).
 * - `transaction` = read, change, write with `ifVersion` (or `ifAbsent` to create), retried on
 *   `conflict` a bounded number of times: two rotations at once never lose a key, because the
 *   loser re-reads and applies its change on top of the winner's keyset.
 * - `watch` polls the version every `intervalMs` (default 2 s through `keyring.watch()`), so a
 *   change reaches every watching process within one interval plus one read.
 * - A vanished record (deleted, or evicted by a Redis `allkeys-*` policy) is never re-created by a
 *   process that has seen it: a fresh keyset would split the fleet (threat: sessions sealed under
 *   keys the rest of the fleet does not have, and a rotation that silently drops every key). The
 *   process keeps the ring it has and reports the loss through `watch`'s `onError`.
 */
import { ConflictError, InvalidInputError, KeyStateError, isSessionStoreError } from '../contract/errors.js';
import type { KeysetSlotStore, StoredKeysetText } from '../contract/keyset-slot.js';
import { intOption, optionsObject } from '../util/options.js';
import type { KeysetJwks } from './jwks.js';
import { redactedView } from './redact.js';
import type { KeyringSource } from './source.js';
import { type KeysetProtection, assertProtection, decodeKeyset, encodeKeyset } from './wrapped.js';

export interface StoreKeysetOptions extends KeysetProtection {
  /**
   * Let this source create the keyset (with `ifAbsent`) while the store holds none and this source
   * has never seen one. Default false: a missing keyset is a `key_state` error.
   */
  createIfMissing?: boolean;
  /** Compare-and-swap attempts of one transaction before it fails with `key_state`; default 8 (1..100). */
  maxAttempts?: number;
}

/** How to create a store-held keyset, for error messages. */
export const CREATE_STORE_KEYSET_HINT = 'create it once with `sealed-session keys generate --keyset-in-store` (or createIfMissing: true in one deliberate place)';

export class StoreKeysetSource implements KeyringSource {
  readonly writable = true;
  readonly description: string;
  private readonly maxAttempts: number;
  private readonly protection: KeysetProtection;
  private createIfMissing: boolean;
  /** Whether a keyset was ever read from or written to the store by this source. */
  private seen = false;
  /** The version last read or written by this source (the poller starts from it). */
  private version: string | undefined;

  constructor(
    private readonly store: KeysetSlotStore,
    options: StoreKeysetOptions,
  ) {
    if (store === null || typeof store !== 'object' || typeof (store as Partial<KeysetSlotStore>).loadKeysetText !== 'function') {
      throw new InvalidInputError('StoreKeysetSource needs a store with a keyset slot (every built-in backend has one)');
    }
    options = optionsObject(options, 'StoreKeysetSource options', false);
    assertProtection(options);
    this.protection = options.provider !== undefined ? { provider: options.provider } : { insecureCleartext: true };
    this.maxAttempts = intOption(options.maxAttempts, 8, 1, 100, 'maxAttempts');
    this.createIfMissing = options.createIfMissing === true;
    this.description = `the keyset stored in ${store.constructor?.name ?? 'the store'}`;
  }

  async read(): Promise<KeysetJwks | undefined> {
    const stored = await this.load();
    return stored === undefined ? undefined : this.decode(stored);
  }

  async transaction(fn: (current: KeysetJwks | undefined) => Promise<KeysetJwks>): Promise<void> {
    let last: unknown;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const stored = await this.load();
      if (stored === undefined && !this.createIfMissing) throw new KeyStateError(missingMessage(this.description, this.seen));
      const next = await fn(stored === undefined ? undefined : await this.decode(stored));
      const text = await encodeKeyset(next, this.protection);
      try {
        const version = await this.store.saveKeysetText(text, stored === undefined ? { ifAbsent: true } : { ifVersion: stored.version });
        this.noteSeen(version);
        return;
      } catch (err) {
        if (!(err instanceof ConflictError) && !isSessionStoreError(err, 'conflict')) throw err;
        last = err;
        // Another rotation won this round: read its keyset and apply the change on top of it.
        await backoff(attempt);
      }
    }
    throw new KeyStateError(`${this.description} changed concurrently ${this.maxAttempts} times; nothing was written: run the change again`, { cause: last });
  }

  /**
   * Polls the stored version every `intervalMs`: calls `onChange` when it differs from the last one
   * seen, when the record vanished, or when a poll fails (once per streak: the reload that follows
   * reports the reason through `onError`). The timer is unref'd: it never keeps a process alive.
   */
  watch(onChange: () => void, options: { intervalMs: number }): () => void {
    let known: string | undefined | null = this.version; // null: the last poll failed
    let busy = false;
    let stopped = false;
    const poll = async () => {
      if (busy || stopped) return;
      busy = true;
      let now: string | undefined | null;
      try {
        now = (await this.store.loadKeysetText())?.version;
      } catch {
        now = null;
      } finally {
        busy = false;
      }
      if (stopped || now === known) return;
      known = now;
      onChange();
    };
    const timer = setInterval(() => void poll(), options.intervalMs);
    (timer as { unref?: () => void }).unref?.();
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }

  private async load(): Promise<StoredKeysetText | undefined> {
    const stored = await this.store.loadKeysetText();
    if (stored === undefined && this.seen) throw new KeyStateError(missingMessage(this.description, true));
    if (stored !== undefined) this.noteSeen(stored.version);
    return stored;
  }

  private decode(stored: StoredKeysetText): Promise<KeysetJwks> {
    return decodeKeyset(stored.text, this.protection, this.description);
  }

  private noteSeen(version: string): void {
    this.seen = true;
    this.version = version;
    // Once a keyset exists, this source never creates another (see the header).
    this.createIfMissing = false;
  }
}

export function missingMessage(description: string, vanished: boolean): string {
  return vanished
    ? `${description} has vanished (deleted, or evicted by the server): this process keeps the keys it has and will not create a new keyset, which would split the fleet; restore the record from a backup of the wrapped keyset`
    : `${description} does not exist yet: ${CREATE_STORE_KEYSET_HINT}`;
}

/** A short random pause before the next attempt, growing with each conflict (at most 200 ms). */
function backoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(200, 5 * 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

redactedView(StoreKeysetSource, (source) => ({ description: source.description }));
