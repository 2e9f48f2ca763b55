/**
 * `VersionedStore`: the session-level contract derived from the record-level one, shared by every
 * backend and layer. A subclass supplies `loadRecord` / `saveRecord` / `deleteRecord`, `listActive`
 * and `cleanupExpired`; this class supplies `save` / `load` / `delete` / `update` / `updateTtl`
 * with input checks, expiry against the injected clock, and per-id queued compare-and-swap loops.
 */
import { type CasOptions, compareAndSwap } from './cas.js';
import { BackendUnavailableError, ExpiredError, InvalidInputError, NotFoundError } from './errors.js';
import { KeyedQueue } from './queue.js';
import { optionsObject } from '../util/options.js';
import type {
  DeleteRecordOptions,
  ListOptions,
  ListPage,
  RecordStore,
  RecordValue,
  SaveOptions,
  SaveRecordOptions,
  SessionState,
  StateUpdater,
  StoredRecord,
} from './store.js';
import { changeName, partialOf } from './updater.js';
import { assertPlainState, assertSessionId, assertState, mergeState, normalizeTtl } from './validate.js';

/** 30 minutes: the idle timeout OWASP suggests for most applications. */
export const DEFAULT_TTL_MS = 30 * 60 * 1000;

export interface VersionedStoreOptions {
  /** Clock in epoch milliseconds; inject a fake one in tests. Default `Date.now`. */
  now?: () => number;
  /** TTL for `save` without `ttlMs`. Default 30 minutes. */
  defaultTtlMs?: number;
  /** Bounds of the compare-and-swap loop behind `update` / `updateTtl`. */
  cas?: CasOptions;
}

export abstract class VersionedStore<V extends RecordValue = RecordValue> implements RecordStore<V> {
  protected readonly now: () => number;
  protected readonly defaultTtlMs: number;
  protected readonly casOptions: CasOptions;
  /** Serialises compare-and-swap loops per id within this process. */
  protected readonly queue = new KeyedQueue();
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(options: VersionedStoreOptions = {}) {
    options = optionsObject(options, 'store options');
    this.now = options.now ?? Date.now;
    this.defaultTtlMs = options.defaultTtlMs === undefined ? DEFAULT_TTL_MS : normalizeTtl(options.defaultTtlMs);
    this.casOptions = options.cas ?? {};
  }

  abstract loadRecord(id: string): Promise<StoredRecord<V> | undefined>;
  abstract saveRecord(id: string, value: V, options: SaveRecordOptions): Promise<string>;
  abstract deleteRecord(id: string, options?: DeleteRecordOptions): Promise<boolean>;
  abstract listActive(options?: ListOptions): Promise<ListPage>;
  abstract cleanupExpired(): Promise<number>;

  /**
   * True when this store's own `saveRecord` serializes every plain state it is given with
   * `serializeState` / `stateJson`, which validate it completely in the same step. The rule of this
   * library: the layer that serializes a state validates it. So such a store's `save` / `update`
   * check only the top level, and a store of yours (false, the default) is validated completely
   * here, at its entry points. Only this store reads it; nothing asks the stores below.
   */
  protected readonly serializesOnSave: boolean = false;

  /** Checks a state (or partial) on its way in: see `serializesOnSave`. */
  protected assertIncoming(state: unknown, what: string): asserts state is SessionState {
    if (this.serializesOnSave) assertPlainState(state, what);
    else assertState(state, what);
  }

  /** Turns a session-level state into what this store keeps in a record. */
  protected abstract toRecordValue(state: SessionState): V;
  /** Turns a record's value back into a session-level state. */
  protected abstract fromRecordValue(value: V): SessionState;

  /** Rejects every call made after `close()`. */
  protected assertOpen(): void {
    if (this.closed) throw new BackendUnavailableError('store is closed');
  }

  /** Connects / prepares; idempotent. Subclasses override when they have work to do. */
  async start(): Promise<void> {
    this.assertOpen();
  }

  /**
   * Waits for the compare-and-swap loops already queued to finish (their own reads and writes still
   * go through), then refuses every later call and releases resources. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.queue.idle();
      this.closed = true;
      await this.onClose();
    })();
    return this.closing;
  }

  /** Hook for subclasses: stop timers, release what the store itself created. */
  protected async onClose(): Promise<void> {}

  protected expiresAtFor(ttlMs: number | undefined): number {
    return this.now() + (ttlMs === undefined ? this.defaultTtlMs : normalizeTtl(ttlMs));
  }

  async save(id: string, state: SessionState, options: SaveOptions = {}): Promise<void> {
    this.assertOpen();
    assertSessionId(id);
    this.assertIncoming(state, 'state');
    const expiresAt = this.expiresAtFor(options.ttlMs);
    await this.queue.run(id, () => this.saveRecord(id, this.toRecordValue(state), { expiresAt }));
  }

  async load(id: string): Promise<SessionState> {
    this.assertOpen();
    assertSessionId(id);
    return this.fromRecordValue(this.live(await this.loadRecord(id)).value);
  }

  async delete(id: string): Promise<void> {
    this.assertOpen();
    assertSessionId(id);
    await this.queue.run(id, () => this.deleteRecord(id));
  }

  async update(id: string, change: SessionState | StateUpdater): Promise<void> {
    this.assertOpen();
    assertSessionId(id);
    if (typeof change !== 'function') this.assertIncoming(change, 'partial');
    await this.mutate(id, (rec) => {
      // A function runs here, inside the compare-and-swap loop: again on every attempt (see StateUpdater).
      const current = this.fromRecordValue(rec.value);
      const partial = partialOf(change, current);
      this.assertIncoming(partial, changeName(change));
      return { value: this.toRecordValue(mergeState(current, partial)), expiresAt: rec.expiresAt };
    });
  }

  async updateTtl(id: string, ttlMs: number): Promise<void> {
    this.assertOpen();
    assertSessionId(id);
    const ttl = normalizeTtl(ttlMs);
    await this.mutate(id, (rec) => ({ value: rec.value, expiresAt: this.now() + ttl }));
  }

  /**
   * Queued compare-and-swap on a live record: `not_found` / `expired` stop the loop, and since
   * the write is conditional on the version read, a record deleted meanwhile is never resurrected.
   */
  protected mutate(id: string, next: (rec: StoredRecord<V>) => { value: V; expiresAt: number }): Promise<unknown> {
    return this.queue.run(id, () => compareAndSwap<V, { value: V; expiresAt: number }>(this, id, (rec) => next(this.live(rec)), this.casOptions));
  }

  /** The record if it exists and has not expired by the injected clock. */
  protected live(rec: StoredRecord<V> | undefined): StoredRecord<V> {
    if (rec === undefined) throw new NotFoundError();
    if (rec.expiresAt <= this.now()) throw new ExpiredError();
    return rec;
  }
}

/**
 * For backends that keep plain states and sealed bytes alike. Its entry points (`save`, `update`)
 * validate every state they are given completely (`serializesOnSave` is false), so a store you
 * write that keeps states as they come (a Map, a document database) never stores a state the
 * contract refuses. The built-in backends validate where they serialize (`encodeRecordValue`) and
 * set `serializesOnSave`.
 */
export abstract class BackendStore extends VersionedStore<RecordValue> {
  protected toRecordValue(state: SessionState): RecordValue {
    return state;
  }

  protected fromRecordValue(value: RecordValue): SessionState {
    // A sealed envelope is only meaningful to the layer that sealed it.
    if (value instanceof Uint8Array) throw new InvalidInputError('record holds sealed bytes: load it through the layer that sealed it');
    return value;
  }
}
