/**
 * Ownership: a session belongs to the owner that created it, and only that owner's scoped store can
 * touch it. The owner is bound at creation as a keyed hash (the `hash`-purpose key, its kid kept
 * beside it) inside the sealed meta, never in clear, and checked in constant time on every
 * operation — load, save over an existing id, update, updateTtl, delete — so a stolen or guessed
 * session id alone lets nobody in (session hijacking) and a save can never take over another
 * owner's session.
 *
 * "Log out everywhere": `Revocations` keeps one not-before mark per subject (keyed subject hash,
 * sealed like a session, kept for the longest session lifetime); a session created before its
 * subject's mark is dead, in every process that shares the store.
 */
import { type CasStep, compareAndSwap } from '../contract/cas.js';
import { ConflictError, ExpiredError, InvalidInputError, NotFoundError, OwnerMismatchError, isSessionStoreError } from '../contract/errors.js';
import { type ListOptions, type ListPage, type RecordStore, type SaveOptions, type SessionState, type SessionStore, type StoredRecord, validatesOnWrite } from '../contract/store.js';
import { assertPlainState, assertSessionId, assertState, mergeState, normalizeLimit } from '../contract/validate.js';
import { base64urlEncode } from '../util/bytes.js';
import { constantTimeEqualText } from '../crypto/compare.js';
import type { RandomSource } from '../util/random.js';
import type { Keyring } from '../keys/keyring.js';
import { type Owner, ownerBytes, ownerHash, subjectHash } from './owner-hash.js';
import { createSessionId } from '../tokens/session-id.js';
import { type Sealed, type SessionMeta, sealedOf, toState } from './sealed.js';
import type { TtlStore } from './ttl.js';

/** Ids starting with this are the store's own records (revocation marks); sessions may not use it. */
export const RESERVED_PREFIX = '~';

export function assertClientSessionId(id: unknown): asserts id is string {
  assertSessionId(id);
  if (id.startsWith(RESERVED_PREFIX)) throw new InvalidInputError(`session ids may not start with '${RESERVED_PREFIX}'`);
}

export type AuditEventType =
  | 'integrity'
  | 'owner_mismatch'
  | 'invalid_token'
  | 'conflict'
  | 'expired'
  | 'revoked'
  | 'revocation'
  | 'rotation'
  | 'rekey';

/** What the audit hook receives: never a session id, token, owner or state in clear. */
export interface AuditEvent {
  type: AuditEventType;
  operation: string;
  /** Key id involved, when one is. */
  kid?: string;
  /** base64url of a keyed hash of the session id (stable per session and hash key, not reversible). */
  session?: string;
}

export type AuditSink = (event: AuditEvent) => void;

// ---------------------------------------------------------------------------------- revocation

export interface RevocationOptions {
  now: () => number;
  /** How long a mark is kept: the longest a session can live. */
  lifetimeMs: number;
  /** How long a mark (or its absence) is cached in this process; default 1000 ms. Revocations by
   *  another process take up to this long to be seen here; this process's own are seen at once. */
  cacheMs?: number;
}

export class Revocations {
  private readonly cache = new Map<string, { notBefore: number; until: number }>();
  private readonly cacheMs: number;

  constructor(
    private readonly store: RecordStore,
    private readonly options: RevocationOptions,
  ) {
    this.cacheMs = options.cacheMs ?? 1000;
  }

  private static markId(subjectHashB64: string): string {
    return `${RESERVED_PREFIX}rv.${subjectHashB64}`;
  }

  /** The cached not-before time for a subject hash, when this process has a fresh one; else undefined. */
  cachedNotBefore(subjectHashB64: string): number | undefined {
    const hit = this.cache.get(subjectHashB64);
    return hit !== undefined && hit.until > this.options.now() ? hit.notBefore : undefined;
  }

  /** The not-before time for a subject hash (0 when never revoked). */
  async notBefore(subjectHashB64: string): Promise<number> {
    const now = this.options.now();
    const hit = this.cache.get(subjectHashB64);
    if (hit !== undefined && hit.until > now) return hit.notBefore;
    const rec = await this.store.loadRecord(Revocations.markId(subjectHashB64));
    const nb = rec !== undefined && rec.expiresAt > now && !(rec.value instanceof Uint8Array) && typeof rec.value.nb === 'number' ? rec.value.nb : 0;
    if (this.cacheMs > 0) {
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(subjectHashB64, { notBefore: nb, until: now + this.cacheMs });
    }
    return nb;
  }

  /** Writes (or moves forward) the mark for each subject hash; sessions created before now die. */
  async revoke(subjectHashes: string[]): Promise<number> {
    const now = this.options.now();
    for (const sh of subjectHashes) {
      await compareAndSwap(this.store, Revocations.markId(sh), (cur) => {
        const prev = cur !== undefined && !(cur.value instanceof Uint8Array) && typeof cur.value.nb === 'number' ? cur.value.nb : 0;
        return { value: { nb: Math.max(prev, now) }, expiresAt: now + this.options.lifetimeMs };
      });
      this.cache.set(sh, { notBefore: now, until: now + this.cacheMs });
    }
    return now;
  }
}

// ---------------------------------------------------------------------------------- known records

interface Known {
  version: string;
  meta: SessionMeta;
  /** The record's expiry as the TTL layer reports it (idle expiry, never past the absolute deadline). */
  expiresAt: number;
}

/** Default bound of `KnownRecords`: about 400 bytes an entry, so a few MB at most. */
export const DEFAULT_KNOWN_RECORDS = 10_000;

/**
 * What this process last saw of each session through its secured stack: the record's version, its
 * sealed meta and its expiry, recorded after every read that opened and checked the record and every
 * write that produced a version. A `save` over a session known here writes conditionally on that
 * version instead of first reading and opening the current record - the read would only re-derive
 * what is known (owner, creation time, deadlines). If anything wrote the session since (another
 * process, a re-key, a renewal), its version changed, the condition fails and the save reads as
 * before, so a stale entry costs one refused write, never a wrong one. Versions come from the
 * backend and never repeat for an id; an attacker with write access to the backend who keeps a
 * version while changing the bytes only gets the bytes overwritten by the legitimate save. Loads
 * never use it: every load opens and authenticates what the backend holds. Holds no state and no
 * key material (owner and subject are keyed hashes); bounded (emptied when full).
 */
export class KnownRecords {
  private readonly entries = new Map<string, Known>();

  constructor(private readonly max = DEFAULT_KNOWN_RECORDS) {}

  get(id: string): Known | undefined {
    return this.entries.get(id);
  }

  set(id: string, version: string, meta: SessionMeta, expiresAt: number): void {
    if (this.max === 0) return;
    // Full: start over rather than evict one by one (deleting the oldest entry of a Map again and
    // again leaves holes its iterator walks past). Forgetting costs each save one read, once.
    if (this.entries.size >= this.max && !this.entries.has(id)) this.entries.clear();
    this.entries.set(id, { version, meta, expiresAt: Math.min(expiresAt, meta.absoluteAt) });
  }

  delete(id: string): void {
    this.entries.delete(id);
  }

  get size(): number {
    return this.entries.size;
  }
}

// ---------------------------------------------------------------------------------- scoped store

export interface ScopedStoreContext {
  ttl: TtlStore;
  keyring: Keyring;
  revocations: Revocations;
  now: () => number;
  random: RandomSource | undefined;
  /** Report a mismatch as `not_found` so a stranger cannot even learn that an id exists. */
  hideExistence: boolean;
  audit: (event: AuditEvent) => void;
  /** Keyed hash of a session id for audit events. */
  sessionTag: (id: string) => string;
  /** Versions and meta this process last saw, shared by every scoped view of one stack. */
  known: KnownRecords;
}

/**
 * A `SessionStore` that can only touch `owner`'s sessions. Ids come from `create()` (server-side
 * CSPRNG), never from client input.
 */
export class ScopedSessionStore implements SessionStore {
  /** Owner hash per hash-key id (base64url, as sealed in `meta.owner`), computed once per scoped store. */
  private readonly hashes = new Map<string, string>();
  private ownerMetaCache: { owner: string; subject: string; ownerKid: string } | undefined;

  constructor(
    private readonly ctx: ScopedStoreContext,
    readonly owner: Owner,
  ) {
    ownerBytes(owner); // validates the owner up front (invalid_input)
  }

  private hashUnder(kid: string): string {
    let h = this.hashes.get(kid);
    if (h === undefined) {
      h = base64urlEncode(ownerHash(this.ctx.keyring.keyFor('hash', kid), this.owner));
      this.hashes.set(kid, h);
    }
    return h;
  }

  /** The meta fields binding a new session to this owner, under the primary hash key. */
  private ownerMeta(): Pick<SessionMeta, 'owner' | 'subject' | 'ownerKid'> {
    const { kid, key } = this.ctx.keyring.primary('hash');
    // Computed once per primary hash key (like `hashes`): every create would otherwise spend an HMAC.
    if (this.ownerMetaCache?.ownerKid !== kid) {
      this.ownerMetaCache = {
        owner: this.hashUnder(kid),
        subject: base64urlEncode(subjectHash(key, this.owner.subject)),
        ownerKid: kid,
      };
    }
    return this.ownerMetaCache;
  }

  private mismatch(operation: string, id: string): never {
    this.ctx.audit({ type: 'owner_mismatch', operation, session: this.ctx.sessionTag(id) });
    throw this.ctx.hideExistence ? new NotFoundError() : new OwnerMismatchError();
  }

  /** Constant-time owner check; a session without an owner (legacy) belongs to nobody here. */
  private isMine(meta: SessionMeta): boolean {
    if (meta.owner === undefined || meta.ownerKid === undefined) return false;
    let mine: string;
    try {
      mine = this.hashUnder(meta.ownerKid);
    } catch (err) {
      // The hash key that bound this session is retired or gone: nobody can prove ownership.
      if (isSessionStoreError(err, 'unknown_key')) return false;
      throw err;
    }
    // Both are canonical base64url of 32 bytes (the sealed shape is checked), so comparing the
    // text in constant time is comparing the hashes in constant time, without decoding.
    return constantTimeEqualText(mine, meta.owner);
  }

  /**
   * Owner first (so a stranger learns nothing about expiry), then the absolute/idle deadlines,
   * then the subject's revocation mark.
   */
  private async check(operation: string, id: string, rec: StoredRecord<SessionState> | undefined): Promise<StoredRecord<SessionState> & { sealed: Sealed }> {
    if (rec === undefined) throw new NotFoundError();
    const sealed = sealedOf(rec);
    if (!this.isMine(sealed.meta)) this.mismatch(operation, id);
    if (rec.expiresAt <= this.ctx.now()) {
      this.ctx.audit({ type: 'expired', operation, session: this.ctx.sessionTag(id) });
      throw new ExpiredError();
    }
    const subject = sealed.meta.subject;
    if (subject !== undefined && (this.ctx.revocations.cachedNotBefore(subject) ?? (await this.ctx.revocations.notBefore(subject))) > sealed.meta.createdAt) {
      this.ctx.audit({ type: 'revoked', operation, session: this.ctx.sessionTag(id) });
      throw new ExpiredError('session revoked');
    }
    if (this.ctx.known.get(id)?.version !== rec.version) this.ctx.known.set(id, rec.version, sealed.meta, rec.expiresAt);
    return (rec as { sealed?: Sealed }).sealed === sealed ? (rec as StoredRecord<SessionState> & { sealed: Sealed }) : { ...rec, sealed };
  }

  /** A state (or partial) on its way in: all of it, or only its top level when the layers below validate it where they serialize it. */
  private assertIncoming(state: unknown, what: string): asserts state is SessionState {
    if (validatesOnWrite(this.ctx.ttl)) assertPlainState(state, what);
    else assertState(state, what);
  }

  /** Reads through the layers, reporting records that fail to open to the audit hook. */
  private async read(operation: string, id: string): Promise<(StoredRecord<SessionState> & { sealed: Sealed }) | undefined> {
    try {
      return await this.ctx.ttl.loadRecord(id);
    } catch (err) {
      if (isSessionStoreError(err, 'integrity') || isSessionStoreError(err, 'unknown_key')) {
        this.ctx.audit({ type: 'integrity', operation, session: this.ctx.sessionTag(id) });
      }
      throw err;
    }
  }

  async close(): Promise<void> {
    // A scoped store is a view: closing it leaves the shared stack (closed by the admin store) open.
  }

  /** Creates a session with a fresh server-minted id and returns the id. */
  async create(state: SessionState, options: SaveOptions = {}): Promise<string> {
    this.assertIncoming(state, 'state');
    const ttl = this.ctx.ttl.roundTtl(options.ttlMs ?? this.ctx.ttl.idleMs);
    for (let attempt = 0; ; attempt++) {
      const id = createSessionId(this.ctx.random);
      const now = this.ctx.now();
      const value: Sealed = { meta: { ...this.ctx.ttl.newMeta(now, ttl), ...this.ownerMeta() }, data: state };
      try {
        const version = await this.ctx.ttl.saveSealed(id, value, { expiresAt: now + ttl, ifAbsent: true });
        this.ctx.known.set(id, version, value.meta, now + ttl);
        return id;
      } catch (err) {
        // A collision of 192 random bits means a broken random source; retry once, then fail.
        if (!isSessionStoreError(err, 'conflict') || attempt >= 1) throw err;
      }
    }
  }

  async save(id: string, state: SessionState, options: SaveOptions = {}): Promise<void> {
    assertClientSessionId(id);
    this.assertIncoming(state, 'state');
    const ttl = this.ctx.ttl.roundTtl(options.ttlMs ?? this.ctx.ttl.idleMs);
    await this.ctx.ttl.queueFor(id, async () => {
      // A live session of this owner whose version this process knows: write on that version,
      // without reading the record again (see KnownRecords). Any change since fails the condition.
      const known = this.ctx.known.get(id);
      const now = this.ctx.now();
      if (known !== undefined && known.expiresAt > now && this.isMine(known.meta)) {
        const meta: SessionMeta = known.meta.ttlMs === ttl ? known.meta : { ...known.meta, ttlMs: ttl };
        try {
          const version = await this.ctx.ttl.saveSealed(id, { meta, data: state }, { expiresAt: now + ttl, ifVersion: known.version });
          this.ctx.known.set(id, version, meta, now + ttl);
          return;
        } catch (err) {
          if (!isSessionStoreError(err, 'conflict')) throw err;
          this.ctx.known.delete(id);
        }
      }
      const written = await compareAndSwap<SessionState, CasStep<SessionState> & { meta: SessionMeta }>(this.ctx.ttl, id, (cur) => {
        const at = this.ctx.now();
        let meta: SessionMeta;
        if (cur === undefined) {
          meta = { ...this.ctx.ttl.newMeta(at, ttl), ...this.ownerMeta() };
        } else {
          const existing = sealedOf(cur).meta;
          // Even an expired session of someone else is not ours to take over.
          if (!this.isMine(existing)) this.mismatch('save', id);
          meta = cur.expiresAt > at ? { ...existing, ttlMs: ttl } : { ...this.ctx.ttl.newMeta(at, ttl), ...this.ownerMeta() };
        }
        return { value: toState({ meta, data: state }), expiresAt: at + ttl, meta };
      });
      this.ctx.known.set(id, written.version, written.meta, written.expiresAt);
    });
  }

  async load(id: string): Promise<SessionState> {
    assertClientSessionId(id);
    const rec = await this.check('load', id, await this.read('load', id));
    await this.ctx.ttl.renewOnRead(id, rec);
    return rec.sealed.data;
  }

  /** The state and its record version (for callers that follow with their own compare-and-swap). */
  async loadWithMeta(id: string): Promise<{ state: SessionState; meta: SessionMeta }> {
    assertClientSessionId(id);
    const rec = await this.check('load', id, await this.read('load', id));
    await this.ctx.ttl.renewOnRead(id, rec);
    return { state: rec.sealed.data, meta: rec.sealed.meta };
  }

  async delete(id: string): Promise<void> {
    assertClientSessionId(id);
    await this.ctx.ttl.queueFor(id, async () => {
      this.ctx.known.delete(id);
      for (let attempt = 0; attempt < 8; attempt++) {
        const rec = await this.ctx.ttl.loadRecord(id);
        if (rec === undefined) return;
        if (!this.isMine(sealedOf(rec).meta)) this.mismatch('delete', id);
        try {
          await this.ctx.ttl.deleteRecord(id, { ifVersion: rec.version });
          return;
        } catch (err) {
          if (!isSessionStoreError(err, 'conflict')) throw err;
        }
      }
      throw new ConflictError('gave up deleting after repeated concurrent writes');
    });
  }

  async update(id: string, partial: SessionState): Promise<void> {
    assertClientSessionId(id);
    this.assertIncoming(partial, 'partial');
    await this.mutate('update', id, (rec) => ({
      value: toState({ meta: rec.sealed.meta, data: mergeState(rec.sealed.data, partial) }),
      expiresAt: this.ctx.ttl.renewedExpiry(rec, this.ctx.now()),
    }));
  }

  async updateTtl(id: string, ttlMs: number): Promise<void> {
    assertClientSessionId(id);
    const ttl = this.ctx.ttl.roundTtl(ttlMs);
    await this.mutate('updateTtl', id, (rec) => ({
      value: toState({ meta: { ...rec.sealed.meta, ttlMs: ttl }, data: rec.sealed.data }),
      expiresAt: this.ctx.now() + ttl,
    }));
  }

  /**
   * Gives the session a new id (after a privilege change, OWASP): the state moves to a fresh id
   * with the same deadlines, and the old id ends. If the session changed meanwhile, the move is
   * undone and `conflict` reported, so no write is lost.
   */
  async regenerate(id: string): Promise<string> {
    assertClientSessionId(id);
    return this.ctx.ttl.queueFor(id, async () => {
      const rec = await this.check('regenerate', id, await this.read('regenerate', id));
      const next = createSessionId(this.ctx.random);
      const version = await this.ctx.ttl.saveRecord(next, rec.value, { expiresAt: rec.expiresAt, ifAbsent: true });
      this.ctx.known.delete(id);
      try {
        await this.ctx.ttl.deleteRecord(id, { ifVersion: rec.version });
      } catch (err) {
        await this.ctx.ttl.deleteRecord(next).catch(() => undefined);
        throw err;
      }
      this.ctx.known.set(next, version, rec.sealed.meta, rec.expiresAt);
      return next;
    });
  }

  /** This owner's live sessions. Walks the whole store (each record is opened): an admin-scale operation. */
  async listActive(options: ListOptions = {}): Promise<ListPage> {
    const limit = normalizeLimit(options.limit);
    const page = await this.ctx.ttl.listActive(options.cursor === undefined ? { limit } : { limit, cursor: options.cursor });
    const ids: string[] = [];
    const now = this.ctx.now();
    for (const id of page.ids) {
      if (id.startsWith(RESERVED_PREFIX)) continue;
      const rec = await this.ctx.ttl.loadRecord(id).catch(() => undefined);
      if (rec !== undefined && rec.expiresAt > now && this.isMine(rec.sealed.meta)) ids.push(id);
    }
    return page.cursor === undefined ? { ids } : { ids, cursor: page.cursor };
  }

  /** Sweeps every expired session (expired sessions are dead whoever owned them); resolves the count. */
  cleanupExpired(): Promise<number> {
    return this.ctx.ttl.cleanupExpired();
  }

  private mutate(operation: string, id: string, next: (rec: StoredRecord<SessionState> & { sealed: Sealed }) => CasStep<SessionState>): Promise<unknown> {
    return this.ctx.ttl.queueFor(id, async () => {
      try {
        const written = await compareAndSwap<SessionState, CasStep<SessionState>>(this.ctx.ttl, id, async (cur) => next(await this.check(operation, id, cur)));
        // `next` built the value: its sealed shape is ours.
        this.ctx.known.set(id, written.version, (written.value as unknown as Sealed).meta, written.expiresAt);
      } catch (err) {
        this.ctx.known.delete(id);
        if (isSessionStoreError(err, 'conflict')) this.ctx.audit({ type: 'conflict', operation, session: this.ctx.sessionTag(id) });
        throw err;
      }
    });
  }
}

/** Subject hashes under every usable hash key, so a revocation also covers sessions bound under an older key. */
export function subjectHashesFor(keyring: Keyring, subject: string): string[] {
  return keyring.keysFor('hash').map(({ key }) => base64urlEncode(subjectHash(key, subject)));
}

export type { Owner };
