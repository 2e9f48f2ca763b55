/**
 * Ownership: a session belongs to the owner that created it, and only that owner's scoped store can
 * touch it. The owner is bound at creation as a keyed hash (the `hash`-purpose key, its kid kept
 * beside it) inside the sealed meta, never in clear, and checked in constant time on every
 * operation — load, save over an existing id, update, updateTtl, delete — so a stolen or guessed
 * session id alone lets nobody in (session hijacking) and a save can never take over another
 * owner's session. A session created before its subject's revocation mark is dead (revocations.ts).
 *
 * The scoped store talks to a `SealedStore` (sealed records with their sealed deadlines) and builds
 * its writes with the pure rules of `ttl-policy.ts`; it never sees bytes, keys of the encrypting
 * layer, or the backend.
 */
import { ConflictError, ExpiredError, InvalidInputError, NotFoundError, OwnerMismatchError, isSessionStoreError } from '../contract/errors.js';
import type { ListOptions, ListPage, SaveOptions, SessionState, SessionStore, StateUpdater } from '../contract/store.js';
import { changeName, partialOf } from '../contract/updater.js';
import { assertPlainState, assertSessionId, mergeState, normalizeLimit } from '../contract/validate.js';
import { base64urlEncode } from '../util/bytes.js';
import { constantTimeEqualText } from '../crypto/compare.js';
import type { RandomSource } from '../util/random.js';
import type { AuditEventType } from '../audit.js';
import type { Keyring } from '../keys/keyring.js';
import { createSessionId } from '../tokens/session-id.js';
import type { KnownRecords } from './known-records.js';
import { type Owner, ownerBytes, ownerHash, subjectHash } from './owner-hash.js';
import { listOwnerIndex } from './owner-listing.js';
import { RESERVED_PREFIX, type Revocations } from './revocations.js';
import type { Sealed, SessionMeta } from './sealed.js';
import { type SealedRecord, type SealedStep, type SealedStore, swapSealed } from './sealed-store.js';
import { newMeta, renewedExpiry, roundTtl } from './ttl-policy.js';

export { RESERVED_PREFIX } from './revocations.js';

export function assertClientSessionId(id: unknown): asserts id is string {
  assertSessionId(id);
  if (id.startsWith(RESERVED_PREFIX)) throw new InvalidInputError(`session ids may not start with '${RESERVED_PREFIX}'`);
}

export interface ScopedStoreContext {
  /** The TTL layer under `secureStore`, above the encrypting layer (which validates what it serializes). */
  sealed: SealedStore;
  keyring: Keyring;
  revocations: Revocations;
  /** Versions and meta this process last saw, shared by every scoped view of one stack. */
  known: KnownRecords;
  /** Reports an event about session `id`; the sink tags it with a keyed hash, never the id itself. */
  audit: (type: AuditEventType, operation: string, id: string) => void;
  /** Report a mismatch as `not_found` so a stranger cannot even learn that an id exists. */
  hideExistence: boolean;
  /**
   * With `hideExistence`: what a missing id spends instead of nothing, the work another owner's id
   * costs before its `not_found` (decoy.ts). Resolves a sealed record that belongs to nobody.
   */
  decoy?: (() => Sealed) | undefined;
  /** The stack's injected clock: creation times and expiry checks use the TTL layer's time. */
  now: () => number;
  /** The injected random source new session ids are minted from. */
  random: RandomSource | undefined;
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

  /** Meta of a new session of this owner created at `now`, bound under the primary hash key. */
  private newOwnedMeta(now: number, ttlMs: number): SessionMeta {
    const { kid, key } = this.ctx.keyring.primary('hash');
    // Computed once per primary hash key (like `hashes`): every create would otherwise spend an HMAC.
    if (this.ownerMetaCache?.ownerKid !== kid) {
      this.ownerMetaCache = { owner: this.hashUnder(kid), subject: base64urlEncode(subjectHash(key, this.owner.subject)), ownerKid: kid };
    }
    return { ...newMeta(this.ctx.sealed.policy, now, ttlMs), ...this.ownerMetaCache };
  }

  private mismatch(operation: string, id: string): never {
    this.ctx.audit('owner_mismatch', operation, id);
    throw this.ctx.hideExistence ? new NotFoundError() : new OwnerMismatchError();
  }

  /**
   * `not_found` for an id with no record. With `hideExistence` it first does what another owner's id
   * costs (open and check the decoy, compare its owner), so the time of the answer does not tell a
   * stranger whether the id exists (a timing oracle for live session ids).
   */
  private missing(): never {
    if (this.ctx.hideExistence && this.ctx.decoy !== undefined) this.isMine(this.ctx.decoy().meta);
    throw new NotFoundError();
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
  private async check(operation: string, id: string, rec: SealedRecord | undefined): Promise<SealedRecord> {
    if (rec === undefined) this.missing();
    const { meta } = rec.sealed;
    if (!this.isMine(meta)) this.mismatch(operation, id);
    if (rec.expiresAt <= this.ctx.now()) {
      this.ctx.audit('expired', operation, id);
      throw new ExpiredError();
    }
    if (await this.isRevoked(meta)) {
      this.ctx.audit('revoked', operation, id);
      throw new ExpiredError('session revoked');
    }
    if (this.ctx.known.get(id)?.version !== rec.version) this.ctx.known.set(id, rec.version, meta, rec.expiresAt);
    return rec;
  }

  /** Whether the subject's revocation mark is later than the session's creation. */
  private async isRevoked(meta: SessionMeta): Promise<boolean> {
    const subject = meta.subject;
    return subject !== undefined && (this.ctx.revocations.cachedNotBefore(subject) ?? (await this.ctx.revocations.notBefore(subject))) > meta.createdAt;
  }

  /** Reads through the layers, reporting records that fail to open to the audit hook. */
  private read(operation: string, id: string): Promise<SealedRecord | undefined> {
    return readSealed(this.ctx, operation, id);
  }

  /**
   * For the framework stores that never see the request (express-session, @fastify/session) and
   * so learn a session's owner from the session: one read of `id`, then every check of `load`
   * (owner hash, deadlines, revocation) and its renewal, as the owner `ownerOf` names from the
   * sealed data. A wrong name fails the owner hash, so the sealed owner decides. Needs the stack's
   * context, which only `SecureStore` holds: admin power, never reachable from a scoped view.
   */
  static async loadAsNamedOwner(
    ctx: ScopedStoreContext,
    id: string,
    ownerOf: (data: SessionState) => Owner,
  ): Promise<{ owner: Owner; state: SessionState; meta: SessionMeta; expiresAt: number }> {
    assertClientSessionId(id);
    const rec = await readSealed(ctx, 'load', id);
    if (rec === undefined) throw new NotFoundError();
    const view = new ScopedSessionStore(ctx, ownerOf(rec.sealed.data));
    await view.check('load', id, rec);
    await ctx.sealed.renew(id, rec);
    return { owner: view.owner, state: rec.sealed.data, meta: rec.sealed.meta, expiresAt: rec.expiresAt };
  }

  async close(): Promise<void> {
    // A scoped store is a view: closing it leaves the shared stack (closed by the admin store) open.
  }

  /** Creates a session with a fresh server-minted id and returns the id. */
  async create(state: SessionState, options: SaveOptions = {}): Promise<string> {
    // Only the top level here: the encrypting layer below validates the whole state where it serializes it.
    assertPlainState(state, 'state');
    const ttl = this.ttlOf(options);
    for (let attempt = 0; ; attempt++) {
      const id = createSessionId(this.ctx.random);
      const now = this.ctx.now();
      const meta = this.newOwnedMeta(now, ttl);
      try {
        const version = await this.ctx.sealed.saveSealed(id, { meta, data: state }, { expiresAt: now + ttl, ifAbsent: true });
        this.ctx.known.set(id, version, meta, now + ttl);
        return id;
      } catch (err) {
        // A collision of 192 random bits means a broken random source; retry once, then fail.
        if (!isSessionStoreError(err, 'conflict') || attempt >= 1) throw err;
      }
    }
  }

  async save(id: string, state: SessionState, options: SaveOptions = {}): Promise<void> {
    assertClientSessionId(id);
    assertPlainState(state, 'state');
    const ttl = this.ttlOf(options);
    await this.ctx.sealed.serialize(id, async () => {
      // A live session of this owner whose version this process knows: write on that version,
      // without reading the record again (see KnownRecords). Any change since fails the condition.
      const known = this.ctx.known.get(id);
      const now = this.ctx.now();
      if (known !== undefined && known.expiresAt > now && this.isMine(known.meta)) {
        const meta: SessionMeta = known.meta.ttlMs === ttl ? known.meta : { ...known.meta, ttlMs: ttl };
        try {
          const version = await this.ctx.sealed.saveSealed(id, { meta, data: state }, { expiresAt: now + ttl, ifVersion: known.version });
          this.ctx.known.set(id, version, meta, now + ttl);
          return;
        } catch (err) {
          if (!isSessionStoreError(err, 'conflict')) throw err;
          this.ctx.known.delete(id);
        }
      }
      const written = await swapSealed(this.ctx.sealed, id, (cur) => {
        const at = this.ctx.now();
        // Even an expired session of someone else is not ours to take over.
        if (cur !== undefined && !this.isMine(cur.sealed.meta)) this.mismatch('save', id);
        // Re-saving a live session keeps its createdAt and absolute deadline.
        const meta = cur !== undefined && cur.expiresAt > at ? { ...cur.sealed.meta, ttlMs: ttl } : this.newOwnedMeta(at, ttl);
        return { sealed: { meta, data: state }, expiresAt: at + ttl };
      });
      this.ctx.known.set(id, written.version, written.sealed.meta, written.expiresAt);
    });
  }

  async load(id: string): Promise<SessionState> {
    assertClientSessionId(id);
    const rec = await this.check('load', id, await this.read('load', id));
    await this.ctx.sealed.renew(id, rec);
    return rec.sealed.data;
  }

  /** The state and its sealed meta (owner hash, creation time, deadlines), after every check a load makes. */
  async loadWithMeta(id: string): Promise<{ state: SessionState; meta: SessionMeta }> {
    assertClientSessionId(id);
    const rec = await this.check('load', id, await this.read('load', id));
    await this.ctx.sealed.renew(id, rec);
    return { state: rec.sealed.data, meta: rec.sealed.meta };
  }

  async delete(id: string): Promise<void> {
    assertClientSessionId(id);
    await this.ctx.sealed.serialize(id, async () => {
      this.ctx.known.delete(id);
      for (let attempt = 0; attempt < 8; attempt++) {
        const rec = await this.ctx.sealed.loadSealed(id);
        if (rec === undefined) {
          if (this.ctx.hideExistence && this.ctx.decoy !== undefined) this.isMine(this.ctx.decoy().meta);
          return;
        }
        if (!this.isMine(rec.sealed.meta)) {
          // Deleting a missing id resolves (delete is idempotent), so with hideExistence another
          // owner's id must resolve too, deleting nothing: a `not_found` here would say it exists.
          if (this.ctx.hideExistence) {
            this.ctx.audit('owner_mismatch', 'delete', id);
            return;
          }
          this.mismatch('delete', id);
        }
        try {
          await this.ctx.sealed.deleteRecord(id, { ifVersion: rec.version });
          return;
        } catch (err) {
          if (!isSessionStoreError(err, 'conflict')) throw err;
        }
      }
      throw new ConflictError('gave up deleting after repeated concurrent writes');
    });
  }

  /** See `SessionStore.update`: a function runs after the owner check, on every attempt. */
  async update(id: string, change: SessionState | StateUpdater): Promise<void> {
    assertClientSessionId(id);
    if (typeof change !== 'function') assertPlainState(change, 'partial');
    await this.mutate('update', id, (rec) => {
      const partial = partialOf(change, rec.sealed.data);
      assertPlainState(partial, changeName(change));
      return {
        sealed: { meta: rec.sealed.meta, data: mergeState(rec.sealed.data, partial) },
        expiresAt: renewedExpiry(this.ctx.sealed.policy, rec.sealed.meta, rec.expiresAt, this.ctx.now()),
      };
    });
  }

  async updateTtl(id: string, ttlMs: number): Promise<void> {
    assertClientSessionId(id);
    const ttl = roundTtl(this.ctx.sealed.policy, ttlMs);
    await this.mutate('updateTtl', id, (rec) => ({
      sealed: { meta: { ...rec.sealed.meta, ttlMs: ttl }, data: rec.sealed.data },
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
    return this.ctx.sealed.serialize(id, async () => {
      const rec = await this.check('regenerate', id, await this.read('regenerate', id));
      const next = createSessionId(this.ctx.random);
      const version = await this.ctx.sealed.saveSealed(next, rec.sealed, { expiresAt: rec.expiresAt, ifAbsent: true });
      this.ctx.known.delete(id);
      try {
        await this.ctx.sealed.deleteRecord(id, { ifVersion: rec.version });
      } catch (err) {
        await this.ctx.sealed.deleteRecord(next).catch(() => undefined);
        throw err;
      }
      this.ctx.known.set(next, version, rec.sealed.meta, rec.expiresAt);
      return next;
    });
  }

  /**
   * This owner's live sessions ("your active sessions", "sign out other devices"), a page at a time;
   * a page may hold fewer than `limit` ids while a cursor follows. Every id listed was opened and
   * checked as a load checks it: this owner, not expired, not revoked. With a backend that keeps the
   * per-index listing (every built-in one), only the sessions filed under this owner's subject hash
   * are opened (./owner-listing.ts); without one (the single-process adapter, a store of yours), the
   * whole store is walked, each record opened: an admin-scale operation.
   */
  async listActive(options: ListOptions = {}): Promise<ListPage> {
    const limit = normalizeLimit(options.limit);
    const byIndex = this.ctx.sealed.listByIndex;
    const page =
      byIndex === undefined
        ? await this.ctx.sealed.listActive(options.cursor === undefined ? { limit } : { limit, cursor: options.cursor })
        : await listOwnerIndex(byIndex, this.ctx.keyring, this.owner.subject, limit, options.cursor);
    const ids: string[] = [];
    const now = this.ctx.now();
    for (const id of page.ids) {
      if (id.startsWith(RESERVED_PREFIX)) continue;
      const rec = await this.ctx.sealed.loadSealed(id).catch(() => undefined);
      if (rec !== undefined && rec.expiresAt > now && this.isMine(rec.sealed.meta) && !(await this.isRevoked(rec.sealed.meta))) ids.push(id);
    }
    return page.cursor === undefined ? { ids } : { ids, cursor: page.cursor };
  }

  /** Sweeps every expired session (expired sessions are dead whoever owned them); resolves the count. */
  cleanupExpired(): Promise<number> {
    return this.ctx.sealed.cleanupExpired();
  }

  private ttlOf(options: SaveOptions): number {
    return roundTtl(this.ctx.sealed.policy, options.ttlMs ?? this.ctx.sealed.policy.idleMs);
  }

  private mutate(operation: string, id: string, next: (rec: SealedRecord) => SealedStep): Promise<unknown> {
    return this.ctx.sealed.serialize(id, async () => {
      try {
        const written = await swapSealed(this.ctx.sealed, id, async (cur) => next(await this.check(operation, id, cur)));
        this.ctx.known.set(id, written.version, written.sealed.meta, written.expiresAt);
      } catch (err) {
        this.ctx.known.delete(id);
        if (isSessionStoreError(err, 'conflict')) this.ctx.audit('conflict', operation, id);
        throw err;
      }
    });
  }
}

export type { Owner };

async function readSealed(ctx: ScopedStoreContext, operation: string, id: string): Promise<SealedRecord | undefined> {
  try {
    return await ctx.sealed.loadSealed(id);
  } catch (err) {
    if (isSessionStoreError(err, 'integrity') || isSessionStoreError(err, 'unknown_key')) ctx.audit('integrity', operation, id);
    throw err;
  }
}
