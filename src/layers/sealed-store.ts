/**
 * `SealedStore`: the narrow seam between the ownership layer (and revocation marks) and the layers
 * below it. It speaks in sealed records `{ meta, data }` whose deadlines come from the sealed meta,
 * never from the backend's expiry (which anyone with database access can change). `TtlStore`
 * implements it; ownership depends on this interface and the pure rules of `ttl-policy.ts`, not on
 * the class.
 *
 * Validation rule of the stack: the layer that serializes a state validates it, completely, in the
 * same step. Under `secureStore` that is the encrypting layer, so a caller of `saveSealed` checks
 * only that its data is a plain object.
 */
import { type CasOptions, type CasStep, compareAndSwap } from '../contract/cas.js';
import type { DeleteRecordOptions, ListOptions, ListPage, SaveRecordOptions, SessionState } from '../contract/store.js';
import { type Sealed, toState } from './sealed.js';
import type { TtlPolicy } from './ttl-policy.js';

export interface SealedRecord {
  /** The checked sealed shape: meta and the user's data. */
  sealed: Sealed;
  version: string;
  /** When the record expires by its sealed meta: idle expiry, never past the absolute deadline. */
  expiresAt: number;
}

export interface SealedStore {
  /** The TTL rules this store enforces (ownership builds its writes with the same ones). */
  readonly policy: TtlPolicy;
  /** The record, opened and checked, with its sealed expiry; expired records too (the caller decides). */
  loadSealed(id: string): Promise<SealedRecord | undefined>;
  /**
   * Seals and writes; resolves the new version or rejects `conflict` when `ifVersion`/`ifAbsent`
   * fails. The expiry is clamped to `meta.absoluteAt` and sealed into the meta.
   */
  saveSealed(id: string, sealed: Sealed, options: SaveRecordOptions): Promise<string>;
  deleteRecord(id: string, options?: DeleteRecordOptions): Promise<boolean>;
  /** Runs `task` behind every queued write of `id` in this process (one writer per id at a time). */
  serialize<T>(id: string, task: () => Promise<T>): Promise<T>;
  /**
   * Sliding renewal after a read of `rec` (see `renewedExpiry`): one conditional write, never
   * retried, never failing the read; counted in the store's stats.
   */
  renew(id: string, rec: SealedRecord): Promise<void>;
  listActive(options?: ListOptions): Promise<ListPage>;
  /**
   * The ids filed under `index` (expired ones too), when the backend keeps the per-index listing.
   * Every write of a record whose sealed meta names a subject files it under that subject hash.
   */
  readonly listByIndex?: ((index: string, options?: ListOptions) => Promise<ListPage>) | undefined;
  cleanupExpired(): Promise<number>;
}

export interface SealedStep {
  sealed: Sealed;
  expiresAt: number;
}

/**
 * `compareAndSwap` (same bounds and backoff) over sealed records: `next` gets the current record
 * (or undefined) and returns what to write, or throws to stop.
 */
export function swapSealed<R extends SealedStep>(
  store: Pick<SealedStore, 'loadSealed' | 'saveSealed'>,
  id: string,
  next: (current: SealedRecord | undefined) => R | Promise<R>,
  options?: CasOptions,
): Promise<R & { version: string }> {
  // The loop only carries records between loadRecord, next and saveRecord: `value` is always the
  // sealed shape this adapter put there (from loadSealed or from `next`), never anything else.
  return compareAndSwap<SessionState, CasStep<SessionState> & R>(
    {
      loadRecord: async (key) => {
        const rec = await store.loadSealed(key);
        return rec === undefined ? undefined : { value: toState(rec.sealed), version: rec.version, expiresAt: rec.expiresAt };
      },
      saveRecord: (key, value, opts) => store.saveSealed(key, value as unknown as Sealed, opts),
    },
    id,
    async (cur) => {
      const step = await next(cur === undefined ? undefined : { sealed: cur.value as unknown as Sealed, version: cur.version, expiresAt: cur.expiresAt });
      return { ...step, value: toState(step.sealed) };
    },
    options,
  );
}
