/**
 * TtlStore: idle timeout and absolute deadline, enforced from the sealed `meta` on every read
 * against an injected clock. The backend's own expiry (native TTL, listing, cleanup) is only a hint
 * for space: a backend whose TTL was changed by someone with database access, or that has none,
 * cannot keep a session alive past what the sealed meta says.
 *
 * Record level: values are the sealed shape `{ meta, data }`; a record's `expiresAt` is
 * min(meta.expiresAt, meta.absoluteAt), and every write clamps the idle expiry to the absolute
 * deadline, so no `updateTtl`, renewal or re-save can push a session past it (session fixation of
 * an eternal session). Session level: `data` in, `data` out. The rules themselves are the pure
 * functions of `ttl-policy.ts`; this class is the `SealedStore` the ownership layer talks to.
 */
import type { VersionedStoreOptions } from '../contract/versioned-store.js';
import { ExpiredError, NotFoundError } from '../contract/errors.js';
import type { RecordStore, SaveOptions, SaveRecordOptions, SessionState, StateUpdater, StoredRecord } from '../contract/store.js';
import { changeName, partialOf } from '../contract/updater.js';
import { MAX_TTL_MS, assertExpiresAt, assertSessionId, mergeState } from '../contract/validate.js';
import { intOption, optionsObject } from '../util/options.js';
import { LayerStore } from './layer-store.js';
import { redactedView } from '../keys/redact.js';
import { type Sealed, asSealed, isSealed, toState } from './sealed.js';
import { type SealedRecord, type SealedStep, type SealedStore, swapSealed } from './sealed-store.js';
import {
  type TtlPolicy,
  type TtlPolicyOptions,
  clampToDeadline,
  expiryOf,
  legacyMeta,
  newMeta,
  renewedExpiry,
  resavedMeta,
  roundTtl,
  ttlPolicy,
} from './ttl-policy.js';

export interface TtlOptions extends Omit<VersionedStoreOptions, 'defaultTtlMs'>, TtlPolicyOptions {
  /** Run `cleanupExpired` this often (ms). The timer never keeps the process alive. Default off. */
  sweepIntervalMs?: number;
  /** Where sweep errors go (they are reported, never thrown). Default: ignored. */
  onSweepError?: (err: unknown) => void;
  /**
   * Migration: treat records that are not in the sealed shape (plain states written before this
   * layer was added) as sessions created now with the backend's expiry. Off by default.
   */
  acceptLegacyStates?: boolean;
}

export interface TtlStats {
  /** Sliding renewals written (each re-seals the record: it spends a nonce of the encryption key). */
  renewals: number;
  /** Renewals that lost a race or failed; the caller's request went on regardless. */
  renewalsSkipped: number;
  sweeps: number;
  sweepErrors: number;
}

export class TtlStore extends LayerStore implements SealedStore {
  readonly policy: TtlPolicy;
  private readonly acceptLegacy: boolean;
  private readonly timer: ReturnType<typeof setInterval> | undefined;
  private readonly counters: TtlStats = { renewals: 0, renewalsSkipped: 0, sweeps: 0, sweepErrors: 0 };

  constructor(inner: RecordStore, options: TtlOptions = {}) {
    options = optionsObject(options, 'TtlStore options');
    const policy = ttlPolicy(options);
    super(inner, { ...options, defaultTtlMs: policy.idleMs });
    this.policy = policy;
    this.acceptLegacy = options.acceptLegacyStates ?? false;
    if (options.sweepIntervalMs !== undefined) {
      const interval = intOption(options.sweepIntervalMs, 0, 1, MAX_TTL_MS, 'sweepIntervalMs');
      const onError = options.onSweepError ?? (() => {});
      this.timer = setInterval(() => {
        this.counters.sweeps++;
        this.cleanupExpired().catch((err: unknown) => {
          this.counters.sweepErrors++;
          onError(err);
        });
      }, interval);
      // A sweep timer must never keep a process alive that has nothing else to do.
      (this.timer as { unref?: () => void }).unref?.();
    }
  }

  /** Idle timeout: the TTL of a save without one. */
  get idleMs(): number {
    return this.policy.idleMs;
  }

  /** Absolute lifetime from creation. */
  get absoluteMs(): number {
    return this.policy.absoluteMs;
  }

  serialize<T>(id: string, task: () => Promise<T>): Promise<T> {
    return this.queue.run(id, task);
  }

  stats(): TtlStats {
    return { ...this.counters };
  }

  protected override async onClose(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    await super.onClose();
  }

  // ------------------------------------------------------------------ sealed records

  async loadSealed(id: string): Promise<SealedRecord | undefined> {
    this.assertOpen();
    const rec = await this.inner.loadRecord(id);
    if (rec === undefined) return undefined;
    let sealed: Sealed;
    if (this.acceptLegacy && !isSealed(rec.value) && !(rec.value instanceof Uint8Array)) {
      sealed = { meta: legacyMeta(this.policy, this.now(), rec.expiresAt), data: rec.value };
    } else {
      sealed = asSealed(rec.value);
    }
    return { sealed, version: rec.version, expiresAt: expiryOf(sealed.meta) };
  }

  /**
   * Writes a value in the sealed shape, built by the caller from meta it read through this layer
   * (checked) or made with the policy. The layer below serializes the data, and so validates it.
   * Throws synchronously on a closed store or a bad expiry.
   */
  saveSealed(id: string, sealed: Sealed, options: SaveRecordOptions): Promise<string> {
    this.assertOpen();
    assertExpiresAt(options.expiresAt);
    const expiresAt = clampToDeadline(sealed.meta, options.expiresAt);
    const next: Sealed = { meta: sealed.meta.expiresAt === expiresAt ? sealed.meta : { ...sealed.meta, expiresAt }, data: sealed.data };
    // A session bound to an owner is filed under its subject hash (the keyed hash the ownership
    // layer sealed into meta.subject, never the subject), on every write, whichever path made it:
    // `revokeOwner` finds the subject's sessions there, and `for(owner).listActive` lists them.
    const index = options.index ?? sealed.meta.subject;
    return this.inner.saveRecord(id, toState(next), index === undefined ? { ...options, expiresAt } : { ...options, expiresAt, index });
  }

  async renew(id: string, rec: SealedRecord): Promise<void> {
    const expiresAt = renewedExpiry(this.policy, rec.sealed.meta, rec.expiresAt, this.now());
    if (expiresAt === rec.expiresAt) return;
    try {
      await this.saveSealed(id, rec.sealed, { expiresAt, ifVersion: rec.version });
      this.counters.renewals++;
    } catch {
      // A lost race means someone else just wrote the session, which renewed it anyway.
      this.counters.renewalsSkipped++;
    }
  }

  // ------------------------------------------------------------------ record level

  async loadRecord(id: string): Promise<StoredRecord<SessionState> | undefined> {
    const rec = await this.loadSealed(id);
    return rec === undefined ? undefined : { value: toState(rec.sealed), version: rec.version, expiresAt: rec.expiresAt };
  }

  // Not `async`: see EncryptedStore.saveRecord.
  saveRecord(id: string, value: SessionState, options: SaveRecordOptions): Promise<string> {
    try {
      return this.saveSealed(id, asSealed(value), options);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  // ------------------------------------------------------------------ session level

  protected toRecordValue(state: SessionState): SessionState {
    return toState({ meta: newMeta(this.policy, this.now(), this.policy.idleMs), data: state });
  }

  protected fromRecordValue(value: SessionState): SessionState {
    return asSealed(value).data;
  }

  override async save(id: string, state: SessionState, options: SaveOptions = {}): Promise<void> {
    this.assertOpen();
    assertSessionId(id);
    this.assertIncoming(state, 'state');
    const ttl = roundTtl(this.policy, options.ttlMs ?? this.policy.idleMs);
    await this.queue.run(id, () =>
      swapSealed(
        this,
        id,
        (cur) => {
          const now = this.now();
          // Re-saving a live session keeps its createdAt and absolute deadline.
          const live = cur !== undefined && cur.expiresAt > now ? cur.sealed.meta : undefined;
          return { sealed: { meta: resavedMeta(this.policy, live, now, ttl), data: state }, expiresAt: now + ttl };
        },
        this.casOptions,
      ),
    );
  }

  override async load(id: string): Promise<SessionState> {
    this.assertOpen();
    assertSessionId(id);
    const rec = this.liveSealed(await this.loadSealed(id));
    await this.renew(id, rec);
    return rec.sealed.data;
  }

  override async update(id: string, change: SessionState | StateUpdater): Promise<void> {
    this.assertOpen();
    assertSessionId(id);
    if (typeof change !== 'function') this.assertIncoming(change, 'partial');
    await this.mutateSealed(id, (rec) => {
      const partial = partialOf(change, rec.sealed.data);
      this.assertIncoming(partial, changeName(change));
      return {
        sealed: { meta: rec.sealed.meta, data: mergeState(rec.sealed.data, partial) },
        expiresAt: renewedExpiry(this.policy, rec.sealed.meta, rec.expiresAt, this.now()),
      };
    });
  }

  override async updateTtl(id: string, ttlMs: number): Promise<void> {
    this.assertOpen();
    assertSessionId(id);
    const ttl = roundTtl(this.policy, ttlMs);
    await this.mutateSealed(id, (rec) => ({ sealed: { meta: { ...rec.sealed.meta, ttlMs: ttl }, data: rec.sealed.data }, expiresAt: this.now() + ttl }));
  }

  /** Queued compare-and-swap on a live record; a record deleted meanwhile is never resurrected. */
  private mutateSealed(id: string, next: (rec: SealedRecord) => SealedStep): Promise<unknown> {
    return this.queue.run(id, () => swapSealed(this, id, (cur) => next(this.liveSealed(cur)), this.casOptions));
  }

  private liveSealed(rec: SealedRecord | undefined): SealedRecord {
    if (rec === undefined) throw new NotFoundError();
    if (rec.expiresAt <= this.now()) throw new ExpiredError();
    return rec;
  }
}

// Logged or serialized: the lifetimes only (threat: key material in logs, via the layers below).
redactedView(TtlStore, (store) => ({ idleMs: store.idleMs, absoluteMs: store.absoluteMs }));
