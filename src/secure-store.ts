/**
 * `secureStore()`: the layers composed in their one safe order over any backend.
 *
 *   store.for(owner) ─► ownership ─► TtlStore ─► EncryptedStore ─► backend
 *
 * It hands out two faces. The **admin** face (`SecureStore`) is server-side only: listing, cleanup,
 * re-keying, key usage, revocation, rotation, tokens. `for(owner)` is a `SessionStore` that can only
 * touch that owner's sessions and mints ids with `create()`.
 */
import { InvalidInputError, NotFoundError, isSessionStoreError } from './contract/errors.js';
import type { ListOptions, ListPage, RecordStore, SessionState } from './contract/store.js';
import { base64urlEncode, utf8Encode } from './util/bytes.js';
import { optionsObject } from './util/options.js';
import { hmacSha256 } from './crypto/hmac.js';
import { AUDIT_TAG_LABEL, labelled } from './crypto/labels.js';
import { encryptionCounts } from './admin/keys.js';
import { auditKeyChanges } from './admin/key-audit.js';
import type { RandomSource } from './util/random.js';
import type { Keyring } from './keys/keyring.js';
import type { KeyInfo, KeyPurpose } from './keys/types.js';
import { redactedView } from './keys/redact.js';
import { EncryptedStore, type EncryptedStoreOptions, type RekeyOptions, type RekeyResult } from './layers/encrypt.js';
import type { AuditEvent, AuditEventType, AuditSink } from './audit.js';
import { DECOY_ID, DecoyRecord } from './layers/decoy.js';
import { KnownRecords } from './layers/known-records.js';
import { type Owner, ScopedSessionStore, type ScopedStoreContext } from './layers/ownership.js';
import { RESERVED_PREFIX, Revocations, subjectHashesFor } from './layers/revocations.js';
import { deleteRevokedSessions } from './layers/revoke-sessions.js';
import { parseEnvelope } from './layers/envelope.js';
import type { Sealed, SessionMeta } from './layers/sealed.js';
import { TtlStore, type TtlOptions, type TtlStats } from './layers/ttl.js';
import { SessionTokens, type VerifiedToken } from './tokens/token.js';

export interface SecureStoreOptions {
  keyring: Keyring;
  /** Authenticated in every envelope: a record copied to another namespace does not open. Default 'default'. */
  namespace?: string;
  now?: () => number;
  random?: RandomSource;
  /** Idle / absolute lifetimes, sliding renewal, sweep. Defaults: 30 min idle, 12 h absolute, no sliding. */
  ttl?: Omit<TtlOptions, 'now' | 'acceptLegacyStates'>;
  /** Encryption settings (algorithm, engine, lazy re-encryption, plaintext migration, size bound). */
  encryption?: Omit<EncryptedStoreOptions, 'keyring' | 'namespace' | 'now' | 'random'>;
  /** Answer an owner mismatch with `not_found`, so strangers cannot tell an id exists. Default false. */
  hideExistence?: boolean;
  /** How long revocation marks are cached per process (ms); default 1000. */
  revocationCacheMs?: number;
  /** Token clock tolerance (ms, at most 60 s); default 5 s. */
  tokenClockToleranceMs?: number;
  /** Audit hook: integrity failures, owner mismatches, invalid tokens, conflicts, expiries, revocations, rotations, re-keys. */
  onEvent?: AuditSink;
}

export interface ResumedSession {
  sessionId: string;
  state: SessionState;
}

export interface InspectedSession {
  kid: string | undefined;
  meta: SessionMeta;
  state: SessionState;
  expiresAt: number;
}

const LAYERS = new WeakMap<SecureStore, { encrypted: EncryptedStore; ttl: TtlStore; backend: RecordStore }>();

/**
 * The layers inside a `SecureStore`, for tests and benchmarks that play an attacker writing around
 * them. Not exported from any public entry: anything written through them skips the owner check.
 */
export function unsafeLayersOf(store: SecureStore): { encrypted: EncryptedStore; ttl: TtlStore; backend: RecordStore } {
  const layers = LAYERS.get(store);
  if (layers === undefined) throw new InvalidInputError('not a SecureStore');
  return layers;
}

const SCOPES = new WeakMap<SecureStore, () => ScopedStoreContext>();

/**
 * Internal, for the framework stores that never see the request (`./express`, `./fastify`): loads
 * `id` as the owner its sealed data names; see `ScopedSessionStore.loadAsNamedOwner`. Not exported
 * from any public entry: it reads any owner's session.
 */
export function loadAsNamedOwner(
  store: SecureStore,
  id: string,
  ownerOf: (data: SessionState) => Owner,
): Promise<{ owner: Owner; state: SessionState; meta: SessionMeta; expiresAt: number }> {
  const scope = SCOPES.get(store);
  if (scope === undefined) throw new InvalidInputError('not a SecureStore');
  return ScopedSessionStore.loadAsNamedOwner(scope(), id, ownerOf);
}

const AUDITS = new WeakMap<SecureStore, (type: AuditEventType, operation: string, id?: string) => void>();

/**
 * Internal, for the parts of the library that act on sessions beside the layers (src/adopt/): reports
 * an audit event through the store's hook, the session as the same keyed hash every event carries.
 * Not exported from any public entry.
 */
export function auditOf(store: SecureStore): (type: AuditEventType, operation: string, id?: string) => void {
  const audit = AUDITS.get(store);
  if (audit === undefined) throw new InvalidInputError('not a SecureStore');
  return audit;
}

export class SecureStore {
  readonly keyring: Keyring;
  readonly tokens: SessionTokens;
  /** Authenticated in every envelope this store seals. */
  readonly namespace: string;
  // The layers stay private: callers go through this class's methods (admin) or `for(owner)`, so
  // no caller can write around the owner check. Tests reach them through `unsafeLayersOf`.
  private readonly encrypted: EncryptedStore;
  private readonly ttl: TtlStore;
  private readonly revocations: Revocations;
  private readonly now: () => number;
  private readonly random: RandomSource | undefined;
  private readonly hideExistence: boolean;
  private readonly onEvent: AuditSink | undefined;
  /** Shared by every `for(owner)` view: see KnownRecords. */
  private readonly known = new KnownRecords();
  /** Ends the subscription that turns every key change into a `rotation` audit event. */
  private readonly stopKeyAudit: () => void;

  constructor(
    private readonly backend: RecordStore,
    options: SecureStoreOptions,
  ) {
    options = optionsObject(options, 'secureStore options', false);
    this.keyring = options.keyring;
    this.now = options.now ?? Date.now;
    this.random = options.random;
    this.hideExistence = options.hideExistence ?? false;
    this.onEvent = options.onEvent;
    const namespace = options.namespace ?? 'default';
    this.namespace = namespace;
    const common = { now: this.now, ...(options.random === undefined ? {} : { random: options.random }) };
    this.encrypted = new EncryptedStore(backend, { ...options.encryption, ...common, keyring: this.keyring, namespace });
    this.ttl = new TtlStore(this.encrypted, {
      ...options.ttl,
      now: this.now,
      acceptLegacyStates: options.encryption?.unsafeAcceptPlaintext === true,
    });
    // Marks are sealed records of the TTL layer, like sessions (their deadline is sealed too); the
    // encrypting layer below it reads marks written before that (see Revocations' `legacy`).
    this.revocations = new Revocations(this.ttl, {
      now: this.now,
      legacy: this.encrypted,
      ...(options.revocationCacheMs === undefined ? {} : { cacheMs: options.revocationCacheMs }),
    });
    this.tokens = new SessionTokens(this.keyring, {
      now: this.now,
      defaultLifetimeMs: this.ttl.absoluteMs,
      ...(options.tokenClockToleranceMs === undefined ? {} : { clockToleranceMs: options.tokenClockToleranceMs }),
    });
    LAYERS.set(this, { encrypted: this.encrypted, ttl: this.ttl, backend });
    SCOPES.set(this, () => this.scope());
    // Every key change is audited, whichever way it happened: this store's methods, the app's own
    // keyring.transaction(), or a reload of a change made elsewhere (src/admin/key-audit.ts).
    this.stopKeyAudit = this.onEvent === undefined ? () => {} : auditKeyChanges(this.keyring, (event) => this.emit(event));
    AUDITS.set(this, (type, operation, id) => (id === undefined ? this.emit({ type, operation }) : this.auditSession(type, operation, id)));
  }

  /** The idle window and the absolute lifetime every session of this store gets. */
  get lifetimes(): { idleMs: number; absoluteMs: number } {
    return { idleMs: this.ttl.idleMs, absoluteMs: this.ttl.absoluteMs };
  }

  /** A `SessionStore` that can only touch `owner`'s sessions. */
  for(owner: Owner): ScopedSessionStore {
    return new ScopedSessionStore(this.scope(), owner);
  }

  private scope(): ScopedStoreContext {
    return {
      sealed: this.ttl,
      keyring: this.keyring,
      revocations: this.revocations,
      known: this.known,
      audit: this.auditSession,
      hideExistence: this.hideExistence,
      decoy: this.decoy,
      now: this.now,
      random: this.random,
    };
  }

  // ------------------------------------------------------------------ tokens

  /**
   * A signed token for `sessionId` bound to `owner`. Synchronous (the MCP SDK's id generator is),
   * so it reads no record: when this process has seen the session (created, read or written it
   * through this store) and its absolute deadline is ahead, the token expires at that deadline, and
   * an `expiresAt` past it is cut to it, so the token never outlives the session. Otherwise it
   * expires at `expiresAt`, default now + the absolute lifetime (no later than the deadline of a
   * session created from now on). A deadline already past means this process's view is stale or the
   * session is over: either way every load checks the sealed deadlines.
   */
  issueToken(sessionId: string, owner: Owner, options: { expiresAt?: number } = {}): string {
    const known = this.known.get(sessionId);
    if (known === undefined || known.meta.absoluteAt <= this.now()) return this.tokens.issue(sessionId, owner, options);
    const deadline = known.meta.absoluteAt;
    return this.tokens.issue(sessionId, owner, { expiresAt: Math.min(options.expiresAt ?? deadline, deadline) });
  }

  /** Verifies a token for `owner`; throws `invalid_token`, `expired` or `owner_mismatch`. Synchronous. */
  verifyToken(token: unknown, owner: Owner): VerifiedToken {
    try {
      return this.tokens.verify(token, owner);
    } catch (err) {
      if (isSessionStoreError(err)) {
        const type = err.code === 'owner_mismatch' ? 'owner_mismatch' : err.code === 'expired' ? 'expired' : 'invalid_token';
        this.emit({ type, operation: 'verifyToken' });
      }
      throw err;
    }
  }

  /**
   * Reconnect in one call: verifies the token, its owner, the session's owner, revocation and TTL
   * together, and resolves the session id and state.
   */
  async resume(token: unknown, owner: Owner): Promise<ResumedSession> {
    const { sessionId } = this.verifyToken(token, owner);
    const state = await this.for(owner).load(sessionId);
    return { sessionId, state };
  }

  // ------------------------------------------------------------------ admin

  async start(): Promise<void> {
    await this.ttl.start();
  }

  /** Stops the sweep timer, waits for in-flight writes. Does not close an injected client. */
  async close(): Promise<void> {
    this.stopKeyAudit();
    // Each layer closes the one below it after its queued writes: TTL, then encryption, then the backend.
    await this.ttl.close();
  }

  /** Live session ids (all owners). */
  async listActive(options: ListOptions = {}): Promise<ListPage> {
    const page = await this.ttl.listActive(options);
    const ids = page.ids.filter((id) => !id.startsWith(RESERVED_PREFIX));
    return page.cursor === undefined ? { ids } : { ids, cursor: page.cursor };
  }

  cleanupExpired(): Promise<number> {
    return this.ttl.cleanupExpired();
  }

  /**
   * "Log out everywhere": every session of `subject` created before now is dead, in every process.
   * Writes the subject's revocation marks, then deletes those sessions (found through the backend's
   * per-index listing, or a walk of the store without one), so that a mark deleted or rolled back
   * later by someone with write access to the backend revives nothing. Resolves how many sessions
   * were deleted. If it rejects after the marks were written (an outage mid-way), the sessions are
   * revoked all the same; call it again to finish deleting them.
   */
  async revokeOwner(subject: string): Promise<number> {
    const hashes = subjectHashesFor(this.keyring, subject);
    const notBefore = await this.revocations.revoke(hashes);
    this.emit({ type: 'revocation', operation: 'revokeOwner' });
    return deleteRevokedSessions(this.ttl, hashes, notBefore, (id) => this.known.delete(id));
  }

  /**
   * Rotates the key of `purpose`: a new primary, the old one stays active. A file- or store-backed
   * keyring is changed inside its transaction (locked, re-read, saved); an in-memory one is changed
   * before this returns (so the new key is primary at once either way for in-memory keyrings).
   * The `rotation` audit event comes from the keyring's change notification.
   */
  rotateKey(purpose: KeyPurpose): Promise<KeyInfo> {
    if (this.keyring.persistent) return this.keyring.transaction((ring) => ring.rotate(purpose));
    try {
      return Promise.resolve(this.keyring.rotate(purpose));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Retires a key; an `encrypt` key still used by sessions of this store is refused unless forced
   * (file- and store-backed keyrings through their transaction). Emits `rotation` when it changed.
   */
  async retireKey(kid: string, options: { force?: boolean } = {}): Promise<void> {
    await this.encrypted.retireKey(kid, options);
  }

  /** Re-seals every live session under the primary encryption key (resumable; see src/admin/keys.ts). */
  async rekey(options: RekeyOptions = {}): Promise<RekeyResult> {
    const result = await this.encrypted.rekey(options);
    this.emit({ type: 'rekey', operation: 'rekey', kid: this.keyring.primary('encrypt').kid });
    return result;
  }

  /** Sessions per encryption kid. */
  keyUsage(): Promise<Record<string, number>> {
    return this.encrypted.keyUsage();
  }

  /**
   * Per-process counters: encryptions per kid under the keys this store sealed with (each key's
   * nonce budget, shared with every store of this process using that key) and TTL renewals.
   */
  stats(): { encryptions: Record<string, number>; ttl: TtlStats } {
    return { encryptions: encryptionCounts([this.encrypted.sealer]), ttl: this.ttl.stats() };
  }

  /** Opens one session for an administrator (no owner check): meta, state and expiry. */
  async inspect(id: string): Promise<InspectedSession> {
    const rec = await this.ttl.loadSealed(id);
    if (rec === undefined) throw new NotFoundError();
    const raw = await this.backend.loadRecord(id);
    const kid = raw !== undefined && raw.value instanceof Uint8Array ? parseEnvelope(raw.value, raw.value.length).kid : undefined;
    return { kid, meta: rec.sealed.meta, state: rec.sealed.data, expiresAt: rec.expiresAt };
  }

  /** Audit events about one session carry a keyed hash of its id, never the id. */
  private readonly auditSession = (type: AuditEventType, operation: string, id: string): void => {
    if (this.onEvent === undefined) return;
    this.emit({ type, operation, session: this.sessionTag(id) });
  };

  private sessionTag(id: string): string {
    return base64urlEncode(hmacSha256(this.keyring.primary('hash').key, utf8Encode(labelled(AUDIT_TAG_LABEL, id))).subarray(0, 16));
  }

  /** hideExistence: a missing id costs what another owner's id costs (src/layers/decoy.ts). */
  private decoyRecord: DecoyRecord | undefined;
  private readonly decoy = (): Sealed => {
    this.decoyRecord ??= new DecoyRecord(this.encrypted.sealer, this.keyring, this.ttl.policy, this.now, this.random);
    const sealed = this.decoyRecord.open();
    // The owner_mismatch this stands in for tags its audit event (one HMAC): spend the same.
    if (this.onEvent !== undefined) this.sessionTag(DECOY_ID);
    return sealed;
  };

  private emit(event: AuditEvent): void {
    if (this.onEvent === undefined) return;
    try {
      this.onEvent(event);
    } catch {
      // An audit sink that throws must not break the operation it reports on.
    }
  }
}

/** Composes ownership, TTL and encryption over `backend`. */
export function secureStore(backend: RecordStore, options: SecureStoreOptions): SecureStore {
  return new SecureStore(backend, options);
}

// Logged or serialized, neither face shows more than the namespace and the keys' ids and states
// (threat: key material in logs; keys/redact.ts). The layers' internals stay out of sight too.
redactedView(SecureStore, (store) => ({ namespace: store.namespace, keys: store.keyring.list() }));
redactedView(ScopedSessionStore, () => ({}));
redactedView(Revocations, () => ({}));
redactedView(KnownRecords, () => ({}));
