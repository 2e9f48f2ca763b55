/**
 * TtlStore: idle timeout and absolute deadline, enforced from the sealed `meta` on every read
 * against an injected clock. The backend's own expiry (native TTL, listing, cleanup) is only a hint
 * for space: a backend whose TTL was changed by someone with database access, or that has none,
 * cannot keep a session alive past what the sealed meta says.
 *
 * Record level: values are the sealed shape `{ meta, data }`; a record's `expiresAt` is
 * min(meta.expiresAt, meta.absoluteAt), and every write clamps the idle expiry to the absolute
 * deadline, so no `updateTtl`, renewal or re-save can push a session past it (session fixation of
 * an eternal session). Session level: `data` in, `data` out.
 *
 * Defaults follow OWASP's Session Management Cheat Sheet: 30 min idle (it suggests 15-30 min for
 * most applications) and 12 h absolute (it suggests 4-8 h for office workers; 12 h covers a long
 * working day of an MCP client). Sliding renewal is off by default.
 */
import type { VersionedStoreOptions } from '../contract/versioned-store.js';
import { type CasStep, compareAndSwap } from '../contract/cas.js';
import { type RecordStore, type SaveOptions, type SaveRecordOptions, type SessionState, type StoredRecord, VALIDATES_ON_WRITE, validatesOnWrite } from '../contract/store.js';
import { assertExpiresAt, assertSessionId, mergeState, normalizeTtl } from '../contract/validate.js';
import { LayerStore } from './layer-store.js';
import { SEALED_FORMAT, type Sealed, type SessionMeta, asSealed, isSealed, sealedOf, toState } from './sealed.js';

export const DEFAULT_IDLE_MS = 30 * 60 * 1000;
export const DEFAULT_ABSOLUTE_MS = 12 * 60 * 60 * 1000;

export interface TtlOptions extends Omit<VersionedStoreOptions, 'defaultTtlMs'> {
  /** Idle timeout (the default TTL of a save). Default 30 min. */
  idleMs?: number;
  /** Absolute lifetime from creation; nothing extends a session past it. Default 12 h. */
  absoluteMs?: number;
  /** Renew the idle window on access when less than half of it remains. Default false. */
  sliding?: boolean;
  /** The backend's expiry granularity; TTLs round UP to a multiple of it. Default 1 ms. */
  granularityMs?: number;
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

type SealedRecord = StoredRecord<SessionState> & { sealed: Sealed };

export class TtlStore extends LayerStore {
  readonly idleMs: number;
  readonly absoluteMs: number;
  private readonly sliding: boolean;
  private readonly granularityMs: number;
  private readonly acceptLegacy: boolean;
  private readonly timer: ReturnType<typeof setInterval> | undefined;
  private readonly counters: TtlStats = { renewals: 0, renewalsSkipped: 0, sweeps: 0, sweepErrors: 0 };

  constructor(inner: RecordStore, options: TtlOptions = {}) {
    const idleMs = normalizeTtl(options.idleMs ?? DEFAULT_IDLE_MS);
    super(inner, { ...options, defaultTtlMs: idleMs });
    this.idleMs = idleMs;
    this.absoluteMs = normalizeTtl(options.absoluteMs ?? DEFAULT_ABSOLUTE_MS);
    this.sliding = options.sliding ?? false;
    this.granularityMs = normalizeTtl(options.granularityMs ?? 1);
    this.acceptLegacy = options.acceptLegacyStates ?? false;
    if (options.sweepIntervalMs !== undefined) {
      const onError = options.onSweepError ?? (() => {});
      this.timer = setInterval(() => {
        this.counters.sweeps++;
        this.cleanupExpired().catch((err: unknown) => {
          this.counters.sweepErrors++;
          onError(err);
        });
      }, normalizeTtl(options.sweepIntervalMs));
      // A sweep timer must never keep a process alive that has nothing else to do.
      (this.timer as { unref?: () => void }).unref?.();
    }
  }

  /** Validates where the store below does: states pass through this layer into its `saveRecord`. */
  override get [VALIDATES_ON_WRITE](): boolean {
    return validatesOnWrite(this.inner);
  }

  /** Runs `task` in this store's per-id queue, behind every queued write of `id` in this process. */
  queueFor<T>(id: string, task: () => Promise<T>): Promise<T> {
    return this.queue.run(id, task);
  }

  stats(): TtlStats {
    return { ...this.counters };
  }

  /** Rounds a TTL up to the backend's granularity: never down, so a session never ends early. */
  roundTtl(ttlMs: number): number {
    const ttl = normalizeTtl(ttlMs);
    return Math.ceil(ttl / this.granularityMs) * this.granularityMs;
  }

  protected override async onClose(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    await super.onClose();
  }

  // ------------------------------------------------------------------ record level

  async loadRecord(id: string): Promise<SealedRecord | undefined> {
    this.assertOpen();
    const rec = await this.inner.loadRecord(id);
    if (rec === undefined) return undefined;
    let sealed: Sealed;
    if (this.acceptLegacy && !isSealed(rec.value) && !(rec.value instanceof Uint8Array)) {
      const now = this.now();
      sealed = {
        meta: { v: SEALED_FORMAT, createdAt: now, expiresAt: rec.expiresAt, absoluteAt: now + this.absoluteMs, ttlMs: this.idleMs },
        data: rec.value,
      };
    } else {
      sealed = asSealed(rec.value);
    }
    const value = toState(sealed);
    return { value, sealed, version: rec.version, expiresAt: Math.min(sealed.meta.expiresAt, sealed.meta.absoluteAt) };
  }

  // Not `async`: see EncryptedStore.saveRecord.
  saveRecord(id: string, value: SessionState, options: SaveRecordOptions): Promise<string> {
    try {
      return this.saveSealed(id, asSealed(value), options);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * `saveRecord` for a value already in the sealed shape, built by the ownership layer from meta it
   * read through this layer (checked) or made itself, and a state it checked is a plain object (the
   * layer below validates the rest). Throws synchronously on a closed store or a bad expiry.
   */
  saveSealed(id: string, sealed: Sealed, options: SaveRecordOptions): Promise<string> {
    this.assertOpen();
    assertExpiresAt(options.expiresAt);
    // Clamp to the absolute deadline: nothing a caller passes can outlive it.
    const expiresAt = Math.min(options.expiresAt, sealed.meta.absoluteAt);
    const next: Sealed = { meta: sealed.meta.expiresAt === expiresAt ? sealed.meta : { ...sealed.meta, expiresAt }, data: sealed.data };
    return this.inner.saveRecord(id, toState(next), { ...options, expiresAt });
  }

  // ------------------------------------------------------------------ session level

  protected toRecordValue(state: SessionState): SessionState {
    const now = this.now();
    return toState({ meta: this.newMeta(now, this.idleMs), data: state });
  }

  protected fromRecordValue(value: SessionState): SessionState {
    return asSealed(value).data;
  }

  protected override live(rec: StoredRecord<SessionState> | undefined): SealedRecord {
    return super.live(rec) as SealedRecord;
  }

  /** Meta of a session created at `now`. */
  newMeta(now: number, ttlMs: number): SessionMeta {
    return { v: SEALED_FORMAT, createdAt: now, expiresAt: now + ttlMs, absoluteAt: now + this.absoluteMs, ttlMs };
  }

  /**
   * The expiry a write at `now` should carry: renewed to now + ttl when sliding is on and less than
   * half the idle window remains, else unchanged. Folded into the write the request makes anyway.
   */
  renewedExpiry(rec: StoredRecord<SessionState> & { sealed?: Sealed }, now: number): number {
    const meta = sealedOf(rec).meta;
    if (this.sliding && rec.expiresAt - now < meta.ttlMs / 2 && rec.expiresAt < meta.absoluteAt) return now + meta.ttlMs;
    return rec.expiresAt;
  }

  /**
   * Sliding renewal on a read: one conditional write, never retried, never failing the read.
   * A lost race means someone else just wrote the session, which renewed it anyway.
   */
  async renewOnRead(id: string, rec: StoredRecord<SessionState> & { sealed?: Sealed }): Promise<void> {
    const now = this.now();
    const expiresAt = this.renewedExpiry(rec, now);
    if (expiresAt === rec.expiresAt) return;
    try {
      await this.saveRecord(id, rec.value, { expiresAt, ifVersion: rec.version });
      this.counters.renewals++;
    } catch {
      this.counters.renewalsSkipped++;
    }
  }

  override async save(id: string, state: SessionState, options: SaveOptions = {}): Promise<void> {
    this.assertOpen();
    assertSessionId(id);
    this.assertIncoming(state, 'state');
    const ttl = this.roundTtl(options.ttlMs ?? this.idleMs);
    await this.queue.run(id, () =>
      compareAndSwap<SessionState, CasStep<SessionState>>(
        this,
        id,
        (cur) => {
          const now = this.now();
          // Re-saving a live session keeps its createdAt and absolute deadline.
          const live = cur !== undefined && cur.expiresAt > now ? sealedOf(cur).meta : undefined;
          const meta = live !== undefined ? { ...live, ttlMs: ttl } : this.newMeta(now, ttl);
          return { value: toState({ meta, data: state }), expiresAt: now + ttl };
        },
        this.casOptions,
      ),
    );
  }

  override async load(id: string): Promise<SessionState> {
    this.assertOpen();
    assertSessionId(id);
    const rec = this.live(await this.loadRecord(id));
    await this.renewOnRead(id, rec);
    return rec.sealed.data;
  }

  override async update(id: string, partial: SessionState): Promise<void> {
    this.assertOpen();
    assertSessionId(id);
    this.assertIncoming(partial, 'partial');
    await this.mutate(id, (rec) => {
      const sealed = sealedOf(rec);
      return { value: toState({ meta: sealed.meta, data: mergeState(sealed.data, partial) }), expiresAt: this.renewedExpiry(rec, this.now()) };
    });
  }

  override async updateTtl(id: string, ttlMs: number): Promise<void> {
    this.assertOpen();
    assertSessionId(id);
    const ttl = this.roundTtl(ttlMs);
    await this.mutate(id, (rec) => {
      const sealed = sealedOf(rec);
      return { value: toState({ meta: { ...sealed.meta, ttlMs: ttl }, data: sealed.data }), expiresAt: this.now() + ttl };
    });
  }
}

